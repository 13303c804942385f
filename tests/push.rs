//! Web Push to a push-service stand-in in the test process. The test plays the browser: it
//! makes a P-256 key pair and an auth secret, subscribes, and decrypts what the service sent
//! with RFC 8291 written here from the specification (ECDH, HKDF, AES-128-GCM), then checks
//! the VAPID token (RFC 8292) against the server's public key.

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use room_chats_core::push::{PushSettings, Vapid};
use room_chats_core::webhooks::WebhookSettings;
use room_chats_workers::NotificationSettings;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::receiver::{Delivery, Mode, Receiver};
use crate::support::{Backend, NodeOptions, TestApp};

const PATIENCE: Duration = Duration::from_secs(30);

async fn start(backend: Backend, push: PushSettings) -> TestApp {
    let options = NodeOptions {
        webhooks: WebhookSettings {
            poll_interval: Duration::from_millis(50),
            allow_private_urls: true,
            ..WebhookSettings::DEFAULT
        },
        notifications: NotificationSettings {
            delay: Duration::from_millis(300),
        },
        push,
        ..NodeOptions::default()
    };
    TestApp::start_node(backend, options).await
}

fn push_on(allow_private_urls: bool) -> (PushSettings, String) {
    let vapid = Vapid::from_base64url(
        &Vapid::generate_private_key(),
        "mailto:ops@shop.example".to_owned(),
    )
    .expect("VAPID key");
    let public_key = vapid.public_key();
    let settings = PushSettings {
        vapid: Some(std::sync::Arc::new(vapid)),
        ttl: Duration::from_secs(3_600),
        allow_private_urls,
    };
    (settings, public_key)
}

/// A browser's side of a subscription.
struct Browser {
    secret: p256::SecretKey,
    public: Vec<u8>,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let secret = loop {
            let mut bytes = [0_u8; 32];
            getrandom::fill(&mut bytes).expect("randomness");
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let public = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        let mut auth = [0_u8; 16];
        getrandom::fill(&mut auth).expect("randomness");
        Self {
            secret,
            public,
            auth,
        }
    }

    /// What `PushSubscription.toJSON()` gives for `endpoint`.
    fn subscription(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(&self.public),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// RFC 8291 §3.4 and RFC 8188: the aes128gcm header, the keys, one record.
    fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().expect("rs"));
        let key_id_len = usize::from(body[20]);
        let sender_public = &body[21..21 + key_id_len];
        let ciphertext = &body[21 + key_id_len..];
        assert!(ciphertext.len() <= record_size as usize, "one record");
        let sender = p256::PublicKey::from_sec1_bytes(sender_public).expect("sender key");
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(&self.public);
        key_info.extend_from_slice(sender_public);
        let mut ikm = [0_u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&key_info, &mut ikm)
            .expect("ikm");
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut key = [0_u8; 16];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut key)
            .expect("key");
        let mut nonce = [0_u8; 12];
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .expect("nonce");
        let mut plain = Aes128Gcm::new_from_slice(&key)
            .expect("cipher")
            .decrypt(&Nonce::from(nonce), ciphertext)
            .expect("the push decrypts");
        // The last record ends with the delimiter 0x02, then padding zeros.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "last-record delimiter");
        plain
    }
}

/// Checks `authorization: vapid t=<jwt>, k=<key>`: the key is the server's, the token is
/// signed with it for the push service's origin and expires within a day.
fn assert_vapid(push: &Delivery, server_key: &str) {
    let header = push.headers.get("authorization").expect("authorization");
    let rest = header.strip_prefix("vapid ").expect("vapid scheme");
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(value) = part.strip_prefix("t=") {
            token = Some(value);
        } else if let Some(value) = part.strip_prefix("k=") {
            key = Some(value);
        }
    }
    let (token, key) = (token.expect("t="), key.expect("k="));
    assert_eq!(key, server_key);
    let point = URL_SAFE_NO_PAD.decode(key).expect("key is base64url");
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
    let decoding = DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..65]),
    )
    .expect("decoding key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["http://127.0.0.1"]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .expect("the VAPID token verifies")
        .claims;
    assert_eq!(claims["sub"], "mailto:ops@shop.example");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(
        exp <= crate::support::tokens::now() + 24 * 3_600,
        "{claims}"
    );
}

crate::on_both_backends!(
    backend:
    an_away_customer_gets_an_encrypted_signed_push_and_410_removes_the_subscription,
    subscriptions_refuse_bad_input,
);

