//! Stored objects (attachment files, previews, what clients put) whose rows are gone and whose
//! objects are still to be deleted. A purge queues them in the transaction that deletes the
//! rows, so a crash between the two never leaves a file nobody will delete; every node's
//! attachment collector drains the queue, deleting each object before forgetting its key.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::schema::storage_deletions;
use crate::time::now_micros;
use crate::{DbConnection, StoreError};

/// The object keys of one deleted attachment row.
#[derive(Debug, QueryableByName)]
pub(crate) struct StoredKeys {
    #[diesel(sql_type = Text)]
    pub storage_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub upload_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub preview_key: Option<String>,
}

/// Every object of `rows`: the file, its preview, and what a client put for a direct upload
/// when it is not the file itself.
pub(crate) fn object_keys(rows: &[StoredKeys]) -> Vec<String> {
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        keys.extend(row.upload_key.clone().filter(|key| *key != row.storage_key));
        keys.extend(row.preview_key.clone());
        keys.push(row.storage_key.clone());
    }
    keys
}

/// Queues `keys` for deletion (a key queued already stays queued once).
pub(crate) fn queue(conn: &mut DbConnection, keys: &[String]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let now = now_micros();
    let rows: Vec<_> = keys
        .iter()
        .map(|key| {
            (
                storage_deletions::object_key.eq(key),
                storage_deletions::queued_at.eq(now),
            )
        })
        .collect();
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(storage_deletions::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_or_ignore_into(storage_deletions::table)
            .values(&rows)
            .execute(sqlite)?,
    };
    Ok(())
}

/// Up to `limit` queued keys, oldest first. Nodes draining at once may read the same keys:
/// deleting an object twice is harmless.
pub fn queued(conn: &mut DbConnection, limit: i64) -> Result<Vec<String>, StoreError> {
    Ok(storage_deletions::table
        .order((storage_deletions::queued_at, storage_deletions::object_key))
        .select(storage_deletions::object_key)
        .limit(limit)
        .load(conn)?)
}

/// Forgets `keys`, whose objects are deleted.
pub fn forget(conn: &mut DbConnection, keys: &[String]) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(storage_deletions::table.filter(storage_deletions::object_key.eq_any(keys)))
            .execute(conn)?,
    )
}
