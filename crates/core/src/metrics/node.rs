//! What the node is at the moment of a scrape: its database pool and its broker.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use room_chats_broker::Broker;
use room_chats_store::Database;

/// Reads the pool's and the broker's state when scraped.
pub struct NodeState {
    db: Database,
    broker: Arc<dyn Broker>,
}

impl std::fmt::Debug for NodeState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NodeState")
            .field("broker", &self.broker.kind())
            .finish_non_exhaustive()
    }
}

/// The state of the pool's connections.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

impl NodeState {
    /// Reads `db`'s pool and `broker`.
    pub fn new(db: Database, broker: Arc<dyn Broker>) -> Self {
        Self { db, broker }
    }
}

impl Collector for NodeState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let pool = self.db.stats();
        let mut connections = encoder.encode_descriptor(
            "db_pool_connections",
            "Database connections of the pool by state (in_use, idle)",
            None,
            MetricType::Gauge,
        )?;
        for (state, count) in [
            ("in_use", pool.open.saturating_sub(pool.idle)),
            ("idle", pool.idle),
        ] {
            ConstGauge::new(i64::from(count))
                .encode(connections.encode_family(&StateLabels { state })?)?;
        }
        gauge(
            &mut encoder,
            "db_pool_max_connections",
            "Most connections the pool opens (DB_POOL_SIZE)",
            i64::from(pool.max_size),
        )?;
        gauge(
            &mut encoder,
            "db_pool_waiting",
            "Callers waiting for a database connection",
            i64::try_from(pool.waiting).unwrap_or(i64::MAX),
        )?;
        counter(
            &mut encoder,
            "db_pool_timeouts",
            "Callers that gave up waiting for a database connection (DB_TIMEOUT_SECS)",
            pool.timeouts,
        )?;
        let broker = self.broker.stats();
        gauge(
            &mut encoder,
            "broker_connected",
            "1 when the node receives other nodes' events through the broker",
            i64::from(broker.connected),
        )?;
        counter(
            &mut encoder,
            "broker_refused_publications",
            "Publications to other nodes refused at once (queue full, broker unreachable)",
            broker.refused_publications,
        )?;
        counter(
            &mut encoder,
            "broker_lost_publications",
            "Publications that could not be sent; their rooms are told to catch up from the database once the broker answers",
            broker.lost_publications,
        )?;
        counter(
            &mut encoder,
            "broker_subscription_losses",
            "Times the node's subscription was found lost (closed, or silent past its keepalive)",
            broker.subscription_losses,
        )
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}
