//! What handlers share.

use std::sync::Arc;

use room_chats_store::Database;
use room_chats_store::batch::MessageWriter;

use crate::realtime::{Hub, RealtimeSettings};

/// Limits applied to requests. Every one is configurable.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest message, in characters.
    pub max_content_chars: usize,
    /// Largest JSON body, in bytes.
    pub max_body_bytes: usize,
    /// History page size when the caller names none.
    pub default_page: i64,
    /// Largest history page.
    pub max_page: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_content_chars: room_chats_types::rules::DEFAULT_MAX_CONTENT_CHARS,
            max_body_bytes: 64 * 1024,
            default_page: 50,
            max_page: 200,
        }
    }
}

/// Application state, shared by every worker.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// Stores messages in batches shared by every session and request of the node.
    pub writer: MessageWriter,
    /// Request limits.
    pub limits: Limits,
    /// This node's map of rooms to live sessions; REST changes are announced through it.
    pub hub: Arc<Hub>,
    /// WebSocket limits and timings.
    pub realtime: Arc<RealtimeSettings>,
}
