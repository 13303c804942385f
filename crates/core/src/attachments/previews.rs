//! Previews of images: made after the upload has been answered, by the preview maker (a
//! worker), one at a time per node on a blocking thread (decoding a photo takes a core for
//! tens of milliseconds), and kept in the store next to the file. A preview asked for before
//! it exists — the node restarted, the queue was full, or the client was quicker — is made
//! then.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use room_chats_store::attachments::{self, StoredAttachment};
use tokio::sync::mpsc;

use super::images::{self, Dimensions, PreviewError};
use super::{AttachmentStore, StorageError, storage_failure};
use crate::error::ApiError;

/// The largest file a preview is made of: it is read into memory whole to be decoded.
const MAX_PREVIEW_SOURCE_BYTES: i64 = 64 * 1024 * 1024;

/// What an upload records of an image: its size, and the key its preview goes to.
pub(super) struct ImageFacts {
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub preview_key: Option<String>,
}

impl ImageFacts {
    /// The facts of the file at `key` (`attachments/…`), of `size` bytes, whose first bytes
    /// showed `dimensions` (none: not an image, or not readable). Its preview goes to the same
    /// name under `previews/`.
    pub fn of(key: &str, size: u64, dimensions: Option<Dimensions>) -> Self {
        let Some(dimensions) = dimensions else {
            return Self {
                width: None,
                height: None,
                preview_key: None,
            };
        };
        let small_enough = i64::try_from(size).is_ok_and(|size| size <= MAX_PREVIEW_SOURCE_BYTES);
        let preview_key = (small_enough && dimensions.previewable()).then(|| {
            format!(
                "previews/{}",
                key.strip_prefix("attachments/").unwrap_or(key)
            )
        });
        Self {
            width: i32::try_from(dimensions.width).ok(),
            height: i32::try_from(dimensions.height).ok(),
            preview_key,
        }
    }

    /// As the store records them.
    pub fn as_recorded(&self) -> attachments::ImageFacts<'_> {
        attachments::ImageFacts {
            width: self.width,
            height: self.height,
            preview_key: self.preview_key.as_deref(),
        }
    }
}

/// Files whose preview is to be made: at most this many wait for the preview maker. When the
/// queue is full, a file's preview is made when it is first asked for instead.
const PREVIEW_QUEUE: usize = 1_024;

/// The files uploads asked previews of, for the preview maker (a worker, in
/// room-chats-workers) to make one at a time. Without a maker, each preview is made when first
/// asked for.
pub struct PreviewRequests(mpsc::Receiver<StoredAttachment>);

impl PreviewRequests {
    /// The next file to make a preview of; `None` once every [`AttachmentStore`] is gone
    /// (the maker holds one, so it waits for the life of the node).
    pub async fn next(&mut self) -> Option<StoredAttachment> {
        self.0.recv().await
    }
}

/// The sending side of [`PreviewRequests`], held by the store.
pub(super) fn preview_queue() -> (mpsc::Sender<StoredAttachment>, PreviewRequests) {
    let (queue, requests) = mpsc::channel(PREVIEW_QUEUE);
    (queue, PreviewRequests(requests))
}

impl AttachmentStore {
    /// Asks the preview maker for `file`'s preview, if it is to have one.
    pub(super) fn request_preview(&self, file: StoredAttachment) {
        if file.preview_key.is_none() {
            return;
        }
        let attachment_id = file.dto.id;
        match self.preview_queue.try_send(file) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(
                    attachment_id,
                    "preview queue full; made when first asked for"
                );
            }
            // No maker runs (a test's store): made when first asked for.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// `file`'s preview, made now if it does not exist yet. 404 when it has none (not an
    /// image, too large, or its bytes do not decode).
    pub async fn preview(&self, file: &StoredAttachment) -> Result<Bytes, ApiError> {
        let Some(key) = file.preview_key.as_deref() else {
            return Err(ApiError::NotFound("preview"));
        };
        if let Some(made) = self.read_whole(key).await? {
            return Ok(made);
        }
        // One at a time per node: a burst of photos queues here, not on the cores.
        let _turn = self
            .preview_turns
            .acquire()
            .await
            .map_err(|closed| ApiError::Internal(format!("preview queue: {closed}")))?;
        // Made meanwhile by the request or task that had the turn before.
        if let Some(made) = self.read_whole(key).await? {
            return Ok(made);
        }
        let Some(original) = self.read_whole(&file.storage_key).await? else {
            return Err(ApiError::Internal(format!(
                "attachment {} has no object",
                file.dto.id
            )));
        };
        let made = tokio::task::spawn_blocking(move || images::make_preview(&original))
            .await
            .map_err(|panicked| ApiError::Internal(format!("preview task: {panicked}")))?;
        let jpeg = match made {
            Ok(jpeg) => Bytes::from(jpeg),
            Err(error) => return Err(self.no_preview(file.dto.id, &error).await),
        };
        let mut writer = self
            .storage
            .writer(key, "image/jpeg", "inline; filename=\"preview.jpg\"")
            .await
            .map_err(storage_failure)?;
        if let Err(error) = writer.write(jpeg.clone()).await {
            writer.abort().await;
            return Err(storage_failure(error));
        }
        writer.finish().await.map_err(storage_failure)?;
        tracing::debug!(
            attachment_id = file.dto.id,
            bytes = jpeg.len(),
            "preview made"
        );
        Ok(jpeg)
    }

    /// Records that `attachment_id` has no preview after all, so it stops being offered.
    async fn no_preview(&self, attachment_id: i64, why: &PreviewError) -> ApiError {
        tracing::info!(attachment_id, %why, "no preview for this image");
        if let Err(error) = self
            .db
            .run(move |conn| attachments::drop_preview(conn, attachment_id))
            .await
        {
            return error.into();
        }
        ApiError::NotFound("preview")
    }

    /// The object at `key` in memory; `None` when it does not exist.
    async fn read_whole(&self, key: &str) -> Result<Option<Bytes>, ApiError> {
        let mut body = match self.storage.read(key, None).await {
            Ok(body) => body,
            Err(StorageError::NotFound) => return Ok(None),
            Err(other) => return Err(storage_failure(other)),
        };
        let mut whole = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| storage_failure(error.into()))?;
            whole.extend_from_slice(&chunk);
        }
        Ok(Some(whole.freeze()))
    }
}
