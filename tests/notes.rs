//! Internal notes (issue 28, point 3): staff write them in a room's timeline for staff; the
//! room's customer sees none of it through any API — live, history, detail, preview, resume,
//! the user stream, unread counts, search, notifications — only a gap in `seq`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::ws::Carrier;

/// A word only the notes hold: any trace of it in what a customer gets is a leak.
const SECRET: &str = "zanzibarsecret";

const PATIENCE: Duration = Duration::from_secs(30);

crate::on_both_backends!(
    start = crate::notifications::start;
    a_customer_sees_no_note_through_any_api,
    notes_are_edited_and_deleted_like_messages_out_of_the_customers_sight,
    only_staff_write_notes_and_only_text,
    a_note_is_not_an_answer,
);

/// Writes a note as `admin` over REST; the stored note.
async fn note(app: &TestApp, room: i64, admin: &str, content: &str) -> Value {
    let response = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(admin),
            Some(json!({ "content": content, "note": true })),
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(
        response.json["note"], true,
        "marked as a note: {response:?}"
    );
    response.json
}

/// The next frame of the room's timeline on a customer's socket, checked for leaks.
async fn next_entry(socket: &mut crate::support::ws::WsClient) -> Value {
    let frame = socket.next_entry().await;
    assert_no_secret("the live socket", &frame);
    frame
}

fn assert_no_secret(what: &str, value: &impl ToString) {
    let text = value.to_string();
    assert!(!text.contains(SECRET), "{what} shows a note: {text}");
}

