//! Attachments: files uploaded into a room's chat, streamed to the object store (local disk or
//! S3-compatible), read back by whoever can see the room.
//!
//! An upload is checked before a byte is stored (the caller may see the room and it is open;
//! the uploader's rate and quota), typed from its first bytes against an allowlist, and cut off
//! the moment it passes the size limit. Its bytes are hashed on the way; the database row is
//! written only once the object is complete, and an upload that fails or is refused midway
//! removes what it wrote.

mod bandwidth;
mod direct;
mod disposition;
pub mod filename;
pub mod images;
mod previews;
pub mod sniff;
mod staging;
pub mod storage;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::Fuse;
use futures_util::{Stream, StreamExt};
use room_chats_store::Database;
use room_chats_store::attachments::{self, NewAttachment, StoredAttachment};
use room_chats_store::storage_deletions;
use room_chats_types::{AttachmentDto, RoomId, RoomStatus};
use sha2::{Digest, Sha256};

use bandwidth::UploadBandwidth;
pub use disposition::content_disposition;
use images::{DimensionProbe, Dimensions};
use previews::ImageFacts;
pub use previews::PreviewRequests;
use storage::ObjectWriter;
pub use storage::{Storage, StorageError, StorageLocation};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::visible_room::VisibleRoom;

/// The types uploads may have by default: images, PDF and plain text.
pub const DEFAULT_TYPES: &str = room_chats_types::rules::DEFAULT_UPLOAD_TYPES;

/// Attachment limits (`ATTACHMENT_*`); [`AttachmentSettings::DEFAULT`] holds the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSettings {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Types a file may have (as read from its bytes). [`DEFAULT_TYPES`] by default;
    /// `DEFAULT` leaves it empty (a const cannot hold a list), so build settings with
    /// `Default::default()` or list the types.
    pub allowed_types: Vec<String>,
    /// Bytes per second all uploads streaming through one node may take together (0:
    /// unlimited), so a burst of fast uploads leaves the node's cores to chat traffic.
    pub upload_bytes_per_sec: u64,
    /// Uploads one user may make per minute, on all nodes together.
    pub uploads_per_minute: i64,
    /// Bytes one user may upload per 24 hours, on all nodes together.
    pub daily_quota_bytes: u64,
    /// How long a presigned URL holds (S3): a download's, and a direct upload's PUT.
    pub url_ttl: Duration,
    /// How long past a presigned PUT's expiry the store may still accept it (its clock may
    /// run behind ours): only then is the object a client put removed.
    pub url_clock_margin: Duration,
    /// Uploads not sent in a message within this long are removed.
    pub unsent_ttl: Duration,
    /// The files of a deleted message are removed this long after the delete.
    pub deleted_retention: Duration,
    /// How often each node looks for files to remove.
    pub collect_every: Duration,
}

impl AttachmentSettings {
    /// The defaults, defined once (the types are [`DEFAULT_TYPES`]).
    pub const DEFAULT: Self = Self {
        max_bytes: room_chats_types::rules::DEFAULT_MAX_UPLOAD_BYTES,
        allowed_types: Vec::new(),
        // Measured on 2 cores: 64 MiB/s keeps room traffic's p99 under 20 ms (PERFORMANCE.md).
        upload_bytes_per_sec: 64 * 1024 * 1024,
        uploads_per_minute: 30,
        daily_quota_bytes: 1024 * 1024 * 1024,
        url_ttl: Duration::from_secs(300),
        url_clock_margin: Duration::from_secs(60),
        unsent_ttl: Duration::from_secs(24 * 3_600),
        deleted_retention: Duration::from_secs(7 * 24 * 3_600),
        collect_every: Duration::from_secs(60),
    };

    /// The types in a comma-separated list, lowercase.
    pub fn parse_types(list: &str) -> Vec<String> {
        list.split(',')
            .map(|kind| kind.trim().to_ascii_lowercase())
            .filter(|kind| !kind.is_empty())
            .collect()
    }
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self {
            allowed_types: Self::parse_types(DEFAULT_TYPES),
            ..Self::DEFAULT
        }
    }
}

