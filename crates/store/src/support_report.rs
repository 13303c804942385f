//! The staff report's figures for a time range, computed in SQL on both backends: counts and
//! sums by `GROUP BY`, percentiles by nearest rank — an ordered-set aggregate on Postgres,
//! window functions on SQLite, which has none.
//!
//! Attribution to an admin: closes and ratings go to who closed the room (`closed_by`; a
//! policy's close to nobody), response times and late answers to who answered (the newest
//! staff message at the answer), a breach of a clock still running to nobody yet.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use crate::connection::numbered_placeholders;
use crate::schema::user_names;
use crate::{DbConnection, StoreError};

/// Response-time figures of one kind (micros).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseFigures {
    /// Answers counted.
    pub count: i64,
    /// Median wait.
    pub p50: Option<i64>,
    /// 90th percentile wait.
    pub p90: Option<i64>,
}

/// The figures of everyone, or of one admin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Rooms closed in the range (by the room's current close).
    pub rooms_closed: i64,
    /// Waits for the first answer of a conversation.
    pub first_response: ResponseFigures,
    /// Waits for each later answer.
    pub next_response: ResponseFigures,
    /// Targets missed in the range.
    pub breaches: i64,
    /// Ratings given in the range.
    pub ratings: i64,
    /// Their scores added up.
    pub rating_sum: i64,
}

