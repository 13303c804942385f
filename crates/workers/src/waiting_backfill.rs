//! The waiting-state backfill: works out whom rooms stored before the waiting state existed
//! wait for ([`room_chats_store::waiting_backfill`]), a range of rooms per short transaction,
//! then stops for good. Every node runs one; they take turns on the ranges.

use std::time::{Duration, Instant};

use room_chats_store::Database;
use room_chats_store::waiting_backfill::{self, BackfillStep};

/// A pause between two ranges, so the backfill never crowds out the node's own work.
const PAUSE: Duration = Duration::from_millis(20);

/// Starts the backfill on the current thread's local task set; it ends once every room was
/// looked at.
pub fn start(db: Database) {
    tokio::task::spawn_local(async move {
        let started = Instant::now();
        let mut filled = 0;
        loop {
            match db.run(waiting_backfill::fill_next_range).await {
                Ok(BackfillStep::Filled { rooms }) => filled += rooms,
                Ok(BackfillStep::Done) => break,
                // Another node works a range: look again later.
                Ok(BackfillStep::Busy) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(error) => {
                    tracing::warn!(%error, "waiting backfill: a range failed; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
            tokio::time::sleep(PAUSE).await;
        }
        if filled > 0 {
            tracing::info!(
                rooms = filled,
                took_ms = started.elapsed().as_millis() as u64,
                "waiting backfill: done"
            );
        }
    });
}
