//! Bad input gets a clear 4xx with the JSON error, never a 500, and nothing is stored.

use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    malformed_bodies_are_refused,
    bad_content_is_refused,
    oversized_body_is_413,
    unknown_rooms_and_orders_are_404,
    bad_paging_values_are_refused,
    wrong_method_on_a_known_path_is_405,
    bad_ids_are_refused,
    hostile_content_is_stored_byte_exact,
    idempotent_client_id,
);

async fn history_len(app: &TestApp, room: i64) -> usize {
    let client = app.tokens.client("u1");
    app.history(room, &client).await.len()
}

async fn malformed_bodies_are_refused(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let path = format!("/chat/{room}/messages");
    let cases: [(&str, u16, &str); 6] = [
        ("{\"content\": ", 400, "bad_request"),
        ("not json at all", 400, "bad_request"),
        ("{\"content\": 42}", 422, "validation_failed"),
        // Neither words nor files: nothing to send.
        ("{}", 422, "invalid_content"),
        ("[\"content\"]", 422, "validation_failed"),
        (
            "{\"content\": \"\\ud800 lone surrogate\"}",
            400,
            "bad_request",
        ),
    ];
    for (body, status, code) in cases {
        let response = app
            .call_raw(
                "POST",
                &path,
                &client,
                "application/json",
                body.as_bytes().to_vec(),
            )
            .await;
        response.assert_error(status, code);
    }
    let wrong_type = app
        .call_raw(
            "POST",
            &path,
            &client,
            "text/plain",
            b"{\"content\":\"hi\"}".to_vec(),
        )
        .await;
    wrong_type.assert_error(400, "bad_request");
    let bad_read = app
        .call_raw(
            "POST",
            &format!("/chat/{room}/read"),
            &client,
            "application/json",
            b"{\"up_to\":\"x\"}".to_vec(),
        )
        .await;
    bad_read.assert_error(422, "validation_failed");
    let negative_read = app
        .call(
            "POST",
            &format!("/chat/{room}/read"),
            Some(&client),
            Some(json!({ "up_to": -1 })),
        )
        .await;
    negative_read.assert_error(422, "validation_failed");
    let service = app.tokens.service();
    let bad_order = app
        .call(
            "PUT",
            "/orders/A-2",
            Some(&service),
            Some(json!({ "customer": "u1" })),
        )
        .await;
    bad_order.assert_error(422, "validation_failed");
    assert_eq!(history_len(&app, room).await, 0);
}

async fn bad_content_is_refused(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let limit = app.limits.max_content_chars;
    for content in [
        String::new(),
        "   \n\t ".to_owned(),
        "x".repeat(limit + 1),
        "nul \u{0} inside".to_owned(),
        "escape \u{1b}[31m".to_owned(),
    ] {
        let response = app
            .call(
                "POST",
                &format!("/chat/{room}/messages"),
                Some(&client),
                Some(json!({ "content": content })),
            )
            .await;
        response.assert_error(422, "invalid_content");
    }
    // Exactly at the limit, counted in characters, is fine.
    app.send(room, &client, &"é".repeat(limit)).await;
    assert_eq!(history_len(&app, room).await, 1);
}

async fn oversized_body_is_413(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let big = json!({ "content": "x".repeat(app.limits.max_body_bytes + 10) }).to_string();
    let response = app
        .call_raw(
            "POST",
            &format!("/chat/{room}/messages"),
            &client,
            "application/json",
            big.into_bytes(),
        )
        .await;
    response.assert_error(413, "too_large");
    assert_eq!(history_len(&app, room).await, 0);
}

async fn unknown_rooms_and_orders_are_404(app: TestApp) {
    let admin = app.tokens.admin("staff");
    for (method, path) in [
        ("GET", "/chat/424242"),
        ("GET", "/chat/424242/messages"),
        ("POST", "/chat/424242/close"),
        ("POST", "/chat/order/NO-SUCH-ORDER/chat"),
        ("GET", "/chat/not-a-number"),
        ("GET", "/chat/99999999999999999999999"),
    ] {
        let response = app.call(method, path, Some(&admin), None).await;
        response.assert_error(404, "not_found");
    }
    let send = app
        .call(
            "POST",
            "/chat/424242/messages",
            Some(&admin),
            Some(json!({ "content": "hi" })),
        )
        .await;
    send.assert_error(404, "not_found");
}

