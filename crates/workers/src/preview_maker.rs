//! The preview maker: makes the previews of uploaded images after their uploads were answered,
//! one at a time per node (the store's preview turn), so a burst of photos queues here rather
//! than on the cores. A preview asked for before it is made is made by that request instead.

use room_chats_core::attachments::{AttachmentStore, PreviewRequests};

/// Starts the maker on the current thread's local task set (the node's main runtime), for the
/// life of that runtime.
pub fn start(store: AttachmentStore, mut requests: PreviewRequests) {
    tokio::task::spawn_local(async move {
        while let Some(file) = requests.next().await {
            // A failure is logged by the store; a later request for the preview tries again.
            let _ = store.preview(&file).await;
        }
    });
}
