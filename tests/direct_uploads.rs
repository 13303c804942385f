//! Direct uploads to a real S3-compatible server (moto): the client puts the bytes into the
//! bucket with a presigned URL signed for the declared type; the service checks the
//! object (length, type from its bytes, hash) when a message names it or the client completes
//! it, and serves only its own copy. moto checks no signatures, so the test reads the URL's
//! signed headers instead, and puts wrong bytes to see the service refuse them.

use std::time::{Duration, Instant};

use room_chats_core::attachments::AttachmentSettings;
use serde_json::{Value, json};

use crate::attachments::{download, header, hex_sha256, png, send_with};
use crate::support::s3::S3Server;
use crate::support::{Backend, NodeOptions, Response, TestApp};

/// The first bytes of a Windows program.
const EXE_HEAD: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";

pub(crate) async fn start_direct(
    app: &TestApp,
    room_id: i64,
    token: &str,
    body: Value,
) -> Response {
    app.call(
        "POST",
        &format!("/chat/{room_id}/attachments/direct"),
        Some(token),
        Some(body),
    )
    .await
}

pub(crate) async fn complete(app: &TestApp, attachment_id: &Value, token: &str) -> Response {
    app.call(
        "POST",
        &format!("/attachments/{attachment_id}/complete"),
        Some(token),
        None,
    )
    .await
}

/// PUTs `bytes` to a direct upload's URL with the headers it names (the length as the body
/// gives it, as every HTTP client does); answers the store's status.
pub(crate) async fn put(upload: &Value, bytes: Vec<u8>) -> u16 {
    let url = upload["url"].as_str().expect("url");
    let content_type = upload["headers"]["Content-Type"]
        .as_str()
        .expect("Content-Type to send");
    let response = awc::Client::default()
        .put(url)
        .insert_header(("Content-Type", content_type))
        .send_body(bytes)
        .await
        .expect("the store answers");
    response.status().as_u16()
}

