//! SIGTERM to a running `room-chats` process: live WebSockets close with 1012 (service
//! restart) after their in-flight sends, room sockets and user streams with subscribed rooms
//! alike, and every acked message is stored.

#![expect(clippy::expect_used, reason = "a failed expectation is a failed test")]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use awc::ws::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_room-chats");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

fn serve(data_dir: &std::path::Path, port: u16) -> Child {
    serve_with(data_dir, port, &[], Stdio::null())
}

/// Starts the binary on the embedded database with `env` on top, its log going to `log`.
fn serve_with(data_dir: &std::path::Path, port: u16, env: &[(&str, String)], log: Stdio) -> Child {
    Command::new(BIN)
        .arg("serve")
        .env("DATA_DIR", data_dir)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("JWT_SECRET")
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("room-chats starts")
}

fn token(data_dir: &std::path::Path, sub: &str, role: &str) -> String {
    let output = Command::new(BIN)
        .args(["token", "--sub", sub, "--role", role])
        .env("DATA_DIR", data_dir)
        .env_remove("JWT_SECRET")
        .output()
        .expect("token command runs");
    assert!(output.status.success(), "token command succeeds");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Polls readiness of a process that is starting up; there is no event to await across
/// processes, so this is a bounded retry loop.
async fn wait_ready(client: &awc::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("room-chats did not become ready");
}

async fn call(
    client: &awc::Client,
    method: &str,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
    let request = client.request(method, url).bearer_auth(token);
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .expect("request answered");
    assert!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    response.json().limit(1 << 20).await.expect("JSON answer")
}

/// With Redis as the broker: the node's last events (its sessions' presence) are flushed
/// before the publisher stops, so the log shows no publication lost at shutdown. Redis must
/// be running (TEST_REDIS_URL, default the local one).
#[actix_web::test]
async fn sigterm_closes_websockets_with_1012_and_keeps_every_ack() {
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let log_path = data.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut server = serve_with(
        data.path(),
        port,
        &[
            ("REDIS_URL", redis),
            (
                "REDIS_PREFIX",
                format!("rc-sigterm-{}-{port}:", std::process::id()),
            ),
        ],
        Stdio::from(log),
    );
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    wait_ready(&client, &base).await;

    let service = token(data.path(), "shop", "service");
    let customer = token(data.path(), "u1", "client");
    call(
        &client,
        "PUT",
        format!("{base}/orders/1042"),
        &service,
        Some(json!({ "customer_id": "u1" })),
    )
    .await;
    let room = call(
        &client,
        "POST",
        format!("{base}/chat/order/1042/chat"),
        &customer,
        None,
    )
    .await["id"]
        .as_i64()
        .expect("room id");

    let (_, mut socket) = client
        .ws(format!("ws://127.0.0.1:{port}/ws/chat/{room}"))
        .bearer_auth(&customer)
        .connect()
        .await
        .expect("websocket connects");
    let (_, mut stream) = client
        .ws(format!("ws://127.0.0.1:{port}/ws/"))
        .bearer_auth(&customer)
        .connect()
        .await
        .expect("user stream connects");
    let subscribe = json!({ "type": "subscribe", "room_id": room });
    stream
        .send(ws::Message::Text(subscribe.to_string().into()))
        .await
        .expect("sent");
    // Subscribed once the room's history arrived.
    loop {
        if let Some(Ok(Frame::Text(text))) = stream.next().await {
            let frame: Value = serde_json::from_slice(&text).expect("JSON frame");
            if frame["type"] == "history" {
                break;
            }
        }
    }
    for n in 0..20 {
        let frame = json!({ "type": "message", "client_id": format!("m{n}"), "content": "around the restart" });
        socket
            .send(ws::Message::Text(frame.to_string().into()))
            .await
            .expect("sent");
        let frame = json!({ "type": "message", "room_id": room, "client_id": format!("s{n}"), "content": "from the stream" });
        stream
            .send(ws::Message::Text(frame.to_string().into()))
            .await
            .expect("sent");
    }
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());

    let mut acked = Vec::new();
    let (close_code, _) = acks_until_closed(&mut socket, &mut acked).await;
    assert_eq!(close_code, Some(1012));
    let (close_code, unsubscribed) = acks_until_closed(&mut stream, &mut acked).await;
    assert_eq!(close_code, Some(1012), "the stream closes after its room");
    assert_eq!(
        unsubscribed,
        vec![1012],
        "its room ended first, with the same code"
    );
    acked.sort_by_key(|message| message["seq"].as_i64());
    let exit = server.wait().expect("server exits");
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}\n{log}");
    for lost in ["publisher task stopped", "not published", "dropped a batch"] {
        assert!(!log.contains(lost), "{lost} at shutdown:\n{log}");
    }

    // Restarted on the same data, the node holds exactly the acked messages.
    let mut restarted = serve(data.path(), port);
    wait_ready(&client, &base).await;
    let history = call(
        &client,
        "GET",
        format!("{base}/chat/{room}/messages?limit=200"),
        &customer,
        None,
    )
    .await;
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert_eq!(history["items"], Value::Array(acked));
}

/// Reads until the server closes: collects the acked messages, and the codes of
/// `unsubscribed` frames; returns the close code too.
async fn acks_until_closed<S, E>(socket: &mut S, acked: &mut Vec<Value>) -> (Option<u16>, Vec<u64>)
where
    S: futures_util::Stream<Item = Result<Frame, E>> + Unpin,
{
    let mut unsubscribed = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("frames in time")
        {
            Some(Ok(Frame::Text(text))) => {
                let frame: Value = serde_json::from_slice(&text).expect("JSON frame");
                match frame["type"].as_str() {
                    Some("ack") => acked.push(frame["message"].clone()),
                    Some("unsubscribed") => unsubscribed.extend(frame["code"].as_u64()),
                    _ => {}
                }
            }
            Some(Ok(Frame::Close(reason))) => {
                return (reason.map(|reason| u16::from(reason.code)), unsubscribed);
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (None, unsubscribed),
        }
    }
}
