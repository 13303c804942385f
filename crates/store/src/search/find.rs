//! Finding messages: the statements of one search, on both backends.
//!
//! Newest first is a walk down the message ids. Postgres' planner chooses between walking the
//! ids and checking each message's words, and reading the GIN index then sorting what it
//! found; it chooses from estimates, and a phrase or a typed prefix that matches little (or
//! nothing) while its words look common made it walk the whole table — 0.3 s alone on
//! 1,000,000 messages, seconds under load. So a search on Postgres reads bounded ranges:
//! 1. the newest [`NEWEST_SLICE`] ids, the planner choosing how: a walk there ends at the
//!    range's end, whatever the estimates said;
//! 2. when that found too few, the next range below, as long as the frequency of the words in
//!    the ranges read so far says the rest lies within [`MAX_WALK`] ids;
//! 3. otherwise (the words are rare there) the older ids through the GIN index, the id order
//!    hidden from the planner so that it cannot choose to walk again.
//!
//! What was read decides, not an estimate. (Going to the index straight after the first slice
//! was tried: when the newest ids hold none of a common word, the index then sorted every
//! message with it — 0.4 s.) SQLite's FTS5 answers from its index in id order, so there the
//! index alone answers, in plain order. Relevance ranks the newest matches, at most
//! [`RELEVANCE_WINDOW`] and on Postgres those of the ranges read once they hold
//! [`RELEVANCE_ENOUGH`]: the same ranges find their ids, then one statement ranks them and
//! cuts the page.

use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Float, Nullable, Text};
use room_chats_types::{AssignedFilter, MessageDto, RoomStatus, SearchSort};

use super::IdRow;
use crate::rows::MessageRow;
use crate::{DbConnection, StoreError};

/// How many of the newest matches `sort=relevance` ranks at most. Ranking reads every
/// candidate's words, so a common word would otherwise rank most of the table on each search;
/// a search box wants the best of the recent matches. Measured on 1,000,000 messages, two
/// common words: 16 ms for 1,000 candidates, 25 ms for 2,000, 87 ms for 5,000, 126 ms for
/// 10,000. The window is fixed by the first page (its newest match), so paging through it is
/// stable while messages arrive.
pub const RELEVANCE_WINDOW: i64 = 1_000;

/// On Postgres, relevance stops reading older ranges once it holds this many matches: the
/// window is then the matches of the ranges read (at most [`RELEVANCE_WINDOW`]). Finding all
/// 1,000 of two words found a few hundred times in the newest 100,000 messages meant reading
/// 400,000 more, or the index with a common prefix: 80 ms alone and the slowest kind of search
/// under load (p95 101 ms, `scripts/bench.sh search`). SQLite reads its index in id order and
/// always ranks the newest [`RELEVANCE_WINDOW`].
pub const RELEVANCE_ENOUGH: i64 = 200;

/// How many of the newest message ids part 1 of a Postgres search reads (see above). Measured
/// alone on 1,000,000 messages whose newest 25,000 hold none of the words (docs/PERFORMANCE.md):
/// a prefix matching nothing took 55 ms with 100,000 and 89 ms with 200,000, against 272 ms
/// without the split; the slowest of 100 searches 53 ms with 100,000.
pub const NEWEST_SLICE: i64 = 100_000;

/// How many ids below the first slice a search reads range by range before it turns to the
/// index for the rest: the frequency of the words in the slice tells how far the rest lies.
pub const MAX_WALK: i64 = 300_000;

/// A message search as the use case decided it: the query rendered for each backend, and the
/// caller's access and filters.
#[derive(Debug, Clone)]
pub struct MessageSearch {
    /// The OID of the text search configuration the index was built with
    /// ([`super::SearchSettings::language_oid`]; Postgres only).
    pub language_oid: Option<i64>,
    /// `to_tsquery` text (see `SearchQuery::to_tsquery`).
    pub postgres_query: String,
    /// FTS5 `MATCH` text (see `SearchQuery::to_fts5`).
    pub sqlite_query: String,
    /// The query as SQLite checks and ranks it on one message (see `row_matches` and
    /// `rank_words`): for a search that reads a customer's or a room's messages rather than
    /// the FTS5 index, and for `sort=relevance`.
    pub row_query: String,
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
    /// How many of the newest ids part 1 reads on Postgres: [`NEWEST_SLICE`], or fewer where
    /// a test shows both parts on a small table.
    pub newest_slice: i64,
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
}

