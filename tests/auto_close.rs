//! Rooms that close themselves (issue 28, point 5): the idle and order-done policies, never on
//! a customer waiting for staff; the customer's message reopens an auto-closed room and not a
//! staff-closed one; nodes sweeping at once close each room once.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use serde_json::json;

use room_chats_core::webhooks::WebhookSettings;
use room_chats_workers::AutoCloseSettings;

use crate::support::{Backend, NodeOptions, TestApp};

/// Rooms idle this long are due: short, so a test waits for the sweep's event, not hours.
const IDLE: Duration = Duration::from_millis(700);
const PATIENCE: Duration = Duration::from_secs(20);

/// A node with these policies, sweeping every 50 ms, whose webhooks go out at once.
fn policies(idle: Option<Duration>, after_order: Option<Duration>) -> NodeOptions {
    NodeOptions {
        auto_close: AutoCloseSettings {
            idle,
            after_order,
            sweep_every: Duration::from_millis(50),
        },
        webhooks: WebhookSettings {
            poll_interval: Duration::from_millis(50),
            allow_private_urls: true,
            ..WebhookSettings::DEFAULT
        },
        ..NodeOptions::default()
    }
}

crate::on_both_backends!(
    backend: idle_rooms_close_themselves_but_never_on_a_waiting_customer,
    the_customers_message_reopens_only_a_room_a_policy_closed,
    a_done_order_closes_its_idle_room,
);

/// A room where staff answered (the customer's turn) closes after the idle time — its
/// customer sees the `closed` event with `closed_by_policy: idle`, integrations get
/// `room.closed` — and so does a room where nothing was said; a room whose customer asked and
/// got no answer stays open.
async fn idle_rooms_close_themselves_but_never_on_a_waiting_customer(backend: Backend) {
    let app = TestApp::start_node(backend, policies(Some(IDLE), None)).await;
    let receiver = app.webhook_receiver(&["room.closed"]).await;
    let answered = app.room("AC-1", "cust-1").await;
    let quiet = app.room("AC-2", "cust-2").await;
    let asking = app.room("AC-3", "cust-3").await;
    let customer = app.tokens.client("cust-1");
    app.send(answered, &customer, "Is it in stock?").await;
    app.send(asking, &app.tokens.client("cust-3"), "Hello?")
        .await;
    let mut socket = app.ws(answered, &customer).await;
    socket.handshake().await;
    app.send(answered, &app.tokens.admin("staff"), "Yes, two left")
        .await;

    let closed = socket.next_room_event("closed").await;
    assert_eq!(closed["room"]["status"], "closed", "{closed}");
    assert_eq!(closed["room"]["closed_by_policy"], "idle", "{closed}");
    assert!(closed["room"]["closed_by"].is_null(), "{closed}");
    assert!(closed["room"]["waiting"].is_null(), "{closed}");

    let quiet_state = app.room_detail(quiet).await;
    assert_eq!(quiet_state["status"], "closed", "{quiet_state}");
    assert_eq!(quiet_state["closed_by_policy"], "idle");
    let asking_state = app.room_detail(asking).await;
    assert_eq!(asking_state["status"], "open", "{asking_state}");
    assert_eq!(asking_state["waiting"]["for"], "staff");

    // One `room.closed` per closed room, written with the batch's close.
    let got = receiver.wait_for_accepted(2, PATIENCE).await;
    let mut closed_rooms: Vec<i64> = got
        .iter()
        .map(|delivery| {
            assert_eq!(delivery.event["type"], "room.closed");
            assert_eq!(delivery.event["data"]["room"]["closed_by_policy"], "idle");
            delivery.event["data"]["room"]["id"]
                .as_i64()
                .unwrap_or_default()
        })
        .collect();
    closed_rooms.sort_unstable();
    let mut expected = vec![answered, quiet];
    expected.sort_unstable();
    assert_eq!(closed_rooms, expected);
}