/// Live on the room socket, in history and the room detail, in the room list's preview and
/// unread count, on resume, on the user stream, in search and in the customer's notification:
/// nothing of the notes. Staff see them, marked, everywhere; webhooks send them only as
/// `note.created`, never as `message.created`.
async fn a_customer_sees_no_note_through_any_api(app: TestApp) {
    let receiver = app.webhook_receiver(&[]).await;

    let room = app.room("NOTE-1", "cust-n").await;
    let customer = app.tokens.client("cust-n");
    let admin = app.tokens.admin("staff-n");
    let mut live = app.ws(room, &customer).await;
    live.handshake().await;
    let (mut stream, _) = {
        let mut stream = app.ws_with("/ws/", &customer, Carrier::Header).await;
        let ready = stream.next_of("stream_ready").await;
        (stream, ready)
    };

    let asked = app.send(room, &customer, "Where is my parcel?").await;
    let first_note = note(&app, room, &admin, &format!("{SECRET}: VIP, refund ok")).await;
    let answer = app.send(room, &admin, "We will refund you").await;
    // The room's newest entry is a note: previews must still show the answer.
    let last_note = note(&app, room, &admin, &format!("{SECRET} called them")).await;
    assert_eq!(first_note["seq"], asked.seq + 1);
    assert_eq!(answer.seq, asked.seq + 2);

    // Live: the answer comes right after the customer's own message, the note's seq skipped
    // without a frame (and without waiting for it: the next timeline frame is the answer).
    let own = next_entry(&mut live).await;
    assert_eq!(own["message"]["seq"], asked.seq, "{own}");
    let next = next_entry(&mut live).await;
    assert_eq!(next["message"]["seq"], answer.seq, "{next}");
    live.round_trip().await;

    let history = app.history(room, &customer).await;
    let seqs: Vec<i64> = history.iter().map(|message| message.seq).collect();
    assert_eq!(seqs, [asked.seq, answer.seq], "history leaves notes out");
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&customer), None)
        .await;
    assert_no_secret("the room detail", &detail.json);
    assert_eq!(detail.json["unread"], 1, "only the answer is unread");

    let listed = app.call("GET", "/chat", Some(&customer), None).await;
    assert_no_secret("the room list", &listed.json);
    let item = &listed.json["items"][0];
    assert_eq!(item["last_message"]["seq"], answer.seq, "{item}");
    assert_eq!(item["unread"], 1, "{item}");

    let mut resumed = app.resume(room, 0, &customer).await;
    let replayed = resumed.until_caught_up().await;
    assert_no_secret("a resume", &Value::Array(replayed.clone()));
    let replayed_seqs: Vec<i64> = replayed
        .iter()
        .flat_map(|frame| frame["messages"].as_array().cloned().unwrap_or_default())
        .filter_map(|message| message["seq"].as_i64())
        .collect();
    assert_eq!(replayed_seqs, [asked.seq, answer.seq]);

    // The user stream: the room's newest state reaches the customer without the notes.
    let last_seq = last_note["seq"].as_i64().expect("seq");
    loop {
        let frame = stream.next_json().await;
        assert_no_secret("the user stream", &frame);
        let newest = frame["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .rfind(|entry| entry["room"]["id"] == room)
            .cloned();
        if let Some(entry) = newest.filter(|entry| entry["room"]["last_seq"] == last_seq) {
            assert_eq!(entry["room"]["last_message"]["seq"], answer.seq, "{entry}");
            assert_eq!(entry["room"]["unread"], 1, "{entry}");
            break;
        }
    }

    let search = |token: String| {
        let app = &app;
        async move {
            app.call(
                "GET",
                &format!("/search/messages?q={SECRET}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let customers = search(customer.clone()).await;
    assert_eq!(customers.status, 200, "{customers:?}");
    assert_eq!(customers.json["items"].as_array().map(Vec::len), Some(0));
    let staffs = search(admin.clone()).await;
    let hits = staffs.json["items"].as_array().expect("items");
    assert_eq!(hits.len(), 2, "staff find notes: {staffs:?}");
    assert!(
        hits.iter().all(|hit| hit["message"]["note"] == true),
        "{hits:?}"
    );

    // Staff see the notes in place, marked.
    let staff_history = app.history(room, &admin).await;
    let notes: Vec<i64> = staff_history
        .iter()
        .filter(|message| message.note)
        .map(|message| message.seq)
        .collect();
    assert_eq!(notes, [answer.seq - 1, last_seq]);

    // The customer is away now: its notification of staff's next answer quotes the answer,
    // never the note written after it.
    live.close().await;
    resumed.close().await;
    stream.close().await;
    let away = app.send(room, &admin, "Refund sent").await;
    note(&app, room, &admin, &format!("{SECRET} refund done")).await;
    receiver
        .wait_until(PATIENCE, |deliveries| {
            deliveries.iter().any(|delivery| {
                delivery.event["type"] == "notification.due"
                    && delivery.event["data"]["user_id"] == "cust-n"
            }) && deliveries
                .iter()
                .filter(|delivery| delivery.event["type"] == "note.created")
                .count()
                == 3
        })
        .await;
    let notified = receiver
        .deliveries()
        .into_iter()
        .find(|delivery| delivery.event["type"] == "notification.due")
        .expect("notified");
    assert_eq!(notified.event["data"]["message"]["seq"], away.seq);
    for delivery in receiver.deliveries() {
        let kind = delivery.event["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if kind == "note.created" {
            assert_eq!(delivery.event["data"]["message"]["note"], true);
        } else {
            assert_no_secret(&kind, &delivery.event);
        }
    }
}

/// A note is edited by its writer and deleted by any admin, each change in the timeline for
/// staff; the customer's session passes over every one of those seqs and keeps receiving
/// messages in order; a customer cannot name a note (404, like a message of another room).
async fn notes_are_edited_and_deleted_like_messages_out_of_the_customers_sight(app: TestApp) {
    let room = app.room("NOTE-2", "cust-e").await;
    let customer = app.tokens.client("cust-e");
    let writer = app.tokens.admin("staff-e");
    let other_admin = app.tokens.admin("staff-f");
    let mut live = app.ws(room, &customer).await;
    live.handshake().await;
    let mut staff_live = app.ws(room, &other_admin).await;
    staff_live.handshake().await;

    let written = note(&app, room, &writer, "first draft").await;
    let id = written["id"].as_i64().expect("id");
    let path = format!("/chat/{room}/messages/{id}");
    let edited = app
        .call(
            "PATCH",
            &path,
            Some(&writer),
            Some(json!({ "content": format!("{SECRET} second draft") })),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.json["note"], true, "{edited:?}");
    for token in [&customer] {
        app.call("DELETE", &path, Some(token), None)
            .await
            .assert_error(404, "not_found");
        app.call(
            "PATCH",
            &path,
            Some(token),
            Some(json!({ "content": "mine now" })),
        )
        .await
        .assert_error(404, "not_found");
    }
    let deleted = app.call("DELETE", &path, Some(&other_admin), None).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.json["note"], true, "{deleted:?}");

    // Staff got the note, its edit and its deletion live.
    let written_live = staff_live.next_entry().await;
    assert_eq!(written_live["message"]["note"], true, "{written_live}");
    let change = staff_live.next_entry().await;
    assert_eq!(change["type"], "message_edited", "{change}");
    assert_eq!(change["message"]["note"], true, "{change}");
    let change = staff_live.next_entry().await;
    assert_eq!(change["type"], "message_deleted", "{change}");
    assert_eq!(change["message"]["note"], true, "{change}");

    // The customer got none of the three, and the next message comes straight after.
    let answer = app.send(room, &writer, "Hello!").await;
    let next = next_entry(&mut live).await;
    assert_eq!(next["type"], "message", "{next}");
    assert_eq!(next["message"]["seq"], answer.seq, "{next}");
    let mut resumed = app.resume(room, 0, &customer).await;
    let replayed = resumed.until_caught_up().await;
    assert!(
        replayed
            .iter()
            .all(|frame| frame["type"] == "ready" || frame["type"] == "history"),
        "no event about a note on resume: {replayed:?}"
    );
    assert_no_secret("a resume", &Value::Array(replayed));
}

/// A customer cannot write a note (403, over REST and WebSocket); a note carries no files
/// (422); nothing was stored by either.
async fn only_staff_write_notes_and_only_text(app: TestApp) {
    let room = app.room("NOTE-3", "cust-w").await;
    let customer = app.tokens.client("cust-w");
    let admin = app.tokens.admin("staff-w");
    let path = format!("/chat/{room}/messages");
    app.call(
        "POST",
        &path,
        Some(&customer),
        Some(json!({ "content": "let me in", "note": true })),
    )
    .await
    .assert_error(403, "forbidden");
    app.call(
        "POST",
        &path,
        Some(&admin),
        Some(json!({ "content": "with a file", "note": true, "attachment_ids": [1] })),
    )
    .await
    .assert_error(422, "validation_failed");
    app.call(
        "POST",
        &path,
        Some(&admin),
        Some(json!({ "content": "not a flag", "note": "yes" })),
    )
    .await
    .assert_error(422, "validation_failed");

    let mut socket = app.ws(room, &customer).await;
    socket.handshake().await;
    socket
        .send_json(json!({ "type": "message", "client_id": "n1", "content": "hi", "note": true }))
        .await;
    let refused = socket.next_of("error").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert_eq!(refused["ref"], "n1", "{refused}");
    assert!(app.history(room, &admin).await.is_empty(), "nothing stored");
}

/// The customer waits for staff until staff answer: a note in between changes nothing.
async fn a_note_is_not_an_answer(app: TestApp) {
    let room = app.room("NOTE-4", "cust-a").await;
    let customer = app.tokens.client("cust-a");
    let admin = app.tokens.admin("staff-a");
    let asked = app.send(room, &customer, "Hello?").await;
    note(&app, room, &admin, "checking the warehouse").await;
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&admin), None)
        .await;
    assert_eq!(detail.json["waiting"]["for"], "staff", "{detail:?}");
    assert_eq!(
        crate::waiting::waiting_since(&detail.json["waiting"]),
        asked.created_at
    );
    let queue = app
        .call("GET", "/chat?sort=waiting_longest", Some(&admin), None)
        .await;
    assert_eq!(queue.json["items"][0]["id"], room, "{queue:?}");
    app.send(room, &admin, "It ships today").await;
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&admin), None)
        .await;
    assert_eq!(detail.json["waiting"]["for"], "customer");
}
