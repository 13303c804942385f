//! Every endpoint's happy path, with the shape of its answer.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    probes_answer_ok,
    order_upsert_creates_then_updates,
    create_or_get_room_is_201_then_200,
    room_list_pages_and_filters,
    room_detail_has_members_unread_and_messages,
    close_and_reopen,
    send_and_history_pages,
    read_marker_moves_forward_only,
    admin_assignment,
    trailing_slash_is_optional,
);

fn assert_message_shape(message: &Value) {
    for field in ["id", "room_id", "seq"] {
        assert!(message[field].is_i64(), "{field} in {message}");
    }
    for field in ["sender_id", "sender_role", "content", "created_at"] {
        assert!(message[field].is_string(), "{field} in {message}");
    }
    assert!(message.get("client_id").is_some(), "client_id in {message}");
}

fn assert_room_shape(room: &Value) {
    for field in ["id", "last_seq"] {
        assert!(room[field].is_i64(), "{field} in {room}");
    }
    for field in [
        "order_id",
        "customer_id",
        "status",
        "created_at",
        "last_activity_at",
    ] {
        assert!(room[field].is_string(), "{field} in {room}");
    }
    for field in ["order_reference", "closed_at", "closed_by"] {
        assert!(room.get(field).is_some(), "{field} in {room}");
    }
}

async fn probes_answer_ok(app: TestApp) {
    let live = app.call("GET", "/healthz", None, None).await;
    assert_eq!((live.status, live.json), (200, json!({ "status": "ok" })));
    let ready = app.call("GET", "/readyz", None, None).await;
    assert_eq!(
        (ready.status, ready.json),
        (
            200,
            json!({ "status": "ok", "database": "ok", "broker": "ok" })
        )
    );
}

/// The `healthcheck` command (the container's HEALTHCHECK) sees a running node alive and
/// ready, and a port nobody listens on as unhealthy.
#[actix_web::test]
async fn the_healthcheck_command_asks_the_node() {
    use room_chats::healthcheck::{Probe, Unhealthy, check};
    let app = TestApp::start(crate::support::Backend::Sqlite).await;
    let addr = app.addr;
    // Blocking sockets, off the runtime that serves the node.
    let asked = |addr, probe| tokio::task::spawn_blocking(move || check(addr, probe));
    assert!(asked(addr, Probe::Alive).await.expect("ran").is_ok());
    assert!(asked(addr, Probe::Ready).await.expect("ran").is_ok());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let refused = asked(closed, Probe::Alive).await.expect("ran");
    assert!(
        matches!(refused, Err(Unhealthy::Unreachable(..))),
        "{refused:?}"
    );
}

async fn order_upsert_creates_then_updates(app: TestApp) {
    let service = app.tokens.service();
    let created = app
        .call(
            "PUT",
            "/orders/A-1",
            Some(&service),
            Some(json!({ "customer_id": "u1", "reference": "#1" })),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json["order_id"], "A-1");
    assert_eq!(created.json["customer_id"], "u1");
    assert_eq!(created.json["reference"], "#1");
    assert!(created.json["created_at"].is_string());

    let admin = app.tokens.admin("staff");
    let updated = app
        .call(
            "PUT",
            "/orders/A-1",
            Some(&admin),
            Some(json!({ "customer_id": "u2" })),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json["customer_id"], "u2");
    assert_eq!(updated.json["reference"], Value::Null);
}

async fn create_or_get_room_is_201_then_200(app: TestApp) {
    app.order("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let first = app
        .call("POST", "/chat/order/A-1/chat/", Some(&client), None)
        .await;
    assert_eq!(first.status, 201);
    assert_room_shape(&first.json);
    assert_eq!(first.json["status"], "open");
    assert_eq!(first.json["last_seq"], 0);

    let admin = app.tokens.admin("staff");
    let again = app
        .call("POST", "/chat/order/A-1/chat/", Some(&admin), None)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["id"], first.json["id"]);
}

