//! Direct uploads (S3-compatible stores only): the client puts the bytes straight into the
//! store with a presigned `PUT`, so a slow phone upload holds no connection to the service.
//!
//! The URL is signed for the declared `Content-Type` (object_store cannot sign the length), and
//! the row stays `pending` until the service has checked the object: when a message names it
//! (or the client completes it), the service reads it once and writes it to a key no client
//! can write, checking on the way — its length, its type read from its first bytes, its hash.
//! The copy is what is served; the client's own object could still be replaced while its URL
//! is valid, so it is never served and is removed once the URL has expired. An object that
//! fails the check is removed at once (the client may put it again while the URL holds); one
//! never checked goes with its row after `ATTACHMENT_UNSENT_TTL_SECS`.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use room_chats_store::attachments::{self, CheckedUpload, NewDirectUpload, StoredAttachment};
use room_chats_types::{AttachmentDto, DirectUploadBody, DirectUploadDto, RoomId};

use super::previews::ImageFacts;
use super::{
    AttachmentStore, Attachments, SizeLimit, StorageError, Written, filename, read_head, sniff,
    storage_failure, storage_key,
};
use crate::auth::Caller;
use crate::error::ApiError;

/// Longest type name a client may declare.
const MAX_TYPE_CHARS: usize = room_chats_types::rules::MAX_MEDIA_TYPE_CHARS;

/// Longest name a client may declare (it is then cut to 255 bytes, as for a streamed upload).
const MAX_FILENAME_CHARS: usize = 1024;

impl Attachments {
    /// Hands `caller` a presigned URL to put a file of `body`'s size and type into room
    /// `room_id`, after the same checks as a streamed upload (room, rate, quota, type), and
    /// records the upload as pending.
    pub async fn start_direct_upload(
        &self,
        caller: &Caller,
        room_id: RoomId,
        body: DirectUploadBody,
    ) -> Result<DirectUploadDto, ApiError> {
        self.open_room(caller, room_id).await?;
        if !self.store.storage.presigns() {
            return Err(ApiError::Conflict(
                "this service keeps files on its own disk: upload them through \
                 POST /chat/{room_id}/attachments",
            ));
        }
        let size = u64::try_from(body.size)
            .ok()
            .filter(|size| *size > 0)
            .ok_or_else(|| ApiError::Validation("size must be at least 1 byte".to_owned()))?;
        let content_type = body.content_type.trim().to_ascii_lowercase();
        if content_type.is_empty() || content_type.chars().count() > MAX_TYPE_CHARS {
            return Err(ApiError::Validation(format!(
                "content_type must be 1 to {MAX_TYPE_CHARS} characters"
            )));
        }
        if body.filename.is_empty() || body.filename.chars().count() > MAX_FILENAME_CHARS {
            return Err(ApiError::Validation(format!(
                "filename must be 1 to {MAX_FILENAME_CHARS} characters"
            )));
        }
        self.store.check_type(&content_type)?;
        let limit = self.size_limit(caller).await?;
        if size > limit.bytes {
            return Err(limit.refusal());
        }
        let filename = filename::sanitize(&body.filename);
        let upload_key = storage_key("uploads", room_id)?;
        let ttl = self.store.settings.url_ttl;
        let url = self
            .store
            .storage
            .presigned_put(&upload_key, ttl, &content_type)
            .await
            .map_err(storage_failure)?
            .ok_or_else(|| ApiError::Internal("an S3 store that does not presign".to_owned()))?;
        let expires_at =
            chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let uploader = caller.user_id.clone();
        let (stored_type, stored_key) = (content_type.clone(), upload_key.clone());
        let attachment_id = self
            .store
            .db
            .run(move |conn| {
                attachments::insert_direct(
                    conn,
                    NewDirectUpload {
                        room_id,
                        uploader_id: &uploader,
                        upload_key: &stored_key,
                        filename: &filename,
                        content_type: &stored_type,
                        size: body.size,
                    },
                )
            })
            .await?;
        tracing::info!(attachment_id, room_id, size, "direct upload handed out");
        Ok(DirectUploadDto {
            attachment_id,
            url: url.to_string(),
            method: "PUT".to_owned(),
            headers: BTreeMap::from([("Content-Type".to_owned(), content_type)]),
            expires_at,
        })
    }

    /// Checks `caller`'s direct upload `attachment_id` now, rather than when a message names
    /// it, and answers its metadata. Idempotent: a checked or streamed upload answers as is.
    pub async fn complete(
        &self,
        caller: &Caller,
        attachment_id: i64,
    ) -> Result<AttachmentDto, ApiError> {
        let found = self.find(caller, attachment_id).await?;
        if found.dto.uploader_id != caller.user_id {
            return Err(ApiError::Forbidden("only the uploader completes an upload"));
        }
        if !found.pending {
            return Ok(found.dto);
        }
        self.store.check_direct_upload(found).await
    }
}

