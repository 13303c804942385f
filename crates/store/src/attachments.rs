//! Files uploaded into rooms: their metadata. The bytes live in the object store. A row
//! streamed through the service is written only once its object is complete, so it has its
//! bytes; a direct upload's row is `pending` from the moment its presigned URL is handed out
//! until the service has checked the object the client put there.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use room_chats_types::{AttachmentDto, RoomId};

use crate::schema::attachments;
use crate::storage_deletions::{StoredKeys, object_keys};
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

/// An uploaded file to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAttachment<'a> {
    /// The room it was uploaded into.
    pub room_id: RoomId,
    /// Who uploaded it (from the token).
    pub uploader_id: &'a str,
    /// Where its bytes are in the object store.
    pub storage_key: &'a str,
    /// Its name, already made safe.
    pub filename: &'a str,
    /// Its type as read from its bytes.
    pub content_type: &'a str,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256.
    pub sha256: &'a str,
    /// What an image shows.
    pub image: ImageFacts<'a>,
}

/// What is known of an image file: its size as displayed, and where its preview goes when one
/// is to be made. Empty for other files.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageFacts<'a> {
    /// Width in pixels.
    pub width: Option<i32>,
    /// Height in pixels.
    pub height: Option<i32>,
    /// The key its preview is (or will be) written to.
    pub preview_key: Option<&'a str>,
}

/// A direct upload to expect: the client PUTs the bytes to `upload_key` itself.
#[derive(Debug, Clone, Copy)]
pub struct NewDirectUpload<'a> {
    /// The room it goes into.
    pub room_id: RoomId,
    /// Who uploads it (from the token).
    pub uploader_id: &'a str,
    /// Where the client puts the bytes.
    pub upload_key: &'a str,
    /// Its name, already made safe.
    pub filename: &'a str,
    /// The type the client declared (and the presigned URL requires); checked against the
    /// bytes before the file is used.
    pub content_type: &'a str,
    /// The length the client declared (and the URL requires).
    pub size: i64,
}

/// What the service found when it checked a direct upload.
#[derive(Debug, Clone, Copy)]
pub struct CheckedUpload<'a> {
    /// The copy of the object no client can write, from now on the attachment's bytes.
    pub storage_key: &'a str,
    /// The name it is saved under, now that its type is known from its bytes.
    pub filename: &'a str,
    /// Hex SHA-256 of its bytes.
    pub sha256: &'a str,
    /// What an image shows.
    pub image: ImageFacts<'a>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
struct AttachmentRow {
    id: i64,
    room_id: i64,
    uploader_id: String,
    storage_key: String,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    message_id: Option<i64>,
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
    pending: bool,
    width: Option<i32>,
    height: Option<i32>,
    preview_key: Option<String>,
}

/// An attachment and where its bytes are.
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    /// What the API shows.
    pub dto: AttachmentDto,
    /// Its object's key.
    pub storage_key: String,
    /// A direct upload whose object has not been checked yet: `storage_key` is still where
    /// the client puts it.
    pub pending: bool,
    /// Where an image's preview is (or will be) kept.
    pub preview_key: Option<String>,
}

impl From<AttachmentRow> for StoredAttachment {
    fn from(row: AttachmentRow) -> Self {
        Self {
            dto: AttachmentDto {
                id: row.id,
                room_id: row.room_id,
                uploader_id: row.uploader_id,
                filename: row.filename,
                content_type: row.content_type,
                size: row.size,
                sha256: row.sha256,
                width: row.width,
                height: row.height,
                preview: row.preview_key.is_some(),
                message_id: row.message_id,
                created_at: row.created_at,
            },
            storage_key: row.storage_key,
            pending: row.pending,
            preview_key: row.preview_key,
        }
    }
}

