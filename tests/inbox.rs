//! The per-user stream `/ws/`: an inbox of every room the user may see, live, across nodes,
//! with a cursor to catch up after a reconnect.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::redis::{require_shared_redis, settings, shared_redis_url};
use crate::support::ws::{Carrier, WsClient};
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    a_customer_sees_its_new_room_and_the_admins_reply,
    a_reconnect_with_the_cursor_gets_what_was_missed,
    a_customer_whose_order_moves_loses_the_room_at_once,
    filters_follow_status_and_assignment,
    bad_handshakes_are_refused_before_the_upgrade,
);

impl TestApp {
    /// Opens `/ws/` with `query` (e.g. `status=open`) and reads `stream_ready`.
    async fn stream(&self, token: &str, query: &str) -> (WsClient, Value) {
        let mut ws = self
            .ws_with(&format!("/ws/?{query}"), token, Carrier::Header)
            .await;
        let ready = ws.next_json().await;
        assert_eq!(ready["type"], "stream_ready", "first frame: {ready}");
        (ws, ready)
    }

    async fn admin_call(&self, method: &str, path: &str) {
        let response = self
            .call(method, path, Some(&self.tokens.admin("staff")), None)
            .await;
        assert_eq!(response.status, 200, "{method} {path}: {response:?}");
    }
}

/// Longest wait for a frame about a room while frames about others keep coming.
const ROOM_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// The next inbox frame (`inbox` or `inbox_removed`) about `room`, skipping others' rooms.
async fn next_about(ws: &mut WsClient, room: i64) -> Value {
    let wait = async {
        loop {
            let frame = ws.next_json().await;
            assert_ne!(frame["type"], "error", "{frame}");
            let about = frame["room"]["id"]
                .as_i64()
                .or_else(|| frame["room_id"].as_i64());
            if about == Some(room) {
                return frame;
            }
        }
    };
    tokio::time::timeout(ROOM_FRAME_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| panic!("no inbox frame about room {room}"))
}

/// Inbox frames about `room` until one satisfies `done`; returns them all.
async fn until(ws: &mut WsClient, room: i64, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = next_about(ws, room).await;
        let finished = done(&frame);
        frames.push(frame);
        if finished {
            return frames;
        }
    }
}

