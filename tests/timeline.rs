//! The room's timeline: messages and room events (closed, reopened, an admin assigned or
//! unassigned) share one gapless sequence, and a client that was away — disconnected, or on a
//! node whose Redis subscription dropped — replays both and ends with exactly what a client
//! that stayed connected saw.

use serde_json::Value;

use crate::on_both_backends;
use crate::support::redis::{PrivateRedis, settings};
use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(a_client_that_was_away_replays_the_room_events_it_missed);

/// One timeline entry as a client sees it: seq, frame type, and what it says.
type Seen = (i64, String, String);

fn seen_message(message: &Value, kind: &str) -> Seen {
    (
        message["seq"].as_i64().unwrap_or_default(),
        kind.to_owned(),
        message["content"].as_str().unwrap_or_default().to_owned(),
    )
}

fn seen_room_event(frame: &Value) -> Seen {
    (
        frame["seq"].as_i64().unwrap_or_default(),
        "room".to_owned(),
        format!(
            "{} {} {}",
            frame["event"].as_str().unwrap_or_default(),
            frame["user_id"].as_str().unwrap_or_default(),
            frame["room"]["status"].as_str().unwrap_or_default()
        ),
    )
}

/// The next `count` timeline frames of a live connection (presence, typing and read skipped).
async fn live_timeline(ws: &mut WsClient, count: usize) -> Vec<Seen> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let frame = ws.next_json().await;
        match frame["type"].as_str() {
            Some("message") => seen.push(seen_message(&frame["message"], "message")),
            Some("room") => seen.push(seen_room_event(&frame)),
            Some("presence" | "typing" | "read") => {}
            _ => panic!("unexpected frame {frame}"),
        }
    }
    seen
}

/// What a connection opened with `since` replays: `ready`, then every message of its
/// `history` frames and every `room` frame between them, in arrival order.
async fn replayed_timeline(ws: &mut WsClient) -> (Value, Vec<Seen>) {
    let mut frames = ws.until_caught_up().await.into_iter();
    let ready = frames.next().unwrap_or_default();
    assert_eq!(ready["type"], "ready", "{ready}");
    let mut seen = Vec::new();
    for frame in frames {
        match frame["type"].as_str() {
            Some("history") => {
                for message in frame["messages"].as_array().cloned().unwrap_or_default() {
                    seen.push(seen_message(&message, "message"));
                }
            }
            Some("room") => seen.push(seen_room_event(&frame)),
            Some("presence" | "typing" | "read") => {}
            _ => panic!("unexpected frame {frame}"),
        }
    }
    (ready, seen)
}

/// Assigns, closes, reopens, unassigns, with messages between: six timeline entries.
async fn change_everything(app: &TestApp, room: i64) {
    let admin = app.tokens.admin("staff");
    let call = async |method: &str, path: String| {
        let answer = app.call(method, &path, Some(&admin), None).await;
        assert!(answer.status < 300, "{method} {path}: {answer:?}");
    };
    app.send(room, &admin, "before the changes").await;
    call("PUT", format!("/chat/{room}/admins/agent-7")).await;
    call("POST", format!("/chat/{room}/close")).await;
    call("POST", format!("/chat/{room}/reopen")).await;
    call("DELETE", format!("/chat/{room}/admins/agent-7")).await;
    // Changing nothing takes no place in the timeline.
    call("DELETE", format!("/chat/{room}/admins/agent-7")).await;
    call("POST", format!("/chat/{room}/reopen")).await;
    app.send(room, &admin, "after the changes").await;
}

fn expected_timeline() -> Vec<Seen> {
    [
        (1, "message", "before the changes"),
        (2, "room", "member_added agent-7 open"),
        (3, "room", "closed  closed"),
        (4, "room", "reopened  open"),
        (5, "room", "member_removed agent-7 open"),
        (6, "message", "after the changes"),
    ]
    .into_iter()
    .map(|(seq, kind, what)| (seq, kind.to_owned(), what.to_owned()))
    .collect()
}

async fn a_client_that_was_away_replays_the_room_events_it_missed(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let mut stayed = app.ws(room, &app.tokens.admin("watcher")).await;
    stayed.handshake().await;
    let mut away = app.ws(room, &client).await;
    away.handshake().await;
    away.close().await;

    change_everything(&app, room).await;
    let live = live_timeline(&mut stayed, 6).await;
    assert_eq!(live, expected_timeline(), "what the connected client saw");

    let mut resumed = app.resume(room, 0, &client).await;
    let (ready, replayed) = replayed_timeline(&mut resumed).await;
    assert_eq!(
        replayed, live,
        "the resumed client replays the same timeline"
    );
    assert_eq!(ready["last_seq"], 6);
    assert_eq!(ready["room"]["status"], "open");
    assert_eq!(
        ready["unread"], 2,
        "unread counts the two messages of others, not the room events"
    );
    // Resuming from the middle replays only what follows.
    let mut later = app.resume(room, 3, &client).await;
    assert_eq!(replayed_timeline(&mut later).await.1, live[3..].to_vec());
}

/// A node whose Redis subscription drops misses the other node's live events; when it comes
/// back, its sessions catch up from the database — room events included, in seq order.
#[actix_web::test]
async fn a_node_that_lost_redis_catches_up_on_room_events() {
    let redis = PrivateRedis::start();
    let shared = settings(&redis.url());
    let node = || NodeOptions {
        redis: Some(shared.clone()),
        ..NodeOptions::default()
    };
    let a = TestApp::start_node(Backend::Postgres, node()).await;
    let b = a.start_peer(node()).await;
    let room = a.room("A-1", "u1").await;
    let mut on_a = a.ws(room, &a.tokens.admin("watcher")).await;
    on_a.handshake().await;
    let mut on_b = b.ws(room, &b.tokens.client("u1")).await;
    on_b.handshake().await;

    redis.down();
    // Node a's own session hears everything at once; node b hears nothing until Redis is back.
    change_everything(&a, room).await;
    assert_eq!(live_timeline(&mut on_a, 6).await, expected_timeline());
    redis.up();
    assert_eq!(
        live_timeline(&mut on_b, 6).await,
        expected_timeline(),
        "node b's client caught up on every entry, in order"
    );
}
