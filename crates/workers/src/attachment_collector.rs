//! The attachment collector: removes uploads never sent, the files of deleted messages past
//! their retention and direct uploads whose URL expired unused, after sweeping what uploads cut
//! short by a crash left behind. Every node runs one; the rounds themselves are the core's
//! ([`AttachmentStore::collect`]).

use room_chats_core::attachments::{AttachmentStore, COLLECT_BATCH};

/// Starts the collector on the current thread's local task set (the node's main runtime).
pub fn start(store: AttachmentStore) {
    tokio::task::spawn_local(async move {
        store.sweep_unfinished().await;
        loop {
            // A full batch means more is waiting: go on at once.
            if store.collect().await < COLLECT_BATCH {
                tokio::time::sleep(store.collect_every()).await;
            }
        }
    });
}