impl AttachmentStore {
    /// Checks those of `ids` that are `uploader_id`'s pending direct uploads in `room_id`, so a
    /// message can carry them; the others are left for the send to accept or refuse.
    pub async fn check_direct_uploads(
        &self,
        uploader_id: &str,
        room_id: RoomId,
        ids: &[i64],
    ) -> Result<(), ApiError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (uploader, ids) = (uploader_id.to_owned(), ids.to_vec());
        let pending = self
            .db
            .run(move |conn| attachments::pending_among(conn, &ids, &uploader, room_id))
            .await?;
        for file in pending {
            self.check_direct_upload(file).await?;
        }
        Ok(())
    }

    /// Copies the pending upload `file` through the service to a key of its own, checking it
    /// against what was declared on the way, and records the copy as the attachment's bytes.
    /// An object that is not what was declared is removed; the upload stays pending (the client
    /// may put it again while its URL holds).
    async fn check_direct_upload(&self, file: StoredAttachment) -> Result<AttachmentDto, ApiError> {
        let attachment_id = file.dto.id;
        let declared = u64::try_from(file.dto.size).unwrap_or(0);
        // The length first, so a wrong object is not read at all.
        match self.storage.size(&file.storage_key).await {
            Ok(size) if size == declared => {}
            Ok(_) => {
                self.remove(&file.storage_key).await;
                return Err(wrong_size(attachment_id, declared));
            }
            Err(StorageError::NotFound) => return Err(not_put()),
            Err(other) => return Err(storage_failure(other)),
        }
        // A fresh key for each check: two checks at once never share a copy, and the loser
        // removes its own.
        let checked_key = storage_key("attachments", file.dto.room_id)?;
        let (written, filename) = match self.copy_checked(&file, &checked_key, declared).await {
            Ok(copied) => copied,
            Err(refused) => {
                if !matches!(refused, ApiError::Unavailable(_) | ApiError::Conflict(_)) {
                    // Not what was declared: gone, so it holds no space until collected.
                    self.remove(&file.storage_key).await;
                }
                return Err(refused);
            }
        };
        let image = ImageFacts::of(&checked_key, written.size, written.dimensions);
        let key = checked_key.clone();
        let recorded = self
            .db
            .run(move |conn| {
                attachments::mark_checked(
                    conn,
                    attachment_id,
                    CheckedUpload {
                        storage_key: &key,
                        filename: &filename,
                        sha256: &written.sha256,
                        image: image.as_recorded(),
                    },
                )
            })
            .await;
        match recorded {
            Ok(Some(stored)) => {
                tracing::info!(attachment_id, size = declared, "direct upload checked");
                let attachment = stored.dto.clone();
                self.request_preview(stored);
                Ok(attachment)
            }
            // Another check (a send and a complete at once) recorded its copy first.
            Ok(None) => {
                self.remove(&checked_key).await;
                self.db
                    .run(move |conn| attachments::find(conn, attachment_id))
                    .await?
                    .map(|stored| stored.dto)
                    .ok_or(ApiError::NotFound("attachment"))
            }
            Err(error) => {
                self.remove(&checked_key).await;
                Err(error.into())
            }
        }
    }

    /// Reads `file`'s object once and writes what it read to `key`, checking on the way that it
    /// is as long as declared and of the declared (and an allowed) type by its bytes; answers
    /// what it wrote. The copy is complete only when all of that holds: what is hashed is
    /// what is kept, whatever the client puts to its URL meanwhile. Like a streamed upload,
    /// the copy carries its type and disposition for the store's presigned downloads. Answers
    /// too the name the file is saved under, its extension agreeing with the bytes.
    async fn copy_checked(
        &self,
        file: &StoredAttachment,
        key: &str,
        declared: u64,
    ) -> Result<(Written, String), ApiError> {
        let id = file.dto.id;
        let body = match self.storage.read(&file.storage_key, None).await {
            Ok(body) => Box::pin(self.metered(body.map(|chunk| {
                chunk.map_err(|error| {
                    ApiError::Unavailable(format!("reading an uploaded object: {error}"))
                })
            }))),
            Err(StorageError::NotFound) => return Err(not_put()),
            Err(other) => return Err(storage_failure(other)),
        };
        let limit = SizeLimit {
            bytes: declared,
            quota: false,
        };
        let (head, body) = read_head(body, limit)
            .await
            .map_err(|error| refused_read(error, id, declared))?;
        let kind = sniff::kind(&head);
        let found_type = kind.content_type;
        if found_type != file.dto.content_type {
            return Err(ApiError::UnsupportedType(format!(
                "attachment {id} was declared {} but its bytes are {found_type}",
                file.dto.content_type
            )));
        }
        self.check_type(found_type)?;
        let filename = filename::agreeing_with(&file.dto.filename, kind);
        let written = self
            .write_object(key, found_type, &filename, head, body, limit)
            .await
            .map_err(|error| refused_read(error, id, declared))?;
        if written.size != declared {
            // Shorter than declared (longer was cut off at the limit).
            self.remove(key).await;
            return Err(wrong_size(id, declared));
        }
        Ok((written, filename))
    }

    /// Deletes an object that will not be used; a failure only leaves an orphan.
    async fn remove(&self, key: &str) {
        if let Err(error) = self.storage.delete(key).await {
            tracing::warn!(%error, key, "an unused direct upload stays in the store");
        }
    }
}

fn not_put() -> ApiError {
    ApiError::Conflict(
        "an attachment's direct upload has not been completed: PUT the file to its URL first",
    )
}

fn wrong_size(attachment_id: i64, declared: u64) -> ApiError {
    ApiError::Validation(format!(
        "attachment {attachment_id}'s object is not the {declared} bytes declared"
    ))
}

/// Reading the copy failed: past its declared length it is the wrong size; the store's own
/// failures stay what they are.
fn refused_read(error: ApiError, attachment_id: i64, declared: u64) -> ApiError {
    match error {
        ApiError::FileTooLarge(_) | ApiError::Validation(_) => wrong_size(attachment_id, declared),
        ApiError::BadRequest(cause) => ApiError::Unavailable(cause),
        other => other,
    }
}
