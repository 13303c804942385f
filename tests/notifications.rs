//! Notifications of members who are away: `notification.due` webhooks after the delay, one per
//! room and burst, none for members who are connected (room socket or user stream) or read
//! the burst in time, and none for the sender.

use std::time::Duration;

use room_chats_core::webhooks::{RetrySchedule, WebhookSettings};
use room_chats_workers::NotificationSettings;
use serde_json::{Value, json};

use crate::support::receiver::{Delivery, Mode, Receiver};
use crate::support::ws::Carrier;
use crate::support::{Backend, NodeOptions, TestApp};

const PATIENCE: Duration = Duration::from_secs(30);

/// A node whose webhooks and notifications come within a fraction of a second.
pub(crate) async fn start(backend: Backend) -> TestApp {
    let options = NodeOptions {
        webhooks: WebhookSettings {
            retry: RetrySchedule {
                first_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(400),
                period: Duration::from_secs(120),
            },
            poll_interval: Duration::from_millis(50),
            allow_private_urls: true,
            ..WebhookSettings::DEFAULT
        },
        notifications: NotificationSettings {
            delay: Duration::from_millis(400),
        },
        ..NodeOptions::default()
    };
    TestApp::start_node(backend, options).await
}

/// Registers a receiver of `notification.due` only; answers the endpoint's path.
async fn register(app: &TestApp, receiver: &Receiver) -> String {
    let response = app
        .call(
            "POST",
            "/webhooks/endpoints",
            Some(&app.tokens.admin("ops")),
            Some(json!({ "url": receiver.url(), "event_types": ["notification.due"] })),
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    receiver.set_secret(response.json["secret"].as_str().expect("secret"));
    format!("/webhooks/endpoints/{}", response.json["id"])
}

/// (member, room) of each notification received.
fn notified(deliveries: &[Delivery]) -> Vec<(String, i64)> {
    deliveries
        .iter()
        .map(|delivery| {
            let data = &delivery.event["data"];
            (
                data["user_id"].as_str().unwrap_or_default().to_owned(),
                data["room"]["id"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

async fn assign(app: &TestApp, room: i64, admin: &str) {
    let response = app
        .call(
            "PUT",
            &format!("/chat/{room}/admins/{admin}"),
            Some(&app.tokens.admin("ops")),
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
}

/// Waits until nothing is queued for the endpoint: every event recorded so far was sent.
async fn outbox_empty(app: &TestApp, endpoint: &str) {
    let ops = app.tokens.admin("ops");
    for _ in 0..600 {
        let state = app.call("GET", endpoint, Some(&ops), None).await.json;
        if state["pending"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not drain");
}

crate::on_both_backends!(
    start = super::start;
    an_away_member_is_notified_once_per_burst,
    connected_members_and_readers_are_not_notified,
    a_member_mutes_only_its_own_notifications_of_rooms_it_sees,
    a_customer_is_notified_of_the_answer_to_its_own_question,
);

async fn an_away_member_is_notified_once_per_burst(app: TestApp) {
    let receiver = Receiver::start(Mode::Accept).await;
    register(&app, &receiver).await;
    let room = app.room("N-1", "u1").await;
    assign(&app, room, "staff-a").await;
    let client = app.tokens.client("u1");
    for text in ["parcel?", "it is late", "hello?"] {
        app.send(room, &client, text).await;
    }

    let got = receiver.wait_for_accepted(1, PATIENCE).await;
    assert!(got[0].verified);
    assert_eq!(got[0].event["type"], "notification.due");
    let data = &got[0].event["data"];
    assert_eq!(
        data["user_id"], "staff-a",
        "the sender is not notified: {data}"
    );
    assert_eq!(data["unread"], 3);
    assert_eq!(data["message"]["content"], "hello?");
    assert_eq!(data["room"]["id"], room);
    let newest_seq = &data["message"]["seq"];
    assert!(
        got[0].id.starts_with(&format!("ntf_{room}_{newest_seq}_")),
        "{}",
        got[0].id
    );

    // A later burst is notified again, with everything still unread.
    app.send(room, &client, "anyone?").await;
    let got = receiver.wait_for_accepted(2, PATIENCE).await;
    assert_eq!(got[1].event["data"]["unread"], 4);
    assert_eq!(notified(&got), vec![("staff-a".to_owned(), room); 2]);
}

async fn connected_members_and_readers_are_not_notified(app: TestApp) {
    let receiver = Receiver::start(Mode::Accept).await;
    let endpoint = register(&app, &receiver).await;
    let room = app.room("N-2", "u2").await;
    for admin in ["watching", "streaming", "reader", "muted", "away"] {
        assign(&app, room, admin).await;
    }
    let muted = app
        .call(
            "PUT",
            &format!("/chat/{room}/notifications"),
            Some(&app.tokens.admin("muted")),
            Some(json!({ "muted": true })),
        )
        .await;
    assert_eq!(muted.json, json!({ "room_id": room, "muted": true }));
    let mut watching = app.ws(room, &app.tokens.admin("watching")).await;
    watching.handshake().await;
    let mut streaming = app
        .ws_with("/ws/", &app.tokens.admin("streaming"), Carrier::Header)
        .await;
    assert_eq!(streaming.next_json().await["type"], "stream_ready");

    app.send(room, &app.tokens.client("u2"), "where is it?")
        .await;
    let read = app
        .call(
            "POST",
            &format!("/chat/{room}/read"),
            Some(&app.tokens.admin("reader")),
            Some(json!({})),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");

    // A later burst in another room is fired after every row of the first: once it arrives
    // and nothing is queued any more, the first room's notifications are all decided.
    let later = app.room("N-3", "u3").await;
    assign(&app, later, "away").await;
    app.send(later, &app.tokens.client("u3"), "hi").await;
    receiver
        .wait_until(PATIENCE, |deliveries| {
            notified(deliveries).contains(&("away".to_owned(), later))
        })
        .await;
    outbox_empty(&app, &endpoint).await;
    let mut got = notified(&receiver.accepted());
    got.sort();
    assert_eq!(
        got,
        [("away".to_owned(), room), ("away".to_owned(), later)],
        "{:?}",
        receiver
            .accepted()
            .iter()
            .map(|delivery| delivery.event.clone())
            .collect::<Vec<Value>>()
    );
    drop((watching, streaming));
}

async fn a_member_mutes_only_its_own_notifications_of_rooms_it_sees(app: TestApp) {
    let room = app.room("M-1", "u1").await;
    let path = format!("/chat/{room}/notifications");
    let customer = app.tokens.client("u1");
    let admin = app.tokens.admin("staff");
    let get = |token: String| {
        let (app, path) = (&app, &path);
        async move { app.call("GET", path, Some(&token), None).await }
    };
    assert_eq!(get(customer.clone()).await.json["muted"], false);
    let put = app
        .call(
            "PUT",
            &path,
            Some(&customer),
            Some(json!({ "muted": true })),
        )
        .await;
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(get(customer.clone()).await.json["muted"], true);
    // The admin's setting is its own.
    assert_eq!(get(admin.clone()).await.json["muted"], false);
    let unmuted = app
        .call(
            "PUT",
            &path,
            Some(&customer),
            Some(json!({ "muted": false })),
        )
        .await;
    assert_eq!(unmuted.json["muted"], false);

    get(app.tokens.client("stranger"))
        .await
        .assert_error(404, "not_found");
    app.call(
        "PUT",
        &path,
        Some(&app.tokens.service()),
        Some(json!({ "muted": true })),
    )
    .await
    .assert_error(403, "forbidden");
    for body in [
        json!({}),
        json!({ "muted": "yes" }),
        json!({ "muted": true, "x": 1 }),
    ] {
        app.call("PUT", &path, Some(&customer), Some(body))
            .await
            .assert_error(422, "validation_failed");
    }
}

/// The customer's question begins the burst (and moves its own read marker to it); staff's
/// answer comes within the delay, into the same burst. The customer, gone meanwhile, is told
/// of the answer: having read its own message is not having read the reply.
async fn a_customer_is_notified_of_the_answer_to_its_own_question(app: TestApp) {
    let receiver = Receiver::start(Mode::Accept).await;
    register(&app, &receiver).await;
    let room = app.room("Q-1", "asker").await;
    app.send(room, &app.tokens.client("asker"), "Is it in stock?")
        .await;
    let answer = app
        .send(room, &app.tokens.admin("staff-q"), "Yes, two left")
        .await;
    let got = receiver.wait_for_accepted(1, PATIENCE).await;
    let data = &got[0].event["data"];
    assert_eq!(data["user_id"], "asker", "{data}");
    assert_eq!(data["unread"], 1, "{data}");
    assert_eq!(data["message"]["seq"], answer.seq, "{data}");
}
