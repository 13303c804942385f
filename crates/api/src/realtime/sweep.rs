//! The stored timeline is the truth; the broker only a hint. Every `TIMELINE_SWEEP_SECS` each node
//! compares, for the rooms it has sessions in, the stored `last_seq` with the highest seq it
//! delivered live. A room still behind at the next sweep — its newest stored event committed at
//! least a sweep ago and never arrived — lost a publication no one could make up for: a node
//! that died while it could not publish, say. Its sessions then catch up from the database.
//!
//! The broker's own recovery (reconnect, resync) is faster and covers every other case; this
//! is the floor under it: no acked message stays undelivered to a connected member for more
//! than two sweeps, whatever the broker and the other nodes do.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use room_chats_types::{RoomId, Seq};

use room_chats_core::chat::Chat;

use crate::realtime::hub::Hub;

/// Starts the node's sweep on the current runtime; it ends when the hub does.
pub fn start(hub: &Arc<Hub>, chat: Chat, every: Duration) {
    let hub = Arc::downgrade(hub);
    actix_web::rt::spawn(async move {
        // Rooms found behind at the last sweep, and the stored seq they were behind.
        let mut behind: HashMap<RoomId, Seq> = HashMap::new();
        loop {
            tokio::time::sleep(every).await;
            let Some(hub) = hub.upgrade() else { return };
            behind = sweep(&hub, &chat, &behind).await;
        }
    });
}

/// One comparison; answers the rooms behind now, for the next.
async fn sweep(hub: &Hub, chat: &Chat, before: &HashMap<RoomId, Seq>) -> HashMap<RoomId, Seq> {
    let delivered: HashMap<RoomId, Option<Seq>> = hub.delivered_heads().into_iter().collect();
    if delivered.is_empty() {
        return HashMap::new();
    }
    let ids: Vec<RoomId> = delivered.keys().copied().collect();
    let stored = match chat.stored_heads(ids).await {
        Ok(stored) => stored,
        Err(error) => {
            // The database is down: the sessions themselves report that to their clients.
            tracing::debug!(%error, "timeline sweep skipped");
            return before.clone();
        }
    };
    let mut behind = HashMap::new();
    for (room, last_seq) in stored {
        let live = delivered.get(&room).copied().flatten();
        let head = live.unwrap_or(0);
        if last_seq <= head {
            continue;
        }
        match before.get(&room) {
            // Behind a sweep ago already, and what was stored then has still not come.
            Some(&then) if head < then => {
                // With nothing delivered live since its first session joined, the room's
                // sessions loaded its history themselves and are most likely current (they
                // check); only a room that had live events lost one.
                if live.is_some() {
                    tracing::info!(
                        room,
                        delivered = head,
                        stored = last_seq,
                        "room events never arrived through the broker; catching up from the \
                         database"
                    );
                }
                hub.catch_up_to(room, last_seq);
            }
            // Newly behind: most likely on its way (committed a moment ago).
            _ => {
                behind.insert(room, last_seq);
            }
        }
    }
    behind
}
