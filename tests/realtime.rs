//! The WebSocket protocol on one node, with real clients.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::ws::{Carrier, Received};
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    consumer_flow_end_to_end,
    assignment_and_reopening_are_seen_live,
    resume_with_since_gets_exactly_what_was_missed,
    concurrent_senders_are_seen_in_seq_order,
    idempotent_client_id_over_websocket,
    a_burst_from_one_socket_is_acked_once_each_in_order,
);

/// A client that sends many messages without waiting for acks (several are stored together)
/// gets exactly one `ack` per frame, in seq order, and never its own message as `message`;
/// a retry sent while the first copy is still in flight is acked (again) with the same message.
async fn a_burst_from_one_socket_is_acked_once_each_in_order(app: TestApp) {
    const BURST: usize = 100;
    let room = app.room("A-1", "u1").await;
    let mut watcher = app.ws(room, &app.tokens.admin("staff")).await;
    watcher.handshake().await;
    let mut sender = app.ws(room, &app.tokens.client("u1")).await;
    sender.handshake().await;
    for n in 0..BURST {
        sender.say(&format!("b{n}"), &format!("burst {n}")).await;
        if n == 10 {
            sender.say("b10", "burst 10").await;
        }
    }
    let mut acks = Vec::new();
    while acks.len() < BURST + 1 {
        let frame = sender.next_json().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push((
                frame["client_id"].as_str().unwrap_or_default().to_owned(),
                frame["message"]["seq"].as_i64().unwrap_or_default(),
            )),
            Some("presence" | "typing" | "read") => {}
            _ => panic!("only acks are expected by the sender: {frame}"),
        }
    }
    let retried: Vec<_> = acks.iter().filter(|(id, _)| id == "b10").collect();
    assert_eq!(retried.len(), 2, "{retried:?}");
    assert_eq!(
        retried[0].1, retried[1].1,
        "a retry is acked with the original"
    );
    // The retry's ack repeats the original whenever its answer comes; the others come one
    // per message, in seq order.
    let mut unique: Vec<(String, i64)> = Vec::new();
    for ack in acks {
        if !unique.contains(&ack) {
            unique.push(ack);
        }
    }
    let expected: Vec<(String, i64)> = (0..BURST)
        .map(|n| (format!("b{n}"), i64::try_from(n).unwrap_or_default() + 1))
        .collect();
    assert_eq!(unique, expected, "one ack per message, in seq order");
    let mut seen = Vec::new();
    while seen.len() < BURST {
        seen.push(watcher.next_of("message").await["message"]["seq"].clone());
    }
    let in_order: Vec<Value> = (1..=BURST).map(|seq| Value::from(seq as i64)).collect();
    assert_eq!(seen, in_order);
}

fn seqs(messages: &[Value]) -> Vec<i64> {
    messages.iter().filter_map(|m| m["seq"].as_i64()).collect()
}

async fn consumer_flow_end_to_end(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client_token = app.tokens.client("u1");
    let admin_token = app.tokens.admin("staff");
    app.send(room, &admin_token, "welcome").await;

    let mut client = app.ws(room, &client_token).await;
    let (ready, history) = client.handshake().await;
    assert_eq!(ready["room"]["id"], room);
    assert_eq!(ready["me"], json!({ "user_id": "u1", "role": "client" }));
    assert_eq!(ready["last_seq"], 1);
    assert_eq!(ready["unread"], 1);
    assert_eq!(seqs(&history), vec![1]);
    assert_eq!(history[0]["content"], "welcome");

    let mut admin = app.ws(room, &admin_token).await;
    admin.handshake().await;

    client.say("c-1", "where is my parcel?").await;
    let ack = client.next_of("ack").await;
    assert_eq!(ack["client_id"], "c-1");
    assert_eq!(ack["message"]["seq"], 2);
    assert_eq!(ack["message"]["sender_id"], "u1");
    let seen = admin.next_of("message").await;
    assert_eq!(seen["message"], ack["message"]);

    // A message sent over REST arrives live too.
    let rest = json!(app.send(room, &admin_token, "on its way").await);
    assert_eq!(client.next_of("message").await["message"], rest);
    assert_eq!(
        admin.next_of("message").await["message"],
        rest,
        "REST senders' sockets see it too"
    );

    // Reading over WebSocket moves the marker REST reports.
    client.send_json(json!({ "type": "mark_read" })).await;
    let read = admin.next_of("read").await;
    assert_eq!(read, json!({ "type": "read", "user_id": "u1", "up_to": 3 }));
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(&client_token), None)
        .await;
    assert_eq!(detail.json["unread"], 0);

    // Closing over REST is seen live; sending then answers room_closed, reading still works.
    let closed = app
        .call(
            "POST",
            &format!("/chat/{room}/close"),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(closed.status, 200);
    let event = client.next_of("room").await;
    assert_eq!(event["event"], "closed");
    assert_eq!(event["room"]["status"], "closed");
    client.say("c-2", "hello?").await;
    let refused = client.next_of("error").await;
    assert_eq!(refused["code"], "room_closed");
    assert_eq!(refused["ref"], "c-2");
    client.round_trip().await;
}

