//! The limits every use case applies, whatever the transport.

use std::num::NonZeroU32;

use crate::send_budget::SendBudget;

/// Limits applied to requests and sends, whatever the transport. Every one is configurable;
/// [`Limits::DEFAULT`] holds the defaults, which the configuration flags use too.
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
    /// Sustained messages per second one user may send on this node, over REST and every
    /// WebSocket together.
    pub messages_per_sec: u32,
    /// Messages one user may send in a burst above the sustained rate.
    pub message_burst: u32,
    /// Seconds after sending during which the sender may edit a message.
    pub edit_window_secs: u64,
    /// Whether admins can still read a deleted message's words in its revisions.
    pub keep_deleted_content: bool,
    /// How long a request body may send nothing before it is answered 408 and its connection
    /// closed (slow or stalled clients hold a connection and a handler otherwise).
    pub body_idle_timeout: std::time::Duration,
}

impl Limits {
    /// The defaults, defined once.
    pub const DEFAULT: Self = Self {
        max_content_chars: room_chats_types::rules::DEFAULT_MAX_CONTENT_CHARS,
        max_body_bytes: 64 * 1024,
        default_page: 50,
        max_page: 200,
        messages_per_sec: 10,
        message_burst: 20,
        edit_window_secs: 900,
        keep_deleted_content: true,
        body_idle_timeout: std::time::Duration::from_secs(30),
    };

    /// The per-user send budget these limits describe.
    pub fn send_budget(&self) -> SendBudget {
        let rate = NonZeroU32::new(self.messages_per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.message_burst).unwrap_or(rate);
        SendBudget::new(rate, burst)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