async fn bad_paging_values_are_refused(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let cases: [(String, u16, &str); 8] = [
        (
            format!("/chat/{room}/messages?limit=0"),
            422,
            "validation_failed",
        ),
        (
            format!("/chat/{room}/messages?limit=-5"),
            422,
            "validation_failed",
        ),
        (
            format!("/chat/{room}/messages?limit=100000"),
            422,
            "validation_failed",
        ),
        (
            format!("/chat/{room}/messages?limit=abc"),
            400,
            "bad_request",
        ),
        (
            format!("/chat/{room}/messages?before=-1"),
            422,
            "validation_failed",
        ),
        (
            format!("/chat/{room}/messages?after=99999999999999999999999"),
            400,
            "bad_request",
        ),
        ("/chat?limit=1000".to_owned(), 422, "validation_failed"),
        ("/chat?cursor=garbage".to_owned(), 400, "bad_request"),
    ];
    for (path, status, code) in cases {
        let response = app.call("GET", &path, Some(&client), None).await;
        response.assert_error(status, code);
    }
    let bad_status = app
        .call("GET", "/chat?status=archived", Some(&client), None)
        .await;
    bad_status.assert_error(400, "bad_request");
}

async fn wrong_method_on_a_known_path_is_405(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    for (method, path, allow) in [
        (
            "DELETE",
            format!("/chat/{room}/messages"),
            "GET, POST, HEAD",
        ),
        ("GET", "/orders/A-1".to_owned(), "PUT"),
        ("PUT", format!("/chat/{room}/close/"), "POST"),
        ("POST", "/readyz".to_owned(), "GET, HEAD"),
    ] {
        let response = app.call(method, &path, Some(&client), None).await;
        response.assert_error(405, "method_not_allowed");
        let header = response.headers.get("allow").and_then(|v| v.to_str().ok());
        assert_eq!(header, Some(allow), "{method} {path}");
    }
    app.call("DELETE", "/no/such/path", Some(&client), None)
        .await
        .assert_error(404, "not_found");
}

async fn bad_ids_are_refused(app: TestApp) {
    let service = app.tokens.service();
    let long = "x".repeat(300);
    for body in [
        json!({ "customer_id": "" }),
        json!({ "customer_id": " u1" }),
        json!({ "customer_id": long }),
    ] {
        let response = app
            .call("PUT", "/orders/A-1", Some(&service), Some(body))
            .await;
        response.assert_error(422, "validation_failed");
    }
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let bad_client_id = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&client),
            Some(json!({ "content": "hi", "client_id": "x".repeat(300) })),
        )
        .await;
    bad_client_id.assert_error(422, "validation_failed");
}

async fn hostile_content_is_stored_byte_exact(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let hostile = [
        "'; DROP TABLE messages;--",
        "<script>alert('x')</script>",
        "Robert\"); DELETE FROM chat_rooms; --",
        "emoji 🎉 and RTL \u{202e} and  spaces ",
        "line one\nline two\r\n\ttabbed",
    ];
    for content in hostile {
        let sent = app.send(room, &client, content).await;
        assert_eq!(sent.content, content);
    }
    let history = app.history(room, &client).await;
    let stored: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(stored, hostile);
}

async fn idempotent_client_id(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let body = json!({ "content": "pay now?", "client_id": "retry-1" });
    let path = format!("/chat/{room}/messages");
    let first = app
        .call("POST", &path, Some(&client), Some(body.clone()))
        .await;
    assert_eq!(first.status, 201);
    let retry = app.call("POST", &path, Some(&client), Some(body)).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.json, first.json);
    // The same client_id from another sender is another message.
    let admin = app.tokens.admin("staff");
    let other = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({ "content": "yes", "client_id": "retry-1" })),
        )
        .await;
    assert_eq!(other.status, 201);
    assert_eq!(other.json["seq"], 2, "the retry used no seq");
    assert_eq!(history_len(&app, room).await, 2);
}
