//! The message search index (issue 27) and the one query over it, on both backends.
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

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Float, Nullable, Text};
use room_chats_types::search_words;
use room_chats_types::{AssignedFilter, AttachmentDto, MessageDto, RoomStatus, SearchSort};

use crate::connection::write_transaction;
use crate::rows::MessageRow;
use crate::{DbConnection, StoreError};

/// `SEARCH_LANGUAGE` unless the operator sets it: words as written, in any language.
pub const DEFAULT_LANGUAGE: &str = "simple";

/// How many of the newest matches `sort=relevance` ranks. Ranking reads every candidate's
/// words, so a common word would otherwise rank most of the table on each search; a search box
/// wants the best of the recent matches. Measured on 1,000,000 messages, two common words:
/// 16 ms for 1,000 candidates, 25 ms for 2,000, 87 ms for 5,000, 126 ms for 10,000. The
/// window is fixed by the first page (its newest match), so paging through it is stable while
/// messages arrive.
pub const RELEVANCE_WINDOW: i64 = 1_000;

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

/// A message search as the use case decided it: the query rendered for each backend, and the
/// caller's access and filters.
#[derive(Debug, Clone)]
pub struct MessageSearch {
    /// The text search configuration the index was built with ([`SearchSettings`]).
    pub language: String,
    /// `to_tsquery` text (see `SearchQuery::to_tsquery`).
    pub postgres_query: String,
    /// FTS5 `MATCH` text (see `SearchQuery::to_fts5`).
    pub sqlite_query: String,
    /// The words the query requires, space-separated, the typed one ending in `*`: what SQLite
    /// ranks by (see [`rank_words`]).
    pub rank_terms: String,
    /// Only rooms of this customer's orders (a client searching).
    pub only_customer: Option<String>,
    /// Only this room.
    pub room_id: Option<i64>,
    /// Only this sender.
    pub sender: Option<String>,
    /// Stored at or after, µs.
    pub since: Option<i64>,
    /// Stored before, µs.
    pub until: Option<i64>,
    /// Only rooms of this status.
    pub status: Option<RoomStatus>,
    /// Only rooms assigned to `.1` (`Me`), or to no one (`None`).
    pub assigned: Option<(AssignedFilter, String)>,
    /// The order.
    pub sort: SearchSort,
    /// Where the previous page ended.
    pub after: Option<SearchPosition>,
    /// Page size.
    pub limit: i64,
}

/// A place in a search's order: the rank and the relevance window (relevance only) and the
/// message id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchPosition {
    /// The rank of the last message shown; 0 when sorting by newest.
    pub rank: f32,
    /// The newest message of the relevance window ([`RELEVANCE_WINDOW`]), as the first page
    /// found it; `None` when sorting by newest.
    pub window_top: Option<i64>,
    /// The last message shown.
    pub message_id: i64,
}

/// One message found, with its order and its rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The message.
    pub message: MessageDto,
    /// Its room's order.
    pub order_id: String,
    /// The order's reference.
    pub order_reference: Option<String>,
    /// Its place in the search's order.
    pub position: SearchPosition,
}

#[derive(QueryableByName)]
struct FoundRow {
    #[diesel(embed)]
    message: MessageRow,
    #[diesel(sql_type = Text)]
    order_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    order_reference: Option<String>,
    #[diesel(sql_type = Float)]
    rank: f32,
    #[diesel(sql_type = Nullable<BigInt>)]
    window_top: Option<i64>,
}

/// The conditions both backends apply after the text matched, in bind order after the
/// query's own: customer, room, sender, since, until, status, assigned-to, unassigned-only.
/// `$` marks each bind place, made `$n` or `?` per backend.
const FILTERS: &str = "m.deleted_at IS NULL \
     AND ($::text IS NULL OR o.customer_id = $) \
     AND ($::bigint IS NULL OR m.room_id = $) \
     AND ($::text IS NULL OR m.sender_id = $) \
     AND ($::bigint IS NULL OR m.created_at >= $) \
     AND ($::bigint IS NULL OR m.created_at < $) \
     AND ($::text IS NULL OR r.status = $) \
     AND ($::text IS NULL OR EXISTS (SELECT 1 FROM room_members AS a \
          WHERE a.room_id = m.room_id AND a.user_id = $ AND a.assigned)) \
     AND (NOT $ OR NOT EXISTS (SELECT 1 FROM room_members AS a \
          WHERE a.room_id = m.room_id AND a.assigned))";

