//! Redis going silent under a node: a network that drops its packets without a reset, and a
//! frozen Redis. Nothing acked may stay undelivered to a connected member once the path heals
//! — not even in a quiet room where nothing more is ever said — and readiness must say the
//! node is deaf while it is.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::realtime_cluster::{collect_seqs, readiness_becomes, redis_node};
use crate::support::blackhole::Blackhole;
use crate::support::redis::{PrivateRedis, require_shared_redis, shared_redis_url};
use crate::support::ws::WsClient;
use crate::support::{Backend, TestApp};

/// How soon a dead subscription must be noticed, and how soon after the heal every acked
/// message must have reached every open socket.
const BOUND: Duration = Duration::from_secs(5);

/// How long the fault lasts: well past the detection bound, so the node is found deaf.
const FAULT: Duration = Duration::from_secs(7);

/// The address of a `redis://host:port` URL.
fn address(url: &str) -> SocketAddr {
    let rest = url.trim_start_matches("redis://");
    let host_port = rest.split(['/', '?']).next().unwrap_or(rest);
    host_port.parse().expect("a redis://ip:port URL")
}

/// A socket on `room` that has read its opening frames.
async fn watch(node: &TestApp, room: i64, token: &str) -> WsClient {
    let mut ws = node.ws(room, token).await;
    ws.handshake().await;
    ws
}

/// Asserts that no message frame arrives before the answer to a ping: what was collected
/// came once.
async fn nothing_more(ws: &mut WsClient, who: &str) {
    ws.send_json(serde_json::json!({ "type": "ping" })).await;
    loop {
        let frame = ws.next_json().await;
        match frame["type"].as_str() {
            Some("pong") => return,
            Some("message") => panic!("{who}: a message came twice or unasked: {frame}"),
            _ => {}
        }
    }
}

/// Node 1 reaches Redis through a proxy that goes silent: its subscription and its
/// publications die without a word from TCP. The quiet room's only writer is on node 1 and
/// its admin watches from node 2; the other room's only writer is on node 2 and its customer
/// watches from node 1.
#[actix_web::test]
async fn a_node_cut_off_from_redis_by_a_silent_network_misses_nothing() {
    finishes(cut_off_node()).await;
}

/// A frozen Redis (`SIGSTOP`): every node's connections stay open and answer nothing.
#[actix_web::test]
async fn a_frozen_redis_loses_nothing_either() {
    finishes(frozen_redis()).await;
}

/// Runs a fault test to its end, or fails it: a node that never notices a silent broker
/// would otherwise hang the test (its probes and sockets wait on the dead connection).
async fn finishes(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(90), test)
        .await
        .expect("the fault test finished within 90 s");
}

async fn cut_off_node() {
    require_shared_redis();
    let url = shared_redis_url();
    let proxy = Blackhole::start(address(&url)).await;
    let cut_options = redis_node(&proxy.redis_url(), None);
    let shared = cut_options.redis.clone().expect("redis");
    let n1 = TestApp::start_node(Backend::Postgres, cut_options).await;
    let n2 = n1.start_peer(redis_node(&url, Some(&shared))).await;
    readiness_becomes(&n1, 200).await;

    let quiet = n1.room("Q-1", "cust-q").await;
    let busy = n1.room("R-1", "cust-r").await;
    let (writer_on_1, writer_on_2) = (n1.tokens.client("cust-q"), n2.tokens.admin("staff-r"));
    let mut admin_on_2 = watch(&n2, quiet, &n2.tokens.admin("staff-q")).await;
    let mut customer_on_1 = watch(&n1, busy, &n1.tokens.client("cust-r")).await;
    n1.send(quiet, &writer_on_1, "before").await;
    n2.send(busy, &writer_on_2, "before").await;
    assert_eq!(collect_seqs(&mut admin_on_2, 1).await, [1]);
    assert_eq!(collect_seqs(&mut customer_on_1, 1).await, [1]);

    proxy.cut();
    let cut_at = Instant::now();
    readiness_becomes(&n1, 503).await;
    assert!(
        cut_at.elapsed() <= BOUND,
        "node 1 was found deaf only {:?} after the cut",
        cut_at.elapsed()
    );
    for i in 0..5 {
        n1.send(quiet, &writer_on_1, &format!("during the cut {i}"))
            .await;
    }
    for i in 0..3 {
        n2.send(busy, &writer_on_2, &format!("during the cut {i}"))
            .await;
    }
    tokio::time::sleep(FAULT.saturating_sub(cut_at.elapsed())).await;
    assert_eq!(
        n1.call("GET", "/readyz", None, None).await.status,
        503,
        "node 1 stays not ready while it is deaf"
    );

    proxy.heal();
    let healed = Instant::now();
    // Nothing more is said in either room: the broker's own recovery must bring them.
    let (to_2, to_1) = futures_util::join!(
        collect_seqs(&mut admin_on_2, 5),
        collect_seqs(&mut customer_on_1, 3)
    );
    let took = healed.elapsed();
    assert_eq!(to_2, [2, 3, 4, 5, 6], "node 2's admin, in order");
    assert_eq!(to_1, [2, 3, 4], "node 1's customer, in order");
    assert!(took <= BOUND, "delivered {took:?} after the heal");
    nothing_more(&mut admin_on_2, "node 2's admin").await;
    nothing_more(&mut customer_on_1, "node 1's customer").await;
    readiness_becomes(&n1, 200).await;
    drop(n2);
}

