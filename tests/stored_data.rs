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
