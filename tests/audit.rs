//! The audit trail (issue 29, point 4): each action of staff and the platform that changes or
//! reveals data leaves one entry — who, what, on what, the request — and never the words of a
//! message; admins list it with filters and a cursor; nobody else reads it.

use serde_json::{Value, json};

use crate::support::{Backend, Response, TestApp};

crate::on_both_backends!(
    backend: each_action_leaves_one_entry_naming_who_what_and_the_request,
    a_change_that_changes_nothing_and_a_customer_acting_on_their_own_leave_none,
    admins_page_and_filter_the_trail_and_no_one_else_reads_it,
);

/// Sends a request carrying `request_id` as its `X-Request-Id`.
async fn call_as(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    request_id: &str,
    body: Option<Value>,
) -> Response {
    let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
    let request = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token)
        .insert_header(("X-Request-Id", request_id));
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .expect("request reaches the service");
    let bytes = response.body().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Response::new(response.status().as_u16(), response.headers().clone(), json)
}

/// One page of the trail as an admin reads it: `{items, next_cursor}`.
async fn page(app: &TestApp, query: &str) -> Value {
    let page = app
        .call(
            "GET",
            &format!("/audit{query}"),
            Some(&app.tokens.admin("auditor")),
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    page.json
}

/// The entries of one page of the trail, newest first.
pub(crate) async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    page(app, query).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Every audited action through the REST API, each with its own request id: the trail holds
/// exactly one entry per action, newest first, naming the actor and role, the room, person,
/// message or endpoint, and the request — and nowhere the words of the deleted message.
async fn each_action_leaves_one_entry_naming_who_what_and_the_request(backend: Backend) {
    let app = TestApp::start(backend).await;
    let room = app.room("AUD-1", "cust-aud").await;
    let customer = app.tokens.client("cust-aud");
    let staff = app.tokens.admin("agent-1");
    let service = app.tokens.service();
    let secret_words = "my card number is 4111 1111 1111 1111";
    let written = app.send(room, &customer, secret_words).await;
    let message = written.id;

    let steps: Vec<(&str, String, &str, Option<Value>)> = vec![
        (
            "PUT",
            format!("/chat/{room}/admins/agent-2"),
            "assign",
            None,
        ),
        (
            "DELETE",
            format!("/chat/{room}/admins/agent-2"),
            "unassign",
            None,
        ),
        (
            "DELETE",
            format!("/chat/{room}/messages/{message}"),
            "delete",
            None,
        ),
        (
            "GET",
            format!("/chat/{room}/messages/{message}/revisions"),
            "revisions",
            None,
        ),
        ("POST", format!("/chat/{room}/close"), "close", None),
        ("POST", format!("/chat/{room}/reopen"), "reopen", None),
    ];
    for (method, path, request_id, body) in steps {
        let answer = call_as(&app, method, &path, &staff, request_id, body).await;
        assert!(answer.status < 300, "{method} {path}: {answer:?}");
    }
    let created = call_as(
        &app,
        "POST",
        "/webhooks/endpoints",
        &service,
        "hook-create",
        Some(json!({ "url": "https://hooks.example.com/in" })),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let endpoint = created.json["id"].as_i64().expect("endpoint id");
    let hook = format!("/webhooks/endpoints/{endpoint}");
    for (method, path, request_id, body) in [
        (
            "PATCH",
            hook.clone(),
            "hook-update",
            Some(json!({ "enabled": false })),
        ),
        (
            "POST",
            format!("{hook}/dead-letters/replay"),
            "hook-replay",
            Some(json!({})),
        ),
        ("DELETE", hook.clone(), "hook-delete", None),
    ] {
        let answer = call_as(&app, method, &path, &service, request_id, body).await;
        assert!(answer.status < 300, "{method} {path}: {answer:?}");
    }

    let entries = trail(&app, "").await;
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap_or_default(),
                entry["actor_id"].as_str().unwrap_or_default(),
                entry["request_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("webhook_endpoint_deleted", "platform", "hook-delete"),
            ("dead_letters_replayed", "platform", "hook-replay"),
            ("webhook_endpoint_updated", "platform", "hook-update"),
            ("webhook_endpoint_created", "platform", "hook-create"),
            ("room_reopened", "agent-1", "reopen"),
            ("room_closed", "agent-1", "close"),
            ("revisions_read", "agent-1", "revisions"),
            ("message_deleted", "agent-1", "delete"),
            ("admin_unassigned", "agent-1", "unassign"),
            ("admin_assigned", "agent-1", "assign"),
        ]
    );
    let by_action = |action: &str| {
        entries
            .iter()
            .find(|entry| entry["action"] == action)
            .cloned()
            .unwrap_or_default()
    };
    let deleted = by_action("message_deleted");
    assert_eq!(deleted["room_id"], room);
    assert_eq!(deleted["message_id"], message);
    assert_eq!(deleted["user_id"], "cust-aud", "whose message it was");
    assert_eq!(deleted["actor_role"], "admin");
    assert_eq!(by_action("admin_assigned")["user_id"], "agent-2");
    assert_eq!(by_action("revisions_read")["message_id"], message);
    assert_eq!(by_action("room_closed")["room_id"], room);
    let hook_entry = by_action("webhook_endpoint_created");
    assert_eq!(hook_entry["webhook_endpoint_id"], endpoint);
    assert_eq!(hook_entry["actor_role"], "service");
    assert!(hook_entry["room_id"].is_null(), "{hook_entry}");
    let text = serde_json::to_string(&entries).expect("serializes");
    // The whole phrase: a timestamp's microseconds may well hold "4111".
    assert!(
        !text.contains("card number") && !text.contains("4111 1111"),
        "the trail holds message words: {text}"
    );
}

/// Closing a closed room, assigning an assigned admin and unassigning one who is not assigned
/// change nothing and record nothing; a customer deleting their own message is not staff
/// acting on someone's data.
async fn a_change_that_changes_nothing_and_a_customer_acting_on_their_own_leave_none(
    backend: Backend,
) {
    let app = TestApp::start(backend).await;
    let room = app.room("AUD-2", "cust-own").await;
    let customer = app.tokens.client("cust-own");
    let staff = app.tokens.admin("agent-1");
    let mine = app.send(room, &customer, "oops, wrong chat").await;
    let deleted = app
        .call(
            "DELETE",
            &format!("/chat/{room}/messages/{}", mine.id),
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    for _ in 0..2 {
        app.close(room, &staff).await;
        let assigned = app
            .call(
                "PUT",
                &format!("/chat/{room}/admins/agent-2"),
                Some(&staff),
                None,
            )
            .await;
        assert!(assigned.status < 300, "{assigned:?}");
    }
    let unassigned = app
        .call(
            "DELETE",
            &format!("/chat/{room}/admins/agent-9"),
            Some(&staff),
            None,
        )
        .await;
    assert!(unassigned.status < 300, "{unassigned:?}");
    let actions: Vec<Value> = trail(&app, "")
        .await
        .iter()
        .map(|entry| entry["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("admin_assigned"), json!("room_closed")]);
}

/// Admins page the trail newest first with `cursor` and filter it by action, actor, room,
/// person and time; bad filters are a 422; clients and the platform's service tokens are
/// refused.
async fn admins_page_and_filter_the_trail_and_no_one_else_reads_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut rooms = Vec::new();
    for n in 0..3 {
        let room = app.room(&format!("AUD-P{n}"), &format!("cust-p{n}")).await;
        let admin = app.tokens.admin(&format!("agent-{n}"));
        for path in ["close", "reopen"] {
            let answer = app
                .call("POST", &format!("/chat/{room}/{path}"), Some(&admin), None)
                .await;
            assert_eq!(answer.status, 200, "{answer:?}");
        }
        rooms.push(room);
    }
    let everything = trail(&app, "").await;
    assert_eq!(everything.len(), 6);

    let mut paged = Vec::new();
    let mut query = "?limit=4".to_owned();
    loop {
        let page = page(&app, &query).await;
        paged.extend(page["items"].as_array().expect("items").clone());
        match page["next_cursor"].as_i64() {
            Some(cursor) => query = format!("?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        paged, everything,
        "pages add up to the whole trail, in order"
    );

    let closes = trail(&app, "?action=room_closed").await;
    assert_eq!(closes.len(), 3);
    assert!(closes.iter().all(|entry| entry["action"] == "room_closed"));
    let by_one = trail(&app, "?actor_id=agent-1").await;
    assert_eq!(by_one.len(), 2);
    assert!(by_one.iter().all(|entry| entry["room_id"] == rooms[1]));
    assert_eq!(
        trail(&app, &format!("?room_id={}", rooms[2])).await.len(),
        2
    );
    assert!(trail(&app, "?user_id=nobody").await.is_empty());
    assert!(trail(&app, "?from=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(trail(&app, "?to=2999-01-01T00:00:00Z").await.len(), 6);

    let admin = app.tokens.admin("auditor");
    for bad in [
        "?limit=0",
        "?limit=201",
        "?cursor=0",
        "?room_id=0",
        "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let refused = app
            .call("GET", &format!("/audit{bad}"), Some(&admin), None)
            .await;
        assert_eq!(refused.status, 422, "{bad}: {refused:?}");
    }
    for bad in ["?action=room_deleted", "?from=yesterday", "?cursor=abc"] {
        let refused = app
            .call("GET", &format!("/audit{bad}"), Some(&admin), None)
            .await;
        assert_eq!(refused.status, 400, "{bad}: {refused:?}");
    }
    for token in [app.tokens.client("cust-p0"), app.tokens.service()] {
        let refused = app.call("GET", "/audit", Some(&token), None).await;
        assert_eq!(refused.status, 403, "{refused:?}");
    }
    let anonymous = app.call("GET", "/audit", None, None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
}
