//! Prometheus metrics: the figures move when the service works, and label sets stay bounded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    backend: figures_move_when_the_service_works,
    metrics_bind_moves_the_metrics_off_the_service_address,
);

/// A scrape: every sample line as `name{labels}` → value.
pub(crate) struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The value of the sample named exactly `key` (`name{labels}` as exposed), 0 if absent.
    pub(crate) fn value(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }
}

async fn scrape_at(app: &TestApp, url: String) -> Scrape {
    let mut response = app.client().get(url).send().await.expect("scrape");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let body = response.body().limit(4 * 1024 * 1024).await.expect("body");
    let text = String::from_utf8(body.to_vec()).expect("UTF-8");
    assert!(
        text.ends_with("# EOF\n"),
        "an OpenMetrics exposition ends with # EOF"
    );
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect();
    Scrape { text, samples }
}

pub(crate) async fn scrape(app: &TestApp) -> Scrape {
    scrape_at(app, app.url("/metrics")).await
}

/// Scrapes until `done` holds (a gauge follows a connection's end a moment after the client
/// saw it), at most five seconds.
async fn scrape_until(app: &TestApp, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let scrape = scrape(app).await;
        if done(&scrape) || Instant::now() > deadline {
            return scrape;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn figures_move_when_the_service_works(backend: Backend) {
    let app = TestApp::start(backend).await;
    let before = scrape(&app).await;
    assert_eq!(before.value("room_chats_broker_connected"), 1.0);
    assert_eq!(
        before.value("room_chats_db_pool_max_connections"),
        f64::from(NodeOptions::default().pool_size)
    );
    let chat = r#"room_chats_websocket_connections{kind="chat"}"#;
    assert_eq!(before.value(chat), 0.0);

    let room = app.room("M-1", "metrics-customer").await;
    let mut staff = app.ws(room, &app.tokens.admin("metrics-staff")).await;
    staff.handshake().await;
    let open = scrape(&app).await;
    assert_eq!(open.value(chat), 1.0, "the open socket is counted");

    app.send(
        room,
        &app.tokens.client("metrics-customer"),
        "my parcel is damaged",
    )
    .await;
    staff.next_of("message").await;
    let sent = scrape(&app).await;
    assert_eq!(
        sent.value("room_chats_messages_stored_total")
            - before.value("room_chats_messages_stored_total"),
        1.0
    );
    assert!(sent.value("room_chats_message_batch_size_count") >= 1.0);
    assert!(sent.value("room_chats_message_batch_commit_seconds_count") >= 1.0);
    assert_eq!(
        sent.value("room_chats_delivery_lag_seconds_count"),
        1.0,
        "the staff socket's frame was measured"
    );
    let send_route = r#"room_chats_http_requests_total{method="POST",route="/chat/{room_id}/messages",status="201"}"#;
    assert_eq!(sent.value(send_route), 1.0, "{}", sent.text);
    assert!(
        sent.value(r#"room_chats_http_request_duration_seconds_count{method="POST",route="/chat/{room_id}/messages"}"#)
            >= 1.0
    );

    // Refusals by code, over both transports.
    let refused = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&app.tokens.client("metrics-customer")),
            Some(json!({ "content": "" })),
        )
        .await;
    assert_eq!(refused.status, 422);
    staff.send_text("not json".to_owned()).await;
    staff.next_of("error").await;
    let refusals = scrape(&app).await;
    assert_eq!(
        refusals.value(r#"room_chats_refusals_total{code="invalid_content",transport="http"}"#),
        1.0,
        "{}",
        refusals.text
    );
    assert_eq!(
        refusals.value(r#"room_chats_refusals_total{code="bad_request",transport="ws"}"#),
        1.0
    );

    // No ids in labels: the routes are patterns, users never appear.
    assert!(!refusals.text.contains("metrics-customer"));
    assert!(!refusals.text.contains(&format!("/chat/{room}/")));

    staff.close().await;
    let closed = scrape_until(&app, |scrape| scrape.value(chat) == 0.0).await;
    assert_eq!(
        closed.value(chat),
        0.0,
        "a closed socket is no longer counted"
    );
}

async fn metrics_bind_moves_the_metrics_off_the_service_address(backend: Backend) {
    let app = TestApp::start_node(
        backend,
        NodeOptions {
            metrics_bind: Some("127.0.0.1:0".parse().expect("address")),
            ..NodeOptions::default()
        },
    )
    .await;
    let on_service = app.call("GET", "/metrics", None, None).await;
    on_service.assert_error(404, "not_found");
    let metrics_addr = app.metrics_addr.expect("metrics listener");
    assert_ne!(metrics_addr, app.addr);
    let scrape = scrape_at(&app, format!("http://{metrics_addr}/metrics")).await;
    assert!(scrape.value("room_chats_db_pool_max_connections") >= 1.0);
    // The scrape of the service's address above was counted there.
    assert_eq!(
        scrape
            .value(r#"room_chats_http_requests_total{method="GET",route="/metrics",status="404"}"#),
        1.0,
        "{}",
        scrape.text
    );
}
