//! One simulated dashboard: a user stream (`/ws/`) that follows the inbox and subscribes to
//! some rooms. It only listens: it measures how late inbox entries show the newest message
//! (the coalescing window included), and checks the subscribed rooms' messages for order,
//! gaps and duplicates as a room socket would.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use awc::ws::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

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
                on_frame(&text, &mut last_seq, &stats);
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

/// The parts of a `/ws/` frame a dashboard looks at; everything else is skipped unparsed
/// (borrowed, not built into a tree: a dashboard over 1,000 busy rooms reads megabytes a
/// second, on the same cores as the service).
#[derive(Deserialize)]
struct FrameView<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    room_id: Option<i64>,
    /// `inbox`.
    #[serde(default, borrow)]
    rooms: Vec<InboxEntryView<'a>>,
    /// `message`.
    #[serde(borrow)]
    message: Option<MessageView<'a>>,
    /// `history`.
    #[serde(default)]
    messages: Vec<SeqView>,
    /// `ready`.
    last_seq: Option<i64>,
}

#[derive(Deserialize)]
struct InboxEntryView<'a> {
    #[serde(borrow)]
    room: RoomView<'a>,
}

#[derive(Deserialize)]
struct RoomView<'a> {
    #[serde(borrow)]
    last_message: Option<MessageView<'a>>,
}

#[derive(Deserialize)]
struct MessageView<'a> {
    seq: i64,
    #[serde(borrow)]
    content: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SeqView {
    seq: i64,
}

fn on_frame(text: &[u8], last_seq: &mut HashMap<i64, i64>, stats: &SharedStats) {
    let Ok(frame) = serde_json::from_slice::<FrameView<'_>>(text) else {
        stats.lock().errors += 1;
        return;
    };
    let now = now_micros();
    match (frame.kind, frame.room_id) {
        ("inbox", _) => {
            let latencies: Vec<u64> = frame
                .rooms
                .iter()
                .filter_map(|entry| entry.room.last_message.as_ref())
                .filter_map(|message| sent_at(&message.content))
                .map(|sent| now.saturating_sub(sent))
                .collect();
            let mut stats = stats.lock();
            stats.inbox_frames += 1;
            stats.inbox_rooms += frame.rooms.len() as u64;
            for latency in latencies {
                record(&mut stats.inbox_latency, latency);
            }
        }
        ("history", Some(room)) => {
            let newest = frame.messages.last().map_or(0, |message| message.seq);
            let seq = last_seq.entry(room).or_default();
            *seq = (*seq).max(newest);
        }
        ("ready", Some(room)) => {
            last_seq.insert(room, frame.last_seq.unwrap_or(0));
        }
        ("message", Some(room)) => {
            let Some(message) = frame.message else { return };
            let latency = sent_at(&message.content).map(|sent| now.saturating_sub(sent));
            let last = last_seq.entry(room).or_default();
            let mut stats = stats.lock();
            if message.seq <= *last {
                if message.seq == *last {
                    stats.duplicates += 1;
                } else {
                    stats.out_of_order += 1;
                }
                return;
            }
            if message.seq > *last + 1 {
                stats.gaps += 1;
            }
            *last = message.seq;
            stats.stream_delivered += 1;
            if let Some(latency) = latency {
                record(&mut stats.stream_latency, latency);
            }
        }
        ("error" | "unsubscribed", _) => stats.lock().errors += 1,
        _ => {}
    }
}
