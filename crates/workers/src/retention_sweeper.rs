//! Retention: deletes what is older than the operator keeps it — conversations
//! (`HISTORY_RETENTION_DAYS`: a room's old history; `CLOSED_ROOM_RETENTION_DAYS`: closed rooms
//! left idle; a room's own retention; never what a legal hold keeps), the audit trail
//! (`AUDIT_RETENTION_DAYS`, off by default: entries are kept for ever) and webhook dead letters
//! (`DEAD_LETTER_RETENTION_DAYS`, 30 by default: they carry message words).
//!
//! Every node sweeps every `RETENTION_SWEEP_SECS`, in short transactions of at most a thousand
//! rows (one room's history at a time), taken so that nodes sweeping at once delete different
//! rows and nothing else ever waits for a sweep: sends go on in a room being purged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use room_chats_core::ApiError;
use room_chats_core::audit::AuditTrail;
use room_chats_core::metrics::Metrics;
use room_chats_core::retention::{ConversationPolicy, HistoryPurge, Retention};
use room_chats_core::webhooks::Webhooks;

/// How long data is kept (`HISTORY_RETENTION_DAYS`, `CLOSED_ROOM_RETENTION_DAYS`,
/// `AUDIT_RETENTION_DAYS`, `DEAD_LETTER_RETENTION_DAYS`, `RETENTION_SWEEP_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// How long conversations are kept (both off by default).
    pub conversations: ConversationPolicy,
    /// Audit entries older than this are deleted; `None`: kept for ever.
    pub audit: Option<Duration>,
    /// Dead letters that died longer ago than this are deleted; `None`: kept for ever.
    pub dead_letters: Option<Duration>,
    /// How often a node sweeps.
    pub sweep_every: Duration,
}

impl RetentionSettings {
    /// The defaults, defined once: conversations and the audit trail kept for ever, dead
    /// letters for 30 days, an hourly sweep.
    pub const DEFAULT: Self = Self {
        conversations: ConversationPolicy {
            history_days: None,
            closed_room_days: None,
        },
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
    /// The conversations, under the settings' policy.
    pub conversations: Retention,
}

/// Starts the sweep on the current runtime. It always runs: a room may have a retention or
/// a hold of its own whatever the settings, and dead letters have one by default.
pub fn start(kept: Kept, settings: RetentionSettings, metrics: Arc<Metrics>) {
    tokio::task::spawn_local(async move {
        loop {
            let started = Instant::now();
            match kept.conversations.purge_history().await {
                Ok(purged) => report_history(&purged, started, &metrics),
                Err(error) => tracing::warn!(%error, "retention: history pass failed"),
            }
            let started = Instant::now();
            let rooms = kept.conversations.purge_closed_rooms().await;
            report("closed_rooms", rooms, started, &metrics);
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

/// What one pass of the history purge did, to the log and the metrics.
fn report_history(purged: &HistoryPurge, started: Instant, metrics: &Metrics) {
    let counts = [
        ("messages", purged.messages),
        ("room_events", purged.room_events),
        ("attachments", purged.attachments),
        ("deliveries", purged.deliveries),
    ];
    if counts.iter().all(|(_, count)| *count == 0) {
        return;
    }
    for (data, count) in counts {
        if count > 0 {
            metrics.purged(data, count);
        }
    }
    tracing::info!(
        rooms = purged.rooms,
        messages = purged.messages,
        room_events = purged.room_events,
        attachments = purged.attachments,
        deliveries = purged.deliveries,
        took_ms = started.elapsed().as_millis() as u64,
        "retention: history purged"
    );
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
