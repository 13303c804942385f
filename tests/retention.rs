//! Retention (issue 29): what is older than the operator keeps it is deleted by a sweep on
//! every node — and nothing younger.

use std::time::{Duration, Instant};

use room_chats_workers::RetentionSettings;
use serde_json::{Value, json};

use crate::support::{Backend, NodeOptions, TestApp};

crate::on_both_backends!(
    backend: audit_entries_older_than_their_retention_are_deleted_and_no_others,
    dead_letters_older_than_their_retention_are_deleted_and_no_others,
);

/// A node sweeping every 100 ms with `settings`.
fn sweeping(settings: RetentionSettings) -> NodeOptions {
    NodeOptions {
        retention: RetentionSettings {
            sweep_every: Duration::from_millis(100),
            ..settings
        },
        ..NodeOptions::default()
    }
}

/// Waits until the node's sweep has counted deleted rows of `data`; their number.
async fn purged(app: &TestApp, data: &str) -> f64 {
    let key = format!("room_chats_retention_purged_total{{data=\"{data}\"}}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let purged = crate::metrics::scrape(app).await.value(&key);
        if purged > 0.0 {
            return purged;
        }
        assert!(Instant::now() < deadline, "nothing of {data} was purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Dead letters carry message words: with a retention of one day, the one that died two days
/// ago is deleted, the one that died an hour ago stays (and can still be replayed).
async fn dead_letters_older_than_their_retention_are_deleted_and_no_others(backend: Backend) {
    let app = TestApp::start_node(
        backend,
        sweeping(RetentionSettings {
            dead_letters: Some(Duration::from_secs(86_400)),
            ..RetentionSettings::DEFAULT
        }),
    )
    .await;
    let room = app.room("RET-1", "cust-ret").await;
    let created = app
        .call(
            "POST",
            "/webhooks/endpoints",
            Some(&app.tokens.service()),
            Some(json!({ "url": "https://hooks.example.com/in", "event_types": ["message.created"] })),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let endpoint = created.json["id"].as_i64().expect("endpoint id");
    let hour: i64 = 3_600 * 1_000_000;
    for (event_id, died_hours_ago) in [("evt-old", 48), ("evt-recent", 1)] {
        app.execute_sql(&format!(
            "INSERT INTO webhook_outbox (endpoint_id, room_id, event_id, event_type, body, \
             created_at, attempts, next_attempt_at, first_failed_at, last_status, dead_at) \
             VALUES ({endpoint}, {room}, '{event_id}', 'message.created', '{{}}', \
             {now} - {ago}, 12, 0, {now} - {ago}, 500, {now} - {ago})",
            now = chrono::Utc::now().timestamp_micros(),
            ago = died_hours_ago * hour,
        ));
    }
    assert_eq!(purged(&app, "dead_letters").await, 1.0);
    let letters = app
        .call(
            "GET",
            &format!("/webhooks/endpoints/{endpoint}/dead-letters"),
            Some(&app.tokens.service()),
            None,
        )
        .await;
    assert_eq!(letters.status, 200, "{letters:?}");
    let kept: Vec<&Value> = letters.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|letter| &letter["event_id"])
        .collect();
    assert_eq!(kept, vec![&json!("evt-recent")]);
}

/// With a retention of one day for the audit trail, the sweep deletes the entries recorded
/// more than a day ago — and only those.
async fn audit_entries_older_than_their_retention_are_deleted_and_no_others(backend: Backend) {
    let app = TestApp::start_node(
        backend,
        sweeping(RetentionSettings {
            audit: Some(Duration::from_secs(86_400)),
            ..RetentionSettings::DEFAULT
        }),
    )
    .await;
    let room = app.room("RET-A", "cust-ret").await;
    let staff = app.tokens.admin("agent-1");
    for path in ["close", "reopen", "close"] {
        let answer = app
            .call("POST", &format!("/chat/{room}/{path}"), Some(&staff), None)
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let two_days: i64 = 2 * 86_400 * 1_000_000;
    app.execute_sql(&format!(
        "UPDATE audit_entries SET at = at - {two_days} \
         WHERE action = 'room_reopened' OR id = (SELECT min(id) FROM audit_entries)"
    ));
    assert_eq!(purged(&app, "audit_entries").await, 2.0, "both at once");
    let kept = crate::audit::trail(&app, "").await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["action"], "room_closed");
}