/// The report's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportFigures {
    /// Rooms created in the range.
    pub rooms_opened: i64,
    /// Everyone's.
    pub overall: Figures,
    /// Each admin's who closed, answered or was rated in the range, by user id.
    pub admins: BTreeMap<String, Figures>,
    /// The admins' display names, where known.
    pub names: BTreeMap<String, String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct ByAdmin {
    #[diesel(sql_type = Nullable<Text>)]
    admin: Option<String>,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Percentiles {
    #[diesel(sql_type = Integer)]
    per_admin: i32,
    #[diesel(sql_type = Nullable<Text>)]
    admin: Option<String>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    p50: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    p90: Option<i64>,
}

const OPENED_SQL: &str =
    "SELECT count(*) AS count FROM chat_rooms WHERE created_at >= {from} AND created_at < {to}";

const CLOSED_SQL: &str = "\
SELECT closed_by AS admin, count(*) AS count, CAST(0 AS BIGINT) AS total FROM chat_rooms \
WHERE closed_at >= {from} AND closed_at < {to} GROUP BY closed_by";

const RATINGS_SQL: &str = "\
SELECT closed_by AS admin, count(*) AS count, \
       coalesce(sum(rating_score), 0) AS total FROM chat_rooms \
WHERE rated_at >= {from} AND rated_at < {to} GROUP BY closed_by";

/// Stopped clocks breached in the range (by who answered; NULL: the room closed unanswered),
/// and running ones (nobody's yet).
const BREACHES_SQL: &str = "\
SELECT responder_id AS admin, count(*) AS count, CAST(0 AS BIGINT) AS total FROM response_times \
WHERE breached_at >= {from} AND breached_at < {to} GROUP BY responder_id \
UNION ALL \
SELECT NULL, count(*), 0 FROM rooms_awaiting_staff \
WHERE breached_at >= {from} AND breached_at < {to}";

/// Postgres: the ordered-set aggregate `percentile_disc` (nearest rank: the first value whose
/// cumulative share reaches p) over grouping sets — overall and per admin, by clock — in one
/// sort of the range's answers: 0.4 s for 300,000 answers on this machine, where a
/// window-function form took 3.3 s (its partitions spilled to disk).
const PERCENTILES_PG: &str = "\
SELECT 1 - GROUPING(responder_id) AS per_admin, responder_id AS admin, clock AS kind, \
       count(*) AS count, \
       percentile_disc(0.5) WITHIN GROUP (ORDER BY response_micros) AS p50, \
       percentile_disc(0.9) WITHIN GROUP (ORDER BY response_micros) AS p90 \
FROM response_times \
WHERE ended_at >= {from} AND ended_at < {to} AND response_micros IS NOT NULL \
GROUP BY GROUPING SETS ((clock), (responder_id, clock))";

/// SQLite (no ordered-set aggregates, no grouping sets): the same nearest rank as the smallest
/// value whose `cume_dist` reaches p. Each window walks an index in its own order
/// (`response_times_clock_wait_idx`, `response_times_admin_wait_idx`, SQLite only), so no
/// answer is sorted.
const PERCENTILES_SQLITE: &str = "\
SELECT 0 AS per_admin, NULL AS admin, clock AS kind, count(*) AS count, \
       min(CASE WHEN cd >= 0.5 THEN response_micros END) AS p50, \
       min(CASE WHEN cd >= 0.9 THEN response_micros END) AS p90 \
FROM (SELECT clock, response_micros, \
             cume_dist() OVER (PARTITION BY clock ORDER BY response_micros) AS cd \
      FROM response_times \
      WHERE response_micros IS NOT NULL AND ended_at >= {from} AND ended_at < {to}) \
GROUP BY clock \
UNION ALL \
SELECT 1, responder_id, clock, count(*), \
       min(CASE WHEN cd >= 0.5 THEN response_micros END), \
       min(CASE WHEN cd >= 0.9 THEN response_micros END) \
FROM (SELECT responder_id, clock, response_micros, \
             cume_dist() OVER (PARTITION BY responder_id, clock ORDER BY response_micros) AS cd \
      FROM response_times \
      WHERE response_micros IS NOT NULL AND responder_id IS NOT NULL \
        AND ended_at >= {from} AND ended_at < {to}) \
GROUP BY responder_id, clock";

/// The figures of `[from, to)` (micros).
pub fn support_figures(
    conn: &mut DbConnection,
    from: i64,
    to: i64,
) -> Result<SupportFigures, StoreError> {
    let mut figures = SupportFigures::default();
    let opened: Vec<Count> = load(conn, OPENED_SQL, from, to)?;
    figures.rooms_opened = opened.first().map_or(0, |row| row.count);

    let closed: Vec<ByAdmin> = load(conn, CLOSED_SQL, from, to)?;
    for row in closed {
        figures.add(row.admin, |of| of.rooms_closed += row.count);
    }
    let ratings: Vec<ByAdmin> = load(conn, RATINGS_SQL, from, to)?;
    for row in ratings {
        figures.add(row.admin, |of| {
            of.ratings += row.count;
            of.rating_sum += row.total;
        });
    }
    let breaches: Vec<ByAdmin> = load(conn, BREACHES_SQL, from, to)?;
    for row in breaches {
        figures.add(row.admin, |of| of.breaches += row.count);
    }
    let percentiles_sql = match conn {
        DbConnection::Postgres(_) => PERCENTILES_PG,
        DbConnection::Sqlite(_) => PERCENTILES_SQLITE,
    };
    let percentiles: Vec<Percentiles> = load(conn, percentiles_sql, from, to)?;
    for row in percentiles {
        let response = ResponseFigures {
            count: row.count,
            p50: row.p50,
            p90: row.p90,
        };
        let of = match (row.per_admin, row.admin) {
            (0, _) => &mut figures.overall,
            (_, Some(admin)) => figures.admins.entry(admin).or_default(),
            (_, None) => continue,
        };
        match row.kind.as_str() {
            "first_response" => of.first_response = response,
            _ => of.next_response = response,
        }
    }
    let admins: Vec<&String> = figures.admins.keys().collect();
    figures.names = user_names::table
        .filter(user_names::user_id.eq_any(admins))
        .select((user_names::user_id, user_names::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(figures)
}

impl SupportFigures {
    /// Adds a row to the overall figures and, if it names one, to the admin's.
    fn add(&mut self, admin: Option<String>, add: impl Fn(&mut Figures)) {
        add(&mut self.overall);
        if let Some(admin) = admin {
            add(self.admins.entry(admin).or_default());
        }
    }
}

/// Runs `sql` over `[from, to)`.
fn load<T>(conn: &mut DbConnection, sql: &str, from: i64, to: i64) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<<DbConnection as diesel::Connection>::Backend> + 'static,
{
    let sql = numbered_placeholders(conn, sql, &["{from}", "{to}"]);
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load(conn)?)
}