/// A page of messages matching `search`, in its order, at most `limit + 1` (the extra one tells
/// that another page exists).
pub fn search_messages(
    conn: &mut DbConnection,
    search: &MessageSearch,
) -> Result<Vec<Found>, StoreError> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let rows: Vec<FoundRow> =
        bound_search(search_sql(postgres, search.sort), postgres, search).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let message = MessageDto::from(row.message);
            let position = SearchPosition {
                rank: row.rank,
                // Later pages keep the window of the first.
                window_top: search
                    .after
                    .and_then(|after| after.window_top)
                    .or(row.window_top),
                message_id: message.id,
            };
            Found {
                message,
                order_id: row.order_id,
                order_reference: row.order_reference,
                position,
            }
        })
        .collect())
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// Postgres' plan for `search` (`EXPLAIN`), one line per step: for the test that the GIN index
/// answers, and for an operator looking into a slow search. `None` on SQLite.
pub fn explain_search(
    conn: &mut DbConnection,
    search: &MessageSearch,
) -> Result<Option<Vec<String>>, StoreError> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(None);
    }
    let text = format!("EXPLAIN {}", search_sql(true, search.sort));
    let lines: Vec<PlanLine> = bound_search(text, true, search).load(conn)?;
    Ok(Some(lines.into_iter().map(|line| line.line).collect()))
}

/// `text` (a [`search_sql`] statement) with `search`'s values bound in its order.
fn bound_search(
    text: String,
    postgres: bool,
    search: &MessageSearch,
) -> diesel::query_builder::BoxedSqlQuery<'static, DbBackend, diesel::query_builder::SqlQuery> {
    let assigned_to = match &search.assigned {
        Some((AssignedFilter::Me, user)) => Some(user.clone()),
        _ => None,
    };
    let unassigned_only = matches!(search.assigned, Some((AssignedFilter::None, _)));
    let (match_text, rank_text) = if postgres {
        (&search.postgres_query, &search.postgres_query)
    } else {
        (&search.sqlite_query, &search.rank_terms)
    };
    let after_rank = search.after.map(|after| after.rank);
    let after_top = search.after.and_then(|after| after.window_top);
    let after_id = search.after.map(|after| after.message_id);
    // Each filter is bound twice: its `IS NULL` test and its comparison.
    macro_rules! bind_twice {
        ($query:expr, $sql_type:ty, $value:expr) => {{
            let value = $value;
            $query
                .bind::<$sql_type, _>(value.clone())
                .bind::<$sql_type, _>(value)
        }};
    }
    let mut query = diesel::sql_query(text).into_boxed();
    if search.sort == SearchSort::Relevance {
        if postgres {
            query = query.bind::<Text, _>(search.language.clone());
        }
        query = query.bind::<Text, _>(rank_text.clone());
    }
    if postgres {
        query = query.bind::<Text, _>(search.language.clone());
    }
    query = query.bind::<Text, _>(match_text.clone());
    query = bind_twice!(query, Nullable<Text>, search.only_customer.clone());
    query = bind_twice!(query, Nullable<BigInt>, search.room_id);
    query = bind_twice!(query, Nullable<Text>, search.sender.clone());
    query = bind_twice!(query, Nullable<BigInt>, search.since);
    query = bind_twice!(query, Nullable<BigInt>, search.until);
    query = bind_twice!(query, Nullable<Text>, search.status.map(RoomStatus::as_str));
    query = bind_twice!(query, Nullable<Text>, assigned_to);
    query = query.bind::<Bool, _>(unassigned_only);
    query = match search.sort {
        SearchSort::Newest => bind_twice!(query, Nullable<BigInt>, after_id),
        SearchSort::Relevance => bind_twice!(query, Nullable<BigInt>, after_top),
    };
    query = match search.sort {
        SearchSort::Newest => query,
        SearchSort::Relevance => bind_twice!(query, Nullable<Float>, after_rank)
            .bind::<Nullable<Float>, _>(after_rank)
            .bind::<Nullable<BigInt>, _>(after_id),
    };
    query.bind::<BigInt, _>(search.limit + 1)
}

type DbBackend = <DbConnection as diesel::Connection>::Backend;

