//! Retention: deletes what is older than the operator keeps it. So far the audit trail
//! (`AUDIT_RETENTION_DAYS`, off by default: entries are kept for ever); the rest of issue 29's
//! retention policy joins this sweep.
//!
//! Every node sweeps every `RETENTION_SWEEP_SECS`, in short transactions of at most a
//! thousand rows that take their rows `SKIP LOCKED`, so nodes sweeping at once delete different
//! rows and nothing else ever waits for a sweep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use room_chats_core::audit::AuditTrail;
use room_chats_core::metrics::Metrics;

/// How long data is kept (`AUDIT_RETENTION_DAYS`, `RETENTION_SWEEP_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Audit entries older than this are deleted; `None`: kept for ever.
    pub audit: Option<Duration>,
    /// How often a node sweeps.
    pub sweep_every: Duration,
}

impl RetentionSettings {
    /// The defaults, defined once: everything kept, an hourly sweep when a policy is on.
    pub const DEFAULT: Self = Self {
        audit: None,
        sweep_every: Duration::from_secs(3_600),
    };
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Starts the sweep on the current runtime, if a policy is on.
pub fn start(trail: AuditTrail, settings: RetentionSettings, metrics: Arc<Metrics>) {
    let Some(audit_age) = settings.audit else {
        return;
    };
    tokio::task::spawn_local(async move {
        loop {
            let started = Instant::now();
            match trail.purge_older_than(audit_age).await {
                Ok(0) => {}
                Ok(purged) => {
                    metrics.purged("audit_entries", purged);
                    tracing::info!(
                        data = "audit_entries",
                        purged,
                        took_ms = started.elapsed().as_millis() as u64,
                        "retention: rows deleted"
                    );
                }
                Err(error) => {
                    tracing::warn!(data = "audit_entries", %error, "retention: pass failed");
                }
            }
            tokio::time::sleep(settings.sweep_every).await;
        }
    });
}
