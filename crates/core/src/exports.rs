//! Exports of a person's data (issue 29): who may ask, the archive, its download link.
//!
//! The archive is one zip, written as it is read — page after page of the database, file after
//! file of the store — straight into the attachment store, so neither the node's memory nor
//! its disk ever holds it whole:
//!
//! - `profile.json` — the person's id and display name, and when the archive was made;
//! - `rooms.ndjson` — each room they are or were in, as they see it, and how (`customer`,
//!   `staff`);
//! - `messages.ndjson` — as the customer: every message of their rooms they can see (never an
//!   internal note); as staff: the messages they wrote;
//! - `events.ndjson` — as the customer: their rooms' events as they received them;
//! - `read_markers.ndjson`, `notification_settings.ndjson`, `push_subscriptions.ndjson`
//!   (endpoints, never the keys);
//! - `files/{attachment id}-{name}` — the files of the messages above.

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;
use room_chats_store::audit::recorded;
use room_chats_store::exports::{self as store, StoredExport};
use room_chats_store::messages::{self, HistoryPage};
use room_chats_store::persons::{PersonsRoom, persons_rooms};
use room_chats_store::{Audience, Database, StoreError, attachments, push, rooms, timeline};
use room_chats_types::{AuditAction, ExportDto, ExportStatus, Role};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::attachments::storage::ObjectWriter;
use crate::attachments::{AttachmentStore, StorageError, hex};
use crate::audit::entry;
use crate::auth::Caller;
use crate::chat::check_field;
use crate::error::ApiError;

/// How long a download link works, unless the operator says otherwise (`EXPORT_TTL_HOURS`).
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(24 * 3_600);
/// How long an exporter holds an export before another node may take it over; renewed while
/// it works.
const LEASE: Duration = Duration::from_secs(60);
/// Messages and events read per database round trip.
const PAGE: i64 = 1_000;
/// Bytes gathered before they go to the store as one write.
const SINK_CHUNK: usize = 1 << 20;

/// The export use cases and the exporter's work.
#[derive(Clone)]
pub struct Exports {
    db: Database,
    files: AttachmentStore,
    link_ttl: Duration,
}

/// An archive to send: its bytes and size.
pub struct Archive {
    pub size: Option<u64>,
    pub body: futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>,
}

impl Exports {
    /// Exports of the people in `files`' database, written to its store, their links good for
    /// `link_ttl`.
    pub fn new(files: AttachmentStore, link_ttl: Duration) -> Self {
        Self {
            db: files.database().clone(),
            files,
            link_ttl,
        }
    }

