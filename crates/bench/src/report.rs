//! The result of a run: JSON for machines, a short summary for people.

use serde::Serialize;

use crate::search::SearchRun;
use crate::stats::{Percentiles, Stats};
use crate::uploads::UploadRun;
use crate::webhook::WebhookStats;

/// One step of `saturate`.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub target_rate: f64,
    pub sent_per_sec: f64,
    pub acks_per_sec: f64,
    pub deliveries_per_sec: f64,
    /// Sends refused as `overloaded` per second.
    pub refused_per_sec: f64,
    pub ack_latency: Percentiles,
    pub delivery_latency: Percentiles,
    /// The worst delivery latency of each second of the step (ms): one stall or a slope.
    pub worst_delivery_ms_per_sec: Vec<f64>,
    /// Webhook deliveries during the step, with `--webhook`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookStats>,
    pub held: bool,
}

/// What `--webhook` measured over the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookRun {
    /// Distinct `message.created` events the receiver got.
    pub distinct_events: usize,
    /// Messages stored during the run: the events owed.
    pub expected_events: u64,
    /// How long after the load stopped the last owed event arrived (`None`: not within
    /// the wait).
    pub drained_secs: Option<f64>,
    /// Over the whole run.
    pub overall: WebhookStats,
}

/// What `dashboard` measures besides the room sockets.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub admins: usize,
    pub subscribed_per_admin: usize,
    /// From a message's send to the first `inbox` entry showing it as the room's newest.
    pub inbox_latency: Percentiles,
    /// `inbox` frames each admin received per second (one per window, unless a window
    /// changed more rooms than a frame holds).
    pub inbox_frames_per_sec_per_admin: f64,
    /// Rooms in them per second (coalesced: bounded by rooms changed).
    pub inbox_rooms_per_sec_per_admin: f64,
    /// Messages stored per second, all rooms together.
    pub messages_per_sec: f64,
    /// Messages of subscribed rooms on the dashboards' streams.
    pub subscribed_delivery_latency: Percentiles,
    pub subscribed_delivered: u64,
    /// Acked messages of the subscribed rooms: what the dashboards must have received.
    pub subscribed_expected: u64,
    /// Rooms whose admin listens on the room socket instead (the report's `delivered`,
    /// `expected` and `lost` are theirs).
    pub control_rooms: usize,
    /// Their delivery, in the same run: what the subscribed rooms are held against.
    pub control_delivery_latency: Percentiles,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub nodes: Vec<String>,
    pub connections: usize,
    pub rooms: usize,
    pub members_per_room: usize,
    pub window_secs: f64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub expected: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub gaps: u64,
    pub errors: u64,
    pub rate_limited: u64,
    pub overloaded: u64,
    pub connect_failures: u64,
    pub connect_errors: std::collections::BTreeMap<String, u64>,
    pub unexpected_closes: u64,
    pub deliveries_per_sec: f64,
    pub acks_per_sec: f64,
    pub connect_secs: f64,
    pub connects_per_sec: f64,
    pub join_latency: Percentiles,
    pub ack_latency: Percentiles,
    pub delivery_latency: Percentiles,
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    pub rss_per_connection_bytes: Option<f64>,
    pub steps: Vec<Step>,
    pub held_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<Dashboard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<UploadRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportRun>,
}

impl Report {
    /// Fills the counters of a report from final stats.
    pub fn new(
        scenario: &str,
        nodes: &[String],
        rooms: usize,
        members: usize,
        stats: &Stats,
    ) -> Self {
        let expected = stats.acked * (members.saturating_sub(1) as u64);
        Self {
            scenario: scenario.to_owned(),
            nodes: nodes.to_vec(),
            connections: rooms * members,
            rooms,
            members_per_room: members,
            window_secs: 0.0,
            sent: stats.sent,
            acked: stats.acked,
            delivered: stats.delivered,
            expected,
            lost: expected.saturating_sub(stats.delivered),
            duplicates: stats.duplicates,
            out_of_order: stats.out_of_order,
            gaps: stats.gaps,
            errors: stats.errors,
            rate_limited: stats.rate_limited,
            overloaded: stats.overloaded,
            connect_failures: stats.connect_failures,
            connect_errors: stats.connect_errors.clone(),
            unexpected_closes: stats.unexpected_closes,
            deliveries_per_sec: 0.0,
            acks_per_sec: 0.0,
            connect_secs: 0.0,
            connects_per_sec: 0.0,
            join_latency: Percentiles::of(&stats.join_latency),
            ack_latency: Percentiles::of(&stats.ack_latency),
            delivery_latency: Percentiles::of(&stats.delivery_latency),
            rss_before_bytes: None,
            rss_after_bytes: None,
            rss_per_connection_bytes: None,
            steps: Vec::new(),
            held_rate: None,
            dashboard: None,
            webhook: None,
            uploads: None,
            export: None,
            search: None,
        }
    }