#[derive(QueryableByName)]
struct RankedRow {
    #[diesel(embed)]
    found: FoundRow,
    #[diesel(sql_type = Float)]
    rank: f32,
}

/// What a row of a search's order is read as: the message with its order (newest first), or
/// only its id (the candidates relevance ranks).
const FOUND_COLUMNS: &str = "m.*, o.id AS order_id, o.reference AS order_reference";
const ID_COLUMNS: &str = "m.id AS id";

/// A page of messages matching `search`, in its order, at most `limit + 1` (the extra one tells
/// that another page exists).
pub fn search_messages(
    conn: &mut DbConnection,
    search: &MessageSearch,
) -> Result<Vec<Found>, StoreError> {
    if matches!(conn, DbConnection::Postgres(_)) {
        return serially(conn, |conn| find(conn, true, search));
    }
    find(conn, false, search)
}

/// Runs `work` in a transaction whose statements run in one process (Postgres). A search
/// reads a few thousand rows at most; starting two parallel workers for that cost more than
/// it saved (lab, 1,000,000 messages, alone: the newest 1,000 matches of two words in 24 ms
/// with workers, 15 without), and under load they compete with every other query for the
/// cores.
fn serially<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(|conn| {
        diesel::sql_query("SET LOCAL max_parallel_workers_per_gather = 0").execute(conn)?;
        work(conn)
    })
}

fn find(
    conn: &mut DbConnection,
    postgres: bool,
    search: &MessageSearch,
) -> Result<Vec<Found>, StoreError> {
    match search.sort {
        SearchSort::Newest => {
            let below = search.after.map_or(i64::MAX, |after| after.message_id);
            let rows: Vec<FoundRow> = newest_matches(conn, postgres, search, FOUND_COLUMNS, below)?;
            Ok(rows.into_iter().map(|row| found(row, 0.0, None)).collect())
        }
        SearchSort::Relevance => {
            // Later pages keep the window of the first.
            let below = search
                .after
                .and_then(|after| after.window_top)
                .map_or(i64::MAX, |top| top.saturating_add(1));
            let window: Vec<i64> =
                newest_matches::<IdRow>(conn, postgres, search, ID_COLUMNS, below)?
                    .into_iter()
                    .filter_map(|row| row.id)
                    .collect();
            let Some(&window_top) = window.first() else {
                return Ok(Vec::new());
            };
            let rows: Vec<RankedRow> = ranked(postgres, search, &window).query().load(conn)?;
            Ok(rows
                .into_iter()
                .map(|row| found(row.found, row.rank, Some(window_top)))
                .collect())
        }
    }
}

fn found(row: FoundRow, rank: f32, window_top: Option<i64>) -> Found {
    let message = MessageDto::from(row.message);
    Found {
        position: SearchPosition {
            rank,
            window_top,
            message_id: message.id,
        },
        message,
        order_id: row.order_id,
        order_reference: row.order_reference,
    }
}

/// How many matches a search's newest-first reading wants.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    /// At most this many.
    most: i64,
    /// No older range is read once this many are found (Postgres).
    enough: i64,
}

impl Wanted {
    /// A page and one more (newest first), or the relevance window's candidates.
    fn by(search: &MessageSearch) -> Self {
        match search.sort {
            SearchSort::Newest => Self {
                most: search.limit + 1,
                enough: search.limit + 1,
            },
            SearchSort::Relevance => Self {
                most: RELEVANCE_WINDOW,
                enough: RELEVANCE_ENOUGH,
            },
        }
    }
}

