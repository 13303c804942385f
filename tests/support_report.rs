//! The staff report (issue 28, point 8): rooms opened and closed, first- and next-response
//! percentiles,
//! breaches and satisfaction for a time range, overall and per admin, on both backends.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use room_chats_core::sla::ResponseTargets;
use room_chats_core::webhooks::WebhookSettings;
use room_chats_types::MessageDto;
use room_chats_workers::ResponseClockSettings;

use crate::support::{Backend, NodeOptions, TestApp};

const PATIENCE: Duration = Duration::from_secs(20);

crate::on_both_backends!(
    backend: the_report_counts_what_the_team_did_overall_and_per_admin,
    the_report_is_for_admins_and_refuses_a_bad_range,
);

fn node() -> NodeOptions {
    NodeOptions {
        response_clocks: ResponseClockSettings {
            targets: ResponseTargets {
                first_response: Some(Duration::from_millis(1_200)),
                next_response: None,
                business_hours: None,
            },
            sweep_every: Duration::from_millis(100),
        },
        webhooks: WebhookSettings {
            allow_private_urls: true,
            ..WebhookSettings::DEFAULT
        },
        ..NodeOptions::default()
    }
}

async fn report(app: &TestApp, query: &str) -> Value {
    let answer = app
        .call(
            "GET",
            &format!("/reports/support{query}"),
            Some(&app.tokens.admin("lead")),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json
}

/// The wait from `question` to `answer`, in seconds, as the report gives it.
fn wait(question: &MessageDto, answer: &MessageDto) -> f64 {
    (answer.created_at - question.created_at)
        .num_microseconds()
        .expect("micros") as f64
        / 1_000_000.0
}

fn admin<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["admins"]
        .as_array()
        .expect("admins")
        .iter()
        .find(|entry| entry["admin_id"] == id)
        .map(|entry| &entry["figures"])
        .unwrap_or_else(|| panic!("{id} is not in {report}"))
}

async fn close(app: &TestApp, room: i64, by: &str) {
    let closed = app
        .call(
            "POST",
            &format!("/chat/{room}/close"),
            Some(&app.tokens.admin(by)),
            None,
        )
        .await;
    assert_eq!(closed.status, 200, "{closed:?}");
}

async fn rate(app: &TestApp, room: i64, customer: &str, score: i64) {
    let rated = app
        .call(
            "POST",
            &format!("/chat/{room}/rating"),
            Some(&app.tokens.client(customer)),
            Some(json!({ "score": score })),
        )
        .await;
    assert_eq!(rated.status, 201, "{rated:?}");
}