    /// Asks for an export of `user_id`'s data: the platform service, or the person themself.
    /// Answered at once; an exporter writes it within seconds. Recorded in the audit trail.
    pub async fn request(&self, caller: &Caller, user_id: String) -> Result<ExportDto, ApiError> {
        check_field("user_id", &user_id)?;
        let allowed = match caller.role {
            Role::Service => true,
            Role::Client => caller.user_id == user_id,
            Role::Admin => false,
        };
        if !allowed {
            return Err(ApiError::Forbidden(
                "only the platform service, or the person themself, exports a person's data",
            ));
        }
        let mut random = [0_u8; 32];
        getrandom::fill(&mut random)
            .map_err(|error| ApiError::Internal(format!("no randomness for a link: {error}")))?;
        let key = hex(&random);
        let caller = caller.clone();
        let export = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::request(conn, &user_id, &caller.user_id, &key),
                    |_| {
                        let mut entry = entry(&caller, AuditAction::ExportRequested);
                        entry.user_id = Some(user_id.clone());
                        Some(entry)
                    },
                )
            })
            .await?;
        Ok(with_link(export))
    }

    /// The export `id`, with its link while ready: the platform service, or the person it is
    /// of (anyone else: `not_found`, as if there were none).
    pub async fn status(&self, caller: &Caller, id: i64) -> Result<ExportDto, ApiError> {
        let export = self
            .db
            .run(move |conn| store::find(conn, id))
            .await?
            .filter(|export| match caller.role {
                Role::Service => true,
                Role::Client => export.dto.user_id == caller.user_id,
                Role::Admin => false,
            })
            .ok_or(ApiError::NotFound("export"))?;
        Ok(with_link(export))
    }

    /// The archive of export `id`, for a link carrying `key`: refused (`not_found`) for a key
    /// that is not this export's, an export not ready, or a link that expired.
    pub async fn archive(&self, id: i64, key: &str) -> Result<Archive, ApiError> {
        let export = self.db.run(move |conn| store::find(conn, id)).await?;
        let now = Utc::now();
        let object = export.and_then(|export| {
            let matches = constant_time_eq(export.download_key.as_bytes(), key.as_bytes());
            let live = export.dto.status == ExportStatus::Ready
                && export.dto.expires_at.is_some_and(|expires| expires > now);
            (matches && live).then_some((id, export.dto.size_bytes))
        });
        let Some((id, size)) = object else {
            return Err(ApiError::NotFound("export (or the link expired)"));
        };
        let body = self
            .files
            .storage()
            .read(&archive_key(id), None)
            .await
            .map_err(|error| ApiError::Unavailable(error.to_string()))?;
        Ok(Archive {
            size: size.and_then(|size| u64::try_from(size).ok()),
            body: body
                .map(|chunk| chunk.map_err(std::io::Error::other))
                .boxed(),
        })
    }

    /// Takes the next waiting export and writes its archive; whether there was one. Archives
    /// whose link expired are deleted on the way.
    pub async fn run_next(&self) -> Result<bool, ApiError> {
        let now = Utc::now().timestamp_micros();
        self.db
            .run(move |conn| store::expire(conn, now, PAGE))
            .await?;
        let lease = micros(LEASE);
        let Some(export) = self
            .db
            .run(move |conn| store::take_next(conn, lease))
            .await?
        else {
            return Ok(false);
        };
        let id = export.dto.id;
        let started = Instant::now();
        match self.write(export).await {
            Ok(size) => {
                let expires_at = (Utc::now() + self.link_ttl).timestamp_micros();
                let key = archive_key(id);
                self.db
                    .run(move |conn| store::mark_ready(conn, id, &key, size, expires_at, with_link))
                    .await?;
                tracing::info!(
                    export = id,
                    bytes = size,
                    took_ms = started.elapsed().as_millis() as u64,
                    "export: archive ready"
                );
            }
            Err(error) => {
                tracing::warn!(export = id, %error, "export: archive not written");
                let why = error.to_string();
                self.db
                    .run(move |conn| store::mark_failed(conn, id, &why))
                    .await?;
            }
        }
        Ok(true)
    }

    /// Writes the archive of `export` to the store; its size.
    async fn write(&self, export: StoredExport) -> Result<i64, ApiError> {
        let key = archive_key(export.dto.id);
        let disposition = format!("attachment; filename=\"export-{}.zip\"", export.dto.id);
        let writer = self
            .files
            .storage()
            .writer(&key, "application/zip", &disposition)
            .await
            .map_err(storage_error)?;
        let this = self.clone();
        let handle = tokio::runtime::Handle::current();
        let written = tokio::task::spawn_blocking(move || {
            let mut archive = ArchiveWriter {
                handle,
                db: this.db.clone(),
                files: this.files.clone(),
                export: export.dto,
                lease_renewed: Instant::now(),
            };
            archive.write(writer)
        })
        .await
        .map_err(|error| ApiError::Internal(format!("the exporter stopped: {error}")))??;
        Ok(i64::try_from(written).unwrap_or(i64::MAX))
    }
}

/// The object key of export `id`'s archive.
fn archive_key(id: i64) -> String {
    format!("exports/{id}.zip")
}