/// The newest matches of `search` below id `below`, newest first, read as `columns`, as many
/// as [`Wanted::by`] the search: on Postgres ranges of ids newest first until `enough` are
/// found, then the index (the module's doc); on SQLite the index alone, `most` of them.
fn newest_matches<Row>(
    conn: &mut DbConnection,
    postgres: bool,
    search: &MessageSearch,
    columns: &str,
    below: i64,
) -> Result<Vec<Row>, StoreError>
where
    Row: QueryableByName<<DbConnection as Connection>::Backend> + 'static,
{
    let want = Wanted::by(search);
    if !postgres {
        return Ok(
            part(postgres, search, columns, Part::Indexed, below, want.most)
                .query()
                .load(conn)?,
        );
    }
    let Some(mut start) = newest_slice_start(conn, below, search.newest_slice)? else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut below = below;
    let mut span = search.newest_slice;
    let mut walked: i64 = 0;
    loop {
        let found: Vec<Row> = part(
            postgres,
            search,
            columns,
            Part::Range { start },
            below,
            want.most - count(&rows),
        )
        .query()
        .load(conn)?;
        let found_here = count(&found);
        rows.extend(found);
        let short = want.enough - count(&rows);
        if short <= 0 || start <= 0 {
            return Ok(rows);
        }
        // How far the rest lies if the words are as frequent below as they were here: twice
        // that is read next, unless that walk would be long (the words are rare here) — then
        // the index finds the rest.
        let next = (short.saturating_mul(2).saturating_mul(span) / found_here.max(1))
            .max(search.newest_slice);
        if found_here == 0 || walked.saturating_add(next) > MAX_WALK {
            break;
        }
        below = start;
        start = start.saturating_sub(next);
        span = next;
        walked += next;
    }
    let older: Vec<Row> = part(
        postgres,
        search,
        columns,
        Part::Indexed,
        start,
        want.most - count(&rows),
    )
    .query()
    .load(conn)?;
    rows.extend(older);
    Ok(rows)
}

fn count<T>(rows: &[T]) -> i64 {
    i64::try_from(rows.len()).unwrap_or(i64::MAX)
}

/// Where part 1 starts: `slice` ids below the newest indexed message under `below`; `None`
/// when no message there is indexed (then nothing can match).
fn newest_slice_start(
    conn: &mut DbConnection,
    below: i64,
    slice: i64,
) -> Result<Option<i64>, StoreError> {
    let newest: IdRow =
        diesel::sql_query("SELECT MAX(message_id) AS id FROM message_search WHERE message_id < $1")
            .bind::<BigInt, _>(below)
            .get_result(conn)?;
    Ok(newest
        .id
        .map(|newest| newest.saturating_add(1).saturating_sub(slice)))
}

/// A part of a newest-first search.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// Ids from `start` up, read as the planner sees fit.
    Range { start: i64 },
    /// Ids through the index.
    Indexed,
}

/// The statement of one part: matches of `search` below `below`, newest first, at most `want`.
fn part(
    postgres: bool,
    search: &MessageSearch,
    columns: &str,
    part: Part,
    below: i64,
    want: i64,
) -> Statement {
    let mut statement = Statement::new(postgres);
    statement.push(&format!("SELECT {columns} FROM "), []);
    from_where(&mut statement, search);
    let id = if postgres { "s.message_id" } else { "s.rowid" };
    match (part, postgres) {
        (Part::Range { start }, _) => {
            statement.push(&format!(" AND s.words @@ {TSQUERY}"), tsquery(search));
            statement.push(
                &format!(" AND {id} >= $ AND {id} < $ ORDER BY {id} DESC"),
                [Value::BigInt(Some(start)), Value::BigInt(Some(below))],
            );
        }
        (Part::Indexed, true) => {
            statement.push(&format!(" AND s.words @@ {TSQUERY}"), tsquery(search));
            // `+ 0`: sorted after the index answered, never walked in id order.
            statement.push(
                &format!(" AND {id} < $ ORDER BY {id} + 0 DESC"),
                [Value::BigInt(Some(below))],
            );
        }
        // A customer's or a room's messages are few, and FTS5 cannot tell how many messages
        // its query matches: the planner would read every match of a common word looking for
        // that customer's (0.2 s on 1,000,000 messages). Checked row by row instead, the
        // search starts from the customer's or the room's messages.
        (Part::Indexed, false) if search.only_customer.is_some() || search.room_id.is_some() => {
            statement.push(" AND search_match(s.words, $)", [text(&search.row_query)]);
            statement.push(
                " AND m.id < $ ORDER BY m.id DESC",
                [Value::BigInt(Some(below))],
            );
        }
        (Part::Indexed, false) => {
            statement.push(" AND s.words MATCH $", [text(&search.sqlite_query)]);
            statement.push(
                &format!(" AND {id} < $ ORDER BY {id} DESC"),
                [Value::BigInt(Some(below))],
            );
        }
    }
    statement.push(" LIMIT $", [Value::BigInt(Some(want))]);
    statement
}

