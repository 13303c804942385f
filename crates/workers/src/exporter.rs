//! The exporter: writes the archives of the exports people asked for (`POST
//! /users/{id}/exports`), one at a time per node, and deletes archives whose link expired.
//! An export a node died writing is taken over by another once its lease runs out.

use std::time::Duration;

use room_chats_core::exports::Exports;

/// How long the exporter waits between two looks that found nothing to do.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Starts the exporter on the current runtime.
pub fn start(exports: Exports) {
    tokio::task::spawn_local(async move {
        loop {
            match exports.run_next().await {
                // One written: look again at once.
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "export: a look failed; retrying"),
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    });
}
