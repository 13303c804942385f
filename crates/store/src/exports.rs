//! Exports of a person's data (issue 29): the jobs, and the reads that fill an archive.
//!
//! An export is a row of `exports`. Every node's exporter takes the oldest waiting one with a
//! lease (`lease_until`): a node that dies mid-way lets its lease run out and another node
//! starts the export again. The archive lives in the attachment store; the row keeps its key,
//! the random key of the download link and when the link expires.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use room_chats_types::{ExportDto, ExportStatus, RoomId, WebhookEventData, WebhookEventType};

use crate::connection::write_transaction;
use crate::outbox::{self, OutboxEvent, empty_data};
use crate::schema::{exports, room_members, user_names};
use crate::storage_deletions;
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

type ExportRow = (
    i64,
    String,
    String,
    StoredTime,
    String,
    Option<StoredTime>,
    Option<StoredTime>,
    Option<i64>,
    String,
    Option<String>,
);

/// The columns of [`ExportRow`].
macro_rules! export_columns {
    () => {
        (
            exports::id,
            exports::user_id,
            exports::status,
            exports::requested_at,
            exports::requested_by,
            exports::finished_at,
            exports::expires_at,
            exports::size_bytes,
            exports::download_key,
            exports::error,
        )
    };
}

/// An export as stored, with the key of its download link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredExport {
    /// What the API shows (without the link: the caller builds it).
    pub dto: ExportDto,
    /// The random key the download link carries.
    pub download_key: String,
}

fn stored(row: ExportRow) -> Result<StoredExport, StoreError> {
    let (
        id,
        user_id,
        status,
        requested_at,
        requested_by,
        finished_at,
        expires_at,
        size,
        key,
        error,
    ) = row;
    let status = ExportStatus::parse(&status)
        .ok_or_else(|| StoreError::Unreadable(format!("export status {status:?}")))?;
    let requested_at: DateTime<Utc> = requested_at.into();
    Ok(StoredExport {
        dto: ExportDto {
            id,
            user_id,
            status,
            requested_at,
            requested_by,
            finished_at: finished_at.map(Into::into),
            expires_at: expires_at.map(Into::into),
            size_bytes: size,
            download_url: None,
            error,
        },
        download_key: key,
    })
}

/// Records a request for an export of `user_id`'s data, with `download_key` for its link.
pub fn request(
    conn: &mut DbConnection,
    user_id: &str,
    requested_by: &str,
    download_key: &str,
) -> Result<StoredExport, StoreError> {
    let id: i64 = diesel::insert_into(exports::table)
        .values((
            exports::user_id.eq(user_id),
            exports::requested_by.eq(requested_by),
            exports::requested_at.eq(now_micros()),
            exports::status.eq(ExportStatus::Pending.as_str()),
            exports::download_key.eq(download_key),
        ))
        .returning(exports::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

/// The export `id`, if there is one.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<StoredExport>, StoreError> {
    let row: Option<ExportRow> = exports::table
        .find(id)
        .select(export_columns!())
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// Takes the oldest export waiting (or whose exporter's lease ran out) for `lease` micros;
/// `None` when none waits. Nodes taking at once take different ones.
pub fn take_next(conn: &mut DbConnection, lease: i64) -> Result<Option<StoredExport>, StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let query = exports::table
            .filter(
                exports::status
                    .eq(ExportStatus::Pending.as_str())
                    .or(exports::status
                        .eq(ExportStatus::Running.as_str())
                        .and(exports::lease_until.lt(now))),
            )
            .order(exports::id)
            .select(exports::id)
            .limit(1);
        let id: Option<i64> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().first(pg).optional()?,
            DbConnection::Sqlite(sqlite) => query.first(sqlite).optional()?,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        diesel::update(exports::table.find(id))
            .set((
                exports::status.eq(ExportStatus::Running.as_str()),
                exports::lease_until.eq(now + lease),
            ))
            .execute(conn)?;
        find(conn, id)
    })
}

/// Extends the lease of a running export (the exporter is still at it).
pub fn renew(conn: &mut DbConnection, id: i64, lease: i64) -> Result<(), StoreError> {
    diesel::update(
        exports::table
            .find(id)
            .filter(exports::status.eq(ExportStatus::Running.as_str())),
    )
    .set(exports::lease_until.eq(now_micros() + lease))
    .execute(conn)?;
    Ok(())
}