    /// Whether the run kept every guarantee (nothing lost, duplicated or out of order).
    pub fn correct(&self) -> bool {
        let subscribed_lost = self.dashboard.as_ref().is_some_and(|dashboard| {
            dashboard.subscribed_delivered < dashboard.subscribed_expected
        });
        self.lost == 0
            && !subscribed_lost
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.gaps == 0
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut lines = vec![
            format!(
                "scenario {} on {} node(s): {} connections in {} rooms",
                self.scenario,
                self.nodes.len(),
                self.connections,
                self.rooms
            ),
            format!(
                "connect: {:.1}s ({:.0}/s), join p50 {:.1} ms p99 {:.1} ms",
                self.connect_secs,
                self.connects_per_sec,
                self.join_latency.p50,
                self.join_latency.p99
            ),
            format!(
                "sent {} acked {} delivered {}/{} expected; lost {} duplicated {} out of order {} gaps {} errors {} (rate limited {}); refused as overloaded {}",
                self.sent,
                self.acked,
                self.delivered,
                self.expected,
                self.lost,
                self.duplicates,
                self.out_of_order,
                self.gaps,
                self.errors,
                self.rate_limited,
                self.overloaded
            ),
            format!(
                "throughput: {:.0} acks/s, {:.0} deliveries/s over {:.1}s",
                self.acks_per_sec, self.deliveries_per_sec, self.window_secs
            ),
            format!(
                "ack latency ms: p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}",
                self.ack_latency.p50,
                self.ack_latency.p90,
                self.ack_latency.p99,
                self.ack_latency.p999,
                self.ack_latency.max
            ),
            format!(
                "delivery latency ms: p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}",
                self.delivery_latency.p50,
                self.delivery_latency.p90,
                self.delivery_latency.p99,
                self.delivery_latency.p999,
                self.delivery_latency.max
            ),
        ];
        if let (Some(before), Some(after)) = (self.rss_before_bytes, self.rss_after_bytes) {
            lines.push(format!(
                "server RSS: {:.1} MiB -> {:.1} MiB ({:.1} KiB per connection)",
                before as f64 / 1048576.0,
                after as f64 / 1048576.0,
                self.rss_per_connection_bytes.unwrap_or(0.0) / 1024.0
            ));
        }
        for step in &self.steps {
            lines.push(format!(
                "  step {:>7.0}/s: sent {:>7.0}/s acks {:>7.0}/s refused {:>6.0}/s deliveries {:>7.0}/s ack p99 {:>7.2} ms delivery p99 {:>7.2} ms {}",
                step.target_rate, step.sent_per_sec, step.acks_per_sec, step.refused_per_sec, step.deliveries_per_sec, step.ack_latency.p99, step.delivery_latency.p99,
                if step.held { "held" } else { "FAILED" }
            ));
            let worst: Vec<String> = step
                .worst_delivery_ms_per_sec
                .iter()
                .map(|ms| format!("{ms:.0}"))
                .collect();
            lines.push(format!(
                "    worst delivery per second (ms): {}",
                worst.join(" ")
            ));
        }
        if let Some(dashboard) = &self.dashboard {
            lines.push(format!(
                "dashboards: {} admins, {} subscribed rooms each; {:.0} messages/s in all",
                dashboard.admins, dashboard.subscribed_per_admin, dashboard.messages_per_sec
            ));
            lines.push(format!(
                "inbox: {:.0} frames/s with {:.0} rooms/s per admin; latency ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
                dashboard.inbox_frames_per_sec_per_admin,
                dashboard.inbox_rooms_per_sec_per_admin,
                dashboard.inbox_latency.p50,
                dashboard.inbox_latency.p90,
                dashboard.inbox_latency.p99,
                dashboard.inbox_latency.max
            ));
            lines.push(format!(
                "subscribed rooms: delivered {}/{}; latency ms p50 {:.2} p99 {:.2} max {:.2}",
                dashboard.subscribed_delivered,
                dashboard.subscribed_expected,
                dashboard.subscribed_delivery_latency.p50,
                dashboard.subscribed_delivery_latency.p99,
                dashboard.subscribed_delivery_latency.max
            ));
            lines.push(format!(
                "control rooms (admin on the room socket): {}; delivered {}/{}; latency ms p50 {:.2} p99 {:.2} max {:.2}",
                dashboard.control_rooms,
                self.delivered,
                self.expected,
                dashboard.control_delivery_latency.p50,
                dashboard.control_delivery_latency.p99,
                dashboard.control_delivery_latency.max
            ));
        }
        if let Some(rate) = self.held_rate {
            lines.push(format!("highest rate that held: {rate:.0} messages/s"));
        }
        if let Some(webhook) = &self.webhook {
            lines.push(format!(
                "webhook: {}/{} events, {} duplicate deliveries, outbox lag ms p50 {:.2} p99 {:.2} max {:.2}, drained {}",
                webhook.distinct_events,
                webhook.expected_events,
                webhook.overall.duplicates,
                webhook.overall.lag.p50,
                webhook.overall.lag.p99,
                webhook.overall.lag.max,
                webhook
                    .drained_secs
                    .map_or("NOT within the wait".to_owned(), |secs| format!("{secs:.1} s after the load")),
            ));
        }
        if let Some(export) = &self.export {
            let growth = match (export.rss_before_bytes, export.rss_peak_bytes) {
                (Some(before), Some(peak)) => format!(
                    "server RSS {:.0} MiB before, peak {:.0} MiB",
                    before as f64 / 1048576.0,
                    peak as f64 / 1048576.0
                ),
                _ => "server RSS not sampled (no --pid)".to_owned(),
            };
            lines.push(format!(
                "export of {} messages and {} files ({:.0} MiB): ready in {:.1}s, archive {:.0} MiB downloaded in {:.1}s; {growth}",
                export.messages,
                export.files,
                (export.files as u64 * export.file_bytes) as f64 / 1048576.0,
                export.export_secs,
                export.archive_bytes as f64 / 1048576.0,
                export.download_secs,
            ));
        }
        if let Some(uploads) = &self.uploads {
            let growth = match (uploads.rss_before_bytes, uploads.rss_peak_bytes) {
                (Some(before), Some(peak)) => format!(
                    "server RSS {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
                    mib(before),
                    mib(peak),
                    mib(peak.saturating_sub(before))
                ),
                _ => "server RSS not measured (no --pid)".to_owned(),
            };
            if let (Some(alone), Some(during)) = (&uploads.traffic_before, &uploads.traffic_during)
            {
                lines.push(format!(
                    "room traffic delivery ms: alone p50 {:.2} p99 {:.2}; during the uploads p50 {:.2} p99 {:.2}",
                    alone.p50, alone.p99, during.p50, during.p99
                ));
            }
            let pace = uploads
                .bytes_per_sec
                .map_or("unthrottled".to_owned(), |rate| {
                    format!("{:.1} MB/s each", rate / 1e6)
                });
            lines.push(format!(
                "uploads ({pace}): {}/{} stored ({:.1} MiB each), {} failed {:?}; took ms p50 {:.0} p99 {:.0}; {:.1} MB/s; {growth}",
                uploads.stored,
                uploads.started,
                mib(uploads.file_bytes),
                uploads.failed,
                uploads.failures,
                uploads.duration_ms.p50,
                uploads.duration_ms.p99,
                uploads.megabytes_per_sec,
            ));
        }
        if let Some(search) = &self.search {
            lines.push(format!(
                "search: {} seeded in {} rooms ({:.0}/s); {} searches at {:.1}/s, {} failed, {:.1} results a page",
                search.seeded.messages,
                search.rooms,
                search.seeded.per_sec,
                search.searches,
                search.searches_per_sec,
                search.failures,
                search.mean_results,
            ));
            for (label, latency) in [
                ("all", &search.latency),
                ("client", &search.client),
                ("admin", &search.admin),
            ]
            .into_iter()
            .chain(
                search
                    .by_kind
                    .iter()
                    .map(|(label, latency)| (label.as_str(), latency)),
            ) {
                lines.push(format!(
                    "  {label:<34} ms p50 {:>7.1} p95 {:>7.1} p99 {:>7.1} max {:>7.1} (n={})",
                    latency.p50, latency.p95, latency.p99, latency.max, latency.count
                ));
            }
            for (what, reasons) in [
                ("seed sends", &search.seeded.failure_reasons),
                ("searches", &search.failure_reasons),
            ] {
                for (reason, count) in reasons {
                    lines.push(format!("  {what} failed: {count} × {reason}"));
                }
            }
        }
        lines.push(format!(
            "correct: {}",
            if self.correct() { "yes" } else { "NO" }
        ));
        lines.join("\n")
    }
}

/// Bytes in MiB.
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What the export measured.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRun {
    pub messages: usize,
    pub files: usize,
    pub file_bytes: u64,
    pub seed_secs: f64,
    /// From the request to `ready`.
    pub export_secs: f64,
    pub archive_bytes: u64,
    pub download_secs: f64,
    /// Server memory before the export and the most it reached while the archive was
    /// written and downloaded.
    pub rss_before_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
}
