//! A database outage: sends answer `unavailable`, the connection stays open, nothing is acked
//! that was not stored, and a retry with the same `client_id` succeeds once the database is
//! back.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::support::{Backend, NodeOptions, TestApp, postgres_admin_url};

fn admin_sql(sql: &str) {
    let mut conn = PgConnection::establish(&postgres_admin_url()).expect("admin connection");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

#[actix_web::test]
async fn database_outage_answers_unavailable_and_keeps_the_connection() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let role = format!(
        "rc_outage_{}_{room}_{}",
        std::process::id(),
        app.addr.port()
    );
    admin_sql(&format!("CREATE ROLE {role} LOGIN SUPERUSER"));
    let node = app
        .start_peer_as(
            Some(&role),
            NodeOptions {
                acquire_timeout: Duration::from_millis(500),
                ..NodeOptions::default()
            },
        )
        .await;
    let mut ws = node.ws(room, &node.tokens.client("u1")).await;
    ws.handshake().await;

    // The node loses the database: it may not log in, and its connections are cut.
    admin_sql(&format!("ALTER ROLE {role} NOLOGIN"));
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    ws.say("during", "is anyone there?").await;
    let error = ws.next_of("error").await;
    assert_eq!(error["code"], "unavailable", "{error}");
    assert_eq!(error["ref"], "during");
    ws.round_trip().await;
    let ready = node.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(
        (&ready.json["database"], &ready.json["broker"]),
        (&json!("down"), &json!("ok")),
        "{ready:?}"
    );
    assert_eq!(ready.json["error"]["code"], "unavailable", "{ready:?}");

    // The database returns. Connections that died in the outage are dropped as they fail, so
    // a client retries (with the same client_id) until acked, as the protocol asks.
    admin_sql(&format!("ALTER ROLE {role} LOGIN"));
    // Reads heal too: each dead connection is dropped by the call it fails.
    let mut ready = false;
    for _ in 0..10 {
        if node.call("GET", "/readyz", None, None).await.status == 200 {
            ready = true;
            break;
        }
    }
    assert!(ready, "the node is ready again once the database is back");
    let mut ack = None;
    for _ in 0..10 {
        ws.say("during", "is anyone there?").await;
        let answer = ws.next_json().await;
        match answer["type"].as_str() {
            Some("ack") => {
                ack = Some(answer);
                break;
            }
            Some("error") => assert_eq!(answer["code"], "unavailable", "{answer}"),
            _ => panic!("unexpected frame {answer}"),
        }
    }
    let ack = ack.expect("acked once the database is back");
    assert_eq!(ack["message"]["seq"], 1);
    let history = app.history(room, &app.tokens.client("u1")).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].client_id.as_deref(), Some("during"));

    drop(ws);
    node.control.abort();
    drop(node);
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    let _ = std::panic::catch_unwind(|| admin_sql(&format!("DROP ROLE IF EXISTS {role}")));
}

/// With every pooled connection busy, a request waits `DB_TIMEOUT_SECS` for one and then
/// answers 503 `unavailable`, instead of queueing without bound; the busy request still
/// completes.
#[actix_web::test]
async fn a_busy_pool_answers_unavailable_after_the_wait_limit() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let node = app
        .start_peer(NodeOptions {
            pool_size: 1,
            acquire_timeout: Duration::from_millis(500),
            ..NodeOptions::default()
        })
        .await;
    let token = node.tokens.client("u1");
    let path = format!("/chat/{room}");
    assert_eq!(
        node.call("GET", &path, Some(&token), None).await.status,
        200
    );

    // Hold the node's one connection: a read stuck behind a table lock this test holds.
    let mut locker = app.postgres();
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .expect("begin");
    diesel::sql_query("LOCK TABLE chat_rooms IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .expect("lock");
    let stuck = node.call("GET", &path, Some(&token), None);
    let refused = async {
        // The first request reaches Postgres and waits on the lock: that is the event.
        app.lock_waited_on("chat_rooms").await;
        let answer = node.call("GET", &path, Some(&token), None).await;
        diesel::sql_query("COMMIT")
            .execute(&mut locker)
            .expect("commit");
        answer
    };
    let (stuck, refused) = futures_util::join!(stuck, refused);
    refused.assert_error(503, "unavailable");
    assert_eq!(
        stuck.status, 200,
        "the request holding the connection completes"
    );
}

/// Connections killed on the server side (`pg_terminate_backend`, a failover) are found and
/// replaced while traffic goes on: the first call to meet a dead connection fails, the others
/// are checked before use, so REST calls and WebSocket upgrades alike see one failure, then
/// normal service.
#[actix_web::test]
async fn the_pool_heals_under_steady_traffic() {
    const POOL: u32 = 4;
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let role = format!("rc_heal_{}_{room}_{}", std::process::id(), app.addr.port());
    admin_sql(&format!("CREATE ROLE {role} LOGIN SUPERUSER"));
    let node = app
        .start_peer_as(
            Some(&role),
            NodeOptions {
                pool_size: POOL,
                ..NodeOptions::default()
            },
        )
        .await;
    let token = node.tokens.client("u1");
    let path = format!("/chat/{room}");
    // Warm the pool: concurrent calls open every connection.
    let warm = (0..POOL * 2).map(|_| node.call("GET", &path, Some(&token), None));
    for response in futures_util::future::join_all(warm).await {
        assert_eq!(response.status, 200, "{response:?}");
    }

    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    let mut statuses = Vec::new();
    for call in 0..30 {
        let status = if call % 2 == 0 {
            node.call("GET", &path, Some(&token), None).await.status
        } else {
            node.ws_status(&format!("/ws/chat/{room}"), &token).await
        };
        statuses.push(status);
    }
    let failed = statuses.iter().filter(|status| **status == 503).count();
    assert!(
        failed <= 1,
        "{failed} calls failed for {POOL} dead connections: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .skip(1)
            .all(|status| *status == 200 || *status == 101),
        "{statuses:?}"
    );

    node.control.abort();
    drop(node);
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    let _ = std::panic::catch_unwind(|| admin_sql(&format!("DROP ROLE IF EXISTS {role}")));
}
