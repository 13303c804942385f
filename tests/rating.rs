//! Satisfaction (issue 28, point 7): the customer rates a closed room once; the rating is the
//! room's, a `rated` event of its timeline, and a webhook.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;

const PATIENCE: Duration = Duration::from_secs(30);

crate::on_both_backends!(
    start = crate::notifications::start;
    a_customer_rates_a_closed_room_once,
    ratings_refuse_bad_input,
);

/// `POST /chat/{room}/rating` as `token` with `body`.
pub(crate) async fn rate(
    app: &TestApp,
    room: i64,
    token: &str,
    body: Value,
) -> crate::support::Response {
    app.call(
        "POST",
        &format!("/chat/{room}/rating"),
        Some(token),
        Some(body),
    )
    .await
}

/// Not while the room is open; once closed, 5 stars and a comment: the answer and the room
/// detail carry the rating, staff get the `rated` event live, integrations `room.rated`; a
/// second rating is refused.
async fn a_customer_rates_a_closed_room_once(app: TestApp) {
    let receiver = app.webhook_receiver(&["room.rated"]).await;

    let room = app.room("R-1", "cust-r").await;
    let customer = app.tokens.client("cust-r");
    let admin = app.tokens.admin("staff-r");
    app.send(room, &customer, "My parcel is late").await;
    app.send(room, &admin, "It arrives tomorrow").await;
    rate(&app, room, &customer, json!({ "score": 5 }))
        .await
        .assert_error(409, "conflict");

    let mut staff = app.ws(room, &admin).await;
    staff.handshake().await;
    app.close(room, &admin).await;
    let rated = rate(
        &app,
        room,
        &customer,
        json!({ "score": 5, "comment": "Quick and kind" }),
    )
    .await;
    assert_eq!(rated.status, 201, "{rated:?}");
    assert_eq!(rated.json["rating"]["score"], 5);
    assert_eq!(rated.json["rating"]["comment"], "Quick and kind");

    let event = staff.next_room_event("rated").await;
    assert_eq!(event["room"]["rating"], rated.json["rating"], "{event}");
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&admin), None)
        .await;
    assert_eq!(detail.json["rating"], rated.json["rating"], "{detail:?}");
    let got = receiver.wait_for_accepted(1, PATIENCE).await;
    assert_eq!(got[0].event["type"], "room.rated");
    assert_eq!(got[0].event["data"]["room"]["rating"]["score"], 5);

    rate(&app, room, &customer, json!({ "score": 1 }))
        .await
        .assert_error(409, "conflict");
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&admin), None)
        .await;
    assert_eq!(detail.json["rating"]["score"], 5, "the first rating stays");
}

/// Staff cannot rate, another customer cannot see the room, and every bad body is a 422.
async fn ratings_refuse_bad_input(app: TestApp) {
    let room = app.room("R-2", "cust-b").await;
    let customer = app.tokens.client("cust-b");
    let admin = app.tokens.admin("staff-b");
    app.close(room, &admin).await;
    rate(&app, room, &admin, json!({ "score": 5 }))
        .await
        .assert_error(403, "forbidden");
    rate(
        &app,
        room,
        &app.tokens.client("someone-else"),
        json!({ "score": 5 }),
    )
    .await
    .assert_error(404, "not_found");
    for body in [
        json!({}),
        json!({ "score": 0 }),
        json!({ "score": 6 }),
        json!({ "score": -1 }),
        json!({ "score": 40_000 }),
        json!({ "score": 3.5 }),
        json!({ "score": "5" }),
        json!({ "score": 5, "comment": "" }),
        json!({ "score": 5, "comment": "   " }),
        json!({ "score": 5, "comment": "a".repeat(1_001) }),
        json!({ "score": 5, "comment": "bad\u{0}byte" }),
        json!({ "score": 5, "stars": 5 }),
    ] {
        rate(&app, room, &customer, body.clone())
            .await
            .assert_error(422, "validation_failed");
    }
    // At the edges: 1 and 1,000 characters.
    let longest = rate(
        &app,
        room,
        &customer,
        json!({ "score": 1, "comment": "é".repeat(1_000) }),
    )
    .await;
    assert_eq!(longest.status, 201, "{longest:?}");
}
