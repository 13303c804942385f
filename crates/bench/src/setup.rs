//! Prepares what a run needs over the public API: orders (service token), rooms (client
//! token), and a token per simulated user.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, stream};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::BenchError;

/// Signs tokens as the main platform would.
pub struct Signer {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Signer {
    pub fn new(secret: &[u8], issuer: Option<String>, audience: Option<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            issuer,
            audience,
        }
    }

    /// A token for `sub` with `role`, valid for a day.
    pub fn token(&self, sub: &str, role: &str) -> Result<String, BenchError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut claims = json!({ "sub": sub, "role": role, "iat": now, "exp": now + 86_400 });
        if let Some(issuer) = &self.issuer {
            claims["iss"] = json!(issuer);
        }
        if let Some(audience) = &self.audience {
            claims["aud"] = json!(audience);
        }
        encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|error| BenchError::Setup(error.to_string()))
    }
}

/// One simulated user connected to a room.
#[derive(Debug, Clone)]
pub struct Member {
    pub token: String,
}

/// A prepared room.
#[derive(Debug, Clone)]
pub struct RoomPlan {
    pub room_id: i64,
    pub members: Vec<Member>,
}

/// Creates `rooms` rooms with one client and `admins` admins each, `history` messages each.
pub async fn prepare(
    base: &str,
    signer: &Signer,
    rooms: usize,
    admins: usize,
    history: usize,
) -> Result<Vec<RoomPlan>, BenchError> {
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let service = signer.token("bench-platform", "service")?;
    let plans = stream::iter(0..rooms)
        .map(|index| {
            let client = &client;
            let service = &service;
            async move {
                let order = format!("bench-{run}-{index}");
                let customer = format!("bench-{run}-c{index}");
                request(
                    client,
                    "PUT",
                    &format!("{base}/orders/{order}"),
                    service,
                    Some(json!({ "customer_id": customer })),
                )
                .await?;
                let customer_token = signer.token(&customer, "client")?;
                let room = request(
                    client,
                    "POST",
                    &format!("{base}/chat/order/{order}/chat"),
                    &customer_token,
                    None,
                )
                .await?;
                let room_id = room["id"]
                    .as_i64()
                    .ok_or_else(|| BenchError::Setup(format!("no room id in {room}")))?;
                for n in 0..history {
                    let body = json!({ "content": format!("history {n}") });
                    request(
                        client,
                        "POST",
                        &format!("{base}/chat/{room_id}/messages"),
                        &customer_token,
                        Some(body),
                    )
                    .await?;
                }
                let mut members = vec![Member {
                    token: customer_token,
                }];
                for admin in 0..admins {
                    members.push(Member {
                        token: signer.token(&format!("bench-{run}-a{index}-{admin}"), "admin")?,
                    });
                }
                Ok::<_, BenchError>(RoomPlan { room_id, members })
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    plans.into_iter().collect()
}

/// Registers `url` as a webhook endpoint for `message.created` events.
pub async fn register_webhook(base: &str, signer: &Signer, url: &str) -> Result<(), BenchError> {
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let admin = signer.token("bench-ops", "admin")?;
    request(
        &client,
        "POST",
        &format!("{base}/webhooks/endpoints"),
        &admin,
        Some(json!({ "url": url, "event_types": ["message.created"], "description": "bench" })),
    )
    .await
    .map(drop)
}

pub(crate) async fn request(
    client: &awc::Client,
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Result<Value, BenchError> {
    let method = awc::http::Method::from_bytes(method.as_bytes())
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let request = client.request(method, url).bearer_auth(token);
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .map_err(|error| BenchError::Setup(format!("{url}: {error}")))?;
    let status = response.status();
    let body = response
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    if !status.is_success() {
        return Err(BenchError::Setup(format!(
            "{url}: {status} {}",
            String::from_utf8_lossy(&body)
        )));
    }
    serde_json::from_slice(&body).map_err(|e| BenchError::Setup(e.to_string()))
}
