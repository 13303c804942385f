//! Counters and latency histograms shared by every connection of a run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds, up to a minute.
const MAX_MICROS: u64 = 60_000_000;

#[expect(clippy::expect_used, reason = "constant bounds that are valid")]
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Everything measured, as counters and histograms.
#[derive(Debug, Clone)]
pub struct Stats {
    pub connected: u64,
    pub connect_failures: u64,
    /// Why connections failed, by error text (so a failing run says what failed).
    pub connect_errors: BTreeMap<String, u64>,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub gaps: u64,
    pub errors: u64,
    pub rate_limited: u64,
    /// Sends the service refused as `overloaded` (at capacity; retryable, nothing stored).
    pub overloaded: u64,
    pub unexpected_closes: u64,
    pub ack_latency: Histogram<u64>,
    pub delivery_latency: Histogram<u64>,
    /// The worst delivery latency (µs) of each second (unix time) since the last reset, so
    /// a step's p99 can be told apart from one stall inside it.
    pub worst_delivery_by_sec: BTreeMap<u64, u64>,
    pub join_latency: Histogram<u64>,
    /// Acks of messages in rooms a dashboard subscribed to.
    pub watched_acked: u64,
    /// Acks of messages in the dashboard scenario's control rooms.
    pub control_acked: u64,
    /// `inbox` frames the dashboards received.
    pub inbox_frames: u64,
    /// Rooms in those frames.
    pub inbox_rooms: u64,
    /// How late an `inbox` entry shows its room's newest message (send to frame).
    pub inbox_latency: Histogram<u64>,
    /// Messages of subscribed rooms the dashboards received.
    pub stream_delivered: u64,
    pub stream_latency: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            connected: 0,
            connect_failures: 0,
            connect_errors: BTreeMap::new(),
            sent: 0,
            acked: 0,
            delivered: 0,
            duplicates: 0,
            out_of_order: 0,
            gaps: 0,
            errors: 0,
            rate_limited: 0,
            overloaded: 0,
            unexpected_closes: 0,
            ack_latency: histogram(),
            delivery_latency: histogram(),
            worst_delivery_by_sec: BTreeMap::new(),
            join_latency: histogram(),
            watched_acked: 0,
            control_acked: 0,
            inbox_frames: 0,
            inbox_rooms: 0,
            inbox_latency: histogram(),
            stream_delivered: 0,
            stream_latency: histogram(),
        }
    }
}

/// Stats shared across connection tasks (and threads).
#[derive(Clone, Default)]
pub struct SharedStats(Arc<Mutex<Stats>>);

impl SharedStats {
    /// Locks the stats for an update.
    pub fn lock(&self) -> MutexGuard<'_, Stats> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of everything so far.
    pub fn snapshot(&self) -> Stats {
        self.lock().clone()
    }

    /// Clears the latency histograms (the start of a measurement window).
    pub fn reset_latencies(&self) {
        let mut stats = self.lock();
        stats.ack_latency.reset();
        stats.delivery_latency.reset();
        stats.worst_delivery_by_sec.clear();
        stats.inbox_latency.reset();
        stats.stream_latency.reset();
    }
}

/// Record a latency, clamped into the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, micros: u64) {
    let _ = histogram.record(micros.clamp(1, MAX_MICROS));
}

impl Stats {
    /// Records a delivery that arrived at `now` (unix µs) after `latency` µs.
    pub fn record_delivery(&mut self, now: u64, latency: u64) {
        record(&mut self.delivery_latency, latency);
        let worst = self
            .worst_delivery_by_sec
            .entry(now / 1_000_000)
            .or_default();
        *worst = (*worst).max(latency);
    }

    /// The worst delivery latency of each second recorded, in milliseconds, oldest first.
    pub fn worst_delivery_ms_per_sec(&self) -> Vec<f64> {
        self.worst_delivery_by_sec
            .values()
            .map(|micros| *micros as f64 / 1000.0)
            .collect()
    }
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p95: ms(histogram.value_at_quantile(0.95)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}
