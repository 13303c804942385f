//! Canned replies: the admins' shared list of saved answers (issue 28).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use room_chats_types::CannedReplyDto;

use crate::connection::write_transaction;
use crate::error::is_unique_violation;
use crate::schema::canned_replies;
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

/// A reply as the caller wrote it, checked.
#[derive(Debug, Clone, Copy)]
pub struct CannedReplyText<'a> {
    pub title: &'a str,
    pub content: &'a str,
    pub shortcut: Option<&'a str>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = canned_replies)]
struct CannedReplyRow {
    id: i64,
    title: String,
    content: String,
    shortcut: Option<String>,
    created_by: String,
    updated_by: String,
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
    #[diesel(deserialize_as = StoredTime)]
    updated_at: DateTime<Utc>,
}

impl From<CannedReplyRow> for CannedReplyDto {
    fn from(row: CannedReplyRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            content: row.content,
            shortcut: row.shortcut,
            created_by: row.created_by,
            updated_by: row.updated_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const SHORTCUT_TAKEN: &str = "another canned reply has this shortcut";

/// Saves a new reply by `admin`, unless `max_replies` exist already or its shortcut is taken.
pub fn create(
    conn: &mut DbConnection,
    admin: &str,
    text: CannedReplyText<'_>,
    max_replies: i64,
) -> Result<CannedReplyDto, StoreError> {
    write_transaction(conn, |conn| {
        let existing: i64 = canned_replies::table.count().get_result(conn)?;
        if existing >= max_replies {
            return Err(StoreError::Conflict(
                "the maximum number of canned replies exist",
            ));
        }
        let now = now_micros();
        let id: i64 = diesel::insert_into(canned_replies::table)
            .values((
                canned_replies::title.eq(text.title),
                canned_replies::content.eq(text.content),
                canned_replies::shortcut.eq(text.shortcut),
                canned_replies::created_by.eq(admin),
                canned_replies::updated_by.eq(admin),
                canned_replies::created_at.eq(now),
                canned_replies::updated_at.eq(now),
            ))
            .returning(canned_replies::id)
            .get_result(conn)
            .map_err(shortcut_taken)?;
        find(conn, id)
    })
}

/// Every reply, by title (then id).
pub fn list(conn: &mut DbConnection) -> Result<Vec<CannedReplyDto>, StoreError> {
    let rows: Vec<CannedReplyRow> = canned_replies::table
        .order((canned_replies::title, canned_replies::id))
        .select(CannedReplyRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(CannedReplyDto::from).collect())
}

/// One reply ([`StoreError::NotFound`] when there is none).
pub fn find(conn: &mut DbConnection, id: i64) -> Result<CannedReplyDto, StoreError> {
    let row: CannedReplyRow = canned_replies::table
        .find(id)
        .select(CannedReplyRow::as_select())
        .first(conn)?;
    Ok(row.into())
}

/// Replaces a reply's text, title and shortcut, as saved by `admin`.
pub fn replace(
    conn: &mut DbConnection,
    id: i64,
    admin: &str,
    text: CannedReplyText<'_>,
) -> Result<CannedReplyDto, StoreError> {
    write_transaction(conn, |conn| {
        let changed = diesel::update(canned_replies::table.find(id))
            .set((
                canned_replies::title.eq(text.title),
                canned_replies::content.eq(text.content),
                canned_replies::shortcut.eq(text.shortcut),
                canned_replies::updated_by.eq(admin),
                canned_replies::updated_at.eq(now_micros()),
            ))
            .execute(conn)
            .map_err(shortcut_taken)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        find(conn, id)
    })
}

/// Deletes a reply ([`StoreError::NotFound`] when there is none).
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    let deleted = diesel::delete(canned_replies::table.find(id)).execute(conn)?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The shortcut's unique index refused the row: another reply has it.
fn shortcut_taken(error: diesel::result::Error) -> StoreError {
    if is_unique_violation(&error) {
        StoreError::Conflict(SHORTCUT_TAKEN)
    } else {
        error.into()
    }
}