/// The search statement of one backend and sort, its binds in the order
/// [`search_messages`] makes them. Its text depends on nothing the caller sent.
fn search_sql(postgres: bool, sort: SearchSort) -> String {
    let (rank, source, matches) = if postgres {
        (
            // Normalization 1: frequency divided by 1 + log of the message's length.
            "ts_rank(s.words, to_tsquery($::regconfig, $), 1)",
            "message_search AS s JOIN messages AS m ON m.id = s.message_id",
            // The configuration and the words are bound values, so the planner reads the
            // query when it plans and estimates how many messages match from the index's
            // statistics: the GIN index for rare words, the newest messages first for
            // common ones. (Taken from a sub-select, the query was unknown until run time and
            // every word was guessed common.)
            "s.words @@ to_tsquery($::regconfig, $)",
        )
    } else {
        (
            "search_rank(s.words, $)",
            "message_search AS s JOIN messages AS m ON m.id = s.rowid",
            "s.words MATCH $",
        )
    };
    let select = |columns: &str| {
        format!(
            "SELECT m.*, o.id AS order_id, o.reference AS order_reference, {columns} \
             FROM {source} JOIN chat_rooms AS r ON r.id = m.room_id \
             JOIN orders AS o ON o.id = r.order_id WHERE {matches} AND {FILTERS}"
        )
    };
    let text = match sort {
        // The rank is not computed where it orders nothing.
        SearchSort::Newest => format!(
            "{} AND ($::bigint IS NULL OR m.id < $) ORDER BY m.id DESC LIMIT $",
            select("CAST(0 AS REAL) AS rank, CAST(NULL AS BIGINT) AS window_top")
        ),
        // The newest matches up to the window's top (the first page's newest), ranked; the
        // first page learns the top from `MAX(…) OVER ()` across its window.
        SearchSort::Relevance => format!(
            "SELECT found.*, MAX(found.id) OVER () AS window_top \
             FROM ({} AND ($::bigint IS NULL OR m.id <= $) \
             ORDER BY m.id DESC LIMIT {RELEVANCE_WINDOW}) AS found \
             WHERE ($::real IS NULL OR found.rank < $ OR (found.rank = $ AND found.id < $)) \
             ORDER BY found.rank DESC, found.id DESC LIMIT $",
            select(&format!("{rank} AS rank"))
        ),
    };
    number_placeholders(&text, postgres)
}

/// Makes each `$` a numbered `$n` (Postgres) or `?` (SQLite); a `::type` cast after one is
/// kept on Postgres and dropped on SQLite, which has no such syntax.
fn number_placeholders(text: &str, postgres: bool) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        count += 1;
        rest = &rest[at + 1..];
        if postgres {
            out.push_str(&format!("${count}"));
        } else {
            out.push('?');
            if let Some(after_cast) = rest.strip_prefix("::") {
                let end = after_cast
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(after_cast.len());
                rest = &after_cast[end..];
            }
        }
    }
    out.push_str(rest);
    out
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

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

/// One past the highest message id stored so far (1 when there is none).
pub fn next_message_id(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let newest: Newest =
        diesel::sql_query("SELECT MAX(id) AS id FROM messages").get_result(conn)?;
    Ok(newest.id.unwrap_or(0) + 1)
}

/// What every node's searches share, as the database holds it.
#[derive(Debug, Clone, QueryableByName)]
pub struct SearchSettings {
    /// The text search configuration of the index (`SEARCH_LANGUAGE`, set at start-up).
    #[diesel(sql_type = Text)]
    pub language: String,
    /// The key search cursors are sealed with: made at random by the migration, one for
    /// every node of the database.
    #[diesel(sql_type = Text)]
    pub cursor_key: String,
}

/// The searches' shared settings.
pub fn search_settings(conn: &mut DbConnection) -> Result<SearchSettings, StoreError> {
    Ok(
        diesel::sql_query("SELECT language, cursor_key FROM search_index_state")
            .get_result(conn)?,
    )
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
    fn placeholders_are_numbered_or_plain_and_casts_go_on_sqlite() {
        let text = "a = $::text AND b = $ LIMIT $";
        assert_eq!(
            number_placeholders(text, true),
            "a = $1::text AND b = $2 LIMIT $3"
        );
        assert_eq!(number_placeholders(text, false), "a = ? AND b = ? LIMIT ?");
    }

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
