//! The message search index (issue 27) and the one query over it ([`find`]), on both
//! backends.
//!
//! Postgres keeps `message_search(message_id, words tsvector)` with a GIN index; SQLite an FTS5
//! table whose rowid is the message id. Either holds the words of a message and of its file
//! names, split and lower-cased here ([`search_words`]) so the database's locale does not
//! decide what a word is. The rows are written in the transaction that stores, edits or
//! deletes the message ([`index`], [`unindex`]); messages stored before (or by an older node)
//! are indexed by [`index_next_range`], which the search indexer calls a range at a time.
//!
//! The query applies the caller's access when it runs — a client finds messages of its own
//! orders as they are now — so nothing about access is ever stored in the index.

mod find;
pub(crate) mod sqlite_functions;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use room_chats_types::search_words;
use room_chats_types::{AttachmentDto, MessageDto};

pub use find::{
    Found, MAX_WALK, MessageSearch, NEWEST_SLICE, RELEVANCE_ENOUGH, RELEVANCE_WINDOW,
    SearchPosition, explain_search, search_messages,
};

use crate::connection::write_transaction;
use crate::rows::MessageRow;
use crate::{DbConnection, StoreError};

/// `SEARCH_LANGUAGE` unless the operator sets it: words as written, in any language.
pub const DEFAULT_LANGUAGE: &str = "simple";

/// Messages the indexer reads and indexes in one transaction.
pub const INDEX_RANGE: i64 = 1_000;