async fn frozen_redis() {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let first = redis_node(&url, None);
    let shared = first.redis.clone().expect("redis");
    let n1 = TestApp::start_node(Backend::Postgres, first).await;
    let n2 = n1.start_peer(redis_node(&url, Some(&shared))).await;
    readiness_becomes(&n1, 200).await;
    readiness_becomes(&n2, 200).await;

    let quiet = n1.room("F-1", "cust-f").await;
    let writer = n1.tokens.client("cust-f");
    let mut admin_on_2 = watch(&n2, quiet, &n2.tokens.admin("staff-f")).await;
    n1.send(quiet, &writer, "before").await;
    assert_eq!(collect_seqs(&mut admin_on_2, 1).await, [1]);

    redis.freeze();
    let frozen_at = Instant::now();
    readiness_becomes(&n1, 503).await;
    readiness_becomes(&n2, 503).await;
    assert!(
        frozen_at.elapsed() <= BOUND,
        "the nodes were found deaf only {:?} after the freeze",
        frozen_at.elapsed()
    );
    for i in 0..4 {
        n1.send(quiet, &writer, &format!("while frozen {i}")).await;
    }
    tokio::time::sleep(FAULT.saturating_sub(frozen_at.elapsed())).await;

    redis.thaw();
    let thawed = Instant::now();
    assert_eq!(collect_seqs(&mut admin_on_2, 4).await, [2, 3, 4, 5]);
    assert!(
        thawed.elapsed() <= BOUND,
        "delivered {:?} after the thaw",
        thawed.elapsed()
    );
    nothing_more(&mut admin_on_2, "node 2's admin").await;
    readiness_becomes(&n1, 200).await;
    readiness_becomes(&n2, 200).await;
}

/// A node that stored messages and can never publish them (cut off for good, as one that died
/// while Redis was unreachable) cannot tell anyone: the other nodes' sessions still get them,
/// from the database, within two sweeps of the stored timelines.
#[actix_web::test]
async fn what_a_node_stored_but_never_published_still_arrives() {
    finishes(never_published()).await;
}

async fn never_published() {
    require_shared_redis();
    let url = shared_redis_url();
    let proxy = Blackhole::start(address(&url)).await;
    let sweep = Duration::from_secs(1);
    let mut cut_options = redis_node(&proxy.redis_url(), None);
    cut_options.realtime.timeline_sweep = sweep;
    let shared = cut_options.redis.clone().expect("redis");
    let n1 = TestApp::start_node(Backend::Postgres, cut_options).await;
    let mut options = redis_node(&url, Some(&shared));
    options.realtime.timeline_sweep = sweep;
    let n2 = n1.start_peer(options).await;
    readiness_becomes(&n1, 200).await;

    let quiet = n1.room("N-1", "cust-n").await;
    let writer = n1.tokens.client("cust-n");
    let mut admin_on_2 = watch(&n2, quiet, &n2.tokens.admin("staff-n")).await;
    n1.send(quiet, &writer, "before").await;
    assert_eq!(collect_seqs(&mut admin_on_2, 1).await, [1]);

    proxy.cut();
    for i in 0..3 {
        n1.send(quiet, &writer, &format!("never published {i}"))
            .await;
    }
    let stored = Instant::now();
    assert_eq!(collect_seqs(&mut admin_on_2, 3).await, [2, 3, 4]);
    let took = stored.elapsed();
    assert!(
        took <= 3 * sweep + Duration::from_secs(1),
        "arrived {took:?} after it was stored"
    );
    nothing_more(&mut admin_on_2, "node 2's admin").await;
    drop(n2);
}
