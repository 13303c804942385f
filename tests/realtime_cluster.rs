//! Several nodes sharing Postgres and Redis: everything sent anywhere arrives everywhere, once
//! and in order, also across a Redis restart.

use futures_util::future::join_all;

use crate::support::redis::{PrivateRedis, require_shared_redis, settings, shared_redis_url};
use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

pub(crate) fn redis_node(
    url: &str,
    prefix_of: Option<&room_chats_broker::RedisSettings>,
) -> NodeOptions {
    let mut redis = settings(url);
    if let Some(shared) = prefix_of {
        redis.prefix.clone_from(&shared.prefix);
    }
    NodeOptions {
        redis: Some(redis),
        ..NodeOptions::default()
    }
}

/// Reads message frames until `count` were seen; returns their seqs in arrival order.
pub(crate) async fn collect_seqs(ws: &mut WsClient, count: usize) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(count);
    while seqs.len() < count {
        let frame = ws.next_json().await;
        match frame["type"].as_str() {
            Some("message") => seqs.push(frame["message"]["seq"].as_i64().expect("seq")),
            Some("ack") => seqs.push(frame["message"]["seq"].as_i64().expect("seq")),
            Some("error") => panic!("unexpected error frame {frame}"),
            _ => {}
        }
    }
    seqs
}

#[actix_web::test]
async fn messages_cross_nodes_once_and_in_order() {
    require_shared_redis();
    let url = shared_redis_url();
    let first_options = redis_node(&url, None);
    let shared = first_options.redis.clone().expect("redis");
    let a = TestApp::start_node(Backend::Postgres, first_options).await;
    let b = a.start_peer(redis_node(&url, Some(&shared))).await;
    let room = a.room("A-1", "u1").await;

    let mut on_a = a.ws(room, &a.tokens.client("u1")).await;
    on_a.handshake().await;
    let mut on_b = b.ws(room, &b.tokens.admin("staff")).await;
    on_b.handshake().await;
    // Presence is counted across nodes.
    assert_eq!(
        on_a.next_json().await,
        serde_json::json!({ "type": "presence", "user_id": "staff", "online": true })
    );

    // Each node's client sends; REST on both nodes sends too.
    const EACH: usize = 20;
    let send_ws = async {
        for i in 0..EACH {
            on_a.say(&format!("a{i}"), "from node a").await;
        }
    };
    let rest_b = async {
        let token = b.tokens.admin("staff-rest");
        for i in 0..EACH {
            b.send(room, &token, &format!("rest via b {i}")).await;
        }
    };
    futures_util::join!(send_ws, rest_b);
    let total = 2 * EACH;
    let expected: Vec<i64> = (1..=total as i64).collect();
    assert_eq!(
        collect_seqs(&mut on_a, total).await,
        expected,
        "node a's client"
    );
    assert_eq!(
        collect_seqs(&mut on_b, total).await,
        expected,
        "node b's client"
    );
    on_b.round_trip().await;
}

#[actix_web::test]
async fn redis_restart_mid_traffic_loses_nothing() {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let first_options = redis_node(&url, None);
    let shared = first_options.redis.clone().expect("redis");
    let a = TestApp::start_node(Backend::Postgres, first_options).await;
    let b = a.start_peer(redis_node(&url, Some(&shared))).await;
    let room = a.room("A-1", "u1").await;

    let mut sender = a.ws(room, &a.tokens.client("u1")).await;
    sender.handshake().await;
    let mut receivers = Vec::new();
    for (node, user) in [(&a, "staff-a"), (&b, "staff-b"), (&b, "staff-b2")] {
        let mut ws = node.ws(room, &node.tokens.admin(user)).await;
        ws.handshake().await;
        receivers.push(ws);
    }

    let mut acked = Vec::new();
    let mut send_batch = async |sender: &mut WsClient, from: usize, count: usize| {
        for i in from..from + count {
            sender.say(&format!("m{i}"), "through the outage").await;
            let ack = sender.next_of("ack").await;
            acked.push(ack["message"]["seq"].as_i64().expect("seq"));
        }
    };
    send_batch(&mut sender, 0, 10).await;
    redis.down();
    // Sending and same-node delivery keep working while Redis is away.
    send_batch(&mut sender, 10, 10).await;
    redis.up();
    send_batch(&mut sender, 20, 10).await;

    let expected: Vec<i64> = (1..=30).collect();
    assert_eq!(acked, expected, "every send was acked, in order");
    let seen = join_all(receivers.iter_mut().map(|ws| collect_seqs(ws, 30))).await;
    for seqs in seen {
        assert_eq!(
            seqs, expected,
            "every receiver has every message once, in order"
        );
    }
}

/// Polls `/readyz` until it answers `status` (each call is an observation of the node's
/// state; the broker changes it on its own time), failing after 15 s.
pub async fn readiness_becomes(node: &TestApp, status: u16) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let ready = node.call("GET", "/readyz", None, None).await;
        if ready.status == status {
            return ready.json;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "readyz stayed {ready:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// Readiness tells the truth about the broker: a node whose Redis subscription is down
/// cannot deliver other nodes' messages, so it is not ready, and says which dependency
/// is down; it is ready again once the subscription is back.
#[actix_web::test]
async fn readiness_follows_the_broker_subscription() {
    let redis = PrivateRedis::start();
    let node = TestApp::start_node(Backend::Postgres, redis_node(&redis.url(), None)).await;
    let ready = readiness_becomes(&node, 200).await;
    assert_eq!(
        ready,
        serde_json::json!({ "status": "ok", "database": "ok", "broker": "ok" })
    );

    redis.down();
    let degraded = readiness_becomes(&node, 503).await;
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    assert_eq!(degraded["database"], "ok", "{degraded}");
    assert_eq!(degraded["broker"], "down", "{degraded}");
    assert_eq!(degraded["error"]["code"], "unavailable", "{degraded}");

    redis.up();
    readiness_becomes(&node, 200).await;
}

/// A node started while Redis is unreachable serves, but is not ready.
#[actix_web::test]
async fn a_node_without_its_broker_at_start_is_not_ready() {
    let redis = PrivateRedis::start();
    redis.down();
    let node = TestApp::start_node(Backend::Sqlite, redis_node(&redis.url(), None)).await;
    let degraded = node.call("GET", "/readyz", None, None).await;
    assert_eq!(degraded.status, 503, "{degraded:?}");
    assert_eq!(degraded.json["broker"], "down", "{degraded:?}");
    redis.up();
    readiness_becomes(&node, 200).await;
}