async fn room_list_pages_and_filters(app: TestApp) {
    let mut rooms = Vec::new();
    for n in 0..3 {
        rooms.push(app.room(&format!("A-{n}"), "u1").await);
    }
    let other = app.room("B-1", "u2").await;
    let client = app.tokens.client("u1");
    app.send(rooms[0], &client, "newest activity").await;

    let page = app.call("GET", "/chat/?limit=2", Some(&client), None).await;
    assert_eq!(page.status, 200);
    let items = page.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_room_shape(&items[0]);
    assert_eq!(items[0]["id"], rooms[0], "newest activity first");
    assert_eq!(items[0]["last_message"]["content"], "newest activity");
    assert_message_shape(&items[0]["last_message"]);
    assert_eq!(items[0]["unread"], 0, "own message counts as read");
    assert_eq!(items[1]["id"], rooms[2]);
    assert_eq!(items[1]["last_message"], Value::Null);
    let cursor = page.json["next_cursor"].as_str().expect("a next page");

    let rest = app
        .call(
            "GET",
            &format!("/chat?limit=2&cursor={cursor}"),
            Some(&client),
            None,
        )
        .await;
    let rest_items = rest.json["items"].as_array().expect("items");
    assert_eq!(rest_items.len(), 1);
    assert_eq!(rest_items[0]["id"], rooms[1]);
    assert_eq!(rest.json["next_cursor"], Value::Null);

    // Admins see every room, with the client's message unread.
    let admin = app.tokens.admin("staff");
    let all = app.call("GET", "/chat", Some(&admin), None).await;
    let all_items = all.json["items"].as_array().expect("items");
    assert_eq!(all_items.len(), 4);
    assert_eq!(all_items[0]["unread"], 1);

    let by_order = app
        .call("GET", "/chat?order_id=B-1", Some(&admin), None)
        .await;
    assert_eq!(by_order.json["items"][0]["id"], other);
    assert_eq!(by_order.json["items"].as_array().map(Vec::len), Some(1));

    let assign = app
        .call(
            "PUT",
            &format!("/chat/{other}/admins/staff"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(assign.status, 200);
    let mine = app
        .call("GET", "/chat?assigned=me", Some(&admin), None)
        .await;
    let mine_ids: Vec<&Value> = mine.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(mine_ids, vec![&json!(other)]);
    assert_eq!(mine.json["items"][0]["assigned_admins"], json!(["staff"]));
    let unassigned = app
        .call("GET", "/chat?assigned=none", Some(&admin), None)
        .await;
    assert_eq!(unassigned.json["items"].as_array().map(Vec::len), Some(3));

    let close = app
        .call(
            "POST",
            &format!("/chat/{}/close", rooms[1]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(close.status, 200);
    let closed = app
        .call("GET", "/chat?status=closed", Some(&admin), None)
        .await;
    assert_eq!(closed.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(closed.json["items"][0]["id"], rooms[1]);
    let open = app
        .call("GET", "/chat?status=open", Some(&client), None)
        .await;
    assert_eq!(open.json["items"].as_array().map(Vec::len), Some(2));
}

async fn room_detail_has_members_unread_and_messages(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let admin_claims = {
        let mut claims = app.tokens.claims("staff", "admin");
        claims["name"] = json!("Sam Staff");
        claims
    };
    let admin = app.tokens.sign(&admin_claims);
    app.send(room, &admin, "hi, how can I help?").await;
    app.send(room, &admin, "still there?").await;

    let detail = app
        .call("GET", &format!("/chat/{room}/"), Some(&client), None)
        .await;
    assert_eq!(detail.status, 200);
    assert_room_shape(&detail.json);
    assert_eq!(detail.json["unread"], 2);
    assert_eq!(detail.json["has_more"], false);
    let messages = detail.json["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_message_shape(&messages[0]);
    assert_eq!(messages[0]["seq"], 1);
    assert_eq!(messages[1]["content"], "still there?");
    let members = detail.json["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["user_id"], "u1");
    assert_eq!(members[0]["role"], "client");
    assert_eq!(members[1]["user_id"], "staff");
    assert_eq!(members[1]["name"], "Sam Staff");
    assert_eq!(members[1]["last_read_seq"], 2);
}

async fn close_and_reopen(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    let client = app.tokens.client("u1");

    let closed = app
        .call("POST", &format!("/chat/{room}/close/"), Some(&admin), None)
        .await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.json["status"], "closed");
    assert_eq!(closed.json["closed_by"], "staff");
    assert!(closed.json["closed_at"].is_string());

    let refused = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&client),
            Some(json!({ "content": "hello?" })),
        )
        .await;
    refused.assert_error(409, "room_closed");
    let still_readable = app
        .call(
            "GET",
            &format!("/chat/{room}/messages"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(still_readable.status, 200);

    let closed_again = app
        .call("POST", &format!("/chat/{room}/close"), Some(&admin), None)
        .await;
    assert_eq!(closed_again.status, 200);
    assert_eq!(closed_again.json["closed_at"], closed.json["closed_at"]);

    let reopened = app
        .call("POST", &format!("/chat/{room}/reopen/"), Some(&admin), None)
        .await;
    assert_eq!(reopened.status, 200);
    assert_eq!(reopened.json["status"], "open");
    assert_eq!(reopened.json["closed_at"], Value::Null);
    app.send(room, &client, "thanks").await;
}

async fn send_and_history_pages(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let sent = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&client),
            Some(json!({ "content": "first", "client_id": "c-1" })),
        )
        .await;
    assert_eq!(sent.status, 201);
    assert_message_shape(&sent.json);
    assert_eq!(sent.json["seq"], 1);
    assert_eq!(sent.json["sender_id"], "u1");
    assert_eq!(sent.json["sender_role"], "client");
    assert_eq!(sent.json["client_id"], "c-1");
    for n in 2..=5 {
        app.send(room, &client, &format!("message {n}")).await;
    }

    let newest = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?limit=2"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(newest.status, 200);
    let seqs = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|m| m["seq"].as_i64())
            .collect()
    };
    assert_eq!(seqs(&newest.json), vec![4, 5]);
    assert_eq!(newest.json["next_cursor"], 4);

    let older = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?before=4&limit=2"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(seqs(&older.json), vec![2, 3]);
    let oldest = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?before=2&limit=2"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(seqs(&oldest.json), vec![1]);
    assert_eq!(oldest.json["next_cursor"], Value::Null);

    let after = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?after=1&limit=3"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(seqs(&after.json), vec![2, 3, 4]);
    assert_eq!(after.json["next_cursor"], 4);
    let tail = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?after=4"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(seqs(&tail.json), vec![5]);
    assert_eq!(tail.json["next_cursor"], Value::Null);

    // Both bounds: the oldest page strictly between them.
    let between = app
        .call(
            "GET",
            &format!("/chat/{room}/messages?after=1&before=5&limit=2"),
            Some(&client),
            None,
        )
        .await;
    assert_eq!(seqs(&between.json), vec![2, 3]);
    assert_eq!(between.json["next_cursor"], 3);
}

async fn read_marker_moves_forward_only(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    let client = app.tokens.client("u1");
    for n in 1..=3 {
        app.send(room, &admin, &format!("update {n}")).await;
    }
    let read = |body: Value| {
        let client = client.clone();
        let app = &app;
        async move {
            app.call(
                "POST",
                &format!("/chat/{room}/read"),
                Some(&client),
                Some(body),
            )
            .await
        }
    };
    let partial = read(json!({ "up_to": 2 })).await;
    assert_eq!(partial.status, 200);
    assert_eq!(
        partial.json,
        json!({ "room_id": room, "up_to": 2, "unread": 1 })
    );

    let backwards = read(json!({ "up_to": 1 })).await;
    assert_eq!(backwards.json["up_to"], 2, "the marker never moves back");

    let beyond = read(json!({ "up_to": 99 })).await;
    assert_eq!(
        beyond.json,
        json!({ "room_id": room, "up_to": 3, "unread": 0 })
    );

    app.send(room, &admin, "update 4").await;
    let listed = app.call("GET", "/chat", Some(&client), None).await;
    assert_eq!(listed.json["items"][0]["unread"], 1);
    let all = read(json!({})).await;
    assert_eq!(all.json["unread"], 0);
    assert_eq!(all.json["up_to"], 4);
}

async fn admin_assignment(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    let assigned = app
        .call(
            "PUT",
            &format!("/chat/{room}/admins/agent-7"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(assigned.status, 200);
    let agent = assigned
        .json
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user_id"] == "agent-7")
        .cloned()
        .expect("agent is a member");
    assert_eq!(agent["role"], "admin");
    assert_eq!(agent["assigned"], true);

    let customer = app
        .call(
            "PUT",
            &format!("/chat/{room}/admins/u1"),
            Some(&admin),
            None,
        )
        .await;
    customer.assert_error(409, "conflict");

    let removed = app
        .call(
            "DELETE",
            &format!("/chat/{room}/admins/agent-7"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&admin), None)
        .await;
    let still_member = detail.json["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user_id"] == "agent-7")
        .cloned()
        .expect("still a member");
    assert_eq!(still_member["assigned"], false);
    let again = app
        .call(
            "DELETE",
            &format!("/chat/{room}/admins/agent-7"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, 204);
}

async fn trailing_slash_is_optional(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    for path in [
        format!("/chat/{room}"),
        format!("/chat/{room}/"),
        "/chat".into(),
        "/chat/".into(),
    ] {
        let response = app.call("GET", &path, Some(&client), None).await;
        assert_eq!(response.status, 200, "{path}");
    }
    let unknown = app.call("GET", "/no/such/thing", Some(&client), None).await;
    unknown.assert_error(404, "not_found");
}

#[actix_web::test]
async fn cors_answers_allowed_browser_origins_only() {
    let mut options = crate::support::NodeOptions::default();
    options.realtime.allowed_origins =
        room_chats_api::realtime::AllowedOrigins::List(vec!["https://shop.example".to_owned()]);
    let app = TestApp::start_node(crate::support::Backend::Sqlite, options).await;
    let client = app.client();
    let preflight = |origin: &'static str| {
        client
            .request(actix_web::http::Method::OPTIONS, app.url("/chat/"))
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ))
            .send()
    };
    let allowed = preflight("https://shop.example")
        .await
        .expect("preflight answered");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );
    let foreign = preflight("https://evil.example")
        .await
        .expect("preflight answered");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // A real call from the allowed origin carries the header; from another origin it is
    // served (same-origin deployments send Origin too) but without it.
    let token = app.tokens.client("u1");
    let call = |origin: &'static str| {
        client
            .get(app.url("/chat"))
            .bearer_auth(&token)
            .insert_header(("Origin", origin))
            .send()
    };
    let allowed = call("https://shop.example").await.expect("answered");
    assert_eq!(allowed.status().as_u16(), 200);
    assert!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .is_some()
    );
    let foreign = call("https://evil.example").await.expect("answered");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// Every answer names its request: the caller's `X-Request-Id` when it is a sensible one, a
