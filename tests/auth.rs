//! Every kind of bad token is refused with the same 401 answer.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::support::tokens::{RSA_PUBLIC_PEM, now};
use crate::support::{Backend, KeySetup, Response, TestApp};

fn assert_refused(response: &Response, case: &str) {
    assert_eq!(response.status, 401, "{case}: {response:?}");
    assert_eq!(
        response.json,
        json!({ "error": { "code": "unauthorized", "message": "missing, invalid or expired bearer token" } }),
        "{case}"
    );
    assert_eq!(
        response
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{case}"
    );
}

fn b64(value: &Value) -> String {
    // Unpadded base64url, as JWT segments are.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = value.to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn refused_everywhere(app: &TestApp, token: Option<&str>, case: &str) {
    let response = app.call("GET", "/chat", token, None).await;
    assert_refused(&response, case);
}

#[actix_web::test]
async fn bad_hs256_tokens_are_refused() {
    let app = TestApp::start_with(
        Backend::Postgres,
        KeySetup::Hs256 {
            issuer: Some("https://shop.example".into()),
            audience: Some("room-chats".into()),
        },
    )
    .await;
    let good = app.tokens.client("u1");
    assert_eq!(
        app.call("GET", "/chat", Some(&good), None).await.status,
        200
    );

    refused_everywhere(&app, None, "missing").await;
    refused_everywhere(&app, Some("garbage"), "garbage").await;
    refused_everywhere(&app, Some(""), "empty").await;

    let claims = app.tokens.claims("u1", "client");
    let wrong_key = EncodingKey::from_secret(b"another secret that is long enough!!");
    let wrong_signature =
        encode(&Header::new(Algorithm::HS256), &claims, &wrong_key).expect("sign");
    refused_everywhere(&app, Some(&wrong_signature), "wrong signature").await;

    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 120);
    refused_everywhere(&app, Some(&app.tokens.sign(&expired)), "expired").await;

    let mut not_yet = claims.clone();
    not_yet["nbf"] = json!(now() + 600);
    refused_everywhere(&app, Some(&app.tokens.sign(&not_yet)), "nbf in the future").await;

    let mut no_exp = claims.clone();
    no_exp.as_object_mut().map(|c| c.remove("exp"));
    refused_everywhere(&app, Some(&app.tokens.sign(&no_exp)), "no exp").await;

    let mut no_sub = claims.clone();
    no_sub.as_object_mut().map(|c| c.remove("sub"));
    refused_everywhere(&app, Some(&app.tokens.sign(&no_sub)), "no sub").await;

    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("another-service");
    refused_everywhere(&app, Some(&app.tokens.sign(&wrong_aud)), "wrong aud").await;

    let mut no_aud = claims.clone();
    no_aud.as_object_mut().map(|c| c.remove("aud"));
    refused_everywhere(
        &app,
        Some(&app.tokens.sign(&no_aud)),
        "configured aud missing",
    )
    .await;

    let mut no_iss = claims.clone();
    no_iss.as_object_mut().map(|c| c.remove("iss"));
    refused_everywhere(
        &app,
        Some(&app.tokens.sign(&no_iss)),
        "configured iss missing",
    )
    .await;

    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    refused_everywhere(&app, Some(&app.tokens.sign(&wrong_iss)), "wrong iss").await;

    let mut bad_role = claims.clone();
    bad_role["role"] = json!("superuser");
    refused_everywhere(&app, Some(&app.tokens.sign(&bad_role)), "unknown role").await;

    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims)
    );
    refused_everywhere(&app, Some(&alg_none), "alg none").await;

    let response = app
        .client()
        .get(app.url("/chat"))
        .insert_header(("Authorization", format!("Basic {good}")))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status().as_u16(), 401, "non-bearer scheme");
}

#[actix_web::test]
async fn query_token_and_staff_flag_are_understood() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let by_query = app
        .call("GET", &format!("/chat/{room}?token={client}"), None, None)
        .await;
    assert_eq!(by_query.status, 200);

    let mut staff = app.tokens.claims("staff", "client");
    staff.as_object_mut().map(|c| c.remove("role"));
    staff["is_staff"] = json!(true);
    let staff = app.tokens.sign(&staff);
    let close = app
        .call("POST", &format!("/chat/{room}/close"), Some(&staff), None)
        .await;
    assert_eq!(close.status, 200, "is_staff: true means admin");
}

#[actix_web::test]
async fn rs256_service_refuses_hmac_tokens() {
    let app = TestApp::start_with(Backend::Sqlite, KeySetup::Rs256).await;
    let good = app.tokens.client("u1");
    assert_eq!(
        app.call("GET", "/chat", Some(&good), None).await.status,
        200
    );

    let claims = app.tokens.claims("u1", "client");
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"some shared secret of sufficient length"),
    )
    .expect("sign");
    refused_everywhere(&app, Some(&hs), "HS256 token on an RS256 service").await;

    // The classic confusion attack: the public key used as an HMAC secret.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
    )
    .expect("sign");
    refused_everywhere(&app, Some(&confused), "public key as HMAC secret").await;
}