async fn an_away_customer_gets_an_encrypted_signed_push_and_410_removes_the_subscription(
    backend: Backend,
) {
    let (push, server_key) = push_on(true);
    let app = start(backend, push).await;
    let key = app.call("GET", "/push/vapid-public-key", None, None).await;
    assert_eq!(key.json, json!({ "public_key": server_key }));

    let push_service = Receiver::start(Mode::Accept).await;
    let browser = Browser::new();
    let customer = app.tokens.client("u1");
    let subscribed = app
        .call(
            "POST",
            "/me/push-subscriptions",
            Some(&customer),
            Some(browser.subscription(&push_service.url())),
        )
        .await;
    assert_eq!(subscribed.status, 201, "{subscribed:?}");

    let room = app.room("P-1", "u1").await;
    app.send(
        room,
        &app.tokens.admin("staff"),
        "Your parcel is on its way",
    )
    .await;

    let pushes = push_service.wait_for_accepted(1, PATIENCE).await;
    let push = &pushes[0];
    assert_eq!(
        push.headers.get("content-encoding").map(String::as_str),
        Some("aes128gcm")
    );
    assert_eq!(push.headers.get("ttl").map(String::as_str), Some("3600"));
    assert_eq!(
        push.headers.get("urgency").map(String::as_str),
        Some("normal")
    );
    assert_eq!(
        push.headers.get("topic").cloned(),
        Some(format!("room{room}"))
    );
    assert_vapid(push, &server_key);
    let payload: Value = serde_json::from_slice(&browser.decrypt(&push.body)).expect("JSON");
    assert_eq!(payload["type"], "notification.due");
    assert_eq!(payload["room_id"], room);
    assert_eq!(payload["unread"], 1);
    assert_eq!(payload["message"]["content"], "Your parcel is on its way");
    assert_eq!(payload["message"]["sender_id"], "staff");

    // The push service forgot the subscription: it is removed.
    push_service.set_mode(Mode::Status(410));
    app.send(room, &app.tokens.admin("staff"), "Are you there?")
        .await;
    push_service
        .wait_until(PATIENCE, |requests| {
            requests.iter().any(|request| request.answered == 410)
        })
        .await;
    let mut left = Value::Null;
    for _ in 0..200 {
        left = app
            .call("GET", "/me/push-subscriptions", Some(&customer), None)
            .await
            .json;
        if left == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, json!([]));
}

async fn subscriptions_refuse_bad_input(backend: Backend) {
    let (push, _) = push_on(false);
    let app = start(backend, push).await;
    let customer = app.tokens.client("u1");
    let browser = Browser::new();
    let post = |body: Value, token: String| {
        let app = &app;
        async move {
            app.call("POST", "/me/push-subscriptions", Some(&token), Some(body))
                .await
        }
    };
    let good = browser.subscription("https://fcm.googleapis.com/fcm/send/abc");
    let made = post(good.clone(), customer.clone()).await;
    assert_eq!(made.status, 201, "{made:?}");
    post(good.clone(), app.tokens.service())
        .await
        .assert_error(403, "forbidden");
    for endpoint in [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/push",
        "https://localhost/push",
        "not a url",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(
        crate::webhooks::DISGUISED_INTERNAL_HOSTS
            .iter()
            .map(|host| format!("https://{host}/push")),
    ) {
        post(browser.subscription(&endpoint), customer.clone())
            .await
            .assert_error(422, "validation_failed");
    }
    let mut bad_keys = good.clone();
    bad_keys["keys"]["auth"] = json!("c2hvcnQ");
    post(bad_keys, customer.clone())
        .await
        .assert_error(422, "validation_failed");
    let mut not_a_point = good.clone();
    not_a_point["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4_u8; 65]));
    post(not_a_point, customer.clone())
        .await
        .assert_error(422, "validation_failed");
    post(
        json!({ "endpoint": "https://fcm.googleapis.com/x" }),
        customer.clone(),
    )
    .await
    .assert_error(422, "validation_failed");

    // Only the owner sees and removes a subscription.
    let id = made.json["id"].as_i64().expect("id");
    let path = format!("/me/push-subscriptions/{id}");
    app.call("DELETE", &path, Some(&app.tokens.client("u2")), None)
        .await
        .assert_error(404, "not_found");
    let listed = app
        .call("GET", "/me/push-subscriptions", Some(&customer), None)
        .await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1), "{listed:?}");
    assert_eq!(
        app.call("DELETE", &path, Some(&customer), None)
            .await
            .status,
        204
    );
    app.call("DELETE", &path, Some(&customer), None)
        .await
        .assert_error(404, "not_found");
}

/// Without a VAPID key (Postgres without `VAPID_PRIVATE_KEY`), Web Push says it is off.
#[actix_web::test]
async fn without_a_vapid_key_web_push_is_off() {
    let app = start(Backend::Postgres, PushSettings::OFF).await;
    app.call("GET", "/push/vapid-public-key", None, None)
        .await
        .assert_error(404, "not_found");
    let body = Browser::new().subscription("https://fcm.googleapis.com/fcm/send/abc");
    app.call(
        "POST",
        "/me/push-subscriptions",
        Some(&app.tokens.client("u1")),
        Some(body),
    )
    .await
    .assert_error(404, "not_found");
}