/// fresh one otherwise; error bodies carry it too, and browsers may send and read it.
#[actix_web::test]
async fn every_answer_carries_a_request_id() {
    let mut options = crate::support::NodeOptions::default();
    options.realtime.allowed_origins =
        room_chats_api::realtime::AllowedOrigins::List(vec!["https://shop.example".to_owned()]);
    let app = TestApp::start_node(crate::support::Backend::Sqlite, options).await;
    let client = app.client();
    let id_of = |response: &awc::ClientResponse<_>| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let body_of = |bytes: &[u8]| -> Value { serde_json::from_slice(bytes).expect("JSON") };

    // Made when none is given, and a new one each time.
    let first = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answered");
    let second = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answered");
    let (first, second) = (id_of(&first), id_of(&second));
    assert!(first.as_ref().is_some_and(|id| id.len() == 32), "{first:?}");
    assert_ne!(first, second);

    // The caller's id comes back, in the header and in error bodies: a 404, a 401 and a
    // body the JSON extractor refuses.
    let token = app.tokens.client("u1");
    let cases = [
        ("GET", "/no/such/thing", Some(token.as_str()), None, 404),
        ("GET", "/chat", None, None, 401),
        (
            "POST",
            "/chat/1/messages",
            Some(token.as_str()),
            Some("{\"content\": 5}"),
            422,
        ),
    ];
    for (index, (method, path, token, body, status)) in cases.into_iter().enumerate() {
        let id = format!("trace-{index}:abc");
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = client
            .request(method, app.url(path))
            .insert_header(("X-Request-Id", id.as_str()))
            .insert_header(("Content-Type", "application/json"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response = match body {
            Some(body) => request.send_body(body).await,
            None => request.send().await,
        }
        .expect("answered");
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(id_of(&response).as_deref(), Some(id.as_str()), "{path}");
        let bytes = response.body().await.expect("body");
        assert_eq!(
            body_of(&bytes)["error"]["request_id"],
            id.as_str(),
            "{path}"
        );
    }

    // An id that could forge log lines is replaced, not echoed.
    let forged = client
        .get(app.url("/healthz"))
        .insert_header(("X-Request-Id", "x\" injected=\"1"))
        .send()
        .await
        .expect("answered");
    let replaced = id_of(&forged).expect("an id");
    assert_eq!(replaced.len(), 32, "{replaced}");

    // Browsers may send it (preflight) and read it (exposed).
    let preflight = client
        .request(actix_web::http::Method::OPTIONS, app.url("/chat"))
        .insert_header(("Origin", "https://shop.example"))
        .insert_header(("Access-Control-Request-Method", "GET"))
        .insert_header((
            "Access-Control-Request-Headers",
            "authorization, x-request-id",
        ))
        .send()
        .await
        .expect("preflight answered");
    assert!(preflight.status().is_success(), "{preflight:?}");
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-request-id"), "{allowed}");
    assert!(id_of(&preflight).is_some());
    let call = client
        .get(app.url("/chat"))
        .bearer_auth(&token)
        .insert_header(("Origin", "https://shop.example"))
        .send()
        .await
        .expect("answered");
    let exposed = call
        .headers()
        .get("access-control-expose-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}