/// The customer writes to the room the policy closed: it opens again (a `reopened` event
/// before the message), the message is stored and the room waits for staff. A room staff
/// closed stays closed: the customer's message is refused with `room_closed`.
async fn the_customers_message_reopens_only_a_room_a_policy_closed(backend: Backend) {
    let app = TestApp::start_node(backend, policies(Some(IDLE), None)).await;
    let auto = app.room("AC-4", "cust-4").await;
    let by_staff = app.room("AC-5", "cust-5").await;
    let staff = app.tokens.admin("staff");
    let customer = app.tokens.client("cust-4");
    let mut socket = app.ws(auto, &customer).await;
    socket.handshake().await;
    app.close(by_staff, &staff).await;
    socket.next_room_event("closed").await;

    // Over the same socket that saw the close.
    socket.say("again-1", "I have one more question").await;
    let reopened = socket.next_room_event("reopened").await;
    assert_eq!(reopened["room"]["status"], "open", "{reopened}");
    assert!(reopened["room"]["closed_by_policy"].is_null(), "{reopened}");
    let ack = socket.next_of("ack").await;
    assert_eq!(ack["client_id"], "again-1");
    assert!(
        ack["message"]["seq"].as_i64() > reopened["seq"].as_i64(),
        "the message comes after the reopening: {ack} {reopened}"
    );
    let state = app.room_detail(auto).await;
    assert_eq!(state["status"], "open");
    assert_eq!(state["waiting"]["for"], "staff");

    let refused = app
        .call(
            "POST",
            &format!("/chat/{by_staff}/messages"),
            Some(&app.tokens.client("cust-5")),
            Some(json!({ "content": "Hello?" })),
        )
        .await;
    refused.assert_error(409, "room_closed");
    let state = app.room_detail(by_staff).await;
    assert_eq!(state["status"], "closed");
    assert_eq!(state["closed_by"], "staff");
}

/// `AUTO_CLOSE_AFTER_ORDER_HOURS`: a room whose order was delivered (or cancelled) closes once
/// both the order's status and the conversation are that old — `closed_by_policy:
/// order_done` — but not while the order is only shipped, nor while the customer waits.
async fn a_done_order_closes_its_idle_room(backend: Backend) {
    let app = TestApp::start_node(backend, policies(None, Some(IDLE))).await;
    let staff = app.tokens.admin("staff");
    let mut rooms = Vec::new();
    for (order, status, customer_asks_last) in [
        ("AC-D1", "delivered", false),
        ("AC-D2", "shipped", false),
        ("AC-D3", "cancelled", true),
    ] {
        let customer = format!("cust-{order}");
        let room = app.room(order, &customer).await;
        app.send(room, &staff, "Thanks for your order").await;
        if customer_asks_last {
            app.send(room, &app.tokens.client(&customer), "Why cancelled?")
                .await;
        }
        let reported = app
            .call(
                "POST",
                &format!("/orders/{order}/events"),
                Some(&app.tokens.service()),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(reported.status, 201, "{reported:?}");
        rooms.push(room);
    }
    let deadline = Instant::now() + PATIENCE;
    let delivered = loop {
        let state = app.room_detail(rooms[0]).await;
        if state["status"] == "closed" {
            break state;
        }
        assert!(Instant::now() < deadline, "not closed: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivered["closed_by_policy"], "order_done", "{delivered}");
    assert_eq!(app.room_detail(rooms[1]).await["status"], "open");
    assert_eq!(app.room_detail(rooms[2]).await["status"], "open");
}

/// Two nodes sweep the same rooms at once, every 50 ms: each room is closed once — one
/// `closed` event in its timeline.
#[actix_web::test]
async fn two_nodes_sweeping_at_once_close_each_room_once() {
    let app = TestApp::start_node(Backend::Postgres, policies(Some(IDLE), None)).await;
    let peer = app.start_peer(policies(Some(IDLE), None)).await;
    let staff = app.tokens.admin("staff");
    let mut rooms = Vec::new();
    for n in 0..40 {
        let room = app.room(&format!("AC-N{n}"), &format!("cust-n{n}")).await;
        app.send(room, &staff, "Anything else?").await;
        rooms.push(room);
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let open = app
            .call("GET", "/chat?status=open&limit=100", Some(&staff), None)
            .await;
        if open.json["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(Instant::now() < deadline, "still open: {:?}", open.json);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    #[derive(diesel::QueryableByName)]
    struct Closes {
        #[diesel(sql_type = BigInt)]
        room_id: i64,
        #[diesel(sql_type = BigInt)]
        closes: i64,
    }
    let counted: Vec<Closes> = diesel::sql_query(
        "SELECT room_id, count(*) AS closes FROM room_events WHERE kind = 'closed' GROUP BY room_id",
    )
    .load(&mut app.postgres())
    .expect("counted");
    assert_eq!(counted.len(), rooms.len());
    assert!(
        counted.iter().all(|row| row.closes == 1),
        "a room closed twice: {:?}",
        counted
            .iter()
            .map(|row| (row.room_id, row.closes))
            .collect::<Vec<_>>()
    );
    drop(peer);
}
