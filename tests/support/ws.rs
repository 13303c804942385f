//! A WebSocket test client speaking protocol v1.

use std::time::Duration;

use actix_web::web::Bytes;
use awc::BoxedSocket;
use awc::ws::{self, CloseCode, Codec, Frame};
use futures_util::{SinkExt, StreamExt};
use room_chats_types::frames::ServerFrame;
use room_chats_types::stream::StreamFrame;
use serde_json::{Value, json};

use crate::support::{TestApp, round_trips};

type Framed = actix_codec::Framed<BoxedSocket, Codec>;

/// How long a test waits for an expected frame before failing.
const FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected client.
pub struct WsClient {
    framed: Framed,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

/// How the token travels.
pub enum Carrier {
    Header,
    Subprotocol,
    Query,
}

impl TestApp {
    /// The `ws://` URL of `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Connects to a room with the token in the Authorization header.
    pub async fn ws(&self, room: i64, token: &str) -> WsClient {
        self.ws_with(&format!("/ws/chat/{room}/"), token, Carrier::Header)
            .await
    }

    /// Resumes a room with `since` (the token in the Authorization header).
    pub async fn resume(&self, room: i64, since: i64, token: &str) -> WsClient {
        self.ws_with(
            &format!("/ws/chat/{room}?since={since}"),
            token,
            Carrier::Header,
        )
        .await
    }

    /// Connects to `path` (which may carry a query) with the token carried as asked.
    pub async fn ws_with(&self, path: &str, token: &str, carrier: Carrier) -> WsClient {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(15))
            .finish();
        let url = match carrier {
            Carrier::Query => {
                let separator = if path.contains('?') { '&' } else { '?' };
                self.ws_url(&format!("{path}{separator}token={token}"))
            }
            _ => self.ws_url(path),
        };
        let mut request = client.ws(url).max_frame_size(16 * 1024 * 1024);
        match carrier {
            Carrier::Header => request = request.bearer_auth(token),
            Carrier::Subprotocol => {
                request =
                    request.protocols(["room-chats.v1".to_owned(), format!("bearer.{token}")]);
            }
            Carrier::Query => {}
        }
        let (response, framed) = request.connect().await.expect("websocket connects");
        WsClient {
            framed,
            protocol: selected_protocol(&response),
        }
    }

    /// The status of a handshake with a bearer token: 101 when upgraded, else the refusal's.
    pub async fn ws_status(&self, path: &str, token: &str) -> u16 {
        let handshake = awc::Client::new()
            .ws(self.ws_url(path))
            .bearer_auth(token)
            .connect()
            .await;
        match handshake {
            Ok(_) => 101,
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
            Err(error) => panic!("handshake failed: {error}"),
        }
    }

    /// Connects like a browser page of `origin` does: the token in the subprotocol.
    pub async fn ws_as_page(&self, path: &str, token: &str, origin: &str) -> WsClient {
        let (response, framed) = awc::Client::new()
            .ws(self.ws_url(path))
            .origin(origin)
            .protocols(["room-chats.v1".to_owned(), format!("bearer.{token}")])
            .connect()
            .await
            .expect("websocket connects");
        WsClient {
            framed,
            protocol: selected_protocol(&response),
        }
    }

    /// Connects like a browser page served from `origin`.
    pub async fn ws_from_origin(&self, room: i64, token: &str, origin: &str) -> WsClient {
        let (_, framed) = awc::Client::new()
            .ws(self.ws_url(&format!("/ws/chat/{room}")))
            .origin(origin)
            .bearer_auth(token)
            .connect()
            .await
            .expect("websocket connects");
        WsClient {
            framed,
            protocol: None,
        }
    }