/// The page of `window` (message ids, all matches) in rank order after `search.after`.
fn ranked(postgres: bool, search: &MessageSearch, window: &[i64]) -> Statement {
    let mut statement = Statement::new(postgres);
    if postgres {
        // Normalization 1: frequency divided by 1 + log of the message's length.
        statement.push(
            &format!(
                "SELECT * FROM (SELECT {FOUND_COLUMNS}, \
                 ts_rank(s.words, {TSQUERY}, 1) AS rank FROM "
            ),
            tsquery(search),
        );
    } else {
        statement.push(
            &format!(
                "SELECT * FROM (SELECT {FOUND_COLUMNS}, search_rank(s.words, $) AS rank FROM "
            ),
            [text(&search.row_query)],
        );
    }
    from_where(&mut statement, search);
    let ids = window
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if postgres {
        statement.push(
            " AND s.message_id = ANY(CAST($ AS bigint[]))",
            [Value::Text(Some(format!("{{{ids}}}")))],
        );
    } else {
        statement.push(
            " AND s.rowid IN (SELECT value FROM json_each($))",
            [Value::Text(Some(format!("[{ids}]")))],
        );
    }
    statement.push(") AS found", []);
    if let Some(after) = search.after {
        statement.push(
            " WHERE found.rank < $::real OR (found.rank = $::real AND found.id < $)",
            [
                Value::Real(Some(after.rank)),
                Value::Real(Some(after.rank)),
                Value::BigInt(Some(after.message_id)),
            ],
        );
    }
    statement.push(
        " ORDER BY found.rank DESC, found.id DESC LIMIT $",
        [Value::BigInt(Some(search.limit + 1))],
    );
    statement
}

/// The tables and the conditions every part applies: the message is not deleted, and the
/// caller's access and filters hold now. Only the filters given are written, so the planner
/// sees exactly what is asked.
fn from_where(statement: &mut Statement, search: &MessageSearch) {
    let source = if statement.postgres {
        "message_search AS s JOIN messages AS m ON m.id = s.message_id"
    } else {
        "message_search AS s JOIN messages AS m ON m.id = s.rowid"
    };
    statement.push(
        &format!(
            "{source} JOIN chat_rooms AS r ON r.id = m.room_id \
             JOIN orders AS o ON o.id = r.order_id WHERE m.deleted_at IS NULL"
        ),
        [],
    );
    if let Some(customer) = &search.only_customer {
        // A customer's search never finds an internal note (staff's finds them, marked).
        statement.push(" AND o.customer_id = $ AND NOT m.note", [text(customer)]);
    }
    if let Some(room) = search.room_id {
        statement.push(" AND m.room_id = $", [Value::BigInt(Some(room))]);
    }
    if let Some(sender) = &search.sender {
        statement.push(" AND m.sender_id = $", [text(sender)]);
    }
    if let Some(since) = search.since {
        statement.push(" AND m.created_at >= $", [Value::BigInt(Some(since))]);
    }
    if let Some(until) = search.until {
        statement.push(" AND m.created_at < $", [Value::BigInt(Some(until))]);
    }
    if let Some(status) = search.status {
        statement.push(" AND r.status = $", [text(status.as_str())]);
    }
    match &search.assigned {
        Some((AssignedFilter::Me, user)) => statement.push(
            " AND EXISTS (SELECT 1 FROM room_members AS a \
             WHERE a.room_id = m.room_id AND a.user_id = $ AND a.assigned)",
            [text(user)],
        ),
        Some((AssignedFilter::None, _)) => statement.push(
            " AND NOT EXISTS (SELECT 1 FROM room_members AS a \
             WHERE a.room_id = m.room_id AND a.assigned)",
            [],
        ),
        None => statement,
    };
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// Postgres' plans (`EXPLAIN`) for the two parts of `search`'s first page, each headed by a
/// line naming it (`-- newest ids`, `-- older ids, through the index`): for the test that the
/// GIN index answers and any walk is bounded, and for an operator looking into a slow search.
/// `None` on SQLite.
pub fn explain_search(
    conn: &mut DbConnection,
    search: &MessageSearch,
) -> Result<Option<Vec<String>>, StoreError> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(None);
    }
    serially(conn, |conn| explain_parts(conn, search)).map(Some)
}

