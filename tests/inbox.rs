//! The per-user stream `/ws/`: an inbox of every room the user may see, live, across nodes,
//! with a cursor to catch up after a reconnect.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use futures_util::future::join_all;
use room_chats_types::stream::MAX_INBOX_ROOMS_PER_FRAME;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::redis::{PrivateRedis, require_shared_redis, settings, shared_redis_url};
use crate::support::ws::{Carrier, WsClient};
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    a_customer_sees_its_new_room_and_the_admins_reply,
    a_reconnect_with_the_cursor_gets_what_was_missed,
    a_customer_whose_order_moves_loses_the_room_at_once,
    filters_follow_status_and_assignment,
    bad_handshakes_are_refused_before_the_upgrade,
    an_orders_new_reference_reaches_members_and_inboxes,
    a_stream_converses_in_subscribed_rooms,
    subscriptions_are_authorized_capped_and_checked,
    a_subscribed_room_ends_when_access_is_lost,
);

/// A `/ws/` client that reads the inbox one room at a time: an `inbox` frame's rooms come as
/// `{"type": "inbox", "change", "room", "cursor"}` and its removals as
/// `{"type": "inbox_removed", "room_id", "reason", "cursor"}`; other frames as they are. The
/// socket itself is there for everything else.
struct StreamClient {
    ws: WsClient,
    entries: VecDeque<Value>,
}

impl StreamClient {
    async fn next_json(&mut self) -> Value {
        loop {
            if let Some(entry) = self.entries.pop_front() {
                return entry;
            }
            let frame = self.ws.next_json().await;
            if frame["type"] != "inbox" {
                return frame;
            }
            let cursor = &frame["cursor"];
            assert!(cursor.is_string(), "{frame}");
            for entry in frame["rooms"].as_array().expect("rooms") {
                let (change, room) = (&entry["change"], &entry["room"]);
                self.entries.push_back(
                    json!({ "type": "inbox", "change": change, "room": room, "cursor": cursor }),
                );
            }
            for removal in frame["removed"].as_array().expect("removed") {
                let (room_id, reason) = (&removal["room_id"], &removal["reason"]);
                self.entries.push_back(json!({
                    "type": "inbox_removed", "room_id": room_id, "reason": reason,
                    "cursor": cursor
                }));
            }
        }
    }
}

impl Deref for StreamClient {
    type Target = WsClient;

    fn deref(&self) -> &WsClient {
        &self.ws
    }
}

impl DerefMut for StreamClient {
    fn deref_mut(&mut self) -> &mut WsClient {
        &mut self.ws
    }
}

impl TestApp {
    /// Opens `/ws/` with `query` (e.g. `status=open`) and reads `stream_ready`.
    async fn stream(&self, token: &str, query: &str) -> (StreamClient, Value) {
        let mut ws = self
            .ws_with(&format!("/ws/?{query}"), token, Carrier::Header)
            .await;
        let ready = ws.next_json().await;
        assert_eq!(ready["type"], "stream_ready", "first frame: {ready}");
        let stream = StreamClient {
            ws,
            entries: VecDeque::new(),
        };
        (stream, ready)
    }

    async fn admin_call(&self, method: &str, path: &str) {
        let response = self
            .call(method, path, Some(&self.tokens.admin("staff")), None)
            .await;
        assert_eq!(response.status, 200, "{method} {path}: {response:?}");
    }
}

/// Creates the rooms of `orders` (order id, customer) and returns once their creation has
/// reached every stream open then (a witness stream heard each appear). A stream opened after
/// that gets nothing of the creation: without the wait, the inbox window could deliver it
/// after the stream's start, ahead of the frame a test waits for.
async fn announced_rooms(app: &TestApp, orders: &[(&str, &str)]) -> Vec<i64> {
    let (mut witness, _) = app.stream(&app.tokens.admin("witness"), "").await;
    let mut rooms = Vec::new();
    for (order, customer) in orders {
        let room = app.room(order, customer).await;
        let heard = next_about(&mut witness, room).await;
        assert_eq!(heard["change"], "appeared", "{heard}");
        rooms.push(room);
    }
    rooms
}

