//! One simulated WebSocket client: joins, sends at the pace the scenario sets, and checks
//! every frame it receives for order, gaps and duplicates.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_service::ServiceExt as _;
use awc::ws::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::stats::{SharedStats, record};

/// Knobs the scenario turns while connections run.
#[derive(Default)]
pub struct Control {
    /// Microseconds between two sends of one connection; 0 = do not send.
    interval_micros: AtomicU64,
    /// Set to make every connection close.
    stop: AtomicBool,
    /// Wakes every connection when a knob turns. Connections used to poll the knobs every
    /// 100 ms: at 16,000 idle connections that was 160,000 wake-ups a second, which starved
    /// the load tool until the service timed out its handshakes (408).
    pub(crate) changed: Notify,
}

impl Control {
    /// Sets the pace of every sending connection.
    pub fn set_interval_micros(&self, micros: u64) {
        self.interval_micros.store(micros, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Makes every connection close.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What one connection does.
pub struct Plan {
    pub url: String,
    pub token: String,
    pub sends: bool,
    /// Message size in bytes (the send time is at the start).
    pub size: usize,
    /// Leave right after the history frame (join storms).
    pub join_only: bool,
    /// Source address, to spread many connections over several loopback addresses.
    pub source: Option<IpAddr>,
    /// Whose deliveries this room's acks are counted for.
    pub group: RoomGroup,
}

/// Rooms whose acks are counted apart, as what some listeners must receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoomGroup {
    #[default]
    Plain,
    /// A dashboard subscribed to it on `/ws/`.
    Subscribed,
    /// An admin listens on its room socket (the dashboard scenario's control group).
    Control,
}

pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

pub(crate) fn sent_at(content: &str) -> Option<u64> {
    content.strip_prefix('t')?.split(' ').next()?.parse().ok()
}

/// An open WebSocket of the load tool.
pub(crate) type Socket = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// Opens a WebSocket to `url` with `token` (from `source`, if given); a failure is counted,
/// with its reason, and answered `None`.
pub(crate) async fn connect(
    url: &str,
    token: &str,
    source: Option<IpAddr>,
    stats: &SharedStats,
) -> Option<Socket> {
    // Like the server, the load tool must not let Nagle hold back its small frames, or it
    // would measure its own delayed ACKs.
    let tcp = actix_tls::connect::Connector::default().service().map(
        |connection: actix_tls::connect::Connection<_, actix_web::rt::net::TcpStream>| {
            let _ = connection.io_ref().set_nodelay(true);
            connection
        },
    );
    let mut connector = awc::Connector::new()
        .connector(tcp)
        .timeout(Duration::from_secs(30));
    if let Some(source) = source {
        connector = connector.local_address(source);
    }
    let client = awc::Client::builder()
        .connector(connector)
        .timeout(Duration::from_secs(30))
        .finish();
    let connected = client
        .ws(url)
        .bearer_auth(token)
        .max_frame_size(1 << 24)
        .connect()
        .await;
    match connected {
        Ok((_, socket)) => Some(socket),
        Err(error) => {
            let mut stats = stats.lock();
            stats.connect_failures += 1;
            *stats
                .connect_errors
                .entry(format!("{error:?}"))
                .or_default() += 1;
            None
        }
    }
}

/// Runs one connection until the scenario stops it (or it only joins).
pub async fn run(id: usize, plan: Plan, control: Arc<Control>, stats: SharedStats) {
    let started = now_micros();
    let Some(mut socket) = connect(&plan.url, &plan.token, plan.source, &stats).await else {
        return;
    };
    let mut last_seq: i64 = 0;
    let mut joined = false;
    let mut sequence: u64 = 0;
    let mut next_send = Instant::now();
    let mut pace_micros = 0;
    let padding = " ".repeat(plan.size.saturating_sub(20));
    loop {
        // Registered before the knobs are read, so a change in between is not missed.
        let changed = control.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if control.stopped() {
            let _ = socket
                .send(ws::Message::Close(Some(ws::CloseCode::Normal.into())))
                .await;
            return;
        }
        let interval = control.interval_micros.load(Ordering::Relaxed);
        if interval != pace_micros {
            // A new pace: spread this connection's first send over one interval, so that
            // thousands of connections do not all send in the same instant.
            pace_micros = interval;
            next_send =
                Instant::now() + Duration::from_micros(interval.max(1) * (id as u64 % 1009) / 1009);
        }
        let sending = plan.sends && joined && interval > 0;
        tokio::select! {
            () = &mut changed => continue,
            frame = socket.next() => {
                let text = match frame {
                    Some(Ok(Frame::Text(text))) => text,
                    Some(Ok(Frame::Ping(payload))) => {
                        let _ = socket.send(ws::Message::Pong(payload)).await;
                        continue;
                    }
                    Some(Ok(Frame::Close(_))) | Some(Err(_)) | None => {
                        if !control.stopped() {
                            stats.lock().unexpected_closes += 1;
                        }
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                let Ok(frame) = serde_json::from_slice::<Value>(&text) else { continue };
                let now = now_micros();
                match frame["type"].as_str() {
                    Some("ready") => last_seq = frame["last_seq"].as_i64().unwrap_or(0),
                    Some("history") => {
                        if let Some(seq) = frame["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["seq"].as_i64()) {
                            last_seq = last_seq.max(seq);
                        }
                        if frame["has_more"] == true && frame["messages"].as_array().is_some_and(|m| !m.is_empty()) {
                            continue;
                        }
                        if !joined {
                            joined = true;
                            let mut stats = stats.lock();
                            stats.connected += 1;
                            record(&mut stats.join_latency, now.saturating_sub(started));
                        }
                        if plan.join_only {
                            let _ = socket.send(ws::Message::Close(Some(ws::CloseCode::Normal.into()))).await;
                            return;
                        }
                    }
                    Some(kind @ ("message" | "ack")) => {
                        let message = &frame["message"];
                        let seq = message["seq"].as_i64().unwrap_or(0);
                        let latency = message["content"].as_str().and_then(sent_at).map(|t| now.saturating_sub(t));
                        let mut stats = stats.lock();
                        if seq == last_seq {
                            stats.duplicates += 1;
                            continue;
                        }
                        if seq < last_seq {
                            stats.out_of_order += 1;
                            continue;
                        }
                        if seq > last_seq + 1 {
                            stats.gaps += 1;
                        }
                        last_seq = seq;
                        if kind == "ack" {
                            stats.acked += 1;
                            match plan.group {
                                RoomGroup::Plain => {}
                                RoomGroup::Subscribed => stats.watched_acked += 1,
                                RoomGroup::Control => stats.control_acked += 1,
                            }
                            if let Some(latency) = latency {
                                record(&mut stats.ack_latency, latency);
                            }
                        } else {
                            stats.delivered += 1;
                            if let Some(latency) = latency {
                                stats.record_delivery(now, latency);
                            }
                        }
                    }
                    Some("error") => {
                        let mut stats = stats.lock();
                        // A refusal at capacity is the service working as designed, not an
                        // error: the message was not stored, and the client would retry.
                        if frame["code"] == "overloaded" {
                            stats.overloaded += 1;
                            continue;
                        }
                        stats.errors += 1;
                        if frame["code"] == "rate_limited" {
                            stats.rate_limited += 1;
                        }
                    }
                    _ => {}
                }
            }
            () = tokio::time::sleep_until(next_send), if sending => {
                let paused = control.interval_micros.load(Ordering::Relaxed) == 0 || control.stopped();
                if paused || Instant::now() < next_send {
                    continue;
                }
                sequence += 1;
                let content = format!("t{} {padding}", now_micros());
                let frame = json!({ "type": "message", "client_id": format!("{id}-{sequence}"), "content": content });
                if socket.send(ws::Message::Text(frame.to_string().into())).await.is_err() {
                    stats.lock().unexpected_closes += 1;
                    return;
                }
                stats.lock().sent += 1;
                // Keep the pace without bursting to catch up after a stall.
                next_send += Duration::from_micros(interval);
                let now = Instant::now();
                if next_send < now {
                    next_send = now + Duration::from_micros(interval);
                }
            }
        }
    }
}
