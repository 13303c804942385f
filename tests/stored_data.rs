//! Data the service did not write itself: it is read strictly, never guessed at.

use crate::support::{Backend, TestApp};

/// A role or status this build does not know (written by a newer build, or by hand) fails
/// the read loudly instead of being shown as some default: a room is never reported closed,
/// nor a member a client, because its row says something else.
#[actix_web::test]
async fn unknown_stored_spellings_fail_loudly() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    app.send(room, &admin, "hello").await;
    let path = format!("/chat/{room}/");
    assert_eq!(app.call("GET", &path, Some(&admin), None).await.status, 200);

    let mut db = app.postgres();
    db.batch_execute(&format!(
        "ALTER TABLE chat_rooms DROP CONSTRAINT chat_rooms_status_check; \
         UPDATE chat_rooms SET status = 'archived' WHERE id = {room}"
    ))
    .expect("status rewritten behind the service's back");
    app.call("GET", &path, Some(&admin), None)
        .await
        .assert_error(500, "internal");

    db.batch_execute(&format!(
        "UPDATE chat_rooms SET status = 'open' WHERE id = {room}; \
         ALTER TABLE messages DROP CONSTRAINT messages_sender_role_check; \
         UPDATE messages SET sender_role = 'owner' WHERE room_id = {room}"
    ))
    .expect("role rewritten behind the service's back");
    let history = format!("/chat/{room}/messages/");
    app.call("GET", &history, Some(&admin), None)
        .await
        .assert_error(500, "internal");
}

/// A stored value that does not read back — a message's file list that is not JSON, a time
/// out of range, a dead letter's body that is not JSON — fails the read with `internal`
/// instead of being shown as no files, 1970 or `null`.
#[actix_web::test]
async fn unreadable_stored_values_fail_loudly() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-2", "u2").await;
    let admin = app.tokens.admin("staff");
    app.send(room, &admin, "hello").await;
    let history = format!("/chat/{room}/messages/");
    assert_eq!(
        app.call("GET", &history, Some(&admin), None).await.status,
        200
    );
    let mut db = app.postgres();

    db.batch_execute(&format!(
        "UPDATE messages SET attachments = '[{{\"id\": ' WHERE room_id = {room}"
    ))
    .expect("file list broken behind the service's back");
    app.call("GET", &history, Some(&admin), None)
        .await
        .assert_error(500, "internal");

    let detail = format!("/chat/{room}/");
    db.batch_execute(&format!(
        "UPDATE messages SET attachments = NULL WHERE room_id = {room}"
    ))
    .expect("file list mended");
    assert_eq!(
        app.call("GET", &detail, Some(&admin), None).await.status,
        200
    );
    db.batch_execute(&format!(
        "UPDATE chat_rooms SET created_at = {} WHERE id = {room}",
        i64::MAX
    ))
    .expect("time moved out of range behind the service's back");
    app.call("GET", &detail, Some(&admin), None)
        .await
        .assert_error(500, "internal");

    let service = app.tokens.service();
    let endpoint = app
        .call(
            "POST",
            "/webhooks/endpoints",
            Some(&service),
            Some(serde_json::json!({ "url": "https://hooks.example.com/x" })),
        )
        .await;
    assert_eq!(endpoint.status, 201, "{endpoint:?}");
    let endpoint = endpoint.json["id"].as_i64().expect("an endpoint id");
    let dead_letters = format!("/webhooks/endpoints/{endpoint}/dead-letters");
    db.batch_execute(&format!(
        "INSERT INTO webhook_outbox (endpoint_id, room_id, event_id, event_type, body, \
         created_at, attempts, next_attempt_at, dead_at) \
         VALUES ({endpoint}, {room}, 'evt-1', 'message.created', '{{\"id\": \"evt-1\"}}', \
         1, 9, 1, 2)"
    ))
    .expect("a dead letter recorded");
    let listed = app.call("GET", &dead_letters, Some(&service), None).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json["items"][0]["event"]["id"], "evt-1");
    db.batch_execute(&format!(
        "UPDATE webhook_outbox SET body = 'not json' WHERE endpoint_id = {endpoint}"
    ))
    .expect("dead letter body broken behind the service's back");
    app.call("GET", &dead_letters, Some(&service), None)
        .await
        .assert_error(500, "internal");
}