/// A file as the client sends it.
pub struct Upload<S> {
    /// The name it claims (made safe before use).
    pub filename: String,
    /// The body's length when the client declared it.
    pub declared_len: Option<u64>,
    /// The bytes, with what went wrong reading them already told as the answer it gets
    /// (a body that broke off, stalled or overflowed).
    pub body: S,
}

/// How long an upload's staging file must have gone unwritten to count as left by a crash:
/// far past any client's idle timeout.
const UNFINISHED_IDLE: Duration = Duration::from_secs(3_600);

/// Rows of each kind the collector removes per round.
pub const COLLECT_BATCH: usize = 200;

/// A byte range a download asks for (`Range: bytes=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last`, both included.
    FromTo(u64, u64),
    /// `first-`: to the end.
    From(u64),
    /// `-length`: the last `length` bytes.
    Last(u64),
}

impl ByteRange {
    /// The bytes it names in a file of `size` bytes; `None` when it names none.
    pub fn resolve(self, size: u64) -> Option<std::ops::Range<u64>> {
        let (first, end) = match self {
            Self::FromTo(first, last) if first <= last => (first, last.saturating_add(1).min(size)),
            Self::FromTo(..) => return None,
            Self::From(first) => (first, size),
            Self::Last(length) => (size.saturating_sub(length), size),
        };
        (first < end).then_some(first..end)
    }
}

/// How a download is answered.
pub enum Download {
    /// Stream these bytes (of `range` when one was asked for).
    Bytes {
        /// The attachment.
        attachment: AttachmentDto,
        /// The part sent, when a range was asked for.
        range: Option<std::ops::Range<u64>>,
        /// The bytes.
        body: futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
    },
    /// Send the client to this short-lived URL of the object store.
    Redirect(url::Url),
}

/// The attachments' rows and objects under their settings: what the attachment use cases
/// and the send path (which checks direct uploads) both need. Cheap to clone.
#[derive(Clone)]
pub struct AttachmentStore {
    db: Database,
    storage: Storage,
    settings: std::sync::Arc<AttachmentSettings>,
    /// Previews are made one at a time per node.
    preview_turns: std::sync::Arc<tokio::sync::Semaphore>,
    /// What the node's uploads may stream together.
    bandwidth: std::sync::Arc<UploadBandwidth>,
    /// Files waiting for the preview maker.
    preview_queue: tokio::sync::mpsc::Sender<StoredAttachment>,
}

impl AttachmentStore {
    /// Rows in `db`, objects in `storage`, under `settings`; with the requests for previews
    /// its uploads will make, for the preview maker.
    pub fn new(
        db: Database,
        storage: Storage,
        settings: AttachmentSettings,
    ) -> (Self, PreviewRequests) {
        let (preview_queue, preview_requests) = previews::preview_queue();
        let store = Self {
            db,
            storage,
            preview_turns: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
            bandwidth: std::sync::Arc::new(UploadBandwidth::new(settings.upload_bytes_per_sec)),
            settings: std::sync::Arc::new(settings),
            preview_queue,
        };
        (store, preview_requests)
    }

    /// Writes `head` and the rest of `body` to a new object at `key` within `limit`, hashing on
    /// the way and reading an image's size; answers what it wrote. The object carries
    /// `content_type` and the disposition for `filename` (for the store's presigned downloads),
    /// and exists only when this answers `Ok`: every failure aborts it.
    async fn write_object<S>(
        &self,
        key: &str,
        content_type: &str,
        filename: &str,
        head: Bytes,
        body: S,
        limit: SizeLimit,
    ) -> Result<Written, ApiError>
    where
        S: Stream<Item = Result<Bytes, ApiError>> + Unpin,
    {
        let disposition = content_disposition(filename, content_type);
        let mut writer = self
            .storage
            .writer(key, content_type, &disposition)
            .await
            .map_err(storage_failure)?;
        let mut probe = DimensionProbe::new(content_type);
        let copied = copy_to_store(head, body, &mut writer, &mut probe, limit);
        let (size, sha256) = match copied.await {
            Ok(copied) => copied,
            Err(error) => {
                writer.abort().await;
                return Err(error);
            }
        };
        writer.finish().await.map_err(storage_failure)?;
        Ok(Written {
            size,
            sha256,
            dimensions: probe.dimensions(),
        })
    }

