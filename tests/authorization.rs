//! Who may see and do what.

use room_chats_types::Role;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    another_clients_room_is_indistinguishable_from_a_missing_one,
    clients_cannot_manage_rooms_or_orders,
    service_tokens_cannot_chat,
    sender_is_always_the_token_subject,
    changing_the_customer_moves_access,
);

async fn another_clients_room_is_indistinguishable_from_a_missing_one(app: TestApp) {
    let room = app.room("A-1", "owner").await;
    app.order("B-1", "owner").await;
    let stranger = app.tokens.client("stranger");
    let missing = 999_999;
    let cases = [
        ("GET", "/chat/{}", None),
        ("GET", "/chat/{}/messages", None),
        (
            "POST",
            "/chat/{}/messages",
            Some(json!({ "content": "hi" })),
        ),
        ("POST", "/chat/{}/read", Some(json!({}))),
        ("POST", "/chat/{}/close", None),
    ];
    for (method, template, body) in cases {
        let theirs = app
            .call(
                method,
                &template.replace("{}", &room.to_string()),
                Some(&stranger),
                body.clone(),
            )
            .await;
        let nobodys = app
            .call(
                method,
                &template.replace("{}", &missing.to_string()),
                Some(&stranger),
                body,
            )
            .await;
        theirs.assert_error(404, "not_found");
        assert_eq!(theirs.json, nobodys.json, "{method} {template}");
    }
    let theirs = app
        .call("POST", "/chat/order/B-1/chat", Some(&stranger), None)
        .await;
    let nobodys = app
        .call("POST", "/chat/order/NOPE/chat", Some(&stranger), None)
        .await;
    theirs.assert_error(404, "not_found");
    assert_eq!(theirs.json, nobodys.json);

    // The stranger's list does not show the room either.
    let list = app.call("GET", "/chat", Some(&stranger), None).await;
    assert_eq!(list.json["items"], json!([]));
    // And nothing was written through the refused calls.
    let owner = app.tokens.client("owner");
    let history = app.history(room, &owner).await;
    assert_eq!(history, []);
}

async fn clients_cannot_manage_rooms_or_orders(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    for (method, path) in [
        ("POST", format!("/chat/{room}/close")),
        ("POST", format!("/chat/{room}/reopen")),
        ("PUT", format!("/chat/{room}/admins/u9")),
        ("DELETE", format!("/chat/{room}/admins/u9")),
    ] {
        let response = app.call(method, &path, Some(&client), None).await;
        response.assert_error(403, "forbidden");
    }
    let order = app
        .call(
            "PUT",
            "/orders/A-2",
            Some(&client),
            Some(json!({ "customer_id": "u1" })),
        )
        .await;
    order.assert_error(403, "forbidden");
    let admins_filter = app
        .call("GET", "/chat?assigned=me", Some(&client), None)
        .await;
    admins_filter.assert_error(422, "validation_failed");
}

async fn service_tokens_cannot_chat(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let service = app.tokens.service();
    for (method, path, body) in [
        ("GET", "/chat".to_owned(), None),
        ("GET", format!("/chat/{room}"), None),
        ("POST", "/chat/order/A-1/chat".to_owned(), None),
        (
            "POST",
            format!("/chat/{room}/messages"),
            Some(json!({ "content": "hi" })),
        ),
        ("GET", format!("/chat/{room}/messages"), None),
        ("POST", format!("/chat/{room}/read"), Some(json!({}))),
    ] {
        let response = app.call(method, &path, Some(&service), body).await;
        response.assert_error(403, "forbidden");
    }
}

async fn sender_is_always_the_token_subject(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let spoofed = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&client),
            Some(json!({ "content": "I am staff", "sender_id": "staff", "sender_role": "admin" })),
        )
        .await;
    spoofed.assert_error(422, "validation_failed");
    let sent = app.send(room, &client, "hello").await;
    assert_eq!(
        (sent.sender_id.as_str(), sent.sender_role),
        ("u1", Role::Client)
    );
    let history = app.history(room, &client).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].sender_id, "u1");
}

async fn changing_the_customer_moves_access(app: TestApp) {
    let room = app.room("A-1", "old").await;
    app.order("A-1", "new").await;
    let old = app
        .call(
            "GET",
            &format!("/chat/{room}"),
            Some(&app.tokens.client("old")),
            None,
        )
        .await;
    old.assert_error(404, "not_found");
    let new = app
        .call(
            "GET",
            &format!("/chat/{room}"),
            Some(&app.tokens.client("new")),
            None,
        )
        .await;
    assert_eq!(new.status, 200);
    assert_eq!(
        new.json["members"],
        json!([]),
        "the old customer is no longer a member"
    );
}