/// The query parameter `name` of `url`, decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Follows a download's redirect to the store; answers the store's headers and the bytes.
async fn fetch_through_store(
    app: &TestApp,
    attachment_id: &Value,
    token: &str,
) -> (actix_web::http::header::HeaderMap, Vec<u8>) {
    let response = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(app.url(&format!("/attachments/{attachment_id}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status().as_u16(), 302);
    let location = header(response.headers(), "location").to_owned();
    let mut fetched = awc::Client::default()
        .get(&location)
        .send()
        .await
        .expect("presigned GET");
    assert_eq!(fetched.status().as_u16(), 200, "{location}");
    let bytes = fetched.body().limit(16 * 1024 * 1024).await.expect("body");
    (fetched.headers().clone(), bytes.to_vec())
}

async fn start_node(s3: &S3Server, settings: AttachmentSettings) -> TestApp {
    let options = NodeOptions {
        attachments: settings,
        storage: Some(s3.location("chat-files")),
        ..NodeOptions::default()
    };
    TestApp::start_node(Backend::Postgres, options).await
}

#[actix_web::test]
async fn a_direct_upload_goes_to_the_store_and_is_checked_before_it_is_sent() {
    let s3 = S3Server::start("room-chats-direct").await;
    let app = start_node(&s3, AttachmentSettings::default()).await;
    let room_id = app.room("ord-direct-1", "cust-d1").await;
    let customer = app.tokens.client("cust-d1");
    let admin = app.tokens.admin("staff-d1");
    let photo = png(300_000);

    let started = start_direct(
        &app,
        room_id,
        &customer,
        json!({ "filename": "../parcel photo.png", "size": photo.len(), "content_type": "image/png" }),
    )
    .await;
    assert_eq!(started.status, 201, "{started:?}");
    let upload = started.json.clone();
    let id = upload["attachment_id"].clone();
    assert_eq!(upload["method"], "PUT");
    assert_eq!(upload["headers"]["Content-Type"], "image/png");
    let url = upload["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!(
            "{}/{}/chat-files/uploads/{room_id}/",
            s3.endpoint, s3.bucket
        )),
        "{url}"
    );
    // The store takes only the declared type: it is signed.
    assert_eq!(
        query_param(url, "X-Amz-SignedHeaders").as_deref(),
        Some("content-type;host")
    );
    assert_eq!(query_param(url, "X-Amz-Expires").as_deref(), Some("300"));

    // Nothing put yet: neither sendable nor downloadable, and nothing is stored.
    send_with(&app, room_id, &customer, json!({ "attachment_ids": [id] }))
        .await
        .assert_error(409, "conflict");
    let (status, _, _) = download(&app, &id, &admin, None).await;
    assert_eq!(status, 409);
    assert_eq!(app.history(room_id, &admin).await.len(), 0);

    assert_eq!(put(&upload, photo.clone()).await, 200);
    // Only the uploader completes it; the other member still sees the room's file.
    complete(&app, &id, &admin)
        .await
        .assert_error(403, "forbidden");
    complete(&app, &id, &app.tokens.client("stranger"))
        .await
        .assert_error(404, "not_found");

    let sent = send_with(
        &app,
        room_id,
        &customer,
        json!({ "content": "the parcel", "attachment_ids": [id] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    let file = &sent.json["attachments"][0];
    assert_eq!(file["id"], id);
    assert_eq!(file["filename"], "parcel photo.png");
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["size"], photo.len());
    assert_eq!(file["sha256"], hex_sha256(&photo));

    // The service serves its own copy, not the client's object: putting other bytes to the
    // URL afterwards (it is still valid) changes nothing that is served.
    let keys = s3.keys().await;
    assert!(
        keys.iter()
            .any(|key| key.starts_with(&format!("chat-files/attachments/{room_id}/"))),
        "{keys:?}"
    );
    let mut exe = EXE_HEAD.to_vec();
    exe.resize(photo.len(), 0);
    assert_eq!(put(&upload, exe).await, 200);
    let (headers, bytes) = fetch_through_store(&app, &id, &admin).await;
    assert_eq!(bytes, photo);
    assert_eq!(header(&headers, "content-type"), "image/png");
    let disposition = header(&headers, "content-disposition");
    assert!(disposition.starts_with("inline"), "{disposition}");
    assert!(disposition.contains("parcel photo.png"), "{disposition}");

    // Completing a checked upload answers it as it is.
    let again = complete(&app, &id, &customer).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json["sha256"], hex_sha256(&photo));
}

#[actix_web::test]
async fn a_direct_upload_that_is_not_what_was_declared_is_refused() {
    let s3 = S3Server::start("room-chats-direct-lies").await;
    let app = start_node(&s3, AttachmentSettings::default()).await;
    let room_id = app.room("ord-direct-2", "cust-d2").await;
    let customer = app.tokens.client("cust-d2");
    let admin = app.tokens.admin("staff-d2");
    let declared = json!({ "filename": "photo.png", "size": 4_000, "content_type": "image/png" });

    // A program under an image's name and type: refused when checked and removed, and the
    // upload still pending, so the right bytes can follow while the URL holds.
    let upload = start_direct(&app, room_id, &customer, declared.clone())
        .await
        .json;
    let id = upload["attachment_id"].clone();
    let mut exe = EXE_HEAD.to_vec();
    exe.resize(4_000, 0);
    assert_eq!(put(&upload, exe).await, 200);
    complete(&app, &id, &customer)
        .await
        .assert_error(415, "unsupported_type");
    send_with(&app, room_id, &customer, json!({ "attachment_ids": [id] }))
        .await
        .assert_error(409, "conflict");
    let photo = png(4_000);
    assert_eq!(put(&upload, photo.clone()).await, 200);
    let completed = complete(&app, &id, &customer).await;
    assert_eq!(completed.status, 200, "{completed:?}");
    assert_eq!(completed.json["sha256"], hex_sha256(&photo));

    // Fewer bytes than declared: refused, and the object is removed at once.
    let short = start_direct(&app, room_id, &customer, declared.clone())
        .await
        .json;
    assert_eq!(put(&short, png(3_000)).await, 200);
    send_with(
        &app,
        room_id,
        &customer,
        json!({ "attachment_ids": [short["attachment_id"]] }),
    )
    .await
    .assert_error(422, "validation_failed");
    let short_key = url::Url::parse(short["url"].as_str().expect("url"))
        .expect("a URL")
        .path()
        .trim_start_matches(&format!("/{}/", s3.bucket))
        .to_owned();
    assert!(!s3.keys().await.contains(&short_key), "{short_key}");

    // Declared as a PDF, the bytes are a PNG: the declared type is the one checked.
    let pdf_claim = start_direct(
        &app,
        room_id,
        &customer,
        json!({ "filename": "invoice.pdf", "size": 4_000, "content_type": "application/pdf" }),
    )
    .await
    .json;
    assert_eq!(put(&pdf_claim, png(4_000)).await, 200);
    complete(&app, &pdf_claim["attachment_id"], &customer)
        .await
        .assert_error(415, "unsupported_type");

    // Only the checked upload went anywhere; every refusal left the room's history empty.
    assert_eq!(app.history(room_id, &admin).await.len(), 0);
    let copies: Vec<String> = s3
        .keys()
        .await
        .into_iter()
        .filter(|key| key.contains("/attachments/"))
        .collect();
    assert_eq!(copies.len(), 1, "only the checked copy: {copies:?}");
}

#[actix_web::test]
async fn direct_upload_requests_are_checked_like_uploads() {
    let s3 = S3Server::start("room-chats-direct-checks").await;
    let settings = AttachmentSettings {
        max_bytes: 10_000,
        uploads_per_minute: 6,
        ..AttachmentSettings::default()
    };
    let app = start_node(&s3, settings).await;
    let room_id = app.room("ord-direct-3", "cust-d3").await;
    let customer = app.tokens.client("cust-d3");
    let body = |size: Value, content_type: &str| json!({ "filename": "f.png", "size": size, "content_type": content_type });
    let refusals = [
        (body(json!(0), "image/png"), 422, "validation_failed"),
        (body(json!(-5), "image/png"), 422, "validation_failed"),
        (body(json!(10_001), "image/png"), 413, "too_large"),
        (
            body(json!(100), "application/x-msdownload"),
            415,
            "unsupported_type",
        ),
        (body(json!(100), ""), 422, "validation_failed"),
        (
            json!({ "filename": "", "size": 100, "content_type": "image/png" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "filename": "f.png", "size": 100, "content_type": "image/png", "extra": 1 }),
            422,
            "validation_failed",
        ),
        (json!({ "filename": "f.png" }), 422, "validation_failed"),
    ];
    for (request, status, code) in refusals {
        start_direct(&app, room_id, &customer, request.clone())
            .await
            .assert_error(status, code);
    }
    start_direct(
        &app,
        room_id,
        &app.tokens.client("stranger"),
        body(json!(100), "image/png"),
    )
    .await
    .assert_error(404, "not_found");
    start_direct(&app, 987_654, &customer, body(json!(100), "image/png"))
        .await
        .assert_error(404, "not_found");

    // Handing out a URL counts as an upload for the rate.
    for _ in 0..6 {
        let started = start_direct(&app, room_id, &customer, body(json!(100), "image/png")).await;
        assert_eq!(started.status, 201, "{started:?}");
    }
    start_direct(&app, room_id, &customer, body(json!(100), "image/png"))
        .await
        .assert_error(429, "rate_limited");

    // A closed room takes no more files.
    let admin = app.tokens.admin("staff-d3");
    app.close(room_id, &admin).await;
    start_direct(&app, room_id, &admin, body(json!(100), "image/png"))
        .await
        .assert_error(409, "room_closed");
}

#[actix_web::test]
async fn direct_uploads_are_sent_over_the_websocket_and_collected_when_done_with() {
    let s3 = S3Server::start("room-chats-direct-ws").await;
    let settings = AttachmentSettings {
        // Presigned PUTs expire at once here, so the client's objects can go straight away.
        url_ttl: Duration::from_secs(1),
        url_clock_margin: Duration::ZERO,
        unsent_ttl: Duration::from_secs(4),
        collect_every: Duration::from_millis(50),
        ..AttachmentSettings::default()
    };
    let app = start_node(&s3, settings).await;
    let room_id = app.room("ord-direct-4", "cust-d4").await;
    let customer = app.tokens.client("cust-d4");
    let photo = png(2_000);
    let declared = json!({ "filename": "ws.png", "size": 2_000, "content_type": "image/png" });

    let sent_upload = start_direct(&app, room_id, &customer, declared.clone())
        .await
        .json;
    let forgotten = start_direct(&app, room_id, &customer, declared).await.json;
    assert_eq!(put(&sent_upload, photo.clone()).await, 200);
    assert_eq!(put(&forgotten, photo.clone()).await, 200);

    // A plain message right behind the one with the file keeps its place.
    let mut socket = app.ws(room_id, &customer).await;
    socket.handshake().await;
    socket
        .send_json(json!({
            "type": "message",
            "client_id": "direct-ws",
            "attachment_ids": [sent_upload["attachment_id"]],
        }))
        .await;
    socket
        .send_json(json!({ "type": "message", "client_id": "after", "content": "and this" }))
        .await;
    let first = socket.next_of("ack").await;
    assert_eq!(first["client_id"], "direct-ws");
    assert_eq!(
        first["message"]["attachments"][0]["sha256"],
        hex_sha256(&photo)
    );
    let second = socket.next_of("ack").await;
    assert_eq!(second["client_id"], "after");
    assert!(second["message"]["seq"].as_i64() > first["message"]["seq"].as_i64());

    // What stays in the end: the sent file's copy. The client-put object of the sent upload
    // goes once its URL has expired; the forgotten upload goes with its row.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let keys = s3.keys().await;
        if keys.len() == 1 && keys[0].starts_with(&format!("chat-files/attachments/{room_id}/")) {
            break;
        }
        assert!(Instant::now() < deadline, "left: {keys:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, _) = download(&app, &forgotten["attachment_id"], &customer, None).await;
    assert_eq!(status, 404);
    let (_, bytes) = fetch_through_store(&app, &sent_upload["attachment_id"], &customer).await;
    assert_eq!(bytes, photo);
}