    /// `stream` at the pace the node's upload budget allows: every byte of an upload, read
    /// from a client or from the store, passes through it.
    fn metered<S, E>(&self, stream: S) -> impl Stream<Item = Result<Bytes, E>> + 'static
    where
        S: Stream<Item = Result<Bytes, E>> + 'static,
        E: 'static,
    {
        let bandwidth = std::sync::Arc::clone(&self.bandwidth);
        stream.then(move |chunk| {
            let bandwidth = std::sync::Arc::clone(&bandwidth);
            async move {
                if let Ok(bytes) = &chunk {
                    bandwidth.take(bytes.len()).await;
                }
                chunk
            }
        })
    }

    /// Refuses a type not among the allowed ones (415).
    fn check_type(&self, content_type: &str) -> Result<(), ApiError> {
        if self
            .settings
            .allowed_types
            .iter()
            .any(|allowed| allowed == content_type)
        {
            return Ok(());
        }
        Err(ApiError::UnsupportedType(format!(
            "files of type {content_type} are not accepted here (allowed: {})",
            self.settings.allowed_types.join(", ")
        )))
    }

    /// Where files (and export archives) are kept.
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The database the files' rows are in.
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// How long the collector waits between rounds that found less than a batch.
    pub fn collect_every(&self) -> Duration {
        self.settings.collect_every
    }

    /// Removes what uploads cut short by a crash of this or another node left behind.
    pub async fn sweep_unfinished(&self) {
        match self.storage.sweep_unfinished(UNFINISHED_IDLE).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "unfinished uploads removed (left by a crash)"),
            Err(error) => tracing::warn!(%error, "cannot sweep unfinished uploads"),
        }
    }

    /// One round of collection: uploads never sent within `unsent_ttl`, the files of messages
    /// deleted `deleted_retention` ago, direct uploads whose URL expired unused, and the
    /// objects retention purges queued. Answers the larger of the two counts of files removed
    /// (each at most [`COLLECT_BATCH`]: a full batch means go on at once). Every node collects;
    /// each row is removed once, and deleting an object twice is harmless.
    pub async fn collect(&self) -> usize {
        let now = chrono::Utc::now().timestamp_micros();
        let age = |duration: Duration| i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2);
        let cutoffs = attachments::Cutoffs {
            unsent_before: now - age(self.settings.unsent_ttl),
            deleted_before: now - age(self.settings.deleted_retention),
            // Once the URL has expired nobody can put the object again.
            uploaded_before: now - age(self.settings.url_ttl) - age(self.settings.url_clock_margin),
        };
        let keys = match self
            .db
            .run(move |conn| attachments::collect(conn, cutoffs, COLLECT_BATCH as i64))
            .await
        {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, "attachment collection: cannot read what to remove");
                return 0;
            }
        };
        for key in &keys {
            if let Err(error) = self.storage.delete(key).await {
                tracing::warn!(%error, key, "attachment collection: an object stays in the store");
            }
        }
        if !keys.is_empty() {
            tracing::info!(
                removed = keys.len(),
                "attachments removed (unsent or of deleted messages)"
            );
        }
        keys.len().max(self.delete_queued().await)
    }

    /// Deletes up to [`COLLECT_BATCH`] objects queued by a purge (their rows went in the
    /// purge's transaction), each key forgotten only once its object is gone: an object that
    /// fails to delete stays queued for the next round. How many it deleted.
    async fn delete_queued(&self) -> usize {
        let queued = match self
            .db
            .run(|conn| storage_deletions::queued(conn, COLLECT_BATCH as i64))
            .await
        {
            Ok(queued) => queued,
            Err(error) => {
                tracing::warn!(%error, "attachment collection: cannot read the deletion queue");
                return 0;
            }
        };
        let mut deleted = Vec::with_capacity(queued.len());
        for key in queued {
            match self.storage.delete(&key).await {
                Ok(()) => deleted.push(key),
                Err(error) => {
                    tracing::warn!(%error, key, "attachment collection: a purged object stays queued");
                }
            }
        }
        if deleted.is_empty() {
            return 0;
        }
        let count = deleted.len();
        match self
            .db
            .run(move |conn| storage_deletions::forget(conn, &deleted))
            .await
        {
            Ok(_) => tracing::info!(removed = count, "purged attachments' objects deleted"),
            // Deleted again at the next round: harmless.
            Err(error) => {
                tracing::warn!(%error, "attachment collection: deleted objects stay queued")
            }
        }
        count
    }
}

