//! Attachments on local disk: upload (multipart and raw), download by the other member with
//! `Range`, authorization, and every refusal: too large (declared and streamed), wrong type,
//! empty, rate, quota, closed room — none of which leaves a file behind, and neither does an
//! upload that breaks off.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use room_chats_core::attachments::{AttachmentSettings, StorageLocation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::s3::S3Server;
use crate::support::{Backend, NodeOptions, Response, TestApp};

/// A PNG's signature and header, then filler: enough for the type check.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i % 251) as u8));
    bytes
}

fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', len.saturating_sub(bytes.len())));
    bytes
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A node whose attachments go to a directory the test can look into.
pub(crate) struct Node {
    pub(crate) app: TestApp,
    pub(crate) files: tempfile::TempDir,
}

pub(crate) async fn start(backend: Backend, settings: AttachmentSettings) -> Node {
    let files = tempfile::tempdir().expect("temp dir");
    let options = NodeOptions {
        attachments: settings,
        storage: Some(StorageLocation::Directory(files.path().to_owned())),
        ..NodeOptions::default()
    };
    let app = TestApp::start_node(backend, options).await;
    Node { app, files }
}

/// Every file under `dir`, however deep (partial uploads included).
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Waits until `dir` holds no file: a refused or broken upload is removed as it ends, and
/// the removal of one whose client went away runs after the request.
async fn wait_until_no_files(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = files_under(dir);
        if files.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "files left behind: {files:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `multipart/form-data` body as a browser's `FormData` makes it, with a text field first.
fn multipart(filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----roomchatsboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload_multipart(
    app: &TestApp,
    room_id: i64,
    token: &str,
    filename: &str,
    bytes: &[u8],
) -> Response {
    let (content_type, body) = multipart(filename, "image/png", bytes);
    app.call_raw(
        "POST",
        &format!("/chat/{room_id}/attachments"),
        token,
        &content_type,
        body,
    )
    .await
}

pub(crate) async fn upload_raw(
    app: &TestApp,
    room_id: i64,
    token: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Response {
    app.call_raw(
        "POST",
        &format!(
            "/chat/{room_id}/attachments?filename={}",
            url_escape(filename)
        ),
        token,
        "application/octet-stream",
        bytes,
    )
    .await
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Downloads with an optional `Range`; answers status, headers and the bytes.
pub(crate) async fn download(
    app: &TestApp,
    attachment_id: &Value,
    token: &str,
    range: Option<&str>,
) -> (u16, actix_web::http::header::HeaderMap, Bytes) {
    let mut request = app
        .client()
        .get(app.url(&format!("/attachments/{attachment_id}")))
        .bearer_auth(token);
    if let Some(range) = range {
        request = request.insert_header(("Range", range));
    }
    let mut response = request.send().await.expect("request reaches the service");
    let bytes = response.body().limit(64 * 1024 * 1024).await.expect("body");
    (
        response.status().as_u16(),
        response.headers().clone(),
        bytes,
    )
}

/// Streams an endless chunked upload over a raw connection, reading while it writes as
/// browsers and curl do; answers the response (lowercase) that arrives while the body is still
/// being sent (the server refuses without waiting for the end).
async fn endless_upload_answer(app: &TestApp, room_id: i64, token: &str) -> String {
    let head = format!(
        "POST /chat/{room_id}/attachments?filename=endless.png HTTP/1.1\r\nHost: test\r\n\
         Authorization: Bearer {token}\r\nContent-Type: image/png\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    let (answer, _) = crate::hostile_uploads::answer_while_sending(app, head, png(64 * 1024)).await;
    answer.to_lowercase()
}

/// Sends `chunks` chunks of `chunk_bytes` (a PNG's start first), then fails as a client
/// whose connection dies.
async fn upload_that_breaks_off(
    app: &TestApp,
    room_id: i64,
    token: &str,
    chunks: usize,
    chunk_bytes: usize,
) {
    let body: Vec<Result<Bytes, std::io::Error>> = (0..chunks)
        .map(|i| {
            Ok(Bytes::from(if i == 0 {
                png(chunk_bytes)
            } else {
                vec![1_u8; chunk_bytes]
            }))
        })
        .chain(std::iter::once(Err(std::io::Error::other(
            "the client went away",
        ))))
        .collect();
    let sent = app
        .client()
        .post(app.url(&format!("/chat/{room_id}/attachments?filename=half.png")))
        .bearer_auth(token)
        .content_type("image/png")
        .send_stream(stream::iter(body))
        .await;
    assert!(
        sent.is_err(),
        "the upload broke off: {:?}",
        sent.map(|r| r.status())
    );
}

pub(crate) fn header<'a>(headers: &'a actix_web::http::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// A node killed mid-upload leaves the upload's staging file (`<key>#<n>`); the next start
/// removes it once it has been idle for an hour, and nothing else.
#[actix_web::test]
async fn uploads_cut_short_by_a_crash_are_swept_at_start() {
    let files = tempfile::tempdir().expect("temp dir");
    let plant = |relative: &str, age: Duration| {
        let path = files.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
        let file = std::fs::File::create(&path).expect("create");
        file.set_times(std::fs::FileTimes::new().set_modified(std::time::SystemTime::now() - age))
            .expect("set mtime");
        path
    };
    let abandoned = plant("attachments/3/9f8e#1", Duration::from_secs(2 * 3_600));
    let in_progress = plant("attachments/3/7d6c#2", Duration::from_secs(1));
    let stored = plant("attachments/3/5b4a", Duration::from_secs(48 * 3_600));
    let options = NodeOptions {
        storage: Some(StorageLocation::Directory(files.path().to_owned())),
        ..NodeOptions::default()
    };
    let _app = TestApp::start_node(Backend::Sqlite, options).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while abandoned.exists() {
        assert!(Instant::now() < deadline, "the abandoned upload stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        in_progress.exists(),
        "an upload in progress on another node is kept"
    );
    assert!(stored.exists(), "stored files are kept");
}

crate::on_both_backends!(
    backend:
    the_other_member_downloads_what_a_member_uploaded,
    ranges_are_served_and_checked,
    strangers_and_services_cannot_upload_or_download,
    too_large_uploads_are_refused_and_leave_nothing,
    types_come_from_the_bytes_not_the_name,
    an_upload_that_breaks_off_leaves_nothing,
    uploads_are_rate_limited_and_bounded_by_a_daily_quota,
    bad_uploads_get_clear_errors,
    messages_carry_their_files_everywhere,
    files_go_only_with_their_uploader_in_their_room_once,
    unsent_uploads_and_deleted_messages_files_are_removed,
);

async fn the_other_member_downloads_what_a_member_uploaded(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-1", "cust-1").await;
    let customer = app.tokens.client("cust-1");
    let admin = app.tokens.admin("staff-1");

    // A photo from a browser form, under a path-like name.
    let photo = png(300_000);
    let uploaded = upload_multipart(app, room_id, &customer, "../photos/parcel.png", &photo).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let attachment = &uploaded.json;
    assert_eq!(attachment["filename"], "parcel.png");
    assert_eq!(attachment["content_type"], "image/png");
    assert_eq!(attachment["size"], photo.len());
    assert_eq!(attachment["sha256"], hex_sha256(&photo));
    assert_eq!(attachment["room_id"], room_id);
    assert_eq!(attachment["uploader_id"], "cust-1");

    let (status, headers, bytes) = download(app, &attachment["id"], &admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(bytes.as_ref(), photo.as_slice());
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert!(header(&headers, "content-disposition").starts_with("inline"));
    assert!(header(&headers, "content-disposition").contains("parcel.png"));
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "accept-ranges"), "bytes");

    // An invoice as a raw body; a document is a download, never rendered inline.
    let invoice = pdf(50_000);
    let uploaded = upload_raw(
        app,
        room_id,
        &admin,
        "../../Rechnung März.pdf",
        invoice.clone(),
    )
    .await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    assert_eq!(uploaded.json["filename"], "Rechnung März.pdf");
    assert_eq!(uploaded.json["content_type"], "application/pdf");
    let (status, headers, bytes) = download(app, &uploaded.json["id"], &customer, None).await;
    assert_eq!(status, 200);
    assert_eq!(bytes.as_ref(), invoice.as_slice());
    let disposition = header(&headers, "content-disposition");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"),
        "{disposition}"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    // Plain text passes the default allowlist too.
    let note = "Bestellnummer 4711\nBitte zurückrufen.\n"
        .as_bytes()
        .to_vec();
    let uploaded = upload_raw(app, room_id, &customer, "note.txt", note).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    assert_eq!(uploaded.json["content_type"], "text/plain");
}

async fn ranges_are_served_and_checked(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-2", "cust-2").await;
    let customer = app.tokens.client("cust-2");
    let invoice = pdf(10_000);
    let uploaded = upload_raw(app, room_id, &customer, "a.pdf", invoice.clone()).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let id = &uploaded.json["id"];

    let (status, headers, bytes) = download(app, id, &customer, Some("bytes=100-199")).await;
    assert_eq!(status, 206);
    assert_eq!(bytes.as_ref(), &invoice[100..200]);
    assert_eq!(header(&headers, "content-range"), "bytes 100-199/10000");

    let (status, headers, bytes) = download(app, id, &customer, Some("bytes=-10")).await;
    assert_eq!(status, 206);
    assert_eq!(bytes.as_ref(), &invoice[9_990..]);
    assert_eq!(header(&headers, "content-range"), "bytes 9990-9999/10000");

    // A resumed download: from an offset to the end, even past it.
    let (status, _, bytes) = download(app, id, &customer, Some("bytes=9000-20000")).await;
    assert_eq!(status, 206);
    assert_eq!(bytes.as_ref(), &invoice[9_000..]);

    let (status, headers, _) = download(app, id, &customer, Some("bytes=10000-")).await;
    assert_eq!(status, 416);
    assert_eq!(header(&headers, "content-range"), "bytes */10000");

    // Several ranges, or nonsense: the whole file, as HTTP allows.
    for range in ["bytes=0-1,5-6", "pages=1-2"] {
        let (status, _, bytes) = download(app, id, &customer, Some(range)).await;
        assert_eq!(status, 200, "{range}");
        assert_eq!(bytes.len(), invoice.len());
    }
}

async fn strangers_and_services_cannot_upload_or_download(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-3", "cust-3").await;
    let customer = app.tokens.client("cust-3");
    let uploaded = upload_raw(app, room_id, &customer, "a.png", png(1_000)).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let id = &uploaded.json["id"];

    let stranger = app.tokens.client("someone-else");
    let (status, _, _) = download(app, id, &stranger, None).await;
    assert_eq!(status, 404, "a stranger cannot tell the file exists");
    let (status, _, _) = download(
        app,
        &Value::from(id.as_i64().unwrap_or(0) + 1000),
        &customer,
        None,
    )
    .await;
    assert_eq!(status, 404);
    upload_raw(app, room_id, &stranger, "a.png", png(1_000))
        .await
        .assert_error(404, "not_found");

    let service = app.tokens.service();
    upload_raw(app, room_id, &service, "a.png", png(1_000))
        .await
        .assert_error(403, "forbidden");
    let (status, _, _) = download(app, id, &service, None).await;
    assert_eq!(status, 403);

    let response = app
        .call("GET", &format!("/attachments/{id}"), None, None)
        .await;
    response.assert_error(401, "unauthorized");
}

async fn too_large_uploads_are_refused_and_leave_nothing(backend: Backend) {
    let settings = AttachmentSettings {
        max_bytes: 64 * 1024,
        ..AttachmentSettings::default()
    };
    let node = start(backend, settings).await;
    let app = &node.app;
    let room_id = app.room("ord-att-4", "cust-4").await;
    let customer = app.tokens.client("cust-4");

    // Declared too large: refused before the body is read.
    upload_raw(app, room_id, &customer, "big.png", png(64 * 1024 + 1))
        .await
        .assert_error(413, "too_large");
    let (content_type, body) = multipart("big.png", "image/png", &png(200 * 1024));
    app.call_raw(
        "POST",
        &format!("/chat/{room_id}/attachments"),
        &customer,
        &content_type,
        body,
    )
    .await
    .assert_error(413, "too_large");
    // Exactly at the limit is fine.
    let at_limit = upload_raw(app, room_id, &customer, "fits.png", png(64 * 1024)).await;
    assert_eq!(at_limit.status, 201, "{at_limit:?}");

    // Streamed without a length (chunked) and endless: refused at the limit while the client
    // is still sending, and the connection is not kept for another request.
    let answer = endless_upload_answer(app, room_id, &customer).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // Only the file at the limit is stored.
    let deadline = Instant::now() + Duration::from_secs(10);
    while files_under(node.files.path()).len() != 1 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            files_under(node.files.path())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn types_come_from_the_bytes_not_the_name(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-5", "cust-5").await;
    let customer = app.tokens.client("cust-5");

    // A Windows program renamed to look like a photo, claimed as one.
    let mut program = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    program.extend(vec![0_u8; 4_000]);
    let refused = upload_multipart(app, room_id, &customer, "photo.png", &program).await;
    refused.assert_error(415, "unsupported_type");
    let message = refused.json["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("application/vnd.microsoft.portable-executable"),
        "{message}"
    );
    // HTML is not text/plain: a page must never be served from the service's origin.
    upload_raw(
        app,
        room_id,
        &customer,
        "a.png",
        b"<!DOCTYPE html><script>alert(1)</script>".to_vec(),
    )
    .await
    .assert_error(415, "unsupported_type");
    wait_until_no_files(node.files.path()).await;
}

async fn an_upload_that_breaks_off_leaves_nothing(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-6", "cust-6").await;
    let customer = app.tokens.client("cust-6");

    // Half a megabyte, then the client's connection fails.
    upload_that_breaks_off(app, room_id, &customer, 32, 16 * 1024).await;
    wait_until_no_files(node.files.path()).await;

    // The room works on: the next upload is stored.
    let next = upload_raw(app, room_id, &customer, "next.png", png(1_000)).await;
    assert_eq!(next.status, 201, "{next:?}");
}

async fn uploads_are_rate_limited_and_bounded_by_a_daily_quota(backend: Backend) {
    let settings = AttachmentSettings {
        uploads_per_minute: 2,
        ..AttachmentSettings::default()
    };
    let node = start(backend, settings).await;
    let app = &node.app;
    let room_id = app.room("ord-att-7", "cust-7").await;
    let customer = app.tokens.client("cust-7");
    for _ in 0..2 {
        let stored = upload_raw(app, room_id, &customer, "a.png", png(1_000)).await;
        assert_eq!(stored.status, 201, "{stored:?}");
    }
    let refused = upload_raw(app, room_id, &customer, "a.png", png(1_000)).await;
    refused.assert_error(429, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    // Another user's budget is their own.
    let admin = app.tokens.admin("staff-7");
    let stored = upload_raw(app, room_id, &admin, "a.png", png(1_000)).await;
    assert_eq!(stored.status, 201, "{stored:?}");

    let settings = AttachmentSettings {
        daily_quota_bytes: 25_000,
        ..AttachmentSettings::default()
    };
    let node = start(backend, settings).await;
    let app = &node.app;
    let room_id = app.room("ord-att-8", "cust-8").await;
    let customer = app.tokens.client("cust-8");
    let stored = upload_raw(app, room_id, &customer, "a.png", png(20_000)).await;
    assert_eq!(stored.status, 201, "{stored:?}");
    let refused = upload_raw(app, room_id, &customer, "b.png", png(10_000)).await;
    refused.assert_error(413, "too_large");
    let message = refused.json["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("quota"), "{message}");
    let fits = upload_raw(app, room_id, &customer, "c.png", png(5_000)).await;
    assert_eq!(fits.status, 201, "{fits:?}");
}

async fn bad_uploads_get_clear_errors(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-9", "cust-9").await;
    let customer = app.tokens.client("cust-9");
    let admin = app.tokens.admin("staff-9");

    upload_raw(app, room_id, &customer, "empty.png", Vec::new())
        .await
        .assert_error(422, "validation_failed");
    // A form without a file part.
    let boundary = "xyz";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{boundary}--\r\n"
    );
    app.call_raw(
        "POST",
        &format!("/chat/{room_id}/attachments"),
        &customer,
        &format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
    .await
    .assert_error(400, "bad_request");
    // A room id that is not a number, and a room that does not exist.
    upload_raw(app, 0, &customer, "a.png", png(100))
        .await
        .assert_error(404, "not_found");
    app.call_raw(
        "POST",
        "/chat/abc/attachments",
        &customer,
        "image/png",
        png(100),
    )
    .await
    .assert_error(404, "not_found");
    let (status, _, _) = download(app, &Value::from("abc"), &customer, None).await;
    assert_eq!(status, 404);
    // Files on the service's own disk cannot be put there directly.
    app.call(
        "POST",
        &format!("/chat/{room_id}/attachments/direct"),
        Some(&customer),
        Some(json!({ "filename": "a.png", "size": 100, "content_type": "image/png" })),
    )
    .await
    .assert_error(409, "conflict");

    // A closed room takes no uploads.
    app.close(room_id, &admin).await;
    upload_raw(app, room_id, &customer, "a.png", png(100))
        .await
        .assert_error(409, "room_closed");
    wait_until_no_files(node.files.path()).await;
}

/// Postgres and a real S3-compatible server (moto): uploads go to the bucket in parts,
/// downloads are redirects to presigned URLs (ranges are served by the service), and refused
/// or broken uploads leave neither an object nor an open multipart upload.
#[actix_web::test]
async fn an_s3_store_keeps_uploads_and_hands_out_presigned_downloads() {
    let s3 = S3Server::start("room-chats-test").await;
    let options = NodeOptions {
        attachments: AttachmentSettings {
            max_bytes: 8 * 1024 * 1024,
            ..AttachmentSettings::default()
        },
        storage: Some(s3.location("chat-files")),
        ..NodeOptions::default()
    };
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room_id = app.room("ord-s3-1", "cust-s3").await;
    let customer = app.tokens.client("cust-s3");
    let admin = app.tokens.admin("staff-s3");

    // 6 MiB: two parts, S3's smallest (5 MiB) and the rest.
    let photo = png(6 * 1024 * 1024 + 123);
    let uploaded = upload_raw(&app, room_id, &customer, "big.png", photo.clone()).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    assert_eq!(uploaded.json["sha256"], hex_sha256(&photo));
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(&format!("chat-files/attachments/{room_id}/")),
        "{keys:?}"
    );
    assert!(
        !keys[0].contains("big.png"),
        "object names never hold the file name"
    );
    let id = &uploaded.json["id"];

    // The other member is sent to the store, which serves the bytes without a token.
    let response = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(app.url(&format!("/attachments/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status().as_u16(), 302);
    let location = header(response.headers(), "location").to_owned();
    assert!(location.starts_with(&s3.endpoint), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    // Stores that honour them answer with the service's type and disposition, whatever the
    // object holds (moto ignores them; the object's own attributes are checked below).
    assert!(
        location.contains("response-content-type=image%2Fpng"),
        "{location}"
    );
    assert!(
        location.contains("response-content-disposition=inline"),
        "{location}"
    );
    let mut fetched = awc::Client::default()
        .get(&location)
        .send()
        .await
        .expect("presigned GET");
    assert_eq!(fetched.status().as_u16(), 200);
    // The object carries the type read from its bytes and how to present it.
    assert_eq!(header(fetched.headers(), "content-type"), "image/png");
    let disposition = header(fetched.headers(), "content-disposition");
    assert!(disposition.starts_with("inline"), "{disposition}");
    assert!(disposition.contains("big.png"), "{disposition}");
    let bytes = fetched.body().limit(16 * 1024 * 1024).await.expect("body");
    assert_eq!(bytes.as_ref(), photo.as_slice());

    // A range is read from the store by the service.
    let (status, headers, bytes) = download(&app, id, &admin, Some("bytes=5242870-5242889")).await;
    assert_eq!(status, 206);
    assert_eq!(bytes.as_ref(), &photo[5_242_870..5_242_890]);
    assert_eq!(
        header(&headers, "content-range"),
        format!("bytes 5242870-5242889/{}", photo.len())
    );
    let (status, _, _) = download(&app, id, &app.tokens.client("stranger"), None).await;
    assert_eq!(status, 404);

    // Refused by type, cut off past the limit, broken off: nothing stays in the bucket.
    upload_raw(
        &app,
        room_id,
        &customer,
        "x.png",
        b"MZ\x90\0\x03\0\0\0".to_vec(),
    )
    .await
    .assert_error(415, "unsupported_type");
    let answer = endless_upload_answer(&app, room_id, &customer).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    // 6 MiB, a part sent to the store and more buffered, then the client's connection fails.
    upload_that_breaks_off(&app, room_id, &customer, 12, 512 * 1024).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (keys, open) = (s3.keys().await, s3.open_uploads().await);
        if keys.len() == 1 && open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {keys:?}, {open} open uploads"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn send_with(app: &TestApp, room_id: i64, token: &str, body: Value) -> Response {
    app.call(
        "POST",
        &format!("/chat/{room_id}/messages"),
        Some(token),
        Some(body),
    )
    .await
}

pub(crate) async fn delete_message(
    app: &TestApp,
    room_id: i64,
    token: &str,
    message_id: &Value,
) -> Response {
    app.call(
        "DELETE",
        &format!("/chat/{room_id}/messages/{message_id}"),
        Some(token),
        None,
    )
    .await
}

async fn uploaded_id(app: &TestApp, room_id: i64, token: &str, name: &str) -> i64 {
    let uploaded = upload_raw(app, room_id, token, name, png(2_000)).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    uploaded.json["id"].as_i64().expect("attachment id")
}

async fn messages_carry_their_files_everywhere(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-10", "cust-10").await;
    let customer = app.tokens.client("cust-10");
    let admin = app.tokens.admin("staff-10");
    let mut watcher = app.ws(room_id, &admin).await;
    watcher.handshake().await;

    // Files alone, no words, over REST.
    let photo = uploaded_id(app, room_id, &customer, "parcel.png").await;
    let label = uploaded_id(app, room_id, &customer, "label.png").await;
    let sent = send_with(
        app,
        room_id,
        &customer,
        json!({ "attachment_ids": [label, photo], "client_id": "with-files" }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert_eq!(sent.json["content"], "");
    let files = sent.json["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<i64> = files
        .iter()
        .filter_map(|file| file["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![label, photo], "in the order named");
    assert_eq!(files[1]["filename"], "parcel.png");
    assert_eq!(files[1]["content_type"], "image/png");

    // Live, in history, and on a retry: the same files.
    let live = watcher.next_of("message").await;
    assert_eq!(live["message"]["attachments"], sent.json["attachments"]);
    let history = app.history(room_id, &admin).await;
    assert_eq!(json!(history[0].attachments), sent.json["attachments"]);
    let retry = send_with(
        app,
        room_id,
        &customer,
        json!({ "attachment_ids": [label, photo], "client_id": "with-files" }),
    )
    .await;
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.json["id"], sent.json["id"]);
    // The other member reads the file the message names.
    let (status, _, _) = download(app, &files[1]["id"], &admin, None).await;
    assert_eq!(status, 200);

    // Words and a file over the WebSocket.
    let screenshot = uploaded_id(app, room_id, &customer, "screen.png").await;
    let mut socket = app.ws(room_id, &customer).await;
    socket.handshake().await;
    socket
        .send_json(json!({
            "type": "message",
            "client_id": "ws-file",
            "content": "see the screenshot",
            "attachment_ids": [screenshot],
        }))
        .await;
    let ack = socket.next_of("ack").await;
    assert_eq!(ack["message"]["content"], "see the screenshot");
    assert_eq!(ack["message"]["attachments"][0]["id"], screenshot);
    let live = watcher.next_of("message").await;
    assert_eq!(live["message"]["attachments"][0]["id"], screenshot);

    // A deleted message shows no files, as it shows no words.
    let message_id = &sent.json["id"];
    let deleted = delete_message(app, room_id, &customer, message_id).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert!(deleted.json.get("attachments").is_none(), "{deleted:?}");
    let history = app.history(room_id, &admin).await;
    assert!(history[0].attachments.is_empty(), "{:?}", history[0]);
}

async fn files_go_only_with_their_uploader_in_their_room_once(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-att-11", "cust-11").await;
    let other_room = app.room("ord-att-12", "cust-11").await;
    let customer = app.tokens.client("cust-11");
    let admin = app.tokens.admin("staff-11");
    let file = uploaded_id(app, room_id, &customer, "a.png").await;
    let elsewhere = uploaded_id(app, other_room, &customer, "b.png").await;

    let many: Vec<i64> = (1..=11).collect();
    let refusals = [
        // Someone else's upload, another room's, one that does not exist.
        (
            &admin,
            json!({ "attachment_ids": [file] }),
            422,
            "validation_failed",
        ),
        (
            &customer,
            json!({ "attachment_ids": [elsewhere] }),
            422,
            "validation_failed",
        ),
        (
            &customer,
            json!({ "attachment_ids": [987_654] }),
            422,
            "validation_failed",
        ),
        // Too many, or one twice.
        (
            &customer,
            json!({ "attachment_ids": many }),
            422,
            "validation_failed",
        ),
        (
            &customer,
            json!({ "attachment_ids": [file, file] }),
            422,
            "validation_failed",
        ),
        // Words are still checked when files come with them.
        (
            &customer,
            json!({ "content": "   ", "attachment_ids": [file] }),
            422,
            "invalid_content",
        ),
    ];
    for (token, body, status, code) in refusals {
        send_with(app, room_id, token, body)
            .await
            .assert_error(status, code);
    }
    assert_eq!(
        app.history(room_id, &admin).await.len(),
        0,
        "nothing stored"
    );

    // Sent once; a second message cannot take it.
    let sent = send_with(app, room_id, &customer, json!({ "attachment_ids": [file] })).await;
    assert_eq!(sent.status, 201, "{sent:?}");
    send_with(
        app,
        room_id,
        &customer,
        json!({ "content": "again", "attachment_ids": [file] }),
    )
    .await
    .assert_error(409, "conflict");
    assert_eq!(app.history(room_id, &admin).await.len(), 1);
}

/// Waits until `dir` holds exactly `count` files.
pub(crate) async fn wait_for_files(dir: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let files = files_under(dir);
        if files.len() == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} files: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unsent_uploads_and_deleted_messages_files_are_removed(backend: Backend) {
    let settings = AttachmentSettings {
        // Long enough for the kept file to be sent before it would count as forgotten.
        unsent_ttl: Duration::from_secs(3),
        deleted_retention: Duration::ZERO,
        collect_every: Duration::from_millis(50),
        ..AttachmentSettings::default()
    };
    let node = start(backend, settings).await;
    let app = &node.app;
    let room_id = app.room("ord-att-13", "cust-13").await;
    let customer = app.tokens.client("cust-13");
    let admin = app.tokens.admin("staff-13");
    let forgotten = uploaded_id(app, room_id, &customer, "forgotten.png").await;
    let kept = uploaded_id(app, room_id, &customer, "kept.png").await;
    let sent = send_with(app, room_id, &customer, json!({ "attachment_ids": [kept] })).await;
    assert_eq!(sent.status, 201, "{sent:?}");

    // The upload never sent goes; the sent one stays.
    wait_for_files(node.files.path(), 1).await;
    let (status, _, _) = download(app, &Value::from(forgotten), &admin, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = download(app, &Value::from(kept), &admin, None).await;
    assert_eq!(status, 200);

    // Deleting the message removes its file (retention 0 here).
    let message_id = &sent.json["id"];
    let deleted = delete_message(app, room_id, &customer, message_id).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    wait_for_files(node.files.path(), 0).await;
    let (status, _, _) = download(app, &Value::from(kept), &admin, None).await;
    assert_eq!(status, 404);
}
