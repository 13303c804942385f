//! Concurrent senders get gap-free per-room sequences, and retries are stored once.

use futures_util::future::join_all;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    concurrent_senders_get_seqs_one_to_n,
    concurrent_retries_store_once,
    concurrent_writes_of_every_kind_succeed,
);

const SENDERS: usize = 8;
const PER_SENDER: usize = 50;

async fn concurrent_senders_get_seqs_one_to_n(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let senders = (0..SENDERS).map(|n| {
        let token = if n == 0 {
            app.tokens.client("u1")
        } else {
            app.tokens.admin(&format!("staff-{n}"))
        };
        let app = &app;
        async move {
            let mut seqs = Vec::new();
            for i in 0..PER_SENDER {
                let message = app
                    .send(room, &token, &format!("sender {n} message {i}"))
                    .await;
                seqs.push(message.seq);
            }
            seqs
        }
    });
    let per_sender = join_all(senders).await;
    for seqs in &per_sender {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one sender's seqs increase"
        );
    }
    let mut all: Vec<i64> = per_sender.into_iter().flatten().collect();
    all.sort_unstable();
    let expected: Vec<i64> = (1..=(SENDERS * PER_SENDER) as i64).collect();
    assert_eq!(all, expected);

    let client = app.tokens.client("u1");
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = app
            .call(
                "GET",
                &format!("/chat/{room}/messages?after={after}&limit=200"),
                Some(&client),
                None,
            )
            .await;
        let items = page.json["items"].as_array().expect("items").clone();
        stored.extend(items.iter().filter_map(|m| m["seq"].as_i64()));
        match page.json["next_cursor"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(stored, expected);
}

async fn concurrent_retries_store_once(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let path = format!("/chat/{room}/messages");
    let body = json!({ "content": "once", "client_id": "same-key" });
    let attempts = (0..8).map(|_| app.call("POST", &path, Some(&client), Some(body.clone())));
    let responses = join_all(attempts).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{responses:?}");
    assert!(responses.iter().all(|r| r.status == 201 || r.status == 200));
    assert!(responses.iter().all(|r| r.json == responses[0].json));
    assert_eq!(app.history(room, &client).await.len(), 1);
}

/// Transactions that read before they write must wait for the lock, not fail (SQLite answers
/// "database is locked" at once to a deferred transaction that upgrades late).
async fn concurrent_writes_of_every_kind_succeed(app: TestApp) {
    let service = app.tokens.service();
    let upserts = (0..32).map(|n| {
        let service = &service;
        let app = &app;
        async move {
            let body =
                json!({ "customer_id": format!("u{}", n % 4), "reference": format!("#{n}") });
            app.call(
                "PUT",
                &format!("/orders/O-{}", n % 8),
                Some(service),
                Some(body),
            )
            .await
        }
    });
    for response in join_all(upserts).await {
        assert!(
            response.status == 200 || response.status == 201,
            "{response:?}"
        );
    }
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    app.send(room, &admin, "hello").await;
    let readers = (0..16).map(|n| {
        let token = app.tokens.admin(&format!("reader-{n}"));
        let app = &app;
        async move {
            app.call(
                "POST",
                &format!("/chat/{room}/read"),
                Some(&token),
                Some(json!({})),
            )
            .await
        }
    });
    for response in join_all(readers).await {
        assert_eq!(response.status, 200, "{response:?}");
    }
}
