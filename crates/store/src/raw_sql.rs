//! Raw SQL on either backend, for the statements Diesel's query builder cannot write for both
//! (upserts, `RETURNING` of deletes, row-value comparisons).

/// Runs raw SQL written with Postgres placeholders (`$1` …; SQLite reads them as `?1` …) on
/// either backend, with the binds given.
macro_rules! raw_sql {
    ($conn:expr, $sql:expr, $run:ident $(, $ty:ty => $value:expr)* $(,)?) => {
        match $conn {
            DbConnection::Postgres(pg) => {
                diesel::sql_query($sql)$(.bind::<$ty, _>($value))*.$run(pg)
            }
            DbConnection::Sqlite(sqlite) => {
                diesel::sql_query($sql.replace('$', "?"))$(.bind::<$ty, _>($value))*.$run(sqlite)
            }
        }
    };
}