/// Records an uploaded file.
pub fn insert(
    conn: &mut DbConnection,
    new: NewAttachment<'_>,
) -> Result<StoredAttachment, StoreError> {
    let id: i64 = diesel::insert_into(attachments::table)
        .values((
            attachments::room_id.eq(new.room_id),
            attachments::uploader_id.eq(new.uploader_id),
            attachments::storage_key.eq(new.storage_key),
            attachments::filename.eq(new.filename),
            attachments::content_type.eq(new.content_type),
            attachments::size.eq(new.size),
            attachments::sha256.eq(new.sha256),
            attachments::width.eq(new.image.width),
            attachments::height.eq(new.image.height),
            attachments::preview_key.eq(new.image.preview_key),
            attachments::created_at.eq(now_micros()),
        ))
        .returning(attachments::id)
        .get_result(conn)?;
    let row: AttachmentRow = attachments::table
        .find(id)
        .select(AttachmentRow::as_select())
        .first(conn)?;
    Ok(StoredAttachment::from(row))
}

/// Records a direct upload to expect, `pending` until its object is checked.
pub fn insert_direct(conn: &mut DbConnection, new: NewDirectUpload<'_>) -> Result<i64, StoreError> {
    let id = diesel::insert_into(attachments::table)
        .values((
            attachments::room_id.eq(new.room_id),
            attachments::uploader_id.eq(new.uploader_id),
            // Until it is checked, the attachment's object is the one the client writes.
            attachments::storage_key.eq(new.upload_key),
            attachments::upload_key.eq(Some(new.upload_key)),
            attachments::pending.eq(true),
            attachments::filename.eq(new.filename),
            attachments::content_type.eq(new.content_type),
            attachments::size.eq(new.size),
            attachments::sha256.eq(""),
            attachments::created_at.eq(now_micros()),
        ))
        .returning(attachments::id)
        .get_result(conn)?;
    Ok(id)
}

