//! Uploads as a careless client or an attacker sends them: files at the edges of the type
//! sniffer's buffer through both carriers and both stores, names that lie about themselves,
//! parts that never end, and bodies that stall or are refused halfway.

use room_chats_api::attachments::AttachmentSettings;
use serde_json::Value;

use crate::attachments::{download, hex_sha256, multipart, url_escape};
use crate::support::s3::S3Server;
use crate::support::{Backend, NodeOptions, Response, TestApp};

/// Printable text of exactly `len` bytes.
fn text(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

async fn upload_form(
    app: &TestApp,
    room_id: i64,
    token: &str,
    name: &str,
    bytes: &[u8],
) -> Response {
    let (content_type, body) = multipart(name, "text/plain", bytes);
    app.call_raw(
        "POST",
        &format!("/chat/{room_id}/attachments"),
        token,
        &content_type,
        body,
    )
    .await
}

async fn upload_body(
    app: &TestApp,
    room_id: i64,
    token: &str,
    name: &str,
    bytes: &[u8],
) -> Response {
    app.call_raw(
        "POST",
        &format!("/chat/{room_id}/attachments?filename={}", url_escape(name)),
        token,
        "application/octet-stream",
        bytes.to_vec(),
    )
    .await
}

/// Files of 1 byte, 70 bytes, and around the 8 KiB the type is read from are stored whole by
/// both carriers (a multipart field shorter than that buffer used to crash the handler); an
/// empty one is refused with a clear error.
async fn small_files_are_stored_whole(app: &TestApp) {
    let room_id = app.room("ord-small-1", "cust-small").await;
    let customer = app.tokens.client("cust-small");
    let admin = app.tokens.admin("staff-small");
    for len in [1, 70, 8_191, 8_192, 8_193] {
        let bytes = text(len);
        for (carrier, uploaded) in [
            (
                "multipart",
                upload_form(app, room_id, &customer, "note.txt", &bytes).await,
            ),
            (
                "raw body",
                upload_body(app, room_id, &customer, "note.txt", &bytes).await,
            ),
        ] {
            assert_eq!(uploaded.status, 201, "{carrier}, {len} bytes: {uploaded:?}");
            assert_eq!(uploaded.json["size"], len, "{carrier}, {len} bytes");
            assert_eq!(
                uploaded.json["sha256"],
                hex_sha256(&bytes),
                "{carrier}, {len} bytes"
            );
            assert_eq!(uploaded.json["content_type"], "text/plain");
            let (status, _, fetched) = fetch(app, &uploaded.json["id"], &admin).await;
            assert_eq!(status, 200, "{carrier}, {len} bytes");
            assert_eq!(fetched, bytes, "{carrier}, {len} bytes");
        }
    }
    for (carrier, empty) in [
        (
            "multipart",
            upload_form(app, room_id, &customer, "empty.txt", b"").await,
        ),
        (
            "raw body",
            upload_body(app, room_id, &customer, "empty.txt", b"").await,
        ),
    ] {
        empty.assert_error(422, "validation_failed");
        assert_eq!(
            empty.json["error"]["message"], "the file is empty",
            "{carrier}"
        );
    }
}

/// The bytes of an attachment, following the store's presigned redirect when there is one.
async fn fetch(app: &TestApp, id: &Value, token: &str) -> (u16, String, Vec<u8>) {
    let (status, headers, bytes) = download(app, id, token, None).await;
    if status != 302 {
        let disposition = crate::attachments::header(&headers, "content-disposition").to_owned();
        return (status, disposition, bytes.to_vec());
    }
    let location = crate::attachments::header(&headers, "location").to_owned();
    let mut response = awc::Client::default()
        .get(&location)
        .send()
        .await
        .expect("presigned download");
    let bytes = response.body().limit(64 * 1024 * 1024).await.expect("body");
    let disposition =
        crate::attachments::header(response.headers(), "content-disposition").to_owned();
    (response.status().as_u16(), disposition, bytes.to_vec())
}

#[actix_web::test]
async fn small_files_are_stored_whole_on_local_disk() {
    let app = TestApp::start(Backend::Sqlite).await;
    small_files_are_stored_whole(&app).await;
}

#[actix_web::test]
async fn small_files_are_stored_whole_on_s3() {
    let s3 = S3Server::start("room-chats-small").await;
    let options = NodeOptions {
        attachments: AttachmentSettings::default(),
        storage: Some(s3.location("small")),
        ..NodeOptions::default()
    };
    let app = TestApp::start_node(Backend::Postgres, options).await;
    small_files_are_stored_whole(&app).await;
}

/// What a client named `claimed` is saved under, by each carrier of a node on local disk:
/// the stored name and the download's `Content-Disposition`.
async fn saved_names(
    app: &TestApp,
    room_id: i64,
    token: &str,
    claimed: &str,
    bytes: &[u8],
) -> Vec<(String, String)> {
    let mut saved = Vec::new();
    for uploaded in [
        upload_form(app, room_id, token, claimed, bytes).await,
        upload_body(app, room_id, token, claimed, bytes).await,
    ] {
        assert_eq!(uploaded.status, 201, "{claimed:?}: {uploaded:?}");
        let (status, disposition, _) = fetch(app, &uploaded.json["id"], token).await;
        assert_eq!(status, 200);
        let name = uploaded.json["filename"]
            .as_str()
            .expect("filename")
            .to_owned();
        saved.push((name, disposition));
    }
    saved
}

/// A right-to-left override makes `invoice\u{202E}fdp.js` show as "invoicesj.pdf"; a text file
/// called `notes.html` opens as a web page once saved. Names lose their invisible characters
/// and get the extension of what their bytes are, through multipart, `?filename=` and direct
/// uploads alike.
#[actix_web::test]
async fn names_say_what_the_file_is_on_every_path() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room_id = app.room("ord-names-1", "cust-names").await;
    let customer = app.tokens.client("cust-names");
    let png = crate::attachments::png(300);
    for (claimed, bytes, expected) in [
        ("invoice\u{202E}fdp.js", text(40), "invoicefdp.js.txt"),
        (
            "in\u{2066}voice\u{2069}\u{200F}.pdf\u{061C}",
            text(40),
            "invoice.pdf.txt",
        ),
        ("notes.html", text(40), "notes.html.txt"),
        ("notes.TXT", text(40), "notes.TXT"),
        ("photo", png.clone(), "photo.png"),
        ("photo.jpg", png.clone(), "photo.jpg.png"),
        ("\u{202E}", png.clone(), "file.png"),
    ] {
        for (name, disposition) in saved_names(&app, room_id, &customer, claimed, &bytes).await {
            assert_eq!(name, expected, "{claimed:?}");
            assert!(
                disposition.contains(&format!("filename=\"{expected}\"")),
                "{claimed:?}: {disposition}"
            );
        }
    }

    // Direct upload (S3): the name is made to agree when the bytes are checked.
    let s3 = S3Server::start("room-chats-names").await;
    let options = NodeOptions {
        storage: Some(s3.location("names")),
        ..NodeOptions::default()
    };
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room_id = app.room("ord-names-2", "cust-names").await;
    let customer = app.tokens.client("cust-names");
    let bytes = text(64);
    let upload = crate::direct_uploads::start_direct(
        &app,
        room_id,
        &customer,
        serde_json::json!({
            "filename": "invoice\u{202E}fdp.js",
            "size": bytes.len(),
            "content_type": "text/plain",
        }),
    )
    .await;
    assert_eq!(upload.status, 201, "{upload:?}");
    assert_eq!(
        crate::direct_uploads::put(&upload.json, bytes.clone()).await,
        200
    );
    let id = &upload.json["attachment_id"];
    let completed = crate::direct_uploads::complete(&app, id, &customer).await;
    assert_eq!(completed.status, 200, "{completed:?}");
    assert_eq!(completed.json["filename"], "invoicefdp.js.txt");
    let (status, disposition, fetched) = fetch(&app, id, &customer).await;
    assert_eq!((status, fetched), (200, bytes));
    assert!(
        disposition.contains("filename=\"invoicefdp.js.txt\""),
        "{disposition}"
    );
}
