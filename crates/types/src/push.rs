//! Web Push: the browser's subscription and the server's public key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::PushEndpoint;

/// `POST /me/push-subscriptions`: the browser's `PushSubscription.toJSON()` as it is.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionBody {
    /// The push service URL (`https://`) the browser was given.
    #[schema(value_type = PushEndpoint)]
    pub endpoint: String,
    /// When the subscription expires (ms since the epoch), if the browser says.
    #[serde(default)]
    pub expiration_time: Option<f64>,
    /// The subscription's keys.
    pub keys: PushSubscriptionKeys,
}

/// The keys of a push subscription (base64url, as browsers give them).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSubscriptionKeys {
    /// The browser's P-256 public key (65 bytes, uncompressed).
    // 65 bytes are 87 base64url characters, the last one carrying two zero bits; padding is
    // read past.
    #[schema(pattern = "^[A-Za-z0-9_-]{86}[AEIMQUYcgkosw048]=*$")]
    pub p256dh: String,
    /// The shared authentication secret (16 bytes).
    // 22 characters, the last one carrying four zero bits.
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]=*$")]
    pub auth: String,
}

/// A stored push subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushSubscriptionDto {
    /// Its id, for `DELETE /me/push-subscriptions/{id}`.
    pub id: i64,
    /// The push service URL.
    pub endpoint: String,
    /// When it was registered (or registered again).
    pub created_at: DateTime<Utc>,
}

/// `GET /push/vapid-public-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VapidPublicKeyDto {
    /// The server's VAPID public key (base64url, 65 bytes uncompressed): pass it as
    /// `applicationServerKey` to `pushManager.subscribe`.
    pub public_key: String,
}