fn explain_parts(
    conn: &mut DbConnection,
    search: &MessageSearch,
) -> Result<Vec<String>, StoreError> {
    let want = Wanted::by(search).most;
    let slice_start = newest_slice_start(conn, i64::MAX, search.newest_slice)?.unwrap_or(0);
    let mut lines = Vec::new();
    for (name, which, below) in [
        (
            "-- newest ids",
            Part::Range { start: slice_start },
            i64::MAX,
        ),
        (
            "-- older ids, through the index",
            Part::Indexed,
            slice_start,
        ),
    ] {
        let mut statement = part(true, search, ID_COLUMNS, which, below, want);
        statement.text.insert_str(0, "EXPLAIN ");
        let plan: Vec<PlanLine> = statement.query().load(conn)?;
        lines.push(name.to_owned());
        lines.extend(plan.into_iter().map(|line| line.line));
    }
    Ok(lines)
}

/// The query as Postgres matches it: the configuration bound as its OID, so that the whole
/// expression is a constant, computed once per statement rather than once per row.
const TSQUERY: &str = "to_tsquery(CAST(CAST($ AS oid) AS regconfig), $)";

/// The values of [`TSQUERY`].
fn tsquery(search: &MessageSearch) -> [Value; 2] {
    [
        Value::BigInt(search.language_oid),
        text(&search.postgres_query),
    ]
}

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_owned()))
}

/// A value bound to a [`Statement`].
#[derive(Debug, Clone)]
enum Value {
    Text(Option<String>),
    BigInt(Option<i64>),
    Real(Option<f32>),
}

type DbBackend = <DbConnection as Connection>::Backend;

/// A statement's text and its values, written together so that they cannot drift apart.
#[derive(Debug)]
struct Statement {
    postgres: bool,
    text: String,
    values: Vec<Value>,
}

impl Statement {
    fn new(postgres: bool) -> Self {
        Self {
            postgres,
            text: String::with_capacity(1024),
            values: Vec::new(),
        }
    }

    /// Appends `sql`, each `$` of which takes the next of `values`: numbered `$n` on Postgres,
    /// `?` on SQLite, where a `::type` cast after it is dropped (SQLite has no such syntax).
    fn push<const N: usize>(&mut self, sql: &str, values: [Value; N]) -> &mut Self {
        let mut rest = sql;
        let mut placed = 0;
        while let Some(at) = rest.find('$') {
            self.text.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            placed += 1;
            if self.postgres {
                self.text
                    .push_str(&format!("${}", self.values.len() + placed));
            } else {
                self.text.push('?');
                if let Some(after_cast) = rest.strip_prefix("::") {
                    let end = after_cast
                        .find(|c: char| !c.is_ascii_alphanumeric())
                        .unwrap_or(after_cast.len());
                    rest = &after_cast[end..];
                }
            }
        }
        self.text.push_str(rest);
        debug_assert_eq!(placed, N, "one value for each `$` of {sql}");
        self.values.extend(values);
        self
    }

    fn query(self) -> BoxedSqlQuery<'static, DbBackend, SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed();
        for value in self.values {
            query = match value {
                Value::Text(value) => query.bind::<Nullable<Text>, _>(value),
                Value::BigInt(value) => query.bind::<Nullable<BigInt>, _>(value),
                Value::Real(value) => query.bind::<Nullable<Float>, _>(value),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_or_plain_and_casts_go_on_sqlite() {
        let values = || [Value::BigInt(Some(1)), Value::BigInt(Some(2))];
        let mut postgres = Statement::new(true);
        postgres
            .push("a = $::text AND b = $", values())
            .push(" LIMIT $", [Value::BigInt(Some(3))]);
        assert_eq!(postgres.text, "a = $1::text AND b = $2 LIMIT $3");
        let mut sqlite = Statement::new(false);
        sqlite
            .push("a = $::text AND b = $", values())
            .push(" LIMIT $", [Value::BigInt(Some(3))]);
        assert_eq!(sqlite.text, "a = ? AND b = ? LIMIT ?");
        assert_eq!(sqlite.values.len(), 3);
    }
}
