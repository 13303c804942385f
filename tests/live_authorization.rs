//! Authorization holds for the whole life of a connection, not only at its handshake: a
//! client whose order moves to another customer loses its live connections at once, on every
//! node, and nothing it sends afterwards is stored.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::redis::{require_shared_redis, settings, shared_redis_url};
use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

/// Moves order `order` to `customer` as the platform would.
async fn move_order(app: &TestApp, order: &str, customer: &str) {
    let response = app
        .call(
            "PUT",
            &format!("/orders/{order}"),
            Some(&app.tokens.service()),
            Some(json!({ "customer_id": customer })),
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
}

/// The previous customer's socket is told `forbidden` and closed with 1008 within a second.
async fn assert_access_lost(ws: &mut WsClient) {
    let started = Instant::now();
    let error = ws.next_of("error").await;
    assert_eq!(error["code"], "forbidden", "{error}");
    assert_eq!(ws.closed().await, Some(1008));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "closed after {:?}",
        started.elapsed()
    );
}

async fn a_moved_order_ends_the_previous_customers_sockets(app: TestApp) {
    let room = app.room("A-1", "first").await;
    let first = app.tokens.client("first");
    let mut previous = app.ws(room, &first).await;
    previous.handshake().await;
    let mut staff = app.ws(room, &app.tokens.admin("staff")).await;
    staff.handshake().await;

    move_order(&app, "A-1", "second").await;
    assert_access_lost(&mut previous).await;

    // Staff stay connected and the new customer can talk to them.
    let second = app.tokens.client("second");
    app.send(room, &second, "the order is mine now").await;
    assert_eq!(
        staff.next_of("message").await["message"]["sender_id"],
        "second"
    );
    // The previous customer can neither read nor write over REST, and cannot reconnect.
    app.call("GET", &format!("/chat/{room}/messages"), Some(&first), None)
        .await
        .assert_error(404, "not_found");
    app.call(
        "POST",
        &format!("/chat/{room}/messages"),
        Some(&first),
        Some(json!({ "content": "still here?" })),
    )
    .await
    .assert_error(404, "not_found");
    let refused = app
        .ws_refused(
            &format!("/ws/chat/{room}"),
            &[("Authorization", &format!("Bearer {first}"))],
        )
        .await;
    refused.assert_error(404, "not_found");
    let senders: Vec<_> = app
        .history(room, &second)
        .await
        .into_iter()
        .map(|message| message.sender_id)
        .collect();
    assert_eq!(senders, ["second"]);
}

/// A node that never heard of the move (here: one whose broker is not shared) still stores
/// nothing the previous customer sends: the store checks the order's customer itself.
#[actix_web::test]
async fn a_node_that_missed_the_move_stores_nothing_from_the_previous_customer() {
    let a = TestApp::start(Backend::Postgres).await;
    let deaf = a.start_peer(NodeOptions::default()).await;
    let room = a.room("A-1", "first").await;
    let mut previous = deaf.ws(room, &deaf.tokens.client("first")).await;
    previous.handshake().await;
    move_order(&a, "A-1", "second").await;
    previous.say("late", "after the move").await;
    assert_access_lost(&mut previous).await;
    let stored = a.history(room, &a.tokens.admin("staff")).await;
    assert_eq!(stored, [], "{stored:?}");
}

crate::on_both_backends!(a_moved_order_ends_the_previous_customers_sockets);

#[actix_web::test]
async fn a_moved_order_ends_sockets_on_every_node() {
    require_shared_redis();
    let url = shared_redis_url();
    let redis = settings(&url);
    let a = TestApp::start_node(
        Backend::Postgres,
        NodeOptions {
            redis: Some(redis.clone()),
            ..NodeOptions::default()
        },
    )
    .await;
    let b = a
        .start_peer(NodeOptions {
            redis: Some(redis),
            ..NodeOptions::default()
        })
        .await;
    let room = a.room("A-1", "first").await;
    let mut on_b = b.ws(room, &b.tokens.client("first")).await;
    on_b.handshake().await;
    move_order(&a, "A-1", "second").await;
    assert_access_lost(&mut on_b).await;
}
