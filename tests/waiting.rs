//! Who a room waits for (issue 28, point 1): kept by the message write path, cleared by a close,
//! carried by the room detail and the room list.

use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(a_room_waits_for_whoever_did_not_speak_last);

/// The room's `waiting` as the room detail and the room list show it (they must agree).
async fn waiting(app: &TestApp, room: i64, admin: &str) -> Value {
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(admin), None)
        .await;
    assert_eq!(detail.status, 200, "{detail:?}");
    let listed = app.call("GET", "/chat?limit=100", Some(admin), None).await;
    let in_list = listed.json["items"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|item| item["id"] == room)
        .map(|item| item["waiting"].clone())
        .expect("the room is listed");
    assert_eq!(in_list, detail.json["waiting"], "list and detail agree");
    detail.json["waiting"].clone()
}

fn expect(waiting: &Value, party: &str, since: &str) {
    assert_eq!(waiting["for"], party, "{waiting}");
    assert_eq!(waiting["since"], since, "{waiting}");
}

/// Nothing said: no one waits. The customer writes: staff are waited for, since that first
/// message (not the customer's later ones). Staff answer: the customer is, since the answer.
/// Closing ends the wait; a reopened room waits for no one until the next message.
async fn a_room_waits_for_whoever_did_not_speak_last(app: TestApp) {
    let room = app.room("W-1", "cust-w").await;
    let customer = app.tokens.client("cust-w");
    let admin = app.tokens.admin("staff-w");
    assert!(
        waiting(&app, room, &admin).await.is_null(),
        "nothing said yet"
    );

    let first = app.send(room, &customer, "Where is my parcel?").await;
    let since = first
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    expect(&waiting(&app, room, &admin).await, "staff", &since);
    app.send(room, &customer, "Hello?").await;
    expect(&waiting(&app, room, &admin).await, "staff", &since);

    let answer = app.send(room, &admin, "On its way").await;
    let answered = answer
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    expect(&waiting(&app, room, &admin).await, "customer", &answered);
    app.send(room, &admin, "Tracking: 123").await;
    expect(&waiting(&app, room, &admin).await, "customer", &answered);

    let again = app.send(room, &customer, "Thanks, one more thing").await;
    let asked = again
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    expect(&waiting(&app, room, &admin).await, "staff", &asked);

    let closed = app
        .call("POST", &format!("/chat/{room}/close"), Some(&admin), None)
        .await;
    assert_eq!(closed.status, 200, "{closed:?}");
    assert!(closed.json["waiting"].is_null(), "{closed:?}");
    assert!(waiting(&app, room, &admin).await.is_null(), "closed");
    let reopened = app
        .call("POST", &format!("/chat/{room}/reopen"), Some(&admin), None)
        .await;
    assert_eq!(reopened.status, 200, "{reopened:?}");
    assert!(waiting(&app, room, &admin).await.is_null(), "reopened");
    let after = app.send(room, &customer, "Back again").await;
    let after = after
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    expect(&waiting(&app, room, &admin).await, "staff", &after);
}

/// The state is the database's, not a node's memory: another node of the cluster shows the
/// wait the first one recorded.
#[actix_web::test]
async fn another_node_sees_who_waits() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("W-2", "cust-r").await;
    let customer = app.tokens.client("cust-r");
    let admin = app.tokens.admin("staff-r");
    let asked = app.send(room, &customer, "Is it shipped?").await;
    let since = asked
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let peer = app.start_peer(NodeOptions::default()).await;
    expect(&waiting(&peer, room, &admin).await, "staff", &since);
}
