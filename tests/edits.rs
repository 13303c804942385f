//! Editing and deleting messages: over both transports, live to every session, replayed on
//! resume, revisions for admins only, and deleted words on no read path.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    a_message_is_edited_and_deleted_live_and_on_resume,
    an_edit_retried_with_its_client_id_changes_nothing_more,
);

/// What an admin reads at a revisions path: (reason, content, changed_by) of each.
async fn revisions_of(app: &TestApp, path: &str) -> Vec<(Value, Value, Value)> {
    let revisions = app
        .call("GET", path, Some(&app.tokens.admin("staff")), None)
        .await;
    assert_eq!(revisions.status, 200, "{revisions:?}");
    let items = revisions.json.as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|r| {
            (
                r["reason"].clone(),
                r["content"].clone(),
                r["changed_by"].clone(),
            )
        })
        .collect()
}

/// The next frame of `kind`, skipping presence, typing and read frames (nothing else may come
/// first).
async fn next_kind(ws: &mut WsClient, kind: &str) -> Value {
    loop {
        let frame = ws.next_json().await;
        match frame["type"].as_str() {
            Some(found) if found == kind => return frame,
            Some("presence" | "typing" | "read") => {}
            _ => panic!("expected {kind}, got {frame}"),
        }
    }
}

async fn a_message_is_edited_and_deleted_live_and_on_resume(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let admin = app.tokens.admin("staff");
    let mut sender = app.ws(room, &client).await;
    sender.handshake().await;
    let mut watcher = app.ws(room, &admin).await;
    watcher.handshake().await;

    sender.say("m-1", "helo").await;
    let message = next_kind(&mut sender, "ack").await["message"].clone();
    let id = message["id"].as_i64().expect("id");
    next_kind(&mut watcher, "message").await;

    // The sender edits over the socket: answered `updated`, and everyone gets the timeline
    // frame with the edit's own seq.
    sender
        .send_json(
            json!({ "type": "edit", "client_id": "e-1", "message_id": id, "content": "hello" }),
        )
        .await;
    let edited = next_kind(&mut watcher, "message_edited").await;
    assert_eq!(edited["seq"], 2);
    assert_eq!(edited["message"]["seq"], 1, "the message keeps its place");
    assert_eq!(edited["message"]["content"], "hello");
    assert!(edited["message"]["edited_at"].is_string(), "{edited}");
    let mut answered = Vec::new();
    while answered.len() < 2 {
        let frame = sender.next_json().await;
        match frame["type"].as_str() {
            Some("updated" | "message_edited") => answered.push(frame),
            Some("presence" | "typing" | "read") => {}
            _ => panic!("unexpected {frame}"),
        }
    }
    let updated = answered
        .iter()
        .find(|frame| frame["type"] == "updated")
        .expect("updated");
    assert_eq!(updated["client_id"], "e-1");
    assert_eq!(updated["message"]["content"], "hello");

    // An admin deletes it over REST (moderation): a tombstone for everyone.
    let deleted = app
        .call(
            "DELETE",
            &format!("/chat/{room}/messages/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.json["content"], "");
    assert_eq!(deleted.json["deleted_by"], "staff");
    for ws in [&mut sender, &mut watcher] {
        let frame = next_kind(ws, "message_deleted").await;
        assert_eq!(frame["seq"], 3);
        assert_eq!(frame["message"]["content"], "");
        assert!(frame["message"]["deleted_at"].is_string(), "{frame}");
    }

    // Admins read every replaced word; clients may not.
    let revisions_path = format!("/chat/{room}/messages/{id}/revisions");
    let kept = revisions_of(&app, &revisions_path).await;
    assert_eq!(
        kept,
        vec![
            (json!("edited"), json!("helo"), json!("u1")),
            (json!("deleted"), json!("hello"), json!("staff")),
        ]
    );
    app.call("GET", &revisions_path, Some(&client), None)
        .await
        .assert_error(403, "forbidden");

    // A client resuming from before it all replays the edit and the delete in order — and no
    // read path carries the deleted words any more.
    let replayed = app.resume(room, 0, &client).await.until_caught_up().await;
    let kinds: Vec<&str> = replayed
        .iter()
        .filter_map(|frame| frame["type"].as_str())
        .filter(|kind| !matches!(*kind, "presence" | "typing" | "read"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "ready",
            "history",
            "message_edited",
            "message_deleted",
            "history"
        ]
    );
    let history = app.history(room, &client).await;
    for text in [
        serde_json::to_string(&replayed).unwrap_or_default(),
        serde_json::to_string(&history).unwrap_or_default(),
    ] {
        assert!(
            !text.contains("hello") && !text.contains("helo"),
            "deleted words on a read path: {text}"
        );
    }
}

async fn an_edit_retried_with_its_client_id_changes_nothing_more(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let id = app.send(room, &client, "first words").await.id;
    let path = format!("/chat/{room}/messages/{id}");
    let edit = |content: &str| json!({ "content": content, "client_id": "e-1" });
    let first = app
        .call("PATCH", &path, Some(&client), Some(edit("second words")))
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    // The retry names other words by mistake: it is still the same edit, applied once.
    let retry = app
        .call("PATCH", &path, Some(&client), Some(edit("third words")))
        .await;
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.json["content"], "second words");
    let revisions = app
        .call(
            "GET",
            &format!("{path}/revisions"),
            Some(&app.tokens.admin("staff")),
            None,
        )
        .await;
    assert_eq!(revisions.json.as_array().map(Vec::len), Some(1));
    let ready = {
        let mut ws = app.ws(room, &client).await;
        ws.next_json().await
    };
    assert_eq!(
        ready["last_seq"], 2,
        "one message and one edit in the timeline"
    );
}

/// With `KEEP_DELETED_CONTENT=false` a delete erases the words from the revisions too; who
/// changed the message and when stay for admins.
#[actix_web::test]
async fn without_retention_a_delete_erases_the_words_from_the_revisions() {
    let mut options = NodeOptions::default();
    options.limits.keep_deleted_content = false;
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let id = app.send(room, &client, "my address is …").await.id;
    let path = format!("/chat/{room}/messages/{id}");
    let body = json!({ "content": "never mind" });
    let edited = app.call("PATCH", &path, Some(&client), Some(body)).await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(
        app.call("DELETE", &path, Some(&client), None).await.status,
        200
    );
    let kept = revisions_of(&app, &format!("{path}/revisions")).await;
    assert_eq!(
        kept,
        vec![
            (json!("edited"), json!(""), json!("u1")),
            (json!("deleted"), json!(""), json!("u1")),
        ]
    );
}

/// A message id the room does not hold, or one that is not a number, is a 404 that says it
/// is the message (not the room) that was not found.
#[actix_web::test]
async fn an_unknown_message_is_named_in_the_404() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let body = Some(json!({ "content": "hello" }));
    for path in [
        format!("/chat/{room}/messages/4242"),
        format!("/chat/{room}/messages/not-a-number"),
    ] {
        let answer = app.call("PATCH", &path, Some(&client), body.clone()).await;
        answer.assert_error(404, "not_found");
        let said = answer.json["error"]["message"].as_str().unwrap_or_default();
        assert!(said.contains("message"), "{path}: {said}");
    }
}