    /// A handshake that must be refused: returns the HTTP status and JSON body.
    pub async fn ws_refused(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> crate::support::Response {
        let mut request = self
            .client()
            .get(self.url(path))
            .insert_header(("Connection", "Upgrade"))
            .insert_header(("Upgrade", "websocket"))
            .insert_header(("Sec-WebSocket-Version", "13"))
            .insert_header(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = request.send().await.expect("handshake reaches the service");
        if response.status().as_u16() == 101 {
            return crate::support::Response {
                status: 101,
                headers: response.headers().clone(),
                json: Value::Null,
            };
        }
        let body = response.body().await.expect("body");
        crate::support::Response::new(
            response.status().as_u16(),
            response.headers().clone(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }
}

/// What the server sent next.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(Option<u16>),
}

impl WsClient {
    pub async fn send_json(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.framed
            .send(ws::Message::Text(text.into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: ws::Message) {
        self.framed.send(message).await.expect("frame sent");
    }

    /// Sends a chat message with `client_id`.
    pub async fn say(&mut self, client_id: &str, content: &str) {
        self.send_json(json!({ "type": "message", "client_id": client_id, "content": content }))
            .await;
    }

    /// The next JSON frame or close; answers pings on the way.
    pub async fn receive(&mut self) -> Received {
        self.receive_answering(true).await
    }

    /// Waits for the server's close without ever answering its pings.
    pub async fn closed_silently(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(code) = self.receive_answering(false).await {
                return code;
            }
        }
    }

    async fn receive_answering(&mut self, answer_pings: bool) -> Received {
        loop {
            let frame = tokio::time::timeout(FRAME_TIMEOUT, self.framed.next())
                .await
                .expect("a frame arrives in time");
            match frame {
                Some(Ok(Frame::Text(text))) => {
                    let frame: Value = serde_json::from_slice(&text).expect("text frames are JSON");
                    assert_protocol_frame(&frame);
                    return Received::Json(frame);
                }
                Some(Ok(Frame::Ping(payload))) if answer_pings => {
                    let _ = self.framed.send(ws::Message::Pong(payload)).await;
                }
                Some(Ok(Frame::Close(reason))) => {
                    return Received::Closed(reason.map(|reason| u16::from(reason.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    /// The next JSON frame; fails on a close.
    pub async fn next_json(&mut self) -> Value {
        match self.receive().await {
            Received::Json(value) => value,
            Received::Closed(code) => {
                panic!("connection closed ({code:?}) while a frame was expected")
            }
        }
    }

    /// The next frame of `kind`, skipping frames of other kinds (but never an `error`).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["type"] == kind {
                return frame;
            }
            assert_ne!(
                frame["type"], "error",
                "expected a {kind} frame, got {frame}"
            );
        }
    }

    /// The next `room` frame of `event` (`closed`, `sla_breached` …), skipping every other.
    pub async fn next_room_event(&mut self, event: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["type"] == "room" && frame["event"] == event {
                return frame;
            }
        }
    }

    /// The next frame of the room's timeline (a message, an ack, a room event, an edit …),
    /// skipping presence, typing, read and pong frames.
    pub async fn next_entry(&mut self) -> Value {
        loop {
            let frame = self.next_json().await;
            if !matches!(
                frame["type"].as_str(),
                Some("presence" | "typing" | "read" | "pong")
            ) {
                return frame;
            }
        }
    }

    /// Reads `ready` and the history frames; returns (ready, all history messages).
    pub async fn handshake(&mut self) -> (Value, Vec<Value>) {
        let ready = self.next_json().await;
        assert_eq!(ready["type"], "ready", "first frame is ready: {ready}");
        let mut messages = Vec::new();
        loop {
            let history = self.next_of("history").await;
            messages.extend(history["messages"].as_array().cloned().unwrap_or_default());
            // With `since`, `has_more` announces another history frame.
            if history["has_more"] == false
                || messages.is_empty()
                || history["messages"].as_array().is_some_and(Vec::is_empty)
            {
                return (ready, messages);
            }
            if ready["last_seq"].as_i64() == messages.last().and_then(|m| m["seq"].as_i64()) {
                return (ready, messages);
            }
        }
    }

    /// Every frame up to and including the last `history` frame (`has_more: false`): what a
    /// connection replays before it is live.
    pub async fn until_caught_up(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next_json().await;
            let last = frame["type"] == "history" && frame["has_more"] == false;
            frames.push(frame);
            if last {
                return frames;
            }
        }
    }

    /// Waits for the server to close the connection and returns its close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(code) = self.receive().await {
                return code;
            }
        }
    }

    /// Sends a ping frame and waits for the pong, skipping anything else.
    pub async fn round_trip(&mut self) {
        self.send_json(json!({ "type": "ping" })).await;
        loop {
            if self.next_json().await["type"] == "pong" {
                return;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .framed
            .send(ws::Message::Close(Some(CloseCode::Normal.into())))
            .await;
    }

    pub async fn send_binary(&mut self, bytes: &'static [u8]) {
        self.send_raw(ws::Message::Binary(Bytes::from_static(bytes)))
            .await;
    }
}

/// Fails the test unless `frame` is exactly a frame of the types crate, as a client generated
/// from it would read it: a `ServerFrame`, a `StreamFrame`, or on `/ws/` a `ServerFrame` of a
/// subscribed room with its `room_id` first. Decoding and encoding it again must give the
/// same JSON, so an unknown frame type, an unknown or missing field, or a field of the wrong
/// type fails here, whatever the test then looks at.
#[track_caller]
pub fn assert_protocol_frame(frame: &Value) {
    if round_trips::<StreamFrame>(frame) || round_trips::<ServerFrame>(frame) {
        return;
    }
    if let Some(fields) = frame.as_object()
        && fields.get("room_id").is_some_and(Value::is_i64)
    {
        let mut unwrapped = fields.clone();
        unwrapped.remove("room_id");
        if round_trips::<ServerFrame>(&Value::Object(unwrapped)) {
            return;
        }
    }
    panic!("the server sent a frame the types crate does not describe exactly: {frame}");
}

/// The subprotocol the server selected in its handshake answer.
fn selected_protocol(response: &awc::ClientResponse) -> Option<String> {
    response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The check every received frame passes through can fail: a test never looks at a frame the
/// types crate does not describe exactly.
#[test]
fn frames_the_types_crate_does_not_describe_fail_the_test() {
    assert_protocol_frame(&json!({ "type": "pong" }));
    assert_protocol_frame(&json!({ "type": "typing", "user_id": "u1", "typing": true }));
    assert_protocol_frame(
        &json!({ "room_id": 3, "type": "typing", "user_id": "u1", "typing": true }),
    );
    for unknown in [
        json!({ "type": "exploded" }),
        json!({ "type": "pong", "extra": 1 }),
        json!({ "type": "typing", "user_id": "u1" }),
        json!({ "type": "typing", "user_id": "u1", "typing": "yes" }),
        json!({ "room_id": "3", "type": "pong" }),
    ] {
        let checked = std::panic::catch_unwind(|| assert_protocol_frame(&unknown));
        assert!(checked.is_err(), "{unknown} passed");
    }
}