async fn assignment_and_reopening_are_seen_live(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    let mut client = app.ws(room, &app.tokens.client("u1")).await;
    client.handshake().await;
    let path = format!("/chat/{room}/admins/agent-7");
    assert_eq!(app.call("PUT", &path, Some(&admin), None).await.status, 200);
    let added = client.next_of("room").await;
    assert_eq!(
        (
            added["seq"].as_i64(),
            added["event"].as_str(),
            added["user_id"].as_str()
        ),
        (Some(1), Some("member_added"), Some("agent-7"))
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&admin), None).await.status,
        204
    );
    assert_eq!(client.next_of("room").await["event"], "member_removed");
    app.call("POST", &format!("/chat/{room}/close"), Some(&admin), None)
        .await;
    assert_eq!(client.next_of("room").await["event"], "closed");
    app.call("POST", &format!("/chat/{room}/reopen"), Some(&admin), None)
        .await;
    let reopened = client.next_of("room").await;
    assert_eq!(
        (
            reopened["event"].as_str(),
            reopened["room"]["status"].as_str()
        ),
        (Some("reopened"), Some("open"))
    );
    assert_eq!(reopened["seq"], 4, "each change took the room's next seq");
    client.say("c-1", "open again").await;
    assert_eq!(
        client.next_of("ack").await["message"]["seq"],
        5,
        "messages and room events share the room's timeline"
    );
}

async fn resume_with_since_gets_exactly_what_was_missed(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client_token = app.tokens.client("u1");
    let admin_token = app.tokens.admin("staff");
    let mut client = app.ws(room, &client_token).await;
    client.handshake().await;
    client.say("c-1", "one").await;
    let last_seen = client.next_of("ack").await["message"]["seq"]
        .as_i64()
        .expect("seq");
    client.close().await;

    for n in 0..5 {
        app.send(room, &admin_token, &format!("missed {n}")).await;
    }
    let mut resumed = app
        .ws_with(
            &format!("/ws/chat/{room}?since={last_seen}"),
            &client_token,
            Carrier::Header,
        )
        .await;
    let (ready, missed) = resumed.handshake().await;
    assert_eq!(ready["last_seq"], 6);
    assert_eq!(seqs(&missed), vec![2, 3, 4, 5, 6]);
    app.send(room, &admin_token, "live again").await;
    assert_eq!(resumed.next_of("message").await["message"]["seq"], 7);
}