async fn a_customer_sees_its_new_room_and_the_admins_reply(app: TestApp) {
    let (mut customer, ready) = app.stream(&app.tokens.client("c1"), "").await;
    assert_eq!(ready["inbox"]["mode"], "reload", "no cursor: {ready}");
    assert_eq!(ready["me"], json!({ "user_id": "c1", "role": "client" }));

    // Another customer's room comes first: c1 must never hear of it.
    let other = app.room("B-1", "c2").await;
    app.send(other, &app.tokens.client("c2"), "not for c1")
        .await;
    let room = app.room("A-1", "c1").await;
    let appeared = next_about(&mut customer, room).await;
    assert_eq!(appeared["type"], "inbox", "{appeared}");
    assert_eq!(appeared["change"], "appeared");
    assert_eq!(appeared["room"]["customer_id"], "c1");
    assert_eq!(appeared["room"]["unread"], 0);

    app.send(room, &app.tokens.admin("staff"), "how can we help?")
        .await;
    let reply = until(&mut customer, room, |frame| frame["room"]["unread"] == 1).await;
    let last = reply.last().expect("a frame");
    assert_eq!(last["change"], "activity");
    assert_eq!(last["room"]["last_message"]["content"], "how can we help?");
    assert_eq!(last["room"]["last_message"]["sender_id"], "staff");

    // Reading on another device clears the count in this stream.
    let read = app
        .call(
            "POST",
            &format!("/chat/{room}/read"),
            Some(&app.tokens.client("c1")),
            Some(json!({})),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    until(&mut customer, room, |frame| frame["room"]["unread"] == 0).await;
}

async fn a_reconnect_with_the_cursor_gets_what_was_missed(app: TestApp) {
    let first = app.room("A-1", "c1").await;
    let second = app.room("A-2", "c1").await;
    let (mut customer, _) = app.stream(&app.tokens.client("c1"), "").await;
    app.send(first, &app.tokens.admin("staff"), "seen live")
        .await;
    let live = until(&mut customer, first, |frame| frame["room"]["unread"] == 1).await;
    let cursor = live.last().expect("a frame")["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    customer.close().await;

    // While away: a reply in the first room, the second closed, and a room of someone else.
    app.send(first, &app.tokens.admin("staff"), "while you were away")
        .await;
    app.admin_call("POST", &format!("/chat/{second}/close"))
        .await;
    let foreign = app.room("B-1", "c2").await;

    let (_, ready) = app
        .stream(&app.tokens.client("c1"), &format!("cursor={cursor}"))
        .await;
    assert_eq!(ready["inbox"]["mode"], "delta", "{ready}");
    let rooms = ready["inbox"]["rooms"].as_array().expect("rooms");
    let find = |id: i64| rooms.iter().find(|room| room["id"] == id);
    let first_now = find(first).expect("the room with a new reply is in the delta");
    assert_eq!(first_now["unread"], 2);
    assert_eq!(first_now["last_message"]["content"], "while you were away");
    let second_now = find(second).expect("the closed room is in the delta");
    assert_eq!(second_now["status"], "closed");
    assert!(find(foreign).is_none(), "another customer's room leaked");
    for room in rooms {
        assert_eq!(room["customer_id"], "c1", "{room}");
    }
    // The delta is newest first, like GET /chat/.
    let order: Vec<i64> = rooms
        .iter()
        .filter_map(|room| room["id"].as_i64())
        .collect();
    let second_at = order.iter().position(|id| *id == second);
    let first_at = order.iter().position(|id| *id == first);
    assert!(second_at < first_at, "closing came last: {order:?}");
}

async fn a_customer_whose_order_moves_loses_the_room_at_once(app: TestApp) {
    let room = app.room("A-1", "c1").await;
    let keeps = app.room("A-2", "c1").await;
    let (mut old, _) = app.stream(&app.tokens.client("c1"), "").await;
    let (mut new, _) = app.stream(&app.tokens.client("c2"), "").await;

    app.order("A-1", "c2").await;
    let removed = next_about(&mut old, room).await;
    assert_eq!(
        removed,
        json!({
            "type": "inbox_removed", "room_id": room, "reason": "access_lost",
            "cursor": removed["cursor"]
        })
    );
    let appeared = next_about(&mut new, room).await;
    assert_eq!(appeared["change"], "appeared", "{appeared}");
    assert_eq!(appeared["room"]["customer_id"], "c2");

    // Nothing more of the moved room reaches the old customer: the next frame it gets is
    // about the room it kept, although the moved room spoke first.
    app.send(room, &app.tokens.admin("staff"), "for c2 only")
        .await;
    until(&mut new, room, |frame| frame["room"]["unread"] == 1).await;
    app.send(keeps, &app.tokens.admin("staff"), "for c1").await;
    let next = old.next_json().await;
    assert_eq!(next["room"]["id"], keeps, "{next}");
}

async fn filters_follow_status_and_assignment(app: TestApp) {
    let room = app.room("A-1", "c1").await;
    let (mut open_only, _) = app.stream(&app.tokens.admin("staff"), "status=open").await;
    let (mut mine, _) = app.stream(&app.tokens.admin("staff"), "assigned=me").await;

    app.admin_call("PUT", &format!("/chat/{room}/admins/staff"))
        .await;
    let assigned = next_about(&mut mine, room).await;
    assert_eq!(assigned["change"], "appeared", "{assigned}");
    assert_eq!(assigned["room"]["assigned_admins"], json!(["staff"]));
    assert_eq!(next_about(&mut open_only, room).await["change"], "changed");

    app.admin_call("POST", &format!("/chat/{room}/close")).await;
    let closed = next_about(&mut open_only, room).await;
    assert_eq!(closed["type"], "inbox_removed", "{closed}");
    assert_eq!(closed["reason"], "filtered");
    let still_mine = next_about(&mut mine, room).await;
    assert_eq!(still_mine["change"], "changed");
    assert_eq!(still_mine["room"]["status"], "closed");

    app.admin_call("POST", &format!("/chat/{room}/reopen"))
        .await;
    assert_eq!(next_about(&mut open_only, room).await["change"], "appeared");
}

async fn bad_handshakes_are_refused_before_the_upgrade(app: TestApp) {
    let client = app.tokens.client("c1");
    let admin = app.tokens.admin("staff");
    assert_eq!(app.ws_status("/ws/?cursor=yesterday", &client).await, 422);
    assert_eq!(app.ws_status("/ws/?cursor=-5", &client).await, 422);
    assert_eq!(app.ws_status("/ws/?assigned=me", &client).await, 422);
    assert_eq!(app.ws_status("/ws/?status=gone", &admin).await, 400);
    assert_eq!(app.ws_status("/ws/", &app.tokens.service()).await, 403);
    assert_eq!(app.ws_status("/ws/", "not-a-token").await, 401);
    assert_eq!(app.ws_status("/ws/?assigned=none", &admin).await, 101);

    // Frames other than ping and auth are answered, not obeyed.
    let (mut stream, _) = app.stream(&client, "").await;
    stream
        .send_json(json!({ "type": "message", "client_id": "x", "content": "hi" }))
        .await;
    let refused = stream.next_json().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "unknown_type");
    stream.round_trip().await;
}

/// An admin's single stream on one node follows a room a customer opens on another node:
/// its appearance, its messages (coalesced: fewer frames than messages, ending at the right
/// preview and unread count) and its closing.
#[actix_web::test]
async fn an_admins_stream_follows_rooms_of_another_node() {
    require_shared_redis();
    let url = shared_redis_url();
    let redis = settings(&url);
    let options = NodeOptions {
        redis: Some(redis.clone()),
        ..NodeOptions::default()
    };
    let a = TestApp::start_node(Backend::Postgres, options).await;
    let b = a
        .start_peer(NodeOptions {
            redis: Some(redis),
            ..NodeOptions::default()
        })
        .await;
    let (mut admin, _) = b.stream(&b.tokens.admin("staff"), "").await;

    let room = a.room("A-1", "c1").await;
    let appeared = next_about(&mut admin, room).await;
    assert_eq!(appeared["change"], "appeared", "{appeared}");

    const BURST: usize = 20;
    let token = a.tokens.client("c1");
    join_all((0..BURST).map(|n| {
        let (a, token) = (&a, &token);
        async move {
            a.send(room, token, &format!("message {n}")).await;
        }
    }))
    .await;
    let activity = until(&mut admin, room, |frame| {
        frame["room"]["unread"] == BURST && frame["room"]["last_seq"] == BURST
    })
    .await;
    assert!(
        activity.len() < BURST,
        "{} frames for {BURST} messages: not coalesced",
        activity.len()
    );
    let last = activity.last().expect("a frame");
    let preview = last["room"]["last_message"]["seq"].as_i64();
    assert_eq!(preview, Some(BURST as i64), "{last}");

    b.admin_call("POST", &format!("/chat/{room}/close")).await;
    let closed = next_about(&mut admin, room).await;
    assert_eq!(closed["change"], "changed");
    assert_eq!(closed["room"]["status"], "closed");
}
