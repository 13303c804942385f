//! Order events (issue 28, point 4): the platform says what happened to an order; its room
//! shows it to both sides, live and on resume, with a webhook; bad reports are refused.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;

const PATIENCE: Duration = Duration::from_secs(30);

crate::on_both_backends!(
    start = crate::notifications::start;
    both_sides_see_what_happened_to_the_order,
    a_retry_of_an_event_records_nothing_new,
    order_events_refuse_bad_input,
);

async fn report(app: &TestApp, order: &str, body: Value) -> crate::support::Response {
    app.call(
        "POST",
        &format!("/orders/{order}/events"),
        Some(&app.tokens.service()),
        Some(body),
    )
    .await
}

/// `shipped` with a line and a tracking link: both sides get the `order_event` frame live, a
/// client resuming gets it in place, an integration gets `order.event`, and the room's seq
/// takes it like any entry.
async fn both_sides_see_what_happened_to_the_order(app: TestApp) {
    let receiver = app.webhook_receiver(&["order.event"]).await;

    let room = app.room("O-1", "cust-o").await;
    let customer = app.tokens.client("cust-o");
    let asked = app.send(room, &customer, "Has it shipped?").await;
    let mut buyer = app.ws(room, &customer).await;
    buyer.handshake().await;
    let mut staff = app.ws(room, &app.tokens.admin("staff-o")).await;
    staff.handshake().await;

    let reported = report(
        &app,
        "O-1",
        json!({
            "status": "shipped",
            "text": "Handed to the carrier",
            "tracking_url": "https://track.example.com/p/123?lang=en",
            "event_id": "ship-1"
        }),
    )
    .await;
    assert_eq!(reported.status, 201, "{reported:?}");
    let event = &reported.json;
    assert_eq!(event["status"], "shipped");
    assert_eq!(event["room_id"], room);
    assert_eq!(event["seq"], asked.seq + 1, "the room's next seq");

    for socket in [&mut buyer, &mut staff] {
        let frame = socket.next_entry().await;
        assert_eq!(frame["type"], "order_event", "{frame}");
        assert_eq!(frame["seq"], event["seq"], "{frame}");
        assert_eq!(frame["order_event"], *event, "{frame}");
    }

    let mut resumed = app.resume(room, asked.seq, &customer).await;
    let replayed = resumed.until_caught_up().await;
    let entry = replayed
        .iter()
        .find(|frame| frame["type"] == "order_event")
        .unwrap_or_else(|| panic!("replayed: {replayed:?}"));
    assert_eq!(entry["order_event"], *event);

    let got = receiver.wait_for_accepted(1, PATIENCE).await;
    assert_eq!(got[0].event["type"], "order.event");
    assert_eq!(got[0].event["data"]["order_event"], *event);
    assert_eq!(got[0].event["data"]["order_event"]["room_id"], room);

    // An order whose customer has not opened a chat keeps the event as its status only.
    app.order("O-2", "cust-p").await;
    let quiet = report(&app, "O-2", json!({ "status": "paid" })).await;
    assert_eq!(quiet.status, 201, "{quiet:?}");
    assert!(quiet.json["room_id"].is_null() && quiet.json["seq"].is_null());
}

/// The platform retries an event (a timeout on its side): the same `event_id` answers 200 with
/// the event as first recorded, and the room's timeline holds it once.
async fn a_retry_of_an_event_records_nothing_new(app: TestApp) {
    let room = app.room("O-3", "cust-r").await;
    let body = json!({ "status": "delivered", "event_id": "deliv-9" });
    let first = report(&app, "O-3", body.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = report(&app, "O-3", body).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json, first.json);
    let next = app
        .send(room, &app.tokens.client("cust-r"), "Thanks!")
        .await;
    assert_eq!(
        Some(next.seq),
        first.json["seq"].as_i64().map(|seq| seq + 1),
        "one entry for both reports"
    );
    // Another event id is another event, even with the same status.
    let other = report(
        &app,
        "O-3",
        json!({ "status": "delivered", "event_id": "deliv-10" }),
    )
    .await;
    assert_eq!(other.status, 201, "{other:?}");
}

/// Every kind of bad report is a clear 4xx, and records nothing.
async fn order_events_refuse_bad_input(app: TestApp) {
    let room = app.room("O-4", "cust-b").await;
    let unknown = report(&app, "O-4", json!({ "status": "lost" })).await;
    unknown.assert_error(422, "validation_failed");
    let why = unknown.json["error"]["message"]
        .as_str()
        .unwrap_or_default();
    for allowed in ["paid", "shipped", "delivered", "cancelled", "returned"] {
        assert!(why.contains(allowed), "names {allowed}: {why}");
    }
    for body in [
        json!({}),
        json!({ "status": 3 }),
        json!({ "status": "paid", "extra": true }),
        json!({ "status": "paid", "text": "" }),
        json!({ "status": "paid", "text": " padded" }),
        json!({ "status": "paid", "text": "a".repeat(501) }),
        json!({ "status": "paid", "text": "line\u{0}break" }),
        json!({ "status": "paid", "tracking_url": "ftp://track.example.com/1" }),
        json!({ "status": "paid", "tracking_url": "https://" }),
        json!({ "status": "paid", "tracking_url": "https://track.example.com/a b" }),
        json!({ "status": "paid", "tracking_url": format!("https://t.example.com/{}", "a".repeat(2_040)) }),
        json!({ "status": "paid", "event_id": "" }),
    ] {
        report(&app, "O-4", body.clone())
            .await
            .assert_error(422, "validation_failed");
    }
    // At the edges: 500 characters of text and a 2,048-byte link are fine.
    let longest = report(
        &app,
        "O-4",
        json!({
            "status": "paid",
            "text": "é".repeat(500),
            "tracking_url": format!("https://t.example.com/{}", "a".repeat(2_048 - 22))
        }),
    )
    .await;
    assert_eq!(longest.status, 201, "{longest:?}");

    report(&app, "O-unknown", json!({ "status": "paid" }))
        .await
        .assert_error(404, "not_found");
    app.call(
        "POST",
        "/orders/O-4/events",
        Some(&app.tokens.client("cust-b")),
        Some(json!({ "status": "paid" })),
    )
    .await
    .assert_error(403, "forbidden");
    app.call(
        "POST",
        "/orders/O-4/events",
        None,
        Some(json!({ "status": "paid" })),
    )
    .await
    .assert_error(401, "unauthorized");
    // Only the one good report reached the room.
    let detail = app
        .call(
            "GET",
            &format!("/chat/{room}"),
            Some(&app.tokens.admin("a")),
            None,
        )
        .await;
    assert_eq!(detail.json["last_seq"], 1, "{detail:?}");
}