/// The words a message is found by: those of its text and of its files' names, lower-case,
/// separated by single spaces.
pub(crate) fn indexed_words(content: &str, attachments: &[AttachmentDto]) -> String {
    let names = attachments.iter().map(|file| file.filename.as_str());
    std::iter::once(content)
        .chain(names)
        .flat_map(search_words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the search rows of messages (id, [`indexed_words`]), replacing any they had.
pub(crate) fn index(conn: &mut DbConnection, entries: &[(i64, String)]) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => {
            let ids: Vec<i64> = entries.iter().map(|(id, _)| *id).collect();
            let words: Vec<&str> = entries.iter().map(|(_, words)| words.as_str()).collect();
            diesel::sql_query(
                "INSERT INTO message_search (message_id, words) \
                 SELECT e.id, to_tsvector(s.language::regconfig, e.words) \
                 FROM unnest($1::bigint[], $2::text[]) AS e(id, words), search_index_state AS s \
                 ON CONFLICT (message_id) DO UPDATE SET words = excluded.words",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<Text>, _>(words)
            .execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for (id, words) in entries {
                diesel::sql_query(
                    "INSERT OR REPLACE INTO message_search (rowid, words) VALUES (?, ?)",
                )
                .bind::<BigInt, _>(id)
                .bind::<Text, _>(words)
                .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// Removes a message from the index: a deleted message is never found, nor are its old words.
pub(crate) fn unindex(conn: &mut DbConnection, message_id: i64) -> QueryResult<()> {
    let statement = match conn {
        DbConnection::Postgres(_) => "DELETE FROM message_search WHERE message_id = $1",
        DbConnection::Sqlite(_) => "DELETE FROM message_search WHERE rowid = ?",
    };
    diesel::sql_query(statement)
        .bind::<BigInt, _>(message_id)
        .execute(conn)?;
    Ok(())
}

/// Makes what left the index unreadable on disk too. SQLite's FTS5 keeps a removed entry's
/// terms in its segments (beside a delete marker) until they are merged: `optimize` merges
/// them all, at a cost that grows with the index — run it after a purge or an erasure, not
/// per message. Postgres's index entries go with the rows' old versions, at the vacuum.
pub fn compact(conn: &mut DbConnection) -> Result<(), crate::StoreError> {
    if let DbConnection::Sqlite(sqlite) = conn {
        diesel::sql_query("INSERT INTO message_search (message_search) VALUES ('optimize')")
            .execute(sqlite)?;
    }
    Ok(())
}

/// What one indexer step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStep {
    /// Indexed the messages of one range (`indexed` of them were missing or outdated).
    Indexed {
        /// Messages written to the index.
        indexed: usize,
    },
    /// Every message below `ceiling` is indexed: nothing to do until newer ones exist.
    CaughtUp,
    /// Another node holds the indexer's turn.
    Busy,
}

#[derive(QueryableByName)]
struct IndexState {
    #[diesel(sql_type = BigInt)]
    indexed_below: i64,
    #[diesel(sql_type = Bool)]
    rewrite: bool,
}

#[derive(QueryableByName)]
struct Unindexed {
    #[diesel(embed)]
    message: MessageRow,
}

/// Indexes the next range of [`INDEX_RANGE`] message ids below `ceiling` that the index does
/// not hold (all of them while `rewrite` is set), and moves the indexer's place past it. One
/// node at a time (the state row is locked; others are told [`IndexStep::Busy`]).
///
/// `ceiling` is an id every transaction below has finished with (the indexer passes the
/// highest id it saw a while ago): a message stored by an older node but not yet committed
/// cannot be passed over.
pub fn index_next_range(conn: &mut DbConnection, ceiling: i64) -> Result<IndexStep, StoreError> {
    write_transaction(conn, |conn| {
        let lock = match conn {
            DbConnection::Postgres(_) => {
                "SELECT indexed_below, rewrite FROM search_index_state FOR UPDATE SKIP LOCKED"
            }
            // One writer at a time already (`BEGIN IMMEDIATE`).
            DbConnection::Sqlite(_) => "SELECT indexed_below, rewrite FROM search_index_state",
        };
        let Some(state) = diesel::sql_query(lock)
            .get_result::<IndexState>(conn)
            .optional()?
        else {
            return Ok(IndexStep::Busy);
        };
        if state.indexed_below >= ceiling {
            return Ok(IndexStep::CaughtUp);
        }
        let end = ceiling.min(state.indexed_below.saturating_add(INDEX_RANGE));
        let (missing, moved) = match conn {
            DbConnection::Postgres(_) => (
                // `FOR SHARE`: an edit or delete of one of these waits for this step, so the
                // words written here are never older than the message.
                "SELECT m.* FROM messages AS m WHERE m.id >= $1 AND m.id < $2 \
                 AND m.deleted_at IS NULL AND ($3 OR NOT EXISTS \
                 (SELECT 1 FROM message_search AS s WHERE s.message_id = m.id)) FOR SHARE OF m",
                "UPDATE search_index_state SET indexed_below = $1, rewrite = rewrite AND $2",
            ),
            DbConnection::Sqlite(_) => (
                "SELECT m.* FROM messages AS m WHERE m.id >= ? AND m.id < ? \
                 AND m.deleted_at IS NULL AND (? OR NOT EXISTS \
                 (SELECT 1 FROM message_search AS s WHERE s.rowid = m.id))",
                "UPDATE search_index_state SET indexed_below = ?, rewrite = rewrite AND ?",
            ),
        };
        let rows: Vec<Unindexed> = diesel::sql_query(missing)
            .bind::<BigInt, _>(state.indexed_below)
            .bind::<BigInt, _>(end)
            .bind::<Bool, _>(state.rewrite)
            .load(conn)?;
        let entries: Vec<(i64, String)> = rows
            .into_iter()
            .map(|row| {
                let message = MessageDto::from(row.message);
                let words = indexed_words(&message.content, &message.attachments);
                (message.id, words)
            })
            .collect();
        index(conn, &entries)?;
        // The rewrite ends where the ceiling is reached.
        diesel::sql_query(moved)
            .bind::<BigInt, _>(end)
            .bind::<Bool, _>(end < ceiling)
            .execute(conn)?;
        Ok(IndexStep::Indexed {
            indexed: entries.len(),
        })
    })
}

/// A message id a statement may not find (`MAX(id)` of nothing is NULL).
#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

/// One past the highest message id stored so far (1 when there is none).
pub fn next_message_id(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let newest: IdRow = diesel::sql_query("SELECT MAX(id) AS id FROM messages").get_result(conn)?;
    Ok(newest.id.unwrap_or(0) + 1)
}

/// What every node's searches share, as the database holds it.
#[derive(Debug, Clone, QueryableByName)]
pub struct SearchSettings {
    /// The OID of the index's text search configuration (`SEARCH_LANGUAGE`, set at start-up)
    /// on Postgres; `None` on SQLite. Queries bind it as a number:
    /// `to_tsquery(<text cast to regconfig>, …)` is STABLE (the cast reads the catalog), so
    /// Postgres parsed the query again for every row a search walked: an admin's one-word
    /// search took 23 ms (p50, alone, 1,000,000 messages) where the constant takes 8.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub language_oid: Option<i64>,
    /// The key search cursors are sealed with: made at random by the migration, one for
    /// every node of the database.
    #[diesel(sql_type = Text)]
    pub cursor_key: String,
}

/// The searches' shared settings.
pub fn search_settings(conn: &mut DbConnection) -> Result<SearchSettings, StoreError> {
    let statement = match conn {
        DbConnection::Postgres(_) => {
            "SELECT cursor_key, \
             CAST(CAST(CAST(language AS regconfig) AS oid) AS bigint) AS language_oid \
             FROM search_index_state"
        }
        DbConnection::Sqlite(_) => {
            "SELECT cursor_key, NULL AS language_oid FROM search_index_state"
        }
    };
    Ok(diesel::sql_query(statement).get_result(conn)?)
}

#[derive(QueryableByName)]
struct Language {
    #[diesel(sql_type = Text)]
    language: String,
}

/// Makes `language` the index's text search configuration (Postgres). When it differs from
/// the one the index was built with, every row is to be rebuilt: the indexer starts over with
/// `rewrite` set. Refuses a configuration Postgres does not have, naming it.
pub fn use_language(conn: &mut DbConnection, language: &str) -> Result<bool, StoreError> {
    if matches!(conn, DbConnection::Sqlite(_)) {
        if language == "simple" {
            return Ok(false);
        }
        return Err(StoreError::Setting(format!(
            "SEARCH_LANGUAGE={language}: the embedded database searches words as written \
             (`simple`); stemming for a language needs Postgres"
        )));
    }
    write_transaction(conn, |conn| {
        let known = diesel::sql_query("SELECT CAST($1::regconfig AS TEXT) AS language")
            .bind::<Text, _>(language)
            .get_result::<Language>(conn)
            .map_err(|_| {
                StoreError::Setting(format!(
                    "SEARCH_LANGUAGE={language}: Postgres has no such text search \
                     configuration (`SELECT cfgname FROM pg_ts_config` lists them)"
                ))
            })?;
        let changed = diesel::sql_query(
            "UPDATE search_index_state SET language = $1, indexed_below = 0, rewrite = TRUE \
             WHERE language <> $1",
        )
        .bind::<Text, _>(known.language)
        .execute(conn)?;
        Ok(changed > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_found_by_its_words_and_its_file_names() {
        let file = AttachmentDto {
            id: 1,
            room_id: 1,
            uploader_id: "u".to_owned(),
            filename: "Invoice_ORD-1042.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            size: 1,
            sha256: String::new(),
            width: None,
            height: None,
            preview: false,
            message_id: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        assert_eq!(
            indexed_words("Here, the invoice!", &[file]),
            "here the invoice invoice ord 1042 pdf"
        );
    }
}