/// Longest wait for a frame about a room while frames about others keep coming.
const ROOM_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// The next inbox entry (`inbox` or `inbox_removed`) about `room`, skipping others' rooms.
async fn next_about(ws: &mut StreamClient, room: i64) -> Value {
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
async fn until(ws: &mut StreamClient, room: i64, done: impl Fn(&Value) -> bool) -> Vec<Value> {
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
    customer.ws.close().await;

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
    let [room, keeps] = announced_rooms(&app, &[("A-1", "c1"), ("A-2", "c1")]).await[..] else {
        unreachable!("two rooms")
    };
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
    let room = announced_rooms(&app, &[("A-1", "c1")]).await[0];
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

/// The platform renames the order: the room's members and every inbox see the new reference.
async fn an_orders_new_reference_reaches_members_and_inboxes(app: TestApp) {
    let room = announced_rooms(&app, &[("A-1", "c1")]).await[0];
    let (mut admin, _) = app.stream(&app.tokens.admin("staff"), "").await;
    let mut customer = app.ws(room, &app.tokens.client("c1")).await;
    customer.handshake().await;
    let renamed = app
        .call(
            "PUT",
            "/orders/A-1",
            Some(&app.tokens.service()),
            Some(json!({ "customer_id": "c1", "reference": "#1001" })),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    let event = customer.next_of("room").await;
    assert_eq!(event["event"], "order_changed", "{event}");
    assert_eq!(event["room"]["order_reference"], "#1001");
    let changed = next_about(&mut admin, room).await;
    assert_eq!(changed["change"], "changed", "{changed}");
    assert_eq!(changed["room"]["order_reference"], "#1001");
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

    // Frames of no known type are answered, not obeyed.
    let (mut stream, _) = app.stream(&client, "").await;
    stream
        .send_json(json!({ "type": "shout", "client_id": "x", "content": "hi" }))
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

    // The admin opens the conversation on the same connection and answers; the customer,
    // on the other node, hears it and replies.
    admin.send_json(subscribe(room)).await;
    let history = next_in_room(&mut admin, room, "history").await;
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(BURST));
    let mut customer = a.ws(room, &token).await;
    customer.handshake().await;
    admin
        .send_json(json!({
            "type": "message", "room_id": room, "client_id": "s1", "content": "on its way"
        }))
        .await;
    next_in_room(&mut admin, room, "ack").await;
    assert_eq!(
        customer.next_of("message").await["message"]["content"],
        "on its way"
    );
    customer.say("c-thanks", "thanks!").await;
    let reply = next_in_room(&mut admin, room, "message").await;
    assert_eq!(reply["message"]["content"], "thanks!");

    b.admin_call("POST", &format!("/chat/{room}/close")).await;
    let event = next_in_room(&mut admin, room, "room").await;
    assert_eq!(event["event"], "closed", "{event}");
    let closed = next_about(&mut admin, room).await;
    assert_eq!(closed["change"], "changed");
    assert_eq!(closed["room"]["status"], "closed");
}

/// One admin connection follows 1,000 rooms in its inbox and 100 of them subscribed.
#[actix_web::test]
async fn one_admin_connection_follows_a_thousand_rooms_and_a_hundred_subscribed() {
    const ROOMS: usize = 1_000;
    const SUBSCRIBED: usize = 100;
    let app = TestApp::start(Backend::Postgres).await;
    // Room `rooms[n]` belongs to customer `c{n}`.
    let mut rooms = Vec::with_capacity(ROOMS);
    for chunk in (0..ROOMS).collect::<Vec<_>>().chunks(25) {
        let app = &app;
        let opening = chunk
            .iter()
            .map(|n| async move { app.room(&format!("O-{n}"), &format!("c{n}")).await });
        rooms.extend(join_all(opening).await);
    }
    let (mut admin, _) = app.stream(&app.tokens.admin("staff"), "").await;
    for room in &rooms[..SUBSCRIBED] {
        admin.send_json(subscribe(*room)).await;
    }
    let mut ready = std::collections::HashSet::new();
    while ready.len() < SUBSCRIBED {
        let frame = admin.next_json().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "history" {
            ready.insert(frame["room_id"].as_i64().expect("room_id"));
        }
    }

    // Every customer writes once: the inbox shows each room with one unread message, and each
    // subscribed room delivers its message.
    let owned: Vec<(usize, i64)> = rooms.iter().copied().enumerate().collect();
    for chunk in owned.chunks(25) {
        let app = &app;
        join_all(chunk.iter().map(|(n, room)| {
            let token = app.tokens.client(&format!("c{n}"));
            async move {
                app.send(*room, &token, "hello").await;
            }
        }))
        .await;
    }
    let mut unread = std::collections::HashMap::new();
    let mut delivered = std::collections::HashSet::new();
    let wait = async {
        while unread.values().filter(|count| **count == 1).count() < ROOMS
            || delivered.len() < SUBSCRIBED
        {
            let frame = admin.next_json().await;
            match frame["type"].as_str() {
                Some("inbox") => {
                    let id = frame["room"]["id"].as_i64().expect("id");
                    unread.insert(id, frame["room"]["unread"].as_i64().expect("unread"));
                }
                Some("message") => {
                    delivered.insert(frame["room_id"].as_i64().expect("room_id"));
                }
                Some("error") => panic!("{frame}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .expect("every room's activity arrives");
    assert!(rooms.iter().all(|room| unread.get(room) == Some(&1)));
}

/// The next frame of `kind` for `room` on a stream, skipping everything else (never an error
/// about that room).
async fn next_in_room(ws: &mut WsClient, room: i64, kind: &str) -> Value {
    let wait = async {
        loop {
            let frame = ws.next_json().await;
            if frame["room_id"] != room {
                continue;
            }
            if frame["type"] == kind {
                return frame;
            }
            assert_ne!(frame["type"], "error", "expected {kind}: {frame}");
        }
    };
    tokio::time::timeout(ROOM_FRAME_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} frame of room {room}"))
}

async fn a_stream_converses_in_subscribed_rooms(app: TestApp) {
    let first = app.room("A-1", "c1").await;
    let second = app.room("A-2", "c2").await;
    app.send(first, &app.tokens.client("c1"), "before").await;
    let (mut admin, _) = app.stream(&app.tokens.admin("staff"), "").await;
    let mut customer = app.ws(first, &app.tokens.client("c1")).await;
    customer.handshake().await;

    for room in [first, second] {
        admin
            .send_json(json!({ "type": "subscribe", "room_id": room }))
            .await;
        let ready = next_in_room(&mut admin, room, "ready").await;
        assert_eq!(ready["room"]["id"], room, "{ready}");
        assert_eq!(ready["me"]["user_id"], "staff");
        let history = next_in_room(&mut admin, room, "history").await;
        let expected = if room == first { 1 } else { 0 };
        assert_eq!(history["messages"].as_array().map(Vec::len), Some(expected));
    }

    // Sending into a subscribed room: acked here, delivered to the room socket.
    admin
        .send_json(json!({
            "type": "message", "room_id": first, "client_id": "s1", "content": "hello from the stream"
        }))
        .await;
    let ack = next_in_room(&mut admin, first, "ack").await;
    assert_eq!(ack["client_id"], "s1");
    assert_eq!(
        ack["message"]["sender_id"], "staff",
        "the sender is the token's"
    );
    let delivered = customer.next_of("message").await;
    assert_eq!(delivered["message"]["content"], "hello from the stream");

    // The room's live frames reach the stream with the room's id.
    customer
        .send_json(json!({ "type": "typing", "typing": true }))
        .await;
    let typing = next_in_room(&mut admin, first, "typing").await;
    assert_eq!(typing["user_id"], "c1");
    customer.say("r1", "a reply").await;
    let reply = next_in_room(&mut admin, first, "message").await;
    assert_eq!(reply["message"]["content"], "a reply");
    // The other subscribed room keeps its own stream.
    app.send(second, &app.tokens.client("c2"), "second room")
        .await;
    let other = next_in_room(&mut admin, second, "message").await;
    assert_eq!(other["message"]["room_id"], second);

    admin
        .send_json(json!({ "type": "unsubscribe", "room_id": first }))
        .await;
    let ended = next_in_room(&mut admin, first, "unsubscribed").await;
    assert_eq!(ended["code"], 1000, "{ended}");
    admin
        .send_json(json!({
            "type": "message", "room_id": first, "client_id": "s2", "content": "after unsubscribing"
        }))
        .await;
    let refused = next_in_room(&mut admin, first, "error").await;
    assert_eq!(refused["code"], "not_found", "{refused}");
    assert_eq!(refused["ref"], "s2");
    let stored = app.history(first, &app.tokens.admin("staff")).await;
    assert_eq!(stored.len(), 3, "nothing stored: {stored:?}");
}

/// Sends `frame` and returns the code of the `error` it gets about `room`.
async fn refusal(ws: &mut WsClient, frame: Value, room: i64) -> Value {
    ws.send_json(frame).await;
    next_in_room(ws, room, "error").await["code"].clone()
}

fn subscribe(room: i64) -> Value {
    json!({ "type": "subscribe", "room_id": room })
}

async fn subscriptions_are_authorized_capped_and_checked(app: TestApp) {
    let own = app.room("A-1", "c1").await;
    let foreign = app.room("B-1", "c2").await;
    let (mut client, _) = app.stream(&app.tokens.client("c1"), "").await;

    assert_eq!(
        refusal(&mut client, subscribe(foreign), foreign).await,
        "not_found"
    );
    assert_eq!(
        refusal(&mut client, subscribe(9_999), 9_999).await,
        "not_found"
    );
    let resume = json!({ "type": "subscribe", "room_id": own, "since": -1 });
    assert_eq!(refusal(&mut client, resume, own).await, "validation_failed");
    let history = json!({ "type": "subscribe", "room_id": own, "history": 5000 });
    assert_eq!(
        refusal(&mut client, history, own).await,
        "validation_failed"
    );
    let unsubscribed = json!({ "type": "unsubscribe", "room_id": own });
    assert_eq!(refusal(&mut client, unsubscribed, own).await, "not_found");
    let no_room = json!({ "type": "message", "client_id": "x", "content": "where to?" });
    client.send_json(no_room).await;
    assert_eq!(client.next_of("error").await["code"], "bad_request");

    client.send_json(subscribe(own)).await;
    next_in_room(&mut client, own, "ready").await;
    assert_eq!(refusal(&mut client, subscribe(own), own).await, "conflict");
    let bad_message = json!({ "type": "message", "room_id": own, "client_id": "x", "content": "" });
    assert_eq!(
        refusal(&mut client, bad_message, own).await,
        "invalid_content"
    );
}

/// The rate and the cap of subscriptions per connection.
#[actix_web::test]
async fn subscriptions_per_connection_are_limited() {
    let mut options = NodeOptions::default();
    options.realtime.max_subscriptions = 2;
    options.realtime.subscribes_per_sec = 1;
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let rooms = [
        app.room("A-1", "c1").await,
        app.room("A-2", "c1").await,
        app.room("A-3", "c1").await,
    ];
    let (mut client, _) = app.stream(&app.tokens.client("c1"), "").await;
    // Sent together: the burst (2) is spent before the third, a second later at the earliest.
    client.send_json(subscribe(rooms[0])).await;
    client.send_json(subscribe(rooms[1])).await;
    client
        .send_json(json!({ "type": "unsubscribe", "room_id": rooms[0] }))
        .await;
    client.send_json(subscribe(rooms[2])).await;
    let outpaced = next_in_room(&mut client, rooms[2], "error").await;
    assert_eq!(outpaced["code"], "rate_limited", "{outpaced}");
    let retry_after = outpaced["retry_after"].as_f64().expect("retry_after");
    assert!(retry_after > 0.0 && retry_after <= 1.0, "{outpaced}");

    // Once the budget allows one more, the cap (2) still holds.
    tokio::time::sleep(std::time::Duration::from_secs_f64(retry_after)).await;
    client.send_json(subscribe(rooms[0])).await;
    next_in_room(&mut client, rooms[0], "ready").await;
    let capped = refusal(&mut client, subscribe(rooms[2]), rooms[2]).await;
    assert_eq!(capped, "rate_limited");
}

async fn a_subscribed_room_ends_when_access_is_lost(app: TestApp) {
    let room = app.room("A-1", "c1").await;
    let (mut client, _) = app.stream(&app.tokens.client("c1"), "").await;
    client
        .send_json(json!({ "type": "subscribe", "room_id": room }))
        .await;
    next_in_room(&mut client, room, "history").await;
    app.order("A-1", "c2").await;
    let ended = loop {
        let frame = client.next_json().await;
        if frame["type"] == "unsubscribed" {
            break frame;
        }
    };
    assert_eq!(ended["room_id"], room);
    assert_eq!(ended["code"], 1008, "{ended}");
    // The stream itself goes on.
    client.round_trip().await;
}

/// An admin sees which users are online anywhere in the cluster: those connected before its
/// stream opened in `stream_ready`, then each coming and going.
#[actix_web::test]
async fn admins_see_users_come_online_and_go_across_nodes() {
    require_shared_redis();
    let redis = settings(&shared_redis_url());
    let node = |redis: &room_chats_broker::RedisSettings| NodeOptions {
        redis: Some(redis.clone()),
        ..NodeOptions::default()
    };
    let a = TestApp::start_node(Backend::Postgres, node(&redis)).await;
    let b = a.start_peer(node(&redis)).await;
    let room = a.room("A-1", "c1").await;
    let early = a.room("A-2", "early").await;
    let presence = async |ws: &mut WsClient, user: &str| loop {
        let frame = ws.next_json().await;
        if frame["type"] == "user_presence" && frame["user_id"] == user {
            return frame;
        }
    };
    // A first admin stream hears the early customer come online …
    let (mut first, _) = b.stream(&b.tokens.admin("staff"), "").await;
    let mut already = a.ws(early, &a.tokens.client("early")).await;
    already.handshake().await;
    assert_eq!(presence(&mut first, "early").await["online"], true);
    // … so a stream opened now lists it as online from the start.
    let (mut admin, ready) = b.stream(&b.tokens.admin("boss"), "").await;
    assert!(
        ready["online"]
            .as_array()
            .is_some_and(|online| online.contains(&json!("early"))),
        "{ready}"
    );
    let mut customer = a.ws(room, &a.tokens.client("c1")).await;
    customer.handshake().await;
    assert_eq!(
        presence(&mut admin, "c1").await,
        json!({ "type": "user_presence", "user_id": "c1", "online": true })
    );
    customer.close().await;
    assert_eq!(
        presence(&mut admin, "c1").await,
        json!({ "type": "user_presence", "user_id": "c1", "online": false })
    );
}

/// What a node missed while Redis was away reaches its streams once it is back: they catch up
/// from the database.
#[actix_web::test]
async fn streams_catch_up_after_a_redis_outage() {
    let redis = PrivateRedis::start();
    let shared = settings(&redis.url());
    let node = || NodeOptions {
        redis: Some(shared.clone()),
        ..NodeOptions::default()
    };
    let a = TestApp::start_node(Backend::Postgres, node()).await;
    let b = a.start_peer(node()).await;
    let room = a.room("A-1", "c1").await;
    let (mut admin, _) = b.stream(&b.tokens.admin("staff"), "").await;

    redis.down();
    a.send(room, &a.tokens.client("c1"), "during the outage")
        .await;
    // Redis must stay away until node A's window (200 ms) has ended and its publication was
    // dropped; that happens inside A, with nothing outside to await, so this waits it out.
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.up();
    let caught_up = until(&mut admin, room, |frame| {
        frame["room"]["last_message"]["content"] == "during the outage"
    })
    .await;
    let last = caught_up.last().expect("a frame");
    assert_eq!(last["room"]["unread"], 1, "{last}");
}

/// More rooms change in one window than the connection's outbox holds: the stream is not
/// dropped as a slow consumer; its inbox entries wait, conflated, and every room arrives in
/// its newest state, many rooms to a frame.
#[actix_web::test]
async fn a_window_larger_than_the_outbox_waits_instead_of_dropping_the_stream() {
    // The outbox's half for the inbox holds 4 frames of at most 100 rooms: 450 rooms need a
    // fifth, which waits.
    const ROOMS: usize = 450;
    let mut options = NodeOptions::default();
    options.realtime.outbox = 8;
    options.realtime.inbox_window = Duration::from_secs(2);
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let mut rooms = Vec::new();
    for chunk in (0..ROOMS).collect::<Vec<_>>().chunks(50) {
        let created = join_all(chunk.iter().map(|n| app.room_for(*n))).await;
        rooms.extend(created);
    }
    let (mut customer, _) = app.stream(&app.tokens.client("c1"), "").await;
    let staff = app.tokens.admin("staff");
    for chunk in rooms.chunks(50) {
        join_all(chunk.iter().map(|room| app.send(*room, &staff, "news"))).await;
    }
    let mut unread = std::collections::HashMap::new();
    let mut frames = 0;
    while unread.len() < ROOMS || unread.values().any(|count| *count != 1) {
        // The raw frames, to see how rooms share them.
        let frame = customer.ws.next_json().await;
        assert_eq!(frame["type"], "inbox", "{frame}");
        let entries = frame["rooms"].as_array().expect("rooms");
        assert!(
            entries.len() <= MAX_INBOX_ROOMS_PER_FRAME,
            "{} rooms",
            entries.len()
        );
        frames += 1;
        for entry in entries {
            unread.insert(entry["room"]["id"].clone(), entry["room"]["unread"].clone());
        }
    }
    assert!(
        frames < ROOMS / 10,
        "{frames} frames for {ROOMS} rooms: not batched"
    );
    customer.round_trip().await;
}

impl TestApp {
    /// Customer c1's room for order `O-{n}`.
    async fn room_for(&self, n: usize) -> i64 {
        self.room(&format!("O-{n}"), "c1").await
    }
}