/// Marks the export ready — its archive at `object_key`, `size` bytes, its link good until
/// `expires_at` — and sends `export.ready` with `dto` (the export as the API shows it).
pub fn mark_ready(
    conn: &mut DbConnection,
    id: i64,
    object_key: &str,
    size: i64,
    expires_at: i64,
    ready: impl FnOnce(StoredExport) -> ExportDto,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::update(exports::table.find(id))
            .set((
                exports::status.eq(ExportStatus::Ready.as_str()),
                exports::object_key.eq(object_key),
                exports::size_bytes.eq(size),
                exports::finished_at.eq(now_micros()),
                exports::expires_at.eq(expires_at),
                exports::lease_until.eq(None::<i64>),
            ))
            .execute(conn)?;
        let export = find(conn, id)?.ok_or(StoreError::NotFound)?;
        let dto = ready(export);
        let event = OutboxEvent {
            room_id: 0,
            event_id: format!("evt_export_{id}"),
            kind: WebhookEventType::ExportReady,
            at: now_micros(),
            data: WebhookEventData {
                user_id: Some(dto.user_id.clone()),
                export: Some(dto),
                ..empty_data()
            },
        };
        outbox::record(conn, || [event])
    })
}

/// Marks the export failed, saying why.
pub fn mark_failed(conn: &mut DbConnection, id: i64, error: &str) -> Result<(), StoreError> {
    diesel::update(exports::table.find(id))
        .set((
            exports::status.eq(ExportStatus::Failed.as_str()),
            exports::error.eq(error),
            exports::finished_at.eq(now_micros()),
            exports::lease_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks up to `limit` ready exports whose link expired before `now` expired and queues their
/// archives for deletion (the attachment collector deletes them); how many.
pub fn expire(conn: &mut DbConnection, now: i64, limit: i64) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let due: Vec<(i64, Option<String>)> = exports::table
            .filter(exports::status.eq(ExportStatus::Ready.as_str()))
            .filter(exports::expires_at.lt(now))
            .select((exports::id, exports::object_key))
            .limit(limit)
            .load(conn)?;
        let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
        diesel::update(exports::table.filter(exports::id.eq_any(&ids)))
            .set((
                exports::status.eq(ExportStatus::Expired.as_str()),
                exports::object_key.eq(None::<String>),
            ))
            .execute(conn)?;
        let keys: Vec<String> = due.into_iter().filter_map(|(_, key)| key).collect();
        storage_deletions::queue(conn, &keys)?;
        Ok(ids.len())
    })
}

/// Withdraws every archive of `user_id`'s data (an erasure: the archives hold their words):
/// each export is marked expired and its archive queued for deletion. How many.
pub fn withdraw(conn: &mut DbConnection, user_id: &str) -> Result<usize, StoreError> {
    let archives: Vec<(i64, Option<String>)> = exports::table
        .filter(exports::user_id.eq(user_id))
        .filter(exports::object_key.is_not_null())
        .select((exports::id, exports::object_key))
        .load(conn)?;
    if archives.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = archives.iter().map(|(id, _)| *id).collect();
    let keys: Vec<String> = archives.into_iter().filter_map(|(_, key)| key).collect();
    storage_deletions::queue(conn, &keys)?;
    diesel::update(exports::table.filter(exports::id.eq_any(&ids)))
        .set((
            exports::status.eq(ExportStatus::Expired.as_str()),
            exports::object_key.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(ids.len())
}

/// What the service keeps of the person beside their rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonsSettings {
    /// The display name last seen in their token.
    pub name: Option<String>,
    /// Per room: the read marker, when it last moved (micros), whether the room is muted.
    pub memberships: Vec<(RoomId, i64, i64, bool)>,
}

/// The person's name, read markers and notification settings.
pub fn persons_settings(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<PersonsSettings, StoreError> {
    let name: Option<String> = user_names::table
        .find(user_id)
        .select(user_names::name)
        .first(conn)
        .optional()?;
    let memberships = room_members::table
        .filter(room_members::user_id.eq(user_id))
        .order(room_members::room_id)
        .select((
            room_members::room_id,
            room_members::last_read_seq,
            room_members::read_at,
            room_members::muted,
        ))
        .load(conn)?;
    Ok(PersonsSettings { name, memberships })
}
