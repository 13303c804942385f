//! The eraser: carries out the erasures the platform requested (`POST /users/{id}/erasure`),
//! step by step. Every node runs one; a person is erased by one node at a time, and an
//! erasure a crash cut short is taken up again at the next look, on any node.

use std::time::{Duration, Instant};

use room_chats_core::erasure::Erasures;

/// How long the eraser waits between two looks that found nothing to do.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Starts the eraser on the current runtime.
pub fn start(erasures: Erasures) {
    tokio::task::spawn_local(async move {
        loop {
            let started = Instant::now();
            match erasures.run_pending().await {
                Ok(0) => {}
                Ok(finished) => tracing::info!(
                    finished,
                    took_ms = started.elapsed().as_millis() as u64,
                    "erasure: people erased"
                ),
                Err(error) => tracing::warn!(%error, "erasure: a pass failed; retrying"),
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    });
}
