//! A webhook receiver (or push service) in the test process: a real HTTP server on 127.0.0.1 that verifies each
//! delivery's Standard Webhooks signature with the published algorithm (written here from the
//! specification, not taken from the service) and records it. Tests switch how it answers:
//! accept, a status, hang past the timeout, or not listen at all.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use room_chats_types::WebhookEvent;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;

use crate::support::round_trips;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 204.
    Accept,
    /// This status.
    Status(u16),
    /// Answers only after a minute (the service times out first).
    Hang,
    /// 204, after this long (a receiver that takes its time).
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `webhook-id`.
    pub id: String,
    /// The parsed body.
    pub event: Value,
    /// Whether the signature verified against the secret.
    pub verified: bool,
    /// When it arrived.
    pub at: Instant,
    /// What the receiver answered (0: it hung).
    pub answered: u16,
    /// The body as it came.
    pub body: Vec<u8>,
    /// The request's headers (names in lower case).
    pub headers: std::collections::HashMap<String, String>,
    /// A webhook delivery (one with a `webhook-id`) whose body is not exactly a `WebhookEvent`
    /// of the types crate. Push deliveries (encrypted bytes) are not checked.
    pub not_an_event: bool,
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    secret: Option<String>,
    deliveries: Vec<Delivery>,
}

/// See the module docs.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    /// A receiver listening on a free port, answering as `mode`.
    pub async fn start(mode: Mode) -> Self {
        let receiver = Self::reserve();
        receiver.set_mode(mode);
        receiver.listen();
        receiver
    }

    /// A receiver with a port of its own that does not listen yet: connections are refused
    /// until [`Receiver::listen`].
    pub fn reserve() -> Self {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let addr = probe.local_addr().expect("address");
        drop(probe);
        Self {
            addr,
            state: Arc::new(Mutex::new(State {
                mode: Some(Mode::Accept),
                ..State::default()
            })),
            arrived: Arc::new(Notify::new()),
        }
    }

    /// Starts listening on its port.
    pub fn listen(&self) {
        let state = Arc::clone(&self.state);
        let arrived = Arc::clone(&self.arrived);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(Arc::clone(&state)))
                .app_data(web::Data::new(Arc::clone(&arrived)))
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .bind(self.addr)
        .expect("receiver binds its port")
        .run();
        actix_web::rt::spawn(server);
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hooks/chat", self.addr)
    }

    /// Answers as `mode` from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("lock").mode = Some(mode);
    }

    /// Verifies signatures with `secret` (the endpoint's `whsec_…`).
    pub fn set_secret(&self, secret: &str) {
        self.state.lock().expect("lock").secret = Some(secret.to_owned());
    }

    /// Every request so far. Fails the test if a webhook body was not exactly a
    /// `WebhookEvent` of the types crate, whatever the test then looks at.
    #[track_caller]
    pub fn deliveries(&self) -> Vec<Delivery> {
        let deliveries = self.state.lock().expect("lock").deliveries.clone();
        if let Some(odd) = deliveries.iter().find(|delivery| delivery.not_an_event) {
            panic!(
                "a webhook body the types crate does not describe exactly: {}",
                String::from_utf8_lossy(&odd.body)
            );
        }
        deliveries
    }

    /// The events of requests it accepted (2xx), in arrival order.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|delivery| (200..300).contains(&delivery.answered))
            .collect()
    }

    /// Waits until `done` holds for the requests so far, at most `limit`; panics with what
    /// arrived if it never does.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Delivery]) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            if done(&self.deliveries()) {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got: Vec<(String, u16)> = self
                    .deliveries()
                    .iter()
                    .map(|delivery| (delivery.id.clone(), delivery.answered))
                    .collect();
                panic!("the receiver did not get what was expected within {limit:?}; got {got:?}");
            }
        }
    }

    /// Waits until `count` requests were accepted.
    pub async fn wait_for_accepted(&self, count: usize, limit: Duration) -> Vec<Delivery> {
        self.wait_until(limit, |deliveries| {
            deliveries
                .iter()
                .filter(|delivery| (200..300).contains(&delivery.answered))
                .count()
                >= count
        })
        .await;
        self.accepted()
    }
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
    arrived: web::Data<Arc<Notify>>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let (mode, secret) = {
        let state = state.lock().expect("lock");
        (state.mode.unwrap_or(Mode::Accept), state.secret.clone())
    };
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let verified = secret
        .is_some_and(|secret| verify(&secret, &id, &timestamp, &body_text, &signature))
        && request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("application/json");
    let answered = match mode {
        Mode::Accept | Mode::Slow(_) => 204,
        Mode::Status(status) => status,
        Mode::Hang => 0,
    };
    let headers: std::collections::HashMap<String, String> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or_default().to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let event = serde_json::from_str(&body_text).unwrap_or(Value::Null);
    let not_an_event = headers.contains_key("webhook-id") && !round_trips::<WebhookEvent>(&event);
    state.lock().expect("lock").deliveries.push(Delivery {
        id,
        event,
        not_an_event,
        verified,
        at: Instant::now(),
        answered,
        body: body.to_vec(),
        headers,
    });
    arrived.notify_waiters();
    match mode {
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::NoContent().finish()
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            HttpResponse::NoContent().finish()
        }
        _ => HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).expect("status"))
            .finish(),
    }
}

/// Standard Webhooks verification: the timestamp within five minutes of now, and one of the
/// space-separated `v1,<base64>` signatures equal to HMAC-SHA256 of `id.timestamp.body`
/// keyed with the base64-decoded part of the secret after `whsec_`.
fn verify(secret: &str, id: &str, timestamp: &str, body: &str, signatures: &str) -> bool {
    let Ok(sent_at) = timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono_now() - sent_at).abs() > 300 {
        return false;
    }
    let Some(Ok(key)) = secret
        .strip_prefix("whsec_")
        .map(|key| STANDARD.decode(key))
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .any(|signature| signature == expected)
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

impl crate::support::TestApp {
    /// A receiver that accepts every delivery, registered (by an admin) for `event_types` —
    /// every type when empty — with its secret set, so each delivery is verified.
    pub async fn webhook_receiver(&self, event_types: &[&str]) -> Receiver {
        let receiver = Receiver::start(Mode::Accept).await;
        let mut body = serde_json::json!({ "url": receiver.url() });
        if !event_types.is_empty() {
            body["event_types"] = serde_json::json!(event_types);
        }
        let registered = self
            .call(
                "POST",
                "/webhooks/endpoints",
                Some(&self.tokens.admin("ops")),
                Some(body),
            )
            .await;
        assert_eq!(registered.status, 201, "{registered:?}");
        receiver.set_secret(registered.json["secret"].as_str().expect("secret"));
        receiver
    }
}
