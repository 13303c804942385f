//! Uploads as a careless client or an attacker sends them: files at the edges of the type
//! sniffer's buffer through both carriers and both stores, names that lie about themselves,
//! parts that never end, and bodies that stall or are refused halfway.

use std::time::Duration;

use room_chats_core::attachments::AttachmentSettings;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::attachments::{download, hex_sha256, upload_multipart, upload_raw};
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
    upload_multipart(app, room_id, token, name, bytes).await
}

async fn upload_body(
    app: &TestApp,
    room_id: i64,
    token: &str,
    name: &str,
    bytes: &[u8],
) -> Response {
    upload_raw(app, room_id, token, name, bytes.to_vec()).await
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

/// Sends `request` (head and the start of a body) on a fresh connection, then sends nothing
/// more and reads; answers what came back and whether the server closed the connection within
/// `within`.
async fn answer_then_idle(app: &TestApp, request: &[u8], within: Duration) -> (String, bool) {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let mut buffer = vec![0_u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
        }
    };
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

/// Sends `head` then `chunk` after `chunk` as a chunked body until an answer arrives (reading
/// while sending, as browsers and curl do); answers the answer's head and body, and how many
/// body bytes were sent before it came.
pub(crate) async fn answer_while_sending(
    app: &TestApp,
    head: String,
    chunk: Vec<u8>,
) -> (String, usize) {
    let stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let (mut read, mut write) = stream.into_split();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&sent);
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        loop {
            write
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            write.write_all(&chunk).await?;
            write.write_all(b"\r\n").await?;
            counted.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
        }
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buffer = vec![0_u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(20), read.read(&mut buffer))
            .await
            .expect("an answer while the body is still being sent")
            .expect("read");
        assert!(read > 0, "closed without an answer");
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && body.ends_with('}')
            && !head.is_empty()
        {
            break;
        }
    }
    writer.abort();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        sent.load(std::sync::atomic::Ordering::Relaxed),
    )
}

fn chunked_upload_head(room_id: i64, token: Option<&str>, content_type: &str) -> String {
    let auth = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    format!(
        "POST /chat/{room_id}/attachments?filename=a.png HTTP/1.1\r\nHost: test\r\n{auth}\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
}

/// A refused upload's connection is closed after the answer, though the client neither sends
/// the rest nor closes: otherwise the server reads the unread chunked body for ever.
#[actix_web::test]
async fn an_early_refusal_closes_the_connection() {
    let app = TestApp::start_node(
        Backend::Sqlite,
        NodeOptions {
            attachments: AttachmentSettings {
                max_bytes: 64 * 1024,
                ..AttachmentSettings::default()
            },
            ..NodeOptions::default()
        },
    )
    .await;
    let room_id = app.room("ord-early-1", "cust-early").await;
    let customer = app.tokens.client("cust-early");

    let mut without_token = chunked_upload_head(room_id, None, "image/png").into_bytes();
    without_token.extend_from_slice(b"8\r\n\x89PNG\r\n\x1a\n\r\n");
    let (answer, closed) = answer_then_idle(&app, &without_token, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("\"code\":\"unauthorized\""), "{answer}");
    assert!(closed, "the connection stayed open after the 401: {answer}");

    // Past the file limit, then silence.
    let mut too_large = chunked_upload_head(room_id, Some(&customer), "image/png").into_bytes();
    let png = crate::attachments::png(80 * 1024);
    too_large.extend_from_slice(format!("{:x}\r\n", png.len()).as_bytes());
    too_large.extend_from_slice(&png);
    too_large.extend_from_slice(b"\r\n");
    let (answer, closed) = answer_then_idle(&app, &too_large, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(closed, "the connection stayed open after the 413: {answer}");
}

/// A body that stops arriving is answered 408 `request_timeout` after the configured time and
/// its connection closed: uploads and JSON bodies alike, so a slow client cannot hold
/// connections and handlers for ever.
#[actix_web::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let app = TestApp::start_node(
        Backend::Sqlite,
        NodeOptions {
            limits: room_chats_core::Limits {
                body_idle_timeout: Duration::from_secs(1),
                ..NodeOptions::default().limits
            },
            ..NodeOptions::default()
        },
    )
    .await;
    let room_id = app.room("ord-stall-1", "cust-stall").await;
    let customer = app.tokens.client("cust-stall");

    let mut upload = chunked_upload_head(room_id, Some(&customer), "image/png").into_bytes();
    upload.extend_from_slice(b"8\r\n\x89PNG\r\n\x1a\n\r\n");
    let mut form = chunked_upload_head(
        room_id,
        Some(&customer),
        "multipart/form-data; boundary=XyZ",
    )
    .into_bytes();
    let part =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc";
    form.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
    form.extend_from_slice(part);
    form.extend_from_slice(b"\r\n");
    let json = format!(
        "POST /chat/{room_id}/messages HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {customer}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"content\":"
    )
    .into_bytes();
    for (carrier, request) in [("raw upload", upload), ("multipart", form), ("JSON", json)] {
        let (answer, closed) = answer_then_idle(&app, &request, Duration::from_secs(15)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{carrier}: {answer}");
        assert!(
            answer.contains("\"code\":\"request_timeout\""),
            "{carrier}: {answer}"
        );
        assert!(closed, "{carrier}: the connection stayed open: {answer}");
    }
    // Nothing was stored, and the node goes on answering.
    assert_eq!(app.history(room_id, &customer).await, []);
}

/// Only the part named `file` may be large: other parts of a form share 16 KiB, so a part of
/// another name streamed without end is refused (413) at once, not read at 1 GiB/s past every
/// limit; a small field beside the file is fine.
#[actix_web::test]
async fn parts_other_than_the_file_are_bounded() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room_id = app.room("ord-parts-1", "cust-parts").await;
    let customer = app.tokens.client("cust-parts");
    let head = chunked_upload_head(
        room_id,
        Some(&customer),
        "multipart/form-data; boundary=XyZ",
    );
    let mut first = b"--XyZ\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n".to_vec();
    first.resize(64 * 1024, b'j');
    let (answer, sent) = answer_while_sending(&app, head, first).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("parts other than `file`"), "{answer}");
    // Refused as it passed 16 KiB; what more went out sat in socket buffers.
    assert!(
        sent < 8 * 1024 * 1024,
        "{sent} bytes were sent before the answer"
    );

    let small_field_first = upload_form(&app, room_id, &customer, "note.txt", &text(100)).await;
    assert_eq!(small_field_first.status, 201, "{small_field_first:?}");
}
