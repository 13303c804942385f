//! `rediss://`: nodes reach a managed Redis over TLS, and refuse one whose certificate they
//! cannot verify.

use crate::support::redis::{TlsRedis, settings};
use crate::support::{Backend, NodeOptions, TestApp};

fn tls_node(redis: &TlsRedis, prefix: Option<&str>, trust: bool) -> NodeOptions {
    let mut broker = settings(&redis.url());
    broker.ca_pem = trust.then(|| redis.ca_pem.clone());
    if let Some(prefix) = prefix {
        prefix.clone_into(&mut broker.prefix);
    }
    NodeOptions {
        redis: Some(broker),
        ..NodeOptions::default()
    }
}

/// Two nodes trusting the server's authority (`REDIS_CA_FILE`) are ready and carry a
/// message from one to the other's socket.
#[actix_web::test]
async fn nodes_talk_over_rediss() {
    let redis = TlsRedis::start();
    let first = tls_node(&redis, None, true);
    let prefix = first.redis.as_ref().expect("redis").prefix.clone();
    let a = TestApp::start_node(Backend::Postgres, first).await;
    let b = a.start_peer(tls_node(&redis, Some(&prefix), true)).await;
    for node in [&a, &b] {
        let ready = crate::realtime_cluster::readiness_becomes(node, 200).await;
        assert_eq!(ready["broker"], "ok", "{ready}");
    }
    let room = a.room("TLS-1", "u1").await;
    let mut on_b = b.ws(room, &b.tokens.admin("staff")).await;
    on_b.handshake().await;
    a.send(room, &a.tokens.client("u1"), "over TLS").await;
    let frame = on_b.next_of("message").await;
    assert_eq!(frame["message"]["content"], "over TLS", "{frame}");
}

/// Without the authority, the server's certificate is not trusted: the node serves its own
/// rooms but is not ready, and says the broker is down — while a node started after it that
/// trusts the authority is ready.
#[actix_web::test]
async fn an_untrusted_rediss_server_leaves_the_node_not_ready() {
    let redis = TlsRedis::start();
    let untrusting = TestApp::start_node(Backend::Sqlite, tls_node(&redis, None, false)).await;
    let trusting = TestApp::start_node(Backend::Sqlite, tls_node(&redis, None, true)).await;
    crate::realtime_cluster::readiness_becomes(&trusting, 200).await;
    let degraded = untrusting.call("GET", "/readyz", None, None).await;
    assert_eq!(degraded.status, 503, "{degraded:?}");
    assert_eq!(degraded.json["broker"], "down", "{degraded:?}");
}