/// Records that direct upload `attachment_id` was checked: its bytes are now at
/// `checked.storage_key`. `None` when it was no longer pending (another check won; the caller
/// removes its own copy).
pub fn mark_checked(
    conn: &mut DbConnection,
    attachment_id: i64,
    checked: CheckedUpload<'_>,
) -> Result<Option<StoredAttachment>, StoreError> {
    let updated = diesel::update(
        attachments::table
            .find(attachment_id)
            .filter(attachments::pending.eq(true)),
    )
    .set((
        attachments::pending.eq(false),
        attachments::storage_key.eq(checked.storage_key),
        attachments::filename.eq(checked.filename),
        attachments::sha256.eq(checked.sha256),
        attachments::width.eq(checked.image.width),
        attachments::height.eq(checked.image.height),
        attachments::preview_key.eq(checked.image.preview_key),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    find(conn, attachment_id)
}

/// Records that no preview can be made of `attachment_id` (its bytes do not decode).
pub fn drop_preview(conn: &mut DbConnection, attachment_id: i64) -> Result<(), StoreError> {
    diesel::update(attachments::table.find(attachment_id))
        .set(attachments::preview_key.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// Those of `ids` that are `uploader_id`'s pending direct uploads in `room_id` (the others
/// are left for the send to accept or refuse).
pub fn pending_among(
    conn: &mut DbConnection,
    ids: &[i64],
    uploader_id: &str,
    room_id: RoomId,
) -> Result<Vec<StoredAttachment>, StoreError> {
    let rows: Vec<AttachmentRow> = attachments::table
        .filter(attachments::id.eq_any(ids))
        .filter(attachments::pending.eq(true))
        .filter(attachments::uploader_id.eq(uploader_id))
        .filter(attachments::room_id.eq(room_id))
        .order(attachments::id)
        .select(AttachmentRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(StoredAttachment::from).collect())
}

/// One attachment, whoever may see it (the caller checks its room).
pub fn find(
    conn: &mut DbConnection,
    attachment_id: i64,
) -> Result<Option<StoredAttachment>, StoreError> {
    let row: Option<AttachmentRow> = attachments::table
        .find(attachment_id)
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(StoredAttachment::from))
}

/// What a user uploaded since a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct UploadTally {
    /// Files.
    #[diesel(sql_type = BigInt)]
    pub files: i64,
    /// Bytes.
    #[diesel(sql_type = BigInt)]
    pub bytes: i64,
}

/// Files and bytes `uploader_id` uploaded since `since` (microseconds), on every node.
pub fn uploads_since(
    conn: &mut DbConnection,
    uploader_id: &str,
    since: i64,
) -> Result<UploadTally, StoreError> {
    const TALLY_SQL: &str = "SELECT COUNT(*) AS files, CAST(COALESCE(SUM(size), 0) AS BIGINT) \
        AS bytes FROM attachments WHERE uploader_id = $1 AND created_at >= $2";
    Ok(raw_sql!(conn, TALLY_SQL, get_result, Text => uploader_id, BigInt => since)?)
}

/// The attachments `ids` names (those that exist), locked on Postgres until the transaction
/// ends so no concurrent send takes them too (SQLite's write transaction holds the database).
pub(crate) fn lock(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<StoredAttachment>, StoreError> {
    let query = attachments::table
        .filter(attachments::id.eq_any(ids))
        .order(attachments::id);
    let rows: Vec<AttachmentRow> = match conn {
        DbConnection::Postgres(pg) => query
            .select(AttachmentRow::as_select())
            .for_update()
            .load(pg)?,
        DbConnection::Sqlite(sqlite) => query.select(AttachmentRow::as_select()).load(sqlite)?,
    };
    Ok(rows.into_iter().map(StoredAttachment::from).collect())
}

/// Records that `ids` were sent with message `message_id`.
pub(crate) fn mark_sent(
    conn: &mut DbConnection,
    ids: &[i64],
    message_id: i64,
) -> Result<(), StoreError> {
    diesel::update(attachments::table.filter(attachments::id.eq_any(ids)))
        .set(attachments::message_id.eq(Some(message_id)))
        .execute(conn)?;
    Ok(())
}

/// When the collector removes what: rows older than these moments (microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    /// Uploads (streamed, or direct and maybe never put) not sent in a message.
    pub unsent_before: i64,
    /// Files of messages deleted before this.
    pub deleted_before: i64,
    /// Checked direct uploads made before this, whose presigned PUT has expired: the object the
    /// client put (now copied) can go.
    pub uploaded_before: i64,
}

/// Removes up to `limit` attachment rows of each kind that are done with: uploads never sent
/// and older than `unsent_before`, and files of messages deleted before `deleted_before`;
/// and forgets the client-written objects of checked direct uploads older than
/// `uploaded_before`. Answers the object keys (files, their previews, what clients put), for
/// the caller to delete from the store. The rows go first: a send racing with the collection
/// either takes a file first (the delete then finds it sent, rechecking `message_id IS NULL` on
/// the locked row, and keeps it) or finds it gone; a key whose object then fails to delete is
/// only an orphan in the store.
pub fn collect(
    conn: &mut DbConnection,
    cutoffs: Cutoffs,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    const UNSENT_SQL: &str = "DELETE FROM attachments WHERE id IN ( \
            SELECT id FROM attachments WHERE message_id IS NULL AND created_at < $1 LIMIT $2 \
        ) AND message_id IS NULL RETURNING storage_key, upload_key, preview_key";
    const OF_DELETED_SQL: &str = "DELETE FROM attachments WHERE id IN ( \
            SELECT a.id FROM attachments AS a JOIN messages AS m ON m.id = a.message_id \
            WHERE m.deleted_at IS NOT NULL AND m.deleted_at < $1 LIMIT $2 \
        ) RETURNING storage_key, upload_key, preview_key";
    let mut keys = Vec::new();
    for (sql, before) in [
        (UNSENT_SQL, cutoffs.unsent_before),
        (OF_DELETED_SQL, cutoffs.deleted_before),
    ] {
        let rows: Vec<StoredKeys> = raw_sql!(conn, sql, load, BigInt => before, BigInt => limit)?;
        // A checked direct upload has two objects: the copy and what the client put.
        keys.extend(object_keys(&rows));
    }
    let put_by_clients: Vec<(i64, Option<String>)> = attachments::table
        .filter(attachments::upload_key.is_not_null())
        .filter(attachments::pending.eq(false))
        .filter(attachments::created_at.lt(cutoffs.uploaded_before))
        .select((attachments::id, attachments::upload_key))
        .limit(limit)
        .load(conn)?;
    if !put_by_clients.is_empty() {
        let ids: Vec<i64> = put_by_clients.iter().map(|(id, _)| *id).collect();
        diesel::update(attachments::table.filter(attachments::id.eq_any(&ids)))
            .set(attachments::upload_key.eq(None::<String>))
            .execute(conn)?;
        keys.extend(put_by_clients.into_iter().filter_map(|(_, key)| key));
    }
    Ok(keys)
}