/// Three rooms: in the first, Ann answers the first question and Bob the next, then Ann closes
/// it and the customer rates 2; nobody answers the second until its first-response target is
/// missed, then Ann does; Bob closes the third, rated 4. The report of the range around it
/// says exactly that — and a range after it says nothing.
async fn the_report_counts_what_the_team_did_overall_and_per_admin(backend: Backend) {
    let app = TestApp::start_node(backend, node()).await;
    let from = Utc::now() - TimeDelta::seconds(1);
    let (ann, bob) = (app.tokens.admin("ann"), app.tokens.admin("bob"));

    let first = app.room("REP-1", "cust-1").await;
    let customer = app.tokens.client("cust-1");
    let question_1 = app.send(first, &customer, "Where is it?").await;
    let answer_1 = app.send(first, &ann, "On its way").await;
    let question_2 = app.send(first, &customer, "When?").await;
    let answer_2 = app.send(first, &bob, "Tomorrow").await;
    close(&app, first, "ann").await;
    rate(&app, first, "cust-1", 2).await;

    let second = app.room("REP-2", "cust-2").await;
    let question_3 = app
        .send(second, &app.tokens.client("cust-2"), "Hello?")
        .await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let detail = app
            .call("GET", &format!("/chat/{second}"), Some(&ann), None)
            .await;
        if !detail.json["sla"]["breached_at"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "no breach: {:?}", detail.json);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer_3 = app.send(second, &ann, "Sorry for the wait").await;

    let third = app.room("REP-3", "cust-3").await;
    close(&app, third, "bob").await;
    rate(&app, third, "cust-3", 4).await;

    // The sweep measures the answers a moment after they were given.
    let to = Utc::now() + TimeDelta::seconds(60);
    let query = format!("?from={}&to={}", urlencoded(from), urlencoded(to));
    let deadline = Instant::now() + PATIENCE;
    let figures = loop {
        let figures = report(&app, &query).await;
        if figures["overall"]["first_response"]["count"] == 2
            && figures["overall"]["next_response"]["count"] == 1
        {
            break figures;
        }
        assert!(Instant::now() < deadline, "answers not measured: {figures}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let (wait_1, wait_2, wait_3) = (
        wait(&question_1, &answer_1),
        wait(&question_2, &answer_2),
        wait(&question_3, &answer_3),
    );
    assert!(wait_3 > 1.2 && wait_1 < 1.2, "{wait_1} {wait_3}");
    let overall = &figures["overall"];
    assert_eq!(figures["rooms_opened"], 3, "{figures}");
    assert_eq!(overall["rooms_closed"], 2);
    assert_eq!(overall["breaches"], 1);
    assert_eq!(
        overall["satisfaction"],
        json!({ "count": 2, "average": 3.0 })
    );
    // Two first answers: nearest rank puts the faster at p50, the slower at p90.
    assert_eq!(
        overall["first_response"],
        json!({ "count": 2, "p50_seconds": wait_1, "p90_seconds": wait_3 })
    );
    assert_eq!(
        overall["next_response"],
        json!({ "count": 1, "p50_seconds": wait_2, "p90_seconds": wait_2 })
    );

    let ann_did = admin(&figures, "ann");
    assert_eq!(ann_did["rooms_closed"], 1);
    assert_eq!(ann_did["breaches"], 1, "Ann answered late");
    assert_eq!(
        ann_did["satisfaction"],
        json!({ "count": 1, "average": 2.0 })
    );
    assert_eq!(
        ann_did["first_response"],
        json!({ "count": 2, "p50_seconds": wait_1, "p90_seconds": wait_3 })
    );
    assert_eq!(ann_did["next_response"]["count"], 0);
    let bob_did = admin(&figures, "bob");
    assert_eq!(bob_did["rooms_closed"], 1);
    assert_eq!(bob_did["breaches"], 0);
    assert_eq!(
        bob_did["satisfaction"],
        json!({ "count": 1, "average": 4.0 })
    );
    assert_eq!(
        bob_did["first_response"],
        json!({ "count": 0, "p50_seconds": null, "p90_seconds": null })
    );
    assert_eq!(
        bob_did["next_response"],
        json!({ "count": 1, "p50_seconds": wait_2, "p90_seconds": wait_2 })
    );

    let later = report(
        &app,
        &format!(
            "?from={}&to={}",
            urlencoded(to),
            urlencoded(to + TimeDelta::hours(1))
        ),
    )
    .await;
    assert_eq!(later["rooms_opened"], 0, "{later}");
    assert_eq!(later["overall"]["first_response"]["count"], 0);
    assert_eq!(later["admins"], json!([]));
}

/// Customers and the platform get 403; a range that ends before it starts, or spans more than
/// 366 days, is 422; a time that is not RFC 3339 is 400. Without a range: the last week.
async fn the_report_is_for_admins_and_refuses_a_bad_range(backend: Backend) {
    let app = TestApp::start(backend).await;
    for token in [app.tokens.client("cust"), app.tokens.service()] {
        app.call("GET", "/reports/support", Some(&token), None)
            .await
            .assert_error(403, "forbidden");
    }
    let now = Utc::now();
    for (from, to) in [
        (now, now),
        (now, now - TimeDelta::seconds(1)),
        (now - TimeDelta::days(367), now),
    ] {
        app.call(
            "GET",
            &format!(
                "/reports/support?from={}&to={}",
                urlencoded(from),
                urlencoded(to)
            ),
            Some(&app.tokens.admin("lead")),
            None,
        )
        .await
        .assert_error(422, "validation_failed");
    }
    for bad in ["?from=yesterday", "?to=2026-13-01T00:00:00Z", "?from="] {
        app.call(
            "GET",
            &format!("/reports/support{bad}"),
            Some(&app.tokens.admin("lead")),
            None,
        )
        .await
        .assert_error(400, "bad_request");
    }
    let week = report(&app, "").await;
    let (from, to): (DateTime<Utc>, DateTime<Utc>) = (
        week["from"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("from"),
        week["to"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("to"),
    );
    assert_eq!(to - from, TimeDelta::days(7));
}

/// A time as a query value (`+` of an offset would read as a space).
fn urlencoded(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