/// The export as the API shows it: with its download path while ready and not expired.
fn with_link(export: StoredExport) -> ExportDto {
    let mut dto = export.dto;
    let live = dto.status == ExportStatus::Ready
        && dto.expires_at.is_some_and(|expires| expires > Utc::now());
    if live {
        dto.download_url = Some(format!(
            "/exports/{}/archive?key={}",
            dto.id, export.download_key
        ));
    }
    dto
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn storage_error(error: StorageError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

fn zip_error(error: zip::result::ZipError) -> ApiError {
    ApiError::Internal(format!("archive: {error}"))
}

fn io_error(error: std::io::Error) -> ApiError {
    ApiError::Internal(format!("archive: {error}"))
}

/// Compares two keys in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A zip entry name for an attached file: its id, then its name without anything that could
/// climb out of `files/` or hide in a path.
fn entry_name(id: i64, filename: &str) -> String {
    let clean: String = filename
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    format!("files/{id}-{}", clean.trim_start_matches('.'))
}

/// Writes one archive on a blocking thread, reaching the database and the store through the
/// runtime's handle.
struct ArchiveWriter {
    handle: tokio::runtime::Handle,
    db: Database,
    files: AttachmentStore,
    export: ExportDto,
    lease_renewed: Instant,
}

impl ArchiveWriter {
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut room_chats_store::DbConnection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        Ok(self.handle.block_on(self.db.run(work))?)
    }

    /// Keeps the export's lease while the archive is written.
    fn keep_lease(&mut self) -> Result<(), ApiError> {
        if self.lease_renewed.elapsed() > LEASE / 3 {
            let id = self.export.id;
            let lease = micros(LEASE);
            self.run(move |conn| store::renew(conn, id, lease))?;
            self.lease_renewed = Instant::now();
        }
        Ok(())
    }

    fn write(&mut self, writer: ObjectWriter) -> Result<u64, ApiError> {
        let sink = StoreSink {
            handle: self.handle.clone(),
            writer: Some(writer),
            buffer: Vec::with_capacity(SINK_CHUNK),
            written: 0,
        };
        let mut zip = ZipWriter::new_stream(sink);
        let text = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true);
        // Files are mostly compressed already (images, PDFs): stored as they are.
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        let user_id = self.export.user_id.clone();

        let settings = {
            let user_id = user_id.clone();
            self.run(move |conn| store::persons_settings(conn, &user_id))?
        };
        zip.start_file("profile.json", text).map_err(zip_error)?;
        let profile = json!({
            "user_id": user_id,
            "display_name": settings.name,
            "exported_at": Utc::now(),
            "export_id": self.export.id,
        });
        write_line(&mut zip, &profile)?;

        let rooms = {
            let user_id = user_id.clone();
            self.run(move |conn| persons_rooms(conn, &user_id))?
        };
        zip.start_file("rooms.ndjson", text).map_err(zip_error)?;
        for room in &rooms {
            let room_id = room.room_id;
            let Some(found) = self.run(move |conn| rooms::find_room(conn, room_id))? else {
                continue;
            };
            let line =
                json!({ "as": if room.as_customer { "customer" } else { "staff" }, "room": found });
            write_line(&mut zip, &line)?;
        }

        zip.start_file("messages.ndjson", text).map_err(zip_error)?;
        let mut files = Vec::new();
        for room in &rooms {
            self.write_messages(&mut zip, *room, &mut files)?;
        }

        zip.start_file("events.ndjson", text).map_err(zip_error)?;
        for room in rooms.iter().filter(|room| room.as_customer) {
            self.write_events(&mut zip, room.room_id)?;
        }

        zip.start_file("read_markers.ndjson", text)
            .map_err(zip_error)?;
        for (room_id, last_read_seq, read_at, _) in &settings.memberships {
            let read_at = chrono::DateTime::from_timestamp_micros(*read_at);
            write_line(
                &mut zip,
                &json!({ "room_id": room_id, "last_read_seq": last_read_seq, "read_at": read_at }),
            )?;
        }
        zip.start_file("notification_settings.ndjson", text)
            .map_err(zip_error)?;
        for (room_id, _, _, muted) in &settings.memberships {
            write_line(&mut zip, &json!({ "room_id": room_id, "muted": muted }))?;
        }
        // What `GET /push/subscriptions` shows the person: endpoints, never the keys.
        let subscriptions = {
            let user_id = user_id.clone();
            self.run(move |conn| push::subscriptions(conn, &user_id))?
        };
        zip.start_file("push_subscriptions.ndjson", text)
            .map_err(zip_error)?;
        for subscription in &subscriptions {
            write_line(&mut zip, subscription)?;
        }

        for attachment_id in files {
            self.write_file(&mut zip, attachment_id, stored)?;
        }
        let sink = zip.finish().map_err(zip_error)?.into_inner();
        sink.finish()
    }

    /// The messages of `room` that go in the person's archive, page after page; the ids of
    /// their files go to `files`.
    fn write_messages(
        &mut self,
        zip: &mut ZipWriter<zip::write::StreamWriter<StoreSink>>,
        room: PersonsRoom,
        files: &mut Vec<i64>,
    ) -> Result<(), ApiError> {
        let audience = if room.as_customer {
            Audience::Customer
        } else {
            Audience::Staff
        };
        let mut after = 0;
        loop {
            let room_id = room.room_id;
            let page = self.run(move |conn| {
                messages::history(conn, room_id, HistoryPage::After(after), PAGE, audience)
            })?;
            for message in &page.items {
                if room.as_customer || message.sender_id == self.export.user_id {
                    files.extend(message.attachments.iter().map(|file| file.id));
                    write_line(zip, message)?;
                }
            }
            match (page.next_cursor, page.items.last()) {
                (Some(_), Some(last)) => after = last.seq,
                _ => return Ok(()),
            }
            self.keep_lease()?;
        }
    }

    /// The events of a room of the person's as the customer received them.
    fn write_events(
        &mut self,
        zip: &mut ZipWriter<zip::write::StreamWriter<StoreSink>>,
        room_id: i64,
    ) -> Result<(), ApiError> {
        let mut after = 0;
        loop {
            let events = self.run(move |conn| {
                timeline::room_events(conn, room_id, after, i64::MAX, PAGE, Audience::Customer)
            })?;
            for event in &events {
                if let Some(frame) = &event.frame {
                    zip.write_all(frame.as_bytes()).map_err(io_error)?;
                    zip.write_all(b"\n").map_err(io_error)?;
                }
            }
            match events.last() {
                Some(last) if events.len() as i64 == PAGE => after = last.seq,
                _ => return Ok(()),
            }
            self.keep_lease()?;
        }
    }

    /// One attached file, streamed from the store into the archive.
    fn write_file(
        &mut self,
        zip: &mut ZipWriter<zip::write::StreamWriter<StoreSink>>,
        attachment_id: i64,
        options: SimpleFileOptions,
    ) -> Result<(), ApiError> {
        let Some(found) = self.run(move |conn| attachments::find(conn, attachment_id))? else {
            return Ok(());
        };
        let storage = self.files.storage().clone();
        let key = found.storage_key.clone();
        let stream = self.handle.block_on(storage.read(&key, None));
        let mut stream = match stream {
            Ok(stream) => stream,
            // Gone meanwhile (deleted, purged): the archive goes without it.
            Err(StorageError::NotFound) => return Ok(()),
            Err(error) => return Err(storage_error(error)),
        };
        zip.start_file(entry_name(attachment_id, &found.dto.filename), options)
            .map_err(zip_error)?;
        while let Some(chunk) = self.handle.block_on(stream.next()) {
            let chunk = chunk.map_err(|error| ApiError::Unavailable(error.to_string()))?;
            zip.write_all(&chunk).map_err(io_error)?;
        }
        self.keep_lease()
    }
}

