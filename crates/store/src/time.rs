//! Timestamps are stored as microseconds since the Unix epoch (see the migrations).

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::BigInt;

use crate::StoreError;
use crate::read_through::read_through_from_sql;

/// Now, in stored form.
pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Width of a room's `activity_bucket`: the second of its `last_activity_at`.
///
/// The room row is updated by every batch that writes to it (`last_seq`,
/// `last_activity_at`). Postgres can make that update HOT — a new row version on the same
/// page, no new index entries, pruned without VACUUM — only if no indexed column changes. The
/// room list is ordered by activity, so an index on `last_activity_at` made every such update
/// add entries to two indexes, and the dead ones piled up (0 of 278,176 updates HOT in one
/// `hot-rooms` run). The index covers the bucket instead, which changes at most once a second
/// per room; the list orders by (bucket, `last_activity_at`, id), which is exactly the order
/// of (`last_activity_at`, id), sorting only within a bucket (docs/PERFORMANCE.md).
pub(crate) const ACTIVITY_BUCKET_MICROS: i64 = 1_000_000;

/// The `activity_bucket` of a `last_activity_at`.
pub(crate) fn activity_bucket(micros: i64) -> i64 {
    micros.div_euclid(ACTIVITY_BUCKET_MICROS)
}

/// Stored form to API form, strictly: a value outside chrono's range (a hand-edited row, a
/// bug) is an error that names it, never some default date.
pub(crate) fn to_datetime(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        StoreError::Unreadable(format!("time {micros} µs since the epoch is out of range"))
    })
}

/// A time stored as microseconds since the epoch, read back strictly ([`to_datetime`]): a value
/// out of range fails the query. Use as a field's `deserialize_as`, or in a tuple select.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredTime(pub(crate) DateTime<Utc>);

impl<DB> FromSql<BigInt, DB> for StoredTime
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let micros = i64::from_sql(bytes)?;
        Ok(Self(to_datetime(micros)?))
    }
}

read_through_from_sql!(impl<> StoredTime as BigInt);

impl From<StoredTime> for DateTime<Utc> {
    fn from(time: StoredTime) -> Self {
        time.0
    }
}
