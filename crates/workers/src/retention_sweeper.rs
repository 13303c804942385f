//! Retention: deletes what is older than the operator keeps it — the audit trail
//! (`AUDIT_RETENTION_DAYS`, off by default: entries are kept for ever) and webhook dead letters
//! (`DEAD_LETTER_RETENTION_DAYS`, 30 by default: they carry message words). The rest of issue
//! 29's retention policy joins this sweep.
//!
//! Every node sweeps every `RETENTION_SWEEP_SECS`, in short transactions of at most a thousand
//! rows taken `SKIP LOCKED`, so nodes sweeping at once delete different rows and nothing else
//! ever waits for a sweep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use room_chats_core::ApiError;
use room_chats_core::audit::AuditTrail;
use room_chats_core::metrics::Metrics;
use room_chats_core::webhooks::Webhooks;

/// How long data is kept (`AUDIT_RETENTION_DAYS`, `DEAD_LETTER_RETENTION_DAYS`,
/// `RETENTION_SWEEP_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Audit entries older than this are deleted; `None`: kept for ever.
    pub audit: Option<Duration>,
    /// Dead letters that died longer ago than this are deleted; `None`: kept for ever.
    pub dead_letters: Option<Duration>,
    /// How often a node sweeps.
    pub sweep_every: Duration,
}

impl RetentionSettings {
    /// The defaults, defined once: the audit trail kept for ever, dead letters for 30 days, an
    /// hourly sweep.
    pub const DEFAULT: Self = Self {
        audit: None,
        dead_letters: Some(Duration::from_secs(30 * 86_400)),
        sweep_every: Duration::from_secs(3_600),
    };
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What the sweep deletes from.
#[derive(Clone)]
pub struct Kept {
    /// The audit trail.
    pub audit: AuditTrail,
    /// The webhooks (their dead letters).
    pub webhooks: Webhooks,
}

/// Starts the sweep on the current runtime, if a retention is set.
pub fn start(kept: Kept, settings: RetentionSettings, metrics: Arc<Metrics>) {
    if settings.audit.is_none() && settings.dead_letters.is_none() {
        return;
    }
    tokio::task::spawn_local(async move {
        loop {
            if let Some(age) = settings.audit {
                let started = Instant::now();
                let purged = kept.audit.purge_older_than(age).await;
                report("audit_entries", purged, started, &metrics);
            }
            if let Some(age) = settings.dead_letters {
                let started = Instant::now();
                let purged = kept.webhooks.purge_dead_letters_older_than(age).await;
                report("dead_letters", purged, started, &metrics);
            }
            tokio::time::sleep(settings.sweep_every).await;
        }
    });
}

/// What one purge did, to the log and the metrics.
fn report(
    data: &'static str,
    purged: Result<usize, ApiError>,
    started: Instant,
    metrics: &Metrics,
) {
    match purged {
        Ok(0) => {}
        Ok(purged) => {
            metrics.purged(data, purged);
            tracing::info!(
                data,
                purged,
                took_ms = started.elapsed().as_millis() as u64,
                "retention: rows deleted"
            );
        }
        Err(error) => tracing::warn!(data, %error, "retention: pass failed"),
    }
}