async fn concurrent_senders_are_seen_in_seq_order(app: TestApp) {
    const SENDERS: usize = 4;
    const EACH: usize = 25;
    let room = app.room("A-1", "u1").await;
    let watcher_token = app.tokens.admin("watcher");
    let mut watcher = app.ws(room, &watcher_token).await;
    watcher.handshake().await;

    let senders = (0..SENDERS).map(|n| {
        let app = &app;
        async move {
            let token = app.tokens.admin(&format!("staff-{n}"));
            let mut ws = app.ws(room, &token).await;
            let (_, history) = ws.handshake().await;
            let joined_after = history.last().and_then(|m| m["seq"].as_i64()).unwrap_or(0);
            // A sender sees the room in order too: others' messages and its own acks
            // interleave by seq, each once, an ack never ahead of an earlier message.
            let mut seen = Vec::new();
            for i in 0..EACH {
                ws.say(&format!("{n}-{i}"), "hello").await;
                loop {
                    let frame = ws.next_json().await;
                    match frame["type"].as_str() {
                        Some("message") => seen.push(frame["message"]["seq"].as_i64()),
                        Some("ack") => {
                            seen.push(frame["message"]["seq"].as_i64());
                            assert_eq!(frame["client_id"], format!("{n}-{i}"));
                            break;
                        }
                        _ => {}
                    }
                }
            }
            let expected: Vec<Option<i64>> = (joined_after + 1..=joined_after + seen.len() as i64)
                .map(Some)
                .collect();
            assert_eq!(seen, expected, "sender {n} saw the room in seq order");
            ws
        }
    });
    let rest_sender = async {
        let token = app.tokens.client("u1");
        for i in 0..EACH {
            app.send(room, &token, &format!("rest {i}")).await;
        }
    };
    let (senders, ()) = futures_util::join!(join_all(senders), rest_sender);
    let total = (SENDERS + 1) * EACH;
    let mut received = Vec::new();
    while received.len() < total {
        received.push(
            watcher.next_of("message").await["message"]["seq"]
                .as_i64()
                .expect("seq"),
        );
    }
    let expected: Vec<i64> = (1..=total as i64).collect();
    assert_eq!(received, expected, "every seq once, in order");
    drop(senders);
}

async fn idempotent_client_id_over_websocket(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let mut client = app.ws(room, &app.tokens.client("u1")).await;
    client.handshake().await;
    let mut admin = app.ws(room, &app.tokens.admin("staff")).await;
    admin.handshake().await;
    client.say("same", "only once").await;
    let first = client.next_of("ack").await;
    client.say("same", "only once").await;
    let retry = client.next_of("ack").await;
    assert_eq!(first["message"], retry["message"]);
    assert_eq!(admin.next_of("message").await["message"]["seq"], 1);
    client.say("next", "second").await;
    assert_eq!(client.next_of("ack").await["message"]["seq"], 2);
    assert_eq!(
        admin.next_of("message").await["message"]["seq"],
        2,
        "the retry was not delivered again"
    );
}

#[actix_web::test]
async fn every_token_carrier_works() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let token = app.tokens.client("u1");
    for carrier in [Carrier::Header, Carrier::Subprotocol, Carrier::Query] {
        let subprotocol = matches!(carrier, Carrier::Subprotocol);
        let mut ws = app
            .ws_with(&format!("/ws/chat/{room}/"), &token, carrier)
            .await;
        if subprotocol {
            assert_eq!(ws.protocol.as_deref(), Some("room-chats.v1"));
        }
        let (ready, _) = ws.handshake().await;
        assert_eq!(ready["me"]["user_id"], "u1");
    }
}

#[actix_web::test]
async fn handshake_refusals_are_json_before_the_upgrade() {
    let mut options = NodeOptions::default();
    options.realtime.allowed_origins =
        room_chats_api::realtime::AllowedOrigins::List(vec!["https://shop.example".to_owned()]);
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let room = app.room("A-1", "u1").await;
    let path = format!("/ws/chat/{room}/");
    let owner = format!("Bearer {}", app.tokens.client("u1"));
    let stranger = format!("Bearer {}", app.tokens.client("u2"));
    let mut expired = app.tokens.claims("u1", "client");
    expired["exp"] = json!(crate::support::tokens::now() - 60);
    let expired = format!("Bearer {}", app.tokens.sign(&expired));

    let none = app.ws_refused(&path, &[]).await;
    none.assert_error(401, "unauthorized");
    assert_eq!(
        app.ws_refused(&path, &[("Authorization", "Bearer garbage")])
            .await
            .status,
        401
    );
    app.ws_refused(&path, &[("Authorization", &expired)])
        .await
        .assert_error(401, "unauthorized");
    let theirs = app.ws_refused(&path, &[("Authorization", &stranger)]).await;
    theirs.assert_error(404, "not_found");
    let missing = app
        .ws_refused("/ws/chat/999999/", &[("Authorization", &owner)])
        .await;
    assert_eq!(theirs.json, missing.json);
    let service = format!("Bearer {}", app.tokens.service());
    app.ws_refused(&path, &[("Authorization", &service)])
        .await
        .assert_error(403, "forbidden");
    let evil = app
        .ws_refused(
            &path,
            &[
                ("Authorization", &owner),
                ("Origin", "https://evil.example"),
            ],
        )
        .await;
    evil.assert_error(403, "forbidden");
    let bad_history = app
        .ws_refused(
            &format!("{path}?history=5000"),
            &[("Authorization", &owner)],
        )
        .await;
    bad_history.assert_error(422, "validation_failed");
    let mut allowed = app
        .ws_from_origin(room, &app.tokens.client("u1"), "https://shop.example")
        .await;
    allowed.handshake().await;
}