/// The attachment use cases.
#[derive(Clone)]
pub struct Attachments {
    store: AttachmentStore,
}

impl Attachments {
    /// Use cases over `store`; who sees which room is decided by [`VisibleRoom::check`], the
    /// chat's own access check.
    pub fn new(store: AttachmentStore) -> Self {
        Self { store }
    }

    /// The largest file accepted.
    pub fn max_bytes(&self) -> u64 {
        self.store.settings.max_bytes
    }

    /// An upload's request body at the pace the node's upload budget allows. Every byte the
    /// client sends counts, multipart framing and other parts included.
    pub fn metered<S, E>(&self, body: S) -> impl Stream<Item = Result<Bytes, E>> + 'static
    where
        S: Stream<Item = Result<Bytes, E>> + 'static,
        E: 'static,
    {
        self.store.metered(body)
    }

    /// The room `room_id` if `caller` may upload into it: one it sees (404 otherwise) that
    /// is open (409).
    async fn open_room(&self, caller: &Caller, room_id: RoomId) -> Result<(), ApiError> {
        let room = VisibleRoom::check(&self.store.db, caller, room_id).await?;
        if room.room().status == RoomStatus::Closed {
            return Err(ApiError::RoomClosed);
        }
        Ok(())
    }

    /// Stores `upload` as an attachment of `room_id` by `caller`.
    pub async fn upload<S>(
        &self,
        caller: &Caller,
        room_id: RoomId,
        upload: Upload<S>,
    ) -> Result<AttachmentDto, ApiError>
    where
        S: Stream<Item = Result<Bytes, ApiError>> + Unpin,
    {
        self.open_room(caller, room_id).await?;
        let limit = self.size_limit(caller).await?;
        if let Some(declared) = upload.declared_len
            && declared > limit.bytes
        {
            return Err(limit.refusal());
        }
        let (head, body) = read_head(upload.body, limit).await?;
        let kind = sniff::kind(&head);
        let content_type = kind.content_type;
        self.store.check_type(content_type)?;
        let filename = filename::agreeing_with(&filename::sanitize(&upload.filename), kind);
        let key = storage_key("attachments", room_id)?;
        let written = self
            .store
            .write_object(&key, content_type, &filename, head, body, limit)
            .await?;
        let image = ImageFacts::of(&key, written.size, written.dimensions);
        let uploader = caller.user_id.clone();
        let stored_key = key.clone();
        let recorded = self
            .store
            .db
            .run(move |conn| {
                attachments::insert(
                    conn,
                    NewAttachment {
                        room_id,
                        uploader_id: &uploader,
                        storage_key: &stored_key,
                        filename: &filename,
                        content_type,
                        size: i64::try_from(written.size).unwrap_or(i64::MAX),
                        sha256: &written.sha256,
                        image: image.as_recorded(),
                    },
                )
            })
            .await;
        match recorded {
            Ok(stored) => {
                let attachment = stored.dto.clone();
                tracing::info!(
                    attachment_id = attachment.id,
                    room_id,
                    size = attachment.size,
                    content_type = %attachment.content_type,
                    "attachment stored"
                );
                self.store.request_preview(stored);
                Ok(attachment)
            }
            Err(error) => {
                // No row, no object: the client retries the whole upload.
                if let Err(cleanup) = self.store.storage.delete(&key).await {
                    tracing::warn!(%cleanup, "an unrecorded upload could not be removed");
                }
                Err(error.into())
            }
        }
    }

