//! At capacity a node refuses new sends at once instead of queueing them: once messages have
//! waited `SEND_QUEUE_BUDGET_MS` for their database batch, REST answers 503 `overloaded` with
//! `Retry-After` and the socket an `overloaded` error frame with `retry_after`; nothing refused
//! is stored, everything accepted is, and a retry with the same `client_id` goes through.

use std::time::Duration;

use diesel::RunQueryDsl;
use serde_json::json;

use crate::support::{Backend, NodeOptions, TestApp};

#[actix_web::test]
async fn a_writer_behind_its_budget_refuses_new_sends_until_it_catches_up() {
    const BUDGET: Duration = Duration::from_millis(50);
    let app = TestApp::start_node(
        Backend::Postgres,
        NodeOptions {
            send_queue_budget: BUDGET,
            ..NodeOptions::default()
        },
    )
    .await;
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let path = format!("/chat/{room}/messages");
    let mut sender = app.ws(room, &client).await;
    sender.handshake().await;
    let mut other = app.ws(room, &app.tokens.admin("staff")).await;
    other.handshake().await;

    // The database stalls the writer: the room's row is locked by this test.
    let mut locker = app.postgres();
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .expect("begin");
    diesel::sql_query(format!(
        "SELECT id FROM chat_rooms WHERE id = {room} FOR UPDATE"
    ))
    .execute(&mut locker)
    .expect("lock the room");
    sender.say("a", "first").await;
    // The writer reaches Postgres and waits on the lock: that is the event to await.
    app.lock_waited_on("chat_rooms").await;
    let post = |content: &str, client_id: &str| {
        let body = json!({ "content": content, "client_id": client_id });
        app.call("POST", &path, Some(&client), Some(body))
    };
    // Queued behind the stuck batch: accepted (nothing had waited yet), answered later.
    let queued = post("second", "b");
    let refused = async {
        // Time itself is the condition here: the stuck batch outlasts the budget.
        tokio::time::sleep(BUDGET * 3).await;
        let over_rest = post("third", "c").await;
        other.say("d", "from staff").await;
        let over_ws = other.next_of("error").await;
        diesel::sql_query("COMMIT")
            .execute(&mut locker)
            .expect("release the room");
        (over_rest, over_ws)
    };
    let (queued, (over_rest, over_ws)) = futures_util::join!(queued, refused);
    over_rest.assert_error(503, "overloaded");
    assert!(
        over_rest.headers.get("retry-after").is_some(),
        "{over_rest:?}"
    );
    assert_eq!(
        (over_ws["code"].as_str(), over_ws["ref"].as_str()),
        (Some("overloaded"), Some("d"))
    );
    assert!(
        over_ws["retry_after"].as_f64().is_some_and(|s| s > 0.0),
        "{over_ws}"
    );
    assert_eq!(sender.next_of("ack").await["client_id"], "a");
    assert_eq!(queued.status, 201, "{queued:?}");

    // Caught up: the refused message goes through on retry, after the accepted ones.
    let retried = post("third", "c").await;
    assert_eq!(retried.status, 201, "{retried:?}");
    let history = app.history(room, &client).await;
    let stored: Vec<_> = history
        .iter()
        .map(|message| (message.seq, message.client_id.as_deref()))
        .collect();
    assert_eq!(stored, [(1, Some("a")), (2, Some("b")), (3, Some("c"))]);
}