/// A browser sees a refused upgrade only as close 1006. A client that offers the
/// `room-chats.v1` subprotocol (as browsers do to pass their token) is told inside the
/// protocol instead: the upgrade succeeds, one `error` frame says why, and the close code is
/// 4000 + the HTTP status's last two digits. Clients that do not offer it keep the JSON
/// answer.
#[actix_web::test]
async fn a_browser_can_read_why_its_handshake_was_refused() {
    let mut options = NodeOptions::default();
    options.realtime.allowed_origins =
        room_chats_api::realtime::AllowedOrigins::List(vec!["https://shop.example".to_owned()]);
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let room = app.room("A-1", "u1").await;
    let owner = app.tokens.client("u1");
    let stranger = app.tokens.client("u2");
    let mut expired = app.tokens.claims("u1", "client");
    expired["exp"] = json!(crate::support::tokens::now() - 60);
    let expired = app.tokens.sign(&expired);

    let cases = [
        (
            format!("/ws/chat/{room}/"),
            "garbage".to_owned(),
            4001,
            "unauthorized",
        ),
        (format!("/ws/chat/{room}/"), expired, 4001, "unauthorized"),
        (
            format!("/ws/chat/{room}/"),
            stranger.clone(),
            4004,
            "not_found",
        ),
        (
            "/ws/chat/999999/".to_owned(),
            owner.clone(),
            4004,
            "not_found",
        ),
        (
            format!("/ws/chat/{room}/?history=5000"),
            owner.clone(),
            4022,
            "validation_failed",
        ),
        (
            "/ws/?assigned=me".to_owned(),
            stranger,
            4022,
            "validation_failed",
        ),
        ("/ws/".to_owned(), app.tokens.service(), 4003, "forbidden"),
    ];
    for (path, token, close_code, error_code) in cases {
        let mut socket = app.ws_with(&path, &token, Carrier::Subprotocol).await;
        assert_eq!(socket.protocol.as_deref(), Some("room-chats.v1"), "{path}");
        let error = socket.next_json().await;
        assert_eq!(error["type"], "error", "{path}: {error}");
        assert_eq!(error["code"], error_code, "{path}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(socket.closed().await, Some(close_code), "{path}");
    }

    // A page of another origin, offering the subprotocol: told 4003.
    let mut refused = app
        .ws_as_page(&format!("/ws/chat/{room}/"), &owner, "https://evil.example")
        .await;
    assert_eq!(refused.protocol.as_deref(), Some("room-chats.v1"));
    assert_eq!(refused.next_json().await["code"], "forbidden");
    assert_eq!(refused.closed().await, Some(4003));

    // Without the subprotocol the refusal stays an HTTP answer.
    let stranger = app.tokens.client("u2");
    assert_eq!(
        app.ws_status(&format!("/ws/chat/{room}/"), &stranger).await,
        404
    );
}

/// A page served from the service's own origin connects even with no `ALLOWED_ORIGINS`; a
/// page of any other origin is still refused.
#[actix_web::test]
async fn the_services_own_origin_may_connect_without_configuration() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let token = app.tokens.client("u1");
    let own_origin = app.url("");
    let mut own = app
        .ws_from_origin(room, &token, own_origin.trim_end_matches('/'))
        .await;
    own.handshake().await;
    let other_port = format!("http://127.0.0.1:{}", app.addr.port().wrapping_add(1));
    app.ws_refused(
        &format!("/ws/chat/{room}/"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Origin", &other_port),
        ],
    )
    .await
    .assert_error(403, "forbidden");
}