    /// What `caller` may still upload: the file limit, or less when the daily quota is
    /// nearly spent; refused outright past the per-minute rate.
    async fn size_limit(&self, caller: &Caller) -> Result<SizeLimit, ApiError> {
        let uploader = caller.user_id.clone();
        let now = chrono::Utc::now().timestamp_micros();
        let (minute, day) = self
            .store
            .db
            .run(move |conn| {
                let minute = attachments::uploads_since(conn, &uploader, now - 60_000_000)?;
                let day = attachments::uploads_since(conn, &uploader, now - 86_400_000_000)?;
                Ok::<_, room_chats_store::StoreError>((minute, day))
            })
            .await?;
        if minute.files >= self.store.settings.uploads_per_minute {
            return Err(ApiError::RateLimited {
                message: "too many uploads this minute; retry shortly",
                // The oldest upload of the minute leaves the window within this.
                retry_after: Some(crate::send_budget::RetryAfter(Duration::from_secs(60))),
            });
        }
        let left = self
            .store
            .settings
            .daily_quota_bytes
            .saturating_sub(u64::try_from(day.bytes).unwrap_or(0));
        Ok(if left < self.store.settings.max_bytes {
            SizeLimit {
                bytes: left,
                quota: true,
            }
        } else {
            SizeLimit {
                bytes: self.store.settings.max_bytes,
                quota: false,
            }
        })
    }

    /// The attachment `attachment_id` if `caller` may see its room: 404 otherwise, as for a
    /// missing one.
    async fn find(
        &self,
        caller: &Caller,
        attachment_id: i64,
    ) -> Result<StoredAttachment, ApiError> {
        let found = self
            .store
            .db
            .run(move |conn| attachments::find(conn, attachment_id))
            .await?
            .ok_or(ApiError::NotFound("attachment"))?;
        match VisibleRoom::check(&self.store.db, caller, found.dto.room_id).await {
            Ok(_) => Ok(found),
            Err(ApiError::NotFound(_)) => Err(ApiError::NotFound("attachment")),
            Err(other) => Err(other),
        }
    }

    /// A small JPEG of image `attachment_id` for `caller` (made now if it is not made yet), and
    /// the attachment. 404 for a file without one.
    pub async fn preview(
        &self,
        caller: &Caller,
        attachment_id: i64,
    ) -> Result<(AttachmentDto, Bytes), ApiError> {
        let found = self.find(caller, attachment_id).await?;
        if found.pending {
            return Err(not_completed());
        }
        let preview = self.store.preview(&found).await?;
        Ok((found.dto, preview))
    }

    /// The bytes of `attachment_id` (of `range`, resolved against its size) for `caller`.
    pub async fn download(
        &self,
        caller: &Caller,
        attachment_id: i64,
        range: Option<ByteRange>,
    ) -> Result<Download, ApiError> {
        let found = self.find(caller, attachment_id).await?;
        if found.pending {
            return Err(not_completed());
        }
        let size = u64::try_from(found.dto.size).unwrap_or(0);
        let range = match range {
            None => None,
            Some(range) => Some(
                range
                    .resolve(size)
                    .ok_or(ApiError::RangeNotSatisfiable { size })?,
            ),
        };
        if range.is_none()
            && let Some(url) = self
                .store
                .storage
                .presigned_get(
                    &found.storage_key,
                    self.store.settings.url_ttl,
                    &found.dto.content_type,
                    &content_disposition(&found.dto.filename, &found.dto.content_type),
                )
                .await
                .map_err(storage_failure)?
        {
            return Ok(Download::Redirect(url));
        }
        let body = self
            .store
            .storage
            .read(&found.storage_key, range.clone())
            .await
            .map_err(|error| match error {
                StorageError::NotFound => {
                    ApiError::Internal(format!("attachment {attachment_id} has no object"))
                }
                other => storage_failure(other),
            })?;
        Ok(Download::Bytes {
            attachment: found.dto,
            range,
            body,
        })
    }
}

