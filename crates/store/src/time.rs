//! Timestamps are stored as microseconds since the Unix epoch (see the migrations).

use chrono::{DateTime, Utc};

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

/// Stored form to API form. Stored values come from [`now_micros`], so they are always in
/// chrono's range; the fallback only guards against a hand-edited row.
pub(crate) fn to_datetime(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