#[actix_web::test]
async fn bad_frames_get_errors_and_the_connection_stays() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let mut ws = app.ws(room, &app.tokens.client("u1")).await;
    ws.handshake().await;
    let cases: [(&str, &str); 7] = [
        ("{not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        (r#"{"type": "shout"}"#, "unknown_type"),
        (
            r#"{"type": "message", "content": "no client id"}"#,
            "bad_request",
        ),
        (
            r#"{"type": "message", "client_id": "e1", "content": "   "}"#,
            "invalid_content",
        ),
        (
            r#"{"type": "message", "client_id": "e2", "content": "nul \u0000"}"#,
            "invalid_content",
        ),
        (r#"{"type": "read", "up_to": -4}"#, "validation_failed"),
    ];
    for (text, code) in cases {
        ws.send_text(text.to_owned()).await;
        let error = ws.next_of("error").await;
        assert_eq!(error["code"], code, "{text}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let too_long = "x".repeat(app.limits.max_content_chars + 1);
    ws.say("e3", &too_long).await;
    let error = ws.next_of("error").await;
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("invalid_content"), Some("e3"))
    );
    ws.send_binary(b"\x00\x01").await;
    assert_eq!(ws.next_of("error").await["code"], "bad_request");

    ws.say("good", "still works").await;
    assert_eq!(ws.next_of("ack").await["message"]["seq"], 1);
    let stored = app.history(room, &app.tokens.client("u1")).await;
    assert_eq!(stored.len(), 1, "nothing bad was stored");
}

#[actix_web::test]
async fn oversized_frames_close_with_1009_and_invalid_utf8_with_1007() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let token = app.tokens.client("u1");
    let path = format!("/ws/chat/{room}");

    // A frame that announces 64 MiB is refused from its header: the server closes while the
    // client has sent only a few kilobytes of it.
    let mut huge = raw_frame(0x1, 64 * 1024 * 1024, &[]);
    huge.extend(vec![b'x'; 8 * 1024]);
    assert_eq!(raw_exchange(&app, &path, &token, &huge), Some(1009));

    // A complete frame just over the limit is refused too.
    let over = vec![b'x'; 64 * 1024 + 1];
    assert_eq!(
        raw_exchange(
            &app,
            &path,
            &token,
            &raw_frame(0x1, over.len() as u64, &over)
        ),
        Some(1009)
    );

    let invalid_utf8 = [0xC3_u8, 0x28, 0xFF];
    assert_eq!(
        raw_exchange(
            &app,
            &path,
            &token,
            &raw_frame(0x1, invalid_utf8.len() as u64, &invalid_utf8)
        ),
        Some(1007)
    );

    // A reserved opcode is a protocol violation.
    assert_eq!(
        raw_exchange(&app, &path, &token, &raw_frame(0x3, 1, b"x")),
        Some(1002)
    );
    // So is a reserved bit (RSV1: no extension was negotiated), RFC 6455 §5.2.
    assert_eq!(
        raw_exchange(
            &app,
            &path,
            &token,
            &raw_frame_with(0x80 | 0x40 | 0x1, 2, b"hi")
        ),
        Some(1002)
    );

    // Fragments that are each within the limit but together over it close with 1009 too.
    let part = vec![b'x'; 40 * 1024];
    let mut fragmented = raw_frame_with(0x1, part.len() as u64, &part);
    fragmented.extend(raw_frame_with(0x0, part.len() as u64, &part));
    fragmented.extend(raw_frame_with(0x80, 1, b"x"));
    assert_eq!(raw_exchange(&app, &path, &token, &fragmented), Some(1009));
}

/// A WebSocket handshake over HTTP/1.0 is refused (RFC 6455 §4.1 needs HTTP/1.1 or later).
#[actix_web::test]
async fn an_http_1_0_upgrade_is_refused() {
    use std::io::Read;
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let token = app.tokens.client("u1");
    let mut socket = raw_handshake(&app, &format!("/ws/chat/{room}"), &token, "HTTP/1.0");
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.0 400"), "{answer}");
    assert!(answer.contains("\"bad_request\""), "{answer}");
}

/// A masked client frame with `opcode` (and FIN) announcing `length` bytes and carrying
/// `payload`.
fn raw_frame(opcode: u8, length: u64, payload: &[u8]) -> Vec<u8> {
    raw_frame_with(0x80 | opcode, length, payload)
}

/// A masked client frame whose first byte (FIN, RSV bits, opcode) is `first`.
fn raw_frame_with(first: u8, length: u64, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11_u8, 0x22, 0x33, 0x44];
    let mut frame = vec![first];
    match length {
        0..=125 => frame.push(0x80 | length as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&length.to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4]),
    );
    frame
}

