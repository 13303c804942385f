//! The search indexer: writes the search rows of messages that have none — those stored before
//! search existed, or by a node still on an older version during a rolling deploy — and
//! rebuilds every row when `SEARCH_LANGUAGE` changed. New messages are indexed by the write
//! path in their own transaction; this only catches up, a range of ids per transaction
//! (`INDEX_RANGE`), so it never holds a lock that would stop sends for long.
//!
//! Every node runs one; the state row decides which node works a range (the others skip it).

use std::time::{Duration, Instant};

use room_chats_store::search::{self, IndexStep};
use room_chats_store::{Database, StoreError};

/// How long the indexer waits between rounds, and how old the newest id it indexes up to is:
/// a message of an older node whose transaction was still open when its id was seen has
/// committed by then (a batch takes well under a second).
const ROUND_EVERY: Duration = Duration::from_secs(10);

/// Makes `language` the index's text search configuration; logs when that starts a rebuild.
/// A configuration Postgres does not have, or any but `simple` on SQLite, fails start-up.
pub async fn use_language(db: &Database, language: &str) -> Result<(), StoreError> {
    let language_owned = language.to_owned();
    let changed = db
        .run(move |conn| search::use_language(conn, &language_owned))
        .await?;
    if changed {
        tracing::warn!(
            language,
            "SEARCH_LANGUAGE changed: every message is re-indexed in the background; until \
             that ends, older messages are found by the words of the previous language"
        );
    }
    Ok(())
}

/// Indexes every message below `ceiling` that has no search row (or all of them, during a
/// rebuild); the number written. Stops early when another node holds the indexer's turn.
pub async fn catch_up(db: &Database, ceiling: i64) -> Result<usize, StoreError> {
    let mut written = 0;
    loop {
        match db
            .run(move |conn| search::index_next_range(conn, ceiling))
            .await?
        {
            IndexStep::Indexed { indexed } => written += indexed,
            IndexStep::CaughtUp | IndexStep::Busy => return Ok(written),
        }
    }
}

/// One past the newest message id now.
pub async fn next_message_id(db: &Database) -> Result<i64, StoreError> {
    db.run(search::next_message_id).await
}

/// Starts the indexer on the current thread's local task set (the node's main runtime).
pub fn start(db: Database) {
    tokio::task::spawn_local(async move {
        // The first round indexes up to what exists when the node starts.
        let mut ceiling = next_message_id(&db).await.unwrap_or(0);
        loop {
            let started = Instant::now();
            match catch_up(&db, ceiling).await {
                Ok(0) => {}
                Ok(written) => tracing::info!(
                    written,
                    below_id = ceiling,
                    took_ms = started.elapsed().as_millis() as u64,
                    "search index caught up"
                ),
                Err(error) => tracing::warn!(%error, "search indexer round failed; retrying"),
            }
            let seen = next_message_id(&db).await;
            tokio::time::sleep(ROUND_EVERY).await;
            if let Ok(seen) = seen {
                ceiling = seen;
            }
        }
    });
}
