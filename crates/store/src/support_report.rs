//! The staff report's figures for a time range, computed in SQL on both backends: counts and
//! sums by `GROUP BY`, percentiles by nearest rank over window functions (neither backend's
//! `percentile_cont` is available on the other).
//!
//! Attribution to an admin: closes and ratings go to who closed the room (`closed_by`; a
//! policy's close to nobody), response times and late answers to who answered (the newest
//! staff message at the answer), a breach of a clock still running to nobody yet.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

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
    /// Waits for every answer, the first ones included.
    pub response: ResponseFigures,
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

/// Nearest-rank percentiles: the value at rank ceil(p × n / 100), in integers on both
/// backends. Answers in the range are the stopped clocks that ended with an answer then
/// (`ended_at` is the answer's time; its index bounds the scan).
const PERCENTILES_SQL: &str = "\
WITH answers AS ( \
    SELECT responder_id, clock, response_micros FROM response_times \
    WHERE ended_at >= {from} AND ended_at < {to} \
      AND answered_at IS NOT NULL AND response_micros IS NOT NULL \
), kinds AS ( \
    SELECT responder_id, 'first_response' AS kind, response_micros FROM answers \
    WHERE clock = 'first_response' \
    UNION ALL \
    SELECT responder_id, 'response', response_micros FROM answers \
), scoped AS ( \
    SELECT 0 AS per_admin, NULL AS admin, kind, response_micros FROM kinds \
    UNION ALL \
    SELECT 1, responder_id, kind, response_micros FROM kinds WHERE responder_id IS NOT NULL \
), ranked AS ( \
    SELECT per_admin, admin, kind, response_micros, \
           row_number() OVER (PARTITION BY per_admin, admin, kind ORDER BY response_micros) AS rn, \
           count(*) OVER (PARTITION BY per_admin, admin, kind) AS n \
    FROM scoped \
) \
SELECT per_admin, admin, kind, n AS count, \
       max(CASE WHEN rn = (50 * n + 99) / 100 THEN response_micros END) AS p50, \
       max(CASE WHEN rn = (90 * n + 99) / 100 THEN response_micros END) AS p90 \
FROM ranked GROUP BY per_admin, admin, kind, n";

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
    let percentiles: Vec<Percentiles> = load(conn, PERCENTILES_SQL, from, to)?;
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
            _ => of.response = response,
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

/// `sql` with the range's bounds in the backend's placeholders.
fn in_dialect(conn: &DbConnection, sql: &str) -> String {
    let (from, to) = match conn {
        DbConnection::Postgres(_) => ("$1", "$2"),
        DbConnection::Sqlite(_) => ("?1", "?2"),
    };
    sql.replace("{from}", from).replace("{to}", to)
}

/// Runs `sql` over `[from, to)`.
fn load<T>(conn: &mut DbConnection, sql: &str, from: i64, to: i64) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<<DbConnection as diesel::Connection>::Backend> + 'static,
{
    let sql = in_dialect(conn, sql);
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load(conn)?)
}