/// Opens a WebSocket by hand, writes `bytes` after the handshake and returns the code of the
/// server's close frame. Blocking I/O is fine here: the server runs on its own threads.
fn raw_exchange(app: &TestApp, path: &str, token: &str, bytes: &[u8]) -> Option<u16> {
    use std::io::{Read, Write};
    let mut socket = raw_handshake(app, path, token, "HTTP/1.1");
    // Everything the server sends, until it closes: headers, ready, history, then a close frame.
    let _ = socket.write_all(bytes);
    let mut received = Vec::new();
    let mut buffer = [0_u8; 65536];
    while let Ok(n) = socket.read(&mut buffer) {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..n]);
        if let Some(code) = close_code(&received) {
            return Some(code);
        }
    }
    close_code(&received)
}

/// Opens a TCP connection and writes a WebSocket handshake for `path` in HTTP `version`.
fn raw_handshake(app: &TestApp, path: &str, token: &str, version: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut socket = std::net::TcpStream::connect(app.addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "GET {path} {version}\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: Bearer {token}\r\n\r\n",
        app.addr
    );
    socket
        .write_all(request.as_bytes())
        .expect("handshake written");
    socket
}

/// Finds the server's close frame after the HTTP headers and returns its status code.
fn close_code(received: &[u8]) -> Option<u16> {
    let body = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut at = body;
    while at + 2 <= received.len() {
        let opcode = received[at] & 0x0f;
        let (length, header) = match received[at + 1] & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([
                    *received.get(at + 2)?,
                    *received.get(at + 3)?,
                ])),
                4,
            ),
            127 => return None,
            short => (usize::from(short), 2),
        };
        if opcode == 0x8 && length >= 2 {
            let code = received.get(at + header..at + header + 2)?;
            return Some(u16::from_be_bytes([code[0], code[1]]));
        }
        at += header + length;
    }
    None
}

#[actix_web::test]
async fn rate_and_connection_limits() {
    let mut options = NodeOptions::default();
    options.limits.messages_per_sec = 1;
    options.limits.message_burst = 2;
    options.realtime.max_connections_per_user = 2;
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room = app.room("A-1", "u1").await;
    let token = app.tokens.client("u1");
    // Both sockets first, so that the sends below fall well within one second (a second
    // refills one message of the budget).
    let mut ws = app.ws(room, &token).await;
    ws.handshake().await;
    let mut second = app.ws(room, &token).await;
    second.handshake().await;
    for n in 0..2 {
        ws.say(&format!("r{n}"), "quick").await;
    }
    assert_eq!(ws.next_of("ack").await["client_id"], "r0");
    assert_eq!(ws.next_of("ack").await["client_id"], "r1");

    // The budget is the user's, not the connection's: another socket and REST share it.
    second.say("s0", "from another socket").await;
    let limited = second.next_of("error").await;
    assert_eq!(
        (limited["code"].as_str(), limited["ref"].as_str()),
        (Some("rate_limited"), Some("s0"))
    );
    let retry_after = limited["retry_after"].as_f64().expect("retry_after");
    assert!(retry_after > 0.0 && retry_after <= 1.0, "{limited}");
    let over_rest = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&token),
            Some(json!({ "content": "over HTTP" })),
        )
        .await;
    over_rest.assert_error(429, "rate_limited");
    let retry_header = over_rest
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok());
    assert_eq!(retry_header, Some("1"), "{over_rest:?}");
    let stored = app.history(room, &token).await;
    assert_eq!(stored.len(), 2, "no limited message was stored");
    // Another user of the room has a budget of its own.
    app.send(room, &app.tokens.admin("staff"), "still served")
        .await;

    let third = app
        .ws_refused(
            &format!("/ws/chat/{room}"),
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await;
    third.assert_error(429, "rate_limited");
}

