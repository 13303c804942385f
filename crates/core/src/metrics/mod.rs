//! Prometheus metrics of one node, served at `GET /metrics` (or on `METRICS_BIND`).
//!
//! Every label set is bounded: routes are the matched patterns (`/chat/{room_id}/messages`),
//! never paths; no room, user or connection id is ever a label. Counters and histograms are
//! moved where the work happens; what the node *is* (pool, broker, connections) is read when
//! scraped ([`node::NodeState`]). The list of families with their meaning is in
//! docs/OPERATIONS.md.

mod node;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use room_chats_broker::Broker;
use room_chats_store::Database;
use room_chats_store::batch::BatchReport;

pub use node::NodeState;

/// The content type of the exposition (OpenMetrics text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One HTTP answer: method, matched route and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, … (`other` for anything else).
    pub method: &'static str,
    /// The route pattern, or `unmatched`.
    pub route: String,
    /// The status code.
    pub status: u16,
}

/// The route of a latency figure.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// As in [`HttpLabels`].
    pub method: &'static str,
    /// As in [`HttpLabels`].
    pub route: String,
}

/// The kind of a live connection.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `chat` (`/ws/chat/{room_id}`), `stream` (`/ws`) or `subscription` (a room subscribed
    /// on a stream).
    pub kind: &'static str,
}

/// A refusal's error code and the transport that answered it.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The `code` of the error object (`rate_limited`, `overloaded`, …).
    pub code: &'static str,
    /// `http` or `ws`.
    pub transport: &'static str,
}

/// The transport a figure is about.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// `http` or `ws`.
    pub transport: &'static str,
}

/// How one outbound delivery (webhook or push) ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `delivered`, `failed` (retried later), `dead` (given up), `gone` (the receiver is gone).
    pub result: &'static str,
}

/// The response-time target a figure is about.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClockLabels {
    /// `first_response` or `next_response`.
    pub clock: &'static str,
}

/// The kind of data a retention figure is about.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DataLabels {
    /// `audit_entries`.
    pub data: &'static str,
}

/// Histograms of a duration in seconds, from 0.5 ms to ~16 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The node's metric families. Cheap to clone handles are taken from it by the parts that
/// move them.
#[derive(Debug)]
pub struct Metrics {
    /// HTTP answers.
    pub http_requests: Family<HttpLabels, Counter>,
    /// HTTP latency, from the request's arrival to its answer's head (a WebSocket handshake
    /// counts until the upgrade).
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Open WebSocket connections (and stream subscriptions).
    pub connections: Family<KindLabels, Gauge>,
    /// Clients dropped because they did not read their frames.
    pub slow_consumer_drops: Family<KindLabels, Counter>,
    /// Errors answered, by code, over both transports (`rate_limited` and `overloaded`
    /// included).
    pub refusals: Family<RefusalLabels, Counter>,
    /// Messages stored for the first time.
    pub messages_stored: Counter,
    /// Messages per batch transaction.
    pub batch_size: Histogram,
    /// Duration of a batch transaction, commit included.
    pub batch_commit: Histogram,
    /// From a message's commit (its `created_at`) to its frame written to a socket.
    pub delivery_lag: Histogram,
    /// Times the broker subscription came back after it was lost (and at start).
    pub broker_reconnects: Counter,
    /// Webhook delivery attempts, by result.
    pub webhook_deliveries: Family<ResultLabels, Counter>,
    /// Outbox lag: from an event's commit to its delivery to a webhook receiver.
    pub webhook_lag: Histogram,
    /// Web Push attempts, by result.
    pub push_deliveries: Family<ResultLabels, Counter>,
    /// Handlers that panicked (a bug): answered 500, or the socket closed with 1011.
    pub panics: Family<TransportLabels, Counter>,
    /// Response-time targets missed (counted by the node whose sweep noticed).
    pub sla_breaches: Family<ClockLabels, Counter>,
    /// Rows the retention sweep deleted, by what they were.
    pub retention_purged: Family<DataLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(seconds),
            connections: Family::default(),
            slow_consumer_drops: Family::default(),
            refusals: Family::default(),
            messages_stored: Counter::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            batch_commit: seconds(),
            delivery_lag: seconds(),
            broker_reconnects: Counter::default(),
            webhook_deliveries: Family::default(),
            webhook_lag: seconds(),
            push_deliveries: Family::default(),
            panics: Family::default(),
            sla_breaches: Family::default(),
            retention_purged: Family::default(),
        }
    }
}

