//! The auto-closer: closes rooms nobody needs open any more, by the operator's policies — rooms
//! idle for `AUTO_CLOSE_IDLE_HOURS` that wait for the customer or for no one, and rooms whose
//! order was delivered or cancelled `AUTO_CLOSE_AFTER_ORDER_HOURS` ago and idle since. Never a
//! room whose customer waits for staff. Both off by default.
//!
//! Every node sweeps every `AUTO_CLOSE_SWEEP_SECS`; the store hands each due room to one node
//! ([`room_chats_store::auto_close`]), so several nodes close a room once. The customer's next
//! message reopens a room a policy closed (`Chat::submit_message`).

use std::time::{Duration, Instant};

use room_chats_core::Chat;
use room_chats_types::ClosePolicy;

/// The closing policies (`AUTO_CLOSE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoCloseSettings {
    /// Close open rooms idle this long that wait for the customer or no one; `None`: never.
    pub idle: Option<Duration>,
    /// Close open rooms this long after their order was delivered or cancelled, idle as long;
    /// `None`: never.
    pub after_order: Option<Duration>,
    /// How often a node sweeps.
    pub sweep_every: Duration,
}

impl AutoCloseSettings {
    /// The defaults, defined once: both policies off, a sweep a minute when one is on.
    pub const DEFAULT: Self = Self {
        idle: None,
        after_order: None,
        sweep_every: Duration::from_secs(60),
    };

    /// The policies that are on, with their idle time.
    fn policies(&self) -> impl Iterator<Item = (ClosePolicy, Duration)> + use<> {
        [
            (ClosePolicy::Idle, self.idle),
            (ClosePolicy::OrderDone, self.after_order),
        ]
        .into_iter()
        .filter_map(|(policy, idle)| Some((policy, idle?)))
    }
}

impl Default for AutoCloseSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Starts the sweep on the current runtime, if a policy is on.
pub fn start(chat: Chat, settings: AutoCloseSettings) {
    if settings.policies().next().is_none() {
        return;
    }
    tokio::task::spawn_local(async move {
        loop {
            for (policy, idle) in settings.policies() {
                sweep(&chat, policy, idle).await;
            }
            tokio::time::sleep(settings.sweep_every).await;
        }
    });
}

/// One pass of one policy; what it did goes to the log.
async fn sweep(chat: &Chat, policy: ClosePolicy, idle: Duration) {
    let started = Instant::now();
    match chat.close_due_rooms(policy, idle).await {
        Ok(0) => {}
        Ok(closed) => tracing::info!(
            policy = policy.as_str(),
            closed,
            took_ms = started.elapsed().as_millis() as u64,
            "auto-close: rooms closed"
        ),
        Err(error) => tracing::warn!(policy = policy.as_str(), %error, "auto-close: pass failed"),
    }
}