#[actix_web::test]
async fn typing_expires_and_presence_follows_connections() {
    let mut options = NodeOptions::default();
    options.realtime.typing_ttl = Duration::from_millis(300);
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let room = app.room("A-1", "u1").await;
    let mut admin = app.ws(room, &app.tokens.admin("staff")).await;
    admin.handshake().await;
    let mut client = app.ws(room, &app.tokens.client("u1")).await;
    client.handshake().await;
    assert_eq!(
        admin.next_json().await,
        json!({ "type": "presence", "user_id": "u1", "online": true })
    );

    client
        .send_json(json!({ "type": "typing", "typing": true }))
        .await;
    assert_eq!(
        admin.next_json().await,
        json!({ "type": "typing", "user_id": "u1", "typing": true })
    );
    // No refresh: the server announces the end by itself.
    assert_eq!(
        admin.next_json().await,
        json!({ "type": "typing", "user_id": "u1", "typing": false })
    );

    client.close().await;
    assert_eq!(
        admin.next_json().await,
        json!({ "type": "presence", "user_id": "u1", "online": false })
    );
}

#[actix_web::test]
async fn expired_token_closes_4001_unless_refreshed() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let short = |secs: i64| {
        let mut claims = app.tokens.claims("u1", "client");
        claims["exp"] = json!(crate::support::tokens::now() + secs);
        app.tokens.sign(&claims)
    };
    let mut lapsing = app.ws(room, &short(2)).await;
    lapsing.handshake().await;
    let mut refreshed = app.ws(room, &short(2)).await;
    refreshed.handshake().await;
    refreshed
        .send_json(json!({ "type": "auth", "token": short(60) }))
        .await;
    refreshed
        .send_json(json!({ "type": "auth", "token": app.tokens.client("someone-else") }))
        .await;
    assert_eq!(refreshed.next_of("error").await["code"], "forbidden");

    let expired = lapsing.next_of("error").await;
    assert_eq!(expired["code"], "unauthorized");
    assert_eq!(lapsing.closed().await, Some(4001));
    // The refreshed connection outlived the first token.
    refreshed.round_trip().await;
}

#[actix_web::test]
async fn silent_peers_are_dropped() {
    let mut options = NodeOptions::default();
    options.realtime.heartbeat = Duration::from_millis(100);
    options.realtime.client_timeout = Duration::from_millis(400);
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let room = app.room("A-1", "u1").await;
    let mut ws = app.ws(room, &app.tokens.client("u1")).await;
    ws.handshake().await;
    // The client reads but never answers pings nor sends a frame of its own.
    assert_eq!(ws.closed_silently().await, Some(1001));
}

#[actix_web::test]
async fn shutdown_closes_with_1012_and_every_ack_is_stored() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let mut ws = app.ws(room, &app.tokens.client("u1")).await;
    ws.handshake().await;
    for n in 0..20 {
        ws.say(&format!("m{n}"), "sent around the restart").await;
    }
    let control = app.control.clone();
    let shutdown = actix_web::rt::spawn(async move { control.shutdown().await });
    let mut acked = Vec::new();
    let code = loop {
        match ws.receive().await {
            Received::Json(frame) if frame["type"] == "ack" => acked.push(frame["message"].clone()),
            Received::Json(frame) => assert_ne!(frame["type"], "error", "{frame}"),
            Received::Closed(code) => break code,
        }
    };
    assert_eq!(code, Some(1012), "service restart");
    let _ = shutdown.await;
    // The node is gone; another node on the same database holds exactly the acked messages:
    // nothing acked is missing, and nothing stored went unacknowledged.
    let peer = app.start_peer(NodeOptions::default()).await;
    let token = peer.tokens.client("u1");
    let history = peer.history(room, &token).await;
    assert_eq!(json!(history), Value::Array(acked));
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_dropped_and_others_carry_on() {
    let mut options = NodeOptions::default();
    options.realtime.outbox = 8;
    let app = TestApp::start_node(Backend::Sqlite, options).await;
    let room = app.room("A-1", "u1").await;
    let mut stalled = app.ws(room, &app.tokens.client("u1")).await;
    stalled.handshake().await;
    let mut sender = app.ws(room, &app.tokens.admin("staff")).await;
    sender.handshake().await;

    // Send until the server drops the stalled client, which the room learns as its presence
    // ending; far more than the socket buffers and the 8-frame outbox hold is the bound.
    const LIMIT: usize = 5000;
    let content = "x".repeat(3900);
    let mut sent = 0;
    let mut dropped = false;
    while sent < LIMIT && !dropped {
        sender.say(&format!("m{sent}"), &content).await;
        sent += 1;
        loop {
            let frame = sender.next_json().await;
            match frame["type"].as_str() {
                Some("ack") => break,
                Some("presence") if frame["user_id"] == "u1" && frame["online"] == false => {
                    dropped = true
                }
                Some("error") => panic!("{frame}"),
                _ => {}
            }
        }
    }
    assert!(
        dropped,
        "the stalled client was never dropped after {sent} messages"
    );
    // The sender was never slowed down by the stalled reader.
    sender.round_trip().await;

    let mut received = 0;
    loop {
        match stalled.receive().await {
            Received::Json(frame) if frame["type"] == "message" => received += 1,
            Received::Json(_) => {}
            Received::Closed(_) => break,
        }
    }
    assert!(
        received < sent,
        "the stalled client got {received} of {sent} before the cut"
    );
}

