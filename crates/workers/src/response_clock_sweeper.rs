//! The response-time sweep: every `SLA_SWEEP_MILLIS` each node gives new clocks their deadline
//! (`SLA_FIRST_RESPONSE_SECS`, `SLA_NEXT_RESPONSE_SECS`, in business hours when
//! `SLA_BUSINESS_HOURS` is set), marks those past it breached — a staff-only `sla_breached`
//! event, the `room.sla_breached` webhook, the `sla_breaches` metric. Waits are recorded as
//! they end by the database (for the staff report) whether or not a target is set. The clocks
//! are rows, so a node that dies leaves them to the others; each row is handled by one node
//! (`room_chats_store::response_clocks`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use room_chats_core::Chat;
use room_chats_core::metrics::Metrics;
use room_chats_core::sla::ResponseTargets;

/// The targets and how often a node sweeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseClockSettings {
    /// The targets (off by default: no sweep; waits are still recorded).
    pub targets: ResponseTargets,
    /// How often a node sweeps: a breach is noticed within this of its deadline.
    pub sweep_every: Duration,
}

impl ResponseClockSettings {
    /// The defaults, defined once: no targets, a sweep a second.
    pub const DEFAULT: Self = Self {
        targets: ResponseTargets::OFF,
        sweep_every: Duration::from_secs(1),
    };
}

impl Default for ResponseClockSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Starts the sweep on the current runtime, if a target is set.
pub fn start(chat: Chat, settings: ResponseClockSettings, metrics: Arc<Metrics>) {
    if settings.targets.timed_clocks().is_empty() {
        return;
    }
    tokio::task::spawn_local(async move {
        loop {
            sweep(&chat, &settings.targets, &metrics).await;
            tokio::time::sleep(settings.sweep_every).await;
        }
    });
}

/// One pass; breaches and failures go to the log.
async fn sweep(chat: &Chat, targets: &ResponseTargets, metrics: &Metrics) {
    let started = Instant::now();
    match chat.sweep_response_clocks(targets).await {
        Ok(report) => {
            for clock in &report.breaches {
                metrics.sla_breached(*clock);
            }
            if !report.breaches.is_empty() {
                tracing::info!(
                    breaches = report.breaches.len(),
                    scheduled = report.scheduled,
                    took_ms = started.elapsed().as_millis() as u64,
                    "response-time sweep: targets missed"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "response-time sweep: pass failed"),
    }
}