impl Metrics {
    /// A batch of the message writer went through.
    pub fn observe_batch(&self, report: BatchReport) {
        self.messages_stored
            .inc_by(u64::try_from(report.stored).unwrap_or(u64::MAX));
        #[expect(clippy::cast_precision_loss, reason = "batches hold at most 512")]
        self.batch_size.observe(report.size as f64);
        self.batch_commit.observe(report.took.as_secs_f64());
    }

    /// An error answered to a client.
    pub fn refused(&self, code: room_chats_types::ErrorCode, transport: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                code: code.as_str(),
                transport,
            })
            .inc();
    }

    /// The time from `committed_at` to now, into `histogram` (0 when the clocks disagree).
    pub fn since(histogram: &Histogram, committed_at: chrono::DateTime<chrono::Utc>) {
        let lag = (chrono::Utc::now() - committed_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        histogram.observe(lag.as_secs_f64());
    }

    /// A response-time target of `clock` was missed.
    pub fn sla_breached(&self, clock: room_chats_types::ResponseClock) {
        self.sla_breaches
            .get_or_create(&ClockLabels {
                clock: clock.as_str(),
            })
            .inc();
    }

    /// The retention sweep deleted `rows` of `data`.
    pub fn purged(&self, data: &'static str, rows: usize) {
        self.retention_purged
            .get_or_create(&DataLabels { data })
            .inc_by(u64::try_from(rows).unwrap_or(u64::MAX));
    }

    /// A counter of `family` for `result`.
    pub fn result(family: &Family<ResultLabels, Counter>, result: &'static str) {
        family.get_or_create(&ResultLabels { result }).inc();
    }
}

/// What `/metrics` renders: the families above plus the node's state read at each scrape.
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    /// Registers `metrics` and the state of `db` and `broker`.
    pub fn new(metrics: &Metrics, db: Database, broker: Arc<dyn Broker>) -> Self {
        let mut registry = Registry::with_prefix("room_chats");
        registry.register(
            "http_requests",
            "HTTP answers by method, route pattern and status",
            metrics.http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to the upgrade for WebSocket handshakes)",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open WebSocket connections by kind (subscription: a room subscribed on a stream)",
            metrics.connections.clone(),
        );
        registry.register(
            "slow_consumer_drops",
            "Connections dropped because the client did not read its frames",
            metrics.slow_consumer_drops.clone(),
        );
        registry.register(
            "refusals",
            "Error answers by code and transport (rate_limited, overloaded, validation_failed, ...)",
            metrics.refusals.clone(),
        );
        registry.register(
            "messages_stored",
            "Messages stored (retries of a client_id not counted)",
            metrics.messages_stored.clone(),
        );
        registry.register(
            "message_batch_size",
            "Messages per batch transaction of the message writer",
            metrics.batch_size.clone(),
        );
        registry.register_with_unit(
            "message_batch_commit",
            "Duration of a message batch transaction, commit included",
            Unit::Seconds,
            metrics.batch_commit.clone(),
        );
        registry.register_with_unit(
            "delivery_lag",
            "From a message's commit to its frame written to a recipient's socket",
            Unit::Seconds,
            metrics.delivery_lag.clone(),
        );
        registry.register(
            "broker_reconnects",
            "Times the broker subscription (re)connected",
            metrics.broker_reconnects.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by result",
            metrics.webhook_deliveries.clone(),
        );
        registry.register_with_unit(
            "webhook_outbox_lag",
            "From an event's commit to its delivery to a webhook receiver",
            Unit::Seconds,
            metrics.webhook_lag.clone(),
        );
        registry.register(
            "push_deliveries",
            "Web Push attempts by result",
            metrics.push_deliveries.clone(),
        );
        registry.register(
            "panics",
            "Handlers that panicked, by transport (a bug: answered 500 or closed 1011)",
            metrics.panics.clone(),
        );
        registry.register(
            "sla_breaches",
            "Response-time targets missed, by clock (first_response, next_response)",
            metrics.sla_breaches.clone(),
        );
        registry.register(
            "retention_purged",
            "Rows the retention sweep deleted, by data (audit_entries)",
            metrics.retention_purged.clone(),
        );
        registry.register_collector(Box::new(NodeState::new(db, broker)));
        Self { registry }
    }

    /// The exposition text.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