/// A message this node never heard of (stored by another node whose broadcast was lost)
/// still reaches every client in seq order: the next message is held, the missing seq is read
/// from the database, and both go out in order, the sender's as its ack.
#[actix_web::test]
async fn a_message_never_announced_is_filled_in_before_the_next_one() {
    use diesel::RunQueryDsl;
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    let mut watcher = app.ws(room, &app.tokens.admin("staff")).await;
    watcher.handshake().await;
    let mut sender = app.ws(room, &app.tokens.client("u1")).await;
    sender.handshake().await;

    // Behind the service's back: seq 1, as another node's writer would have stored it.
    diesel::sql_query(format!(
        "WITH advanced AS (UPDATE chat_rooms SET last_seq = 1 WHERE id = {room}) \
         INSERT INTO messages (room_id, seq, sender_id, sender_role, content, client_id, created_at) \
         VALUES ({room}, 1, 'staff', 'admin', 'from elsewhere', 'x1', 0)"
    ))
    .execute(&mut app.postgres())
    .expect("message stored behind the node's back");

    sender.say("c2", "from here").await;
    let ack = sender.next_of("message").await;
    assert_eq!(
        (
            ack["message"]["seq"].as_i64(),
            ack["message"]["content"].as_str()
        ),
        (Some(1), Some("from elsewhere")),
        "the missing message first"
    );
    let ack = sender.next_of("ack").await;
    assert_eq!(
        (ack["client_id"].as_str(), ack["message"]["seq"].as_i64()),
        (Some("c2"), Some(2))
    );
    let first = watcher.next_of("message").await;
    let second = watcher.next_of("message").await;
    assert_eq!(
        (
            first["message"]["seq"].as_i64(),
            second["message"]["seq"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(second["message"]["content"], "from here");
}

/// One message the database refuses (here a constraint added behind the service's back) fails
/// alone: the batch it was written in is retried one message at a time, every other message
/// of the burst is stored and acked in order, and the refused one takes no seq.
#[actix_web::test]
async fn a_message_the_database_refuses_fails_alone_in_its_batch() {
    use diesel::connection::SimpleConnection;
    const BURST: usize = 20;
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("A-1", "u1").await;
    app.postgres()
        .batch_execute("ALTER TABLE messages ADD CONSTRAINT no_poison CHECK (content <> 'poison')")
        .expect("constraint added");
    let mut sender = app.ws(room, &app.tokens.client("u1")).await;
    sender.handshake().await;
    for n in 0..BURST {
        let content = if n == 7 {
            "poison".to_owned()
        } else {
            format!("m{n}")
        };
        sender.say(&format!("c{n}"), &content).await;
    }
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    while acked.len() + refused.len() < BURST {
        let frame = sender.next_json().await;
        match frame["type"].as_str() {
            Some("ack") => acked.push((
                frame["client_id"].as_str().unwrap_or_default().to_owned(),
                frame["message"]["seq"].as_i64().unwrap_or_default(),
            )),
            Some("error") => refused.push((
                frame["ref"].as_str().unwrap_or_default().to_owned(),
                frame["code"].as_str().unwrap_or_default().to_owned(),
            )),
            _ => {}
        }
    }
    assert_eq!(refused, vec![("c7".to_owned(), "internal".to_owned())]);
    let expected: Vec<(String, i64)> = (0..BURST)
        .filter(|n| *n != 7)
        .zip(1..)
        .map(|(n, seq)| (format!("c{n}"), seq))
        .collect();
    assert_eq!(acked, expected, "the others in order, with gap-free seqs");
    let history = app.history(room, &app.tokens.client("u1")).await;
    assert_eq!(history.len(), BURST - 1);
}