/// One JSON line.
fn write_line(zip: &mut impl Write, value: &impl serde::Serialize) -> Result<(), ApiError> {
    serde_json::to_writer(&mut *zip, value)
        .map_err(|error| ApiError::Internal(format!("archive: {error}")))?;
    zip.write_all(b"\n").map_err(io_error)
}

/// The zip's output: gathered into chunks and written to the store's multipart upload, which
/// waits while the store is behind — so memory stays at a chunk or two, whatever the archive.
struct StoreSink {
    handle: tokio::runtime::Handle,
    writer: Option<ObjectWriter>,
    buffer: Vec<u8>,
    written: u64,
}

impl StoreSink {
    fn flush_chunk(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(SINK_CHUNK),
        ));
        let Some(writer) = self.writer.as_mut() else {
            return Err(std::io::Error::other("the archive is finished"));
        };
        self.handle
            .block_on(writer.write(chunk))
            .map_err(std::io::Error::other)
    }

    /// Completes the archive in the store; its size.
    fn finish(mut self) -> Result<u64, ApiError> {
        self.flush_chunk().map_err(io_error)?;
        if let Some(writer) = self.writer.take() {
            self.handle
                .block_on(writer.finish())
                .map_err(storage_error)?;
        }
        Ok(self.written)
    }
}

impl Write for StoreSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buffer.len() >= SINK_CHUNK {
            self.flush_chunk()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_climb_out_of_the_files_folder() {
        assert_eq!(entry_name(7, "../../etc/passwd"), "files/7-_.._etc_passwd");
        assert_eq!(entry_name(8, "..hidden"), "files/8-hidden");
        assert_eq!(entry_name(9, "a\\b:c\nd.png"), "files/9-a_b_c_d.png");
    }

    #[test]
    fn keys_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
