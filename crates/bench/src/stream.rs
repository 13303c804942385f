//! One simulated dashboard: a user stream (`/ws/`) that follows the inbox and subscribes to
//! some rooms. It only listens: it measures how late inbox frames show the newest message
//! (the coalescing window included), and checks the subscribed rooms' messages for order,
//! gaps and duplicates as a room socket would.

use std::collections::HashMap;
use std::sync::Arc;

use awc::ws::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::connection::{Control, connect, now_micros, sent_at};
use crate::stats::{SharedStats, record};

/// What one dashboard does.
pub struct StreamPlan {
    /// `ws://…/ws/`.
    pub url: String,
    pub token: String,
    /// Rooms to subscribe to.
    pub subscribe: Vec<i64>,
}

/// Runs one dashboard until the scenario stops it.
pub async fn run(plan: StreamPlan, control: Arc<Control>, stats: SharedStats) {
    let started = now_micros();
    let Some(mut socket) = connect(&plan.url, &plan.token, None, &stats).await else {
        return;
    };
    for room in &plan.subscribe {
        let frame = json!({ "type": "subscribe", "room_id": room });
        if socket
            .send(ws::Message::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            stats.lock().unexpected_closes += 1;
            return;
        }
    }
    // Each subscribed room's last seq; a room is joined once its history arrived.
    let mut last_seq: HashMap<i64, i64> = HashMap::new();
    let mut joined = false;
    loop {
        let changed = control.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if control.stopped() {
            let _ = socket
                .send(ws::Message::Close(Some(ws::CloseCode::Normal.into())))
                .await;
            return;
        }
        tokio::select! {
            () = &mut changed => continue,
            frame = socket.next() => {
                let text = match frame {
                    Some(Ok(Frame::Text(text))) => text,
                    Some(Ok(Frame::Ping(payload))) => {
                        let _ = socket.send(ws::Message::Pong(payload)).await;
                        continue;
                    }
                    Some(Ok(Frame::Close(_)) | Err(_)) | None => {
                        if !control.stopped() {
                            stats.lock().unexpected_closes += 1;
                        }
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                let Ok(frame) = serde_json::from_slice::<Value>(&text) else { continue };
                on_frame(&frame, &mut last_seq, &stats);
                if !joined && last_seq.len() == plan.subscribe.len() {
                    joined = true;
                    let mut stats = stats.lock();
                    stats.connected += 1;
                    record(&mut stats.join_latency, now_micros().saturating_sub(started));
                }
            }
        }
    }
}

fn on_frame(frame: &Value, last_seq: &mut HashMap<i64, i64>, stats: &SharedStats) {
    let now = now_micros();
    let room = frame["room_id"].as_i64();
    match (frame["type"].as_str(), room) {
        (Some("inbox"), _) => {
            let latency = frame["room"]["last_message"]["content"]
                .as_str()
                .and_then(sent_at)
                .map(|sent| now.saturating_sub(sent));
            let mut stats = stats.lock();
            stats.inbox_frames += 1;
            if let Some(latency) = latency {
                record(&mut stats.inbox_latency, latency);
            }
        }
        (Some("history"), Some(room)) => {
            let newest = frame["messages"]
                .as_array()
                .and_then(|messages| messages.last())
                .and_then(|message| message["seq"].as_i64());
            let seq = last_seq.entry(room).or_default();
            *seq = (*seq).max(newest.unwrap_or(0));
        }
        (Some("ready"), Some(room)) => {
            last_seq.insert(room, frame["last_seq"].as_i64().unwrap_or(0));
        }
        (Some("message"), Some(room)) => {
            let message = &frame["message"];
            let seq = message["seq"].as_i64().unwrap_or(0);
            let latency = message["content"]
                .as_str()
                .and_then(sent_at)
                .map(|sent| now.saturating_sub(sent));
            let last = last_seq.entry(room).or_default();
            let mut stats = stats.lock();
            if seq <= *last {
                if seq == *last {
                    stats.duplicates += 1;
                } else {
                    stats.out_of_order += 1;
                }
                return;
            }
            if seq > *last + 1 {
                stats.gaps += 1;
            }
            *last = seq;
            stats.stream_delivered += 1;
            if let Some(latency) = latency {
                record(&mut stats.stream_latency, latency);
            }
        }
        (Some("error" | "unsubscribed"), _) => stats.lock().errors += 1,
        _ => {}
    }
}