/// The most an upload may hold, and why.
#[derive(Debug, Clone, Copy)]
struct SizeLimit {
    bytes: u64,
    /// The uploader's daily quota, not the file limit, sets it.
    quota: bool,
}

impl SizeLimit {
    fn refusal(self) -> ApiError {
        if self.quota {
            ApiError::FileTooLarge(format!(
                "the file is larger than what is left of your daily upload quota ({} bytes)",
                self.bytes
            ))
        } else {
            ApiError::FileTooLarge(format!(
                "the file is larger than the limit of {} bytes",
                self.bytes
            ))
        }
    }
}

/// What [`AttachmentStore::write_object`] wrote.
struct Written {
    size: u64,
    /// Hex SHA-256.
    sha256: String,
    /// An image's size, when its first bytes told it.
    dimensions: Option<Dimensions>,
}

/// Writes `head` and the rest of `body` to `writer`, within `limit`, showing it to `probe`;
/// answers the size and the hex SHA-256. On error the caller aborts the writer.
async fn copy_to_store<S>(
    head: Bytes,
    mut body: S,
    writer: &mut ObjectWriter,
    probe: &mut DimensionProbe,
    limit: SizeLimit,
) -> Result<(u64, String), ApiError>
where
    S: Stream<Item = Result<Bytes, ApiError>> + Unpin,
{
    let mut hasher = Sha256::new();
    let mut size = 0_u64;
    let mut next = Some(head);
    loop {
        let chunk = match next.take() {
            Some(chunk) => chunk,
            None => match body.next().await {
                Some(chunk) => chunk?,
                None => break,
            },
        };
        size += chunk.len() as u64;
        if size > limit.bytes {
            return Err(limit.refusal());
        }
        hasher.update(&chunk);
        probe.feed(&chunk);
        writer.write(chunk).await.map_err(storage_failure)?;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// Reads until [`sniff::SNIFF_BYTES`] are in hand or the body ends; answers them and the rest
/// of the body. The rest is fused: a file shorter than the head has ended already, and some
/// streams (a multipart field) panic when polled again after their end.
async fn read_head<S>(body: S, limit: SizeLimit) -> Result<(Bytes, Fuse<S>), ApiError>
where
    S: Stream<Item = Result<Bytes, ApiError>> + Unpin,
{
    let mut body = body.fuse();
    let mut head = BytesMut::new();
    while head.len() < sniff::SNIFF_BYTES {
        match body.next().await {
            Some(chunk) => {
                head.extend_from_slice(&chunk?);
                if head.len() as u64 > limit.bytes {
                    return Err(limit.refusal());
                }
            }
            None => break,
        }
    }
    if head.is_empty() {
        return Err(ApiError::Validation("the file is empty".to_owned()));
    }
    Ok((head.freeze(), body))
}

/// A fresh, unguessable object key under `area` and the room: `attachments` for the objects
/// the service serves, `uploads` for those clients put directly.
fn storage_key(area: &str, room_id: RoomId) -> Result<String, ApiError> {
    let mut random = [0_u8; 16];
    getrandom::fill(&mut random)
        .map_err(|error| ApiError::Internal(format!("no randomness for a key: {error}")))?;
    Ok(format!("{area}/{room_id}/{}", hex(&random)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// A direct upload not checked yet has nothing to serve.
fn not_completed() -> ApiError {
    ApiError::Conflict("this direct upload has not been completed: nothing to serve yet")
}

/// The store failed: the client may retry later.
fn storage_failure(error: StorageError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}
