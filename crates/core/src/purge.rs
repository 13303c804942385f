//! Deleting what is older than the operator keeps it, the same way for every kind of data
//! that ages on its own (audit entries, dead letters, queued deliveries): a short transaction
//! at a time, whatever the backlog, so nothing else waits for a sweep.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use room_chats_store::{Database, DbConnection, StoreError};

use crate::error::ApiError;

/// Rows one purge transaction deletes at most.
pub(crate) const PURGE_BATCH: i64 = 1_000;

/// A store function that deletes up to `batch` rows older than `before` (micros) and says how
/// many it deleted.
pub(crate) type PurgeBatch = fn(&mut DbConnection, i64, i64) -> Result<usize, StoreError>;

/// Deletes, batch after batch, the rows `purge` finds older than `age`; how many.
pub(crate) async fn purge_older_than(
    db: &Database,
    age: Duration,
    purge: PurgeBatch,
) -> Result<usize, ApiError> {
    let before = micros_ago(age);
    let mut purged = 0;
    loop {
        let deleted = db.run(move |conn| purge(conn, before, PURGE_BATCH)).await?;
        purged += deleted;
        if (deleted as i64) < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

/// The moment `age` ago, in micros.
pub(crate) fn micros_ago(age: Duration) -> i64 {
    let age = TimeDelta::from_std(age).unwrap_or(TimeDelta::MAX);
    Utc::now()
        .checked_sub_signed(age)
        .map_or(i64::MIN, |at| at.timestamp_micros())
}
