//! Timestamps are stored as microseconds since the Unix epoch (see the migrations).

use chrono::{DateTime, Utc};

/// Now, in stored form.
pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Stored form to API form. Stored values come from [`now_micros`], so they are always in
/// chrono's range; the fallback only guards against a hand-edited row.
pub(crate) fn to_datetime(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
