//! How long until a refused request would be accepted: one type for the HTTP header and the
//! WebSocket `error` frame, apart from the limiters that make it and the error that carries it.

use std::time::Duration;

/// A refused send: how long until one more would be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up and at least 1, for the HTTP `Retry-After` header.
    pub fn header_secs(self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }

    /// Seconds with millisecond precision, for the WebSocket `error` frame.
    pub fn secs(self) -> f64 {
        (self.0.as_millis().max(1) as f64) / 1000.0
    }
}
