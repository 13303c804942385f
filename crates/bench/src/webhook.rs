//! A webhook receiver for `saturate --webhook`: an HTTP server on its own thread that accepts
//! every delivery and measures the outbox lag, from an event's timestamp (the change's
//! commit) to its arrival.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::BenchError;
use crate::stats::{Percentiles, histogram};

#[derive(Debug)]
struct Tally {
    window: Window,
    run: Window,
    seen: HashSet<String>,
}

/// Counts and lags over some time.
#[derive(Debug)]
struct Window {
    received: u64,
    duplicates: u64,
    lag: Histogram<u64>,
}

impl Window {
    fn new() -> Self {
        Self {
            received: 0,
            duplicates: 0,
            lag: histogram(),
        }
    }

    fn record(&mut self, duplicate: bool, lag_micros: Option<u64>) {
        self.received += 1;
        self.duplicates += u64::from(duplicate);
        if let Some(lag) = lag_micros {
            let _ = self.lag.record(lag.clamp(1, 60_000_000));
        }
    }

    fn stats(&self) -> WebhookStats {
        WebhookStats {
            received: self.received,
            duplicates: self.duplicates,
            lag: Percentiles::of(&self.lag),
        }
    }
}

/// What the receiver measured since its last reset.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookStats {
    /// Deliveries received (every one answered 204).
    pub received: u64,
    /// Deliveries of an event id received before (at-least-once shows here).
    pub duplicates: u64,
    /// From the event's timestamp to its arrival.
    pub lag: Percentiles,
}

/// See the module docs.
#[derive(Clone)]
pub struct Receiver {
    url: String,
    tally: Arc<Mutex<Tally>>,
}

impl Receiver {
    /// Starts listening on a free loopback port.
    pub fn start() -> Result<Self, BenchError> {
        let tally = Arc::new(Mutex::new(Tally {
            window: Window::new(),
            run: Window::new(),
            seen: HashSet::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|error| BenchError::Setup(format!("webhook receiver: {error}")))?;
        let addr = listener
            .local_addr()
            .map_err(|error| BenchError::Setup(format!("webhook receiver: {error}")))?;
        let shared = Arc::clone(&tally);
        std::thread::Builder::new()
            .name("webhook-receiver".to_owned())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                let served = system.block_on(async move {
                    HttpServer::new(move || {
                        App::new()
                            .app_data(web::Data::new(Arc::clone(&shared)))
                            .app_data(web::PayloadConfig::new(1 << 20))
                            .default_service(web::to(receive))
                    })
                    .workers(1)
                    .disable_signals()
                    .listen(listener)?
                    .run()
                    .await
                });
                if let Err(error) = served {
                    eprintln!("webhook receiver stopped: {error}");
                }
            })
            .map_err(|error| BenchError::Setup(format!("webhook receiver: {error}")))?;
        Ok(Self {
            url: format!("http://{addr}/hooks"),
            tally,
        })
    }

    /// Where it listens.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a new measurement window.
    pub fn reset(&self) {
        self.lock().window = Window::new();
    }

    /// What arrived since the last reset.
    pub fn snapshot(&self) -> WebhookStats {
        self.lock().window.stats()
    }

    /// What arrived over the whole run.
    pub fn total(&self) -> WebhookStats {
        self.lock().run.stats()
    }

    /// Distinct events received over the whole run.
    pub fn distinct(&self) -> usize {
        self.lock().seen.len()
    }

    /// Waits until `expected` distinct events arrived, at most `limit`; answers how long it
    /// took, or `None` if they did not all come.
    pub async fn drained(&self, expected: usize, limit: Duration) -> Option<Duration> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if self.distinct() >= expected {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

#[derive(serde::Deserialize)]
struct Envelope {
    id: String,
    timestamp: String,
}

async fn receive(body: web::Bytes, tally: web::Data<Arc<Mutex<Tally>>>) -> HttpResponse {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64);
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let happened = chrono_micros(&envelope.timestamp);
    let lag = happened.map(|happened| u64::try_from(now - happened).unwrap_or(1));
    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    let duplicate = !tally.seen.insert(envelope.id);
    tally.window.record(duplicate, lag);
    tally.run.record(duplicate, lag);
    HttpResponse::NoContent().finish()
}

/// Microseconds since the epoch of an RFC 3339 timestamp.
fn chrono_micros(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_to_epoch_micros() {
        assert_eq!(chrono_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            chrono_micros("2026-12-04T10:15:02.113508Z"),
            Some(1_796_379_302_113_508)
        );
        assert_eq!(chrono_micros("yesterday"), None);
    }
}
