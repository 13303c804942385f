//! Web Push (RFC 8030, payloads encrypted per RFC 8291, VAPID per RFC 8292): browsers
//! register a subscription, and a notification due to a member who is away is pushed to each
//! of their browsers by the push sender (a worker, in room-chats-workers).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use room_chats_store::Database;
use room_chats_store::push::{self as store, NewSubscription};
use room_chats_types::{PushSubscriptionBody, PushSubscriptionDto, Role, VapidPublicKeyDto};
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::webhooks::url_guard::check_endpoint_url;

/// Subscriptions one user may hold; registering another drops the oldest (a browser that
/// vanished without unsubscribing should not lock its user out).
pub const MAX_SUBSCRIPTIONS_PER_USER: i64 = 10;

/// The server's VAPID identity.
pub struct Vapid {
    /// The signing key pair.
    pub key_pair: ES256KeyPair,
    /// Who runs the server (`mailto:` or `https:`), for push services to reach.
    pub subject: String,
}

impl Vapid {
    /// The identity of a raw 32-byte P-256 private key in base64url (what
    /// `web-push generate-vapid-keys` prints).
    pub fn from_base64url(private_key: &str, subject: String) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(private_key.trim().trim_end_matches('='))
            .map_err(|_| "VAPID_PRIVATE_KEY is not base64url".to_owned())?;
        let key_pair = ES256KeyPair::from_bytes(&bytes)
            .map_err(|_| "VAPID_PRIVATE_KEY is not a P-256 private key (32 bytes)".to_owned())?;
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err("VAPID_SUBJECT must be a mailto: or https:// URI".to_owned());
        }
        Ok(Self { key_pair, subject })
    }

    /// A new random private key in base64url (for the embedded default's `DATA_DIR`).
    pub fn generate_private_key() -> String {
        URL_SAFE_NO_PAD.encode(ES256KeyPair::generate().to_bytes())
    }

    /// The public key browsers subscribe with (base64url, uncompressed point).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(
            self.key_pair
                .public_key()
                .public_key()
                .to_bytes_uncompressed(),
        )
    }
}

/// Web Push settings.
#[derive(Clone)]
pub struct PushSettings {
    /// The server's identity; `None`: Web Push is off.
    pub vapid: Option<Arc<Vapid>>,
    /// How long a push service keeps a push for a browser that is offline (`TTL`), and how
    /// long the service retries one it could not hand over.
    pub ttl: Duration,
    /// Allow push service URLs on internal addresses (tests; `WEBHOOK_ALLOW_PRIVATE_URLS`).
    pub allow_private_urls: bool,
}

impl PushSettings {
    /// Web Push off.
    pub const OFF: Self = Self {
        vapid: None,
        ttl: DEFAULT_TTL,
        allow_private_urls: false,
    };
}

/// `PUSH_TTL_SECS` by default: half a day (VAPID tokens may live 24 hours at most).
pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3_600);

/// The subscription use cases.
#[derive(Clone)]
pub struct WebPush {
    db: Database,
    settings: PushSettings,
}

impl WebPush {
    /// The use cases over `db` under `settings`.
    pub fn new(db: Database, settings: PushSettings) -> Self {
        Self { db, settings }
    }

    fn vapid(&self) -> Result<&Vapid, ApiError> {
        self.settings.vapid.as_deref().ok_or(ApiError::NotFound(
            "Web Push configuration (VAPID_PRIVATE_KEY)",
        ))
    }

    /// The key browsers subscribe with.
    pub fn public_key(&self) -> Result<VapidPublicKeyDto, ApiError> {
        Ok(VapidPublicKeyDto {
            public_key: self.vapid()?.public_key(),
        })
    }

    /// Registers the caller's browser.
    pub async fn subscribe(
        &self,
        caller: &Caller,
        body: PushSubscriptionBody,
    ) -> Result<PushSubscriptionDto, ApiError> {
        require_member_role(caller)?;
        self.vapid()?;
        let endpoint = check_endpoint_url(&body.endpoint, self.settings.allow_private_urls)
            .map_err(|refusal| {
                ApiError::Validation(refusal.to_string().replacen("url", "endpoint", 1))
            })?;
        if endpoint.scheme() != "https" && !self.settings.allow_private_urls {
            return Err(ApiError::Validation(
                "endpoint must be an https:// push service URL".to_owned(),
            ));
        }
        check_key("keys.p256dh", &body.keys.p256dh, 65)?;
        if web_push_native::p256::PublicKey::from_sec1_bytes(&decode(&body.keys.p256dh)?).is_err() {
            return Err(ApiError::Validation(
                "keys.p256dh is not a P-256 public key".to_owned(),
            ));
        }
        check_key("keys.auth", &body.keys.auth, 16)?;
        let user = caller.user_id.clone();
        let endpoint = endpoint.to_string();
        Ok(self
            .db
            .run(move |conn| {
                let new = NewSubscription {
                    user_id: &user,
                    endpoint: &endpoint,
                    p256dh: &body.keys.p256dh,
                    auth: &body.keys.auth,
                };
                store::subscribe(conn, new, MAX_SUBSCRIPTIONS_PER_USER)
            })
            .await?)
    }

    /// The caller's registered browsers.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<PushSubscriptionDto>, ApiError> {
        require_member_role(caller)?;
        let user = caller.user_id.clone();
        Ok(self
            .db
            .run(move |conn| store::subscriptions(conn, &user))
            .await?)
    }

    /// Removes one of the caller's subscriptions.
    pub async fn unsubscribe(&self, caller: &Caller, id: i64) -> Result<(), ApiError> {
        require_member_role(caller)?;
        let user = caller.user_id.clone();
        self.db
            .run(move |conn| store::unsubscribe(conn, &user, id))
            .await
            .map_err(|error| match error {
                room_chats_store::StoreError::NotFound => ApiError::NotFound("push subscription"),
                other => other.into(),
            })
    }
}

/// Customers and staff are notified; the platform's service identity is not.
fn require_member_role(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Client | Role::Admin => Ok(()),
        Role::Service => Err(ApiError::Forbidden(
            "service tokens receive no notifications",
        )),
    }
}

fn decode(value: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| ApiError::Validation("subscription keys must be base64url".to_owned()))
}

fn check_key(field: &str, value: &str, bytes: usize) -> Result<(), ApiError> {
    if decode(value)?.len() == bytes {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "{field} must be {bytes} bytes"
        )))
    }
}
