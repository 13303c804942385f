//! Images: their size in the attachment's metadata (and so in messages), and a small JPEG
//! preview made after the upload — not for other files, not for a decompression bomb, not for
//! bytes that do not decode — served only to those who see the room, and removed with the file.

use std::io::Cursor;
use std::time::Duration;

use image::{ImageEncoder, Rgba, RgbaImage};
use room_chats_core::attachments::AttachmentSettings;
use serde_json::{Value, json};

use crate::attachments::{
    delete_message, files_under, header, send_with, start, upload_raw, wait_for_files,
};
use crate::support::{Backend, TestApp};

/// A real PNG: a gradient with a transparent corner.
fn photo_png(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbaImage::from_fn(width, height, |x, y| {
        let alpha = if x < width / 4 && y < height / 4 {
            0
        } else {
            255
        };
        Rgba([(x % 256) as u8, (y % 256) as u8, 128, alpha])
    });
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            picture.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgba8,
        )
        .expect("encode");
    bytes
}

/// A PNG whose header claims `side` × `side` pixels, in a few bytes: a decompression bomb as
/// far as anything that believes the header is concerned.
fn bomb_png(side: u32) -> Vec<u8> {
    let mut bytes = photo_png(1, 1);
    bytes[16..20].copy_from_slice(&side.to_be_bytes());
    bytes[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A 100 × 100 PNG whose compressed pixels are overwritten: its header reads, its pixels do
/// not decode.
fn broken_png() -> Vec<u8> {
    let mut bytes = photo_png(100, 100);
    let pixels = bytes
        .windows(4)
        .position(|window| window == b"IDAT")
        .expect("an IDAT chunk")
        + 4;
    let end = (pixels + 200).min(bytes.len() - 12);
    bytes[pixels + 2..end].fill(0x5a);
    bytes
}

async fn preview(app: &TestApp, attachment_id: &Value, token: &str) -> (u16, String, Vec<u8>) {
    let mut response = app
        .client()
        .get(app.url(&format!("/attachments/{attachment_id}/preview")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request reaches the service");
    let bytes = response.body().limit(1024 * 1024).await.expect("body");
    let content_type = header(response.headers(), "content-type").to_owned();
    (response.status().as_u16(), content_type, bytes.to_vec())
}

async fn uploaded(app: &TestApp, room_id: i64, token: &str, name: &str, bytes: Vec<u8>) -> Value {
    let uploaded = upload_raw(app, room_id, token, name, bytes).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    uploaded.json
}

async fn images_get_their_size_and_a_preview(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-img-1", "cust-img-1").await;
    let customer = app.tokens.client("cust-img-1");
    let admin = app.tokens.admin("staff-img-1");

    let photo = uploaded(app, room_id, &customer, "photo.png", photo_png(1200, 800)).await;
    assert_eq!(
        (photo["width"].clone(), photo["height"].clone()),
        (json!(1200), json!(800))
    );
    assert_eq!(photo["preview"], true);
    // Made off the request path: the preview lands in the store without being asked for.
    wait_for_files(node.files.path(), 2).await;

    let (status, content_type, jpeg) = preview(app, &photo["id"], &admin).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/jpeg");
    let shown = image::ImageReader::new(Cursor::new(&jpeg))
        .with_guessed_format()
        .expect("readable")
        .decode()
        .expect("a picture");
    assert_eq!((shown.width(), shown.height()), (320, 213));
    assert!(jpeg.len() < 40_000, "{} bytes", jpeg.len());
    // The transparent corner is laid over white, not black.
    let corner = shown.to_rgb8().get_pixel(5, 5).0;
    assert!(corner.iter().all(|channel| *channel > 230), "{corner:?}");

    // Only those who see the room.
    let (status, _, _) = preview(app, &photo["id"], &app.tokens.client("stranger")).await;
    assert_eq!(status, 404);

    // The size travels with the file in messages.
    let sent = send_with(
        app,
        room_id,
        &customer,
        json!({ "attachment_ids": [photo["id"]] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert_eq!(sent.json["attachments"][0]["width"], 1200);
    assert_eq!(sent.json["attachments"][0]["preview"], true);
    let history = app.history(room_id, &admin).await;
    assert_eq!(history[0].attachments[0].height, Some(800));
}

async fn no_preview_for_documents_bombs_or_broken_images(backend: Backend) {
    let node = start(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room_id = app.room("ord-img-2", "cust-img-2").await;
    let customer = app.tokens.client("cust-img-2");

    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(3_000, b'x');
    let document = uploaded(app, room_id, &customer, "invoice.pdf", pdf).await;
    assert!(document.get("width").is_none(), "{document}");
    assert!(document.get("preview").is_none(), "{document}");
    preview_refused(app, &document["id"], &customer).await;

    // The header's size is reported, but 400 megapixels are not decoded.
    let bomb = uploaded(app, room_id, &customer, "bomb.png", bomb_png(20_000)).await;
    assert_eq!(bomb["width"], 20_000);
    assert!(bomb.get("preview").is_none(), "{bomb}");
    preview_refused(app, &bomb["id"], &customer).await;

    // A header that promises a preview the bytes cannot keep: refused, and no longer offered.
    let broken = uploaded(app, room_id, &customer, "broken.png", broken_png()).await;
    assert_eq!(broken["preview"], true);
    preview_refused(app, &broken["id"], &customer).await;
    let sent = send_with(
        app,
        room_id,
        &customer,
        json!({ "attachment_ids": [broken["id"]] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert!(
        sent.json["attachments"][0].get("preview").is_none(),
        "{sent:?}"
    );
    // The service is still well: a real photo gets its preview.
    let photo = uploaded(app, room_id, &customer, "ok.png", photo_png(50, 40)).await;
    let (status, _, _) = preview(app, &photo["id"], &customer).await;
    assert_eq!(status, 200);
}

async fn preview_refused(app: &TestApp, attachment_id: &Value, token: &str) {
    let (status, content_type, body) = preview(app, attachment_id, token).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/json");
    let error: Value = serde_json::from_slice(&body).expect("an error body");
    assert_eq!(error["error"]["code"], "not_found");
}

async fn a_deleted_message_takes_its_previews_along(backend: Backend) {
    let settings = AttachmentSettings {
        deleted_retention: Duration::ZERO,
        collect_every: Duration::from_millis(50),
        ..AttachmentSettings::default()
    };
    let node = start(backend, settings).await;
    let app = &node.app;
    let room_id = app.room("ord-img-3", "cust-img-3").await;
    let customer = app.tokens.client("cust-img-3");
    let photo = uploaded(app, room_id, &customer, "p.png", photo_png(400, 300)).await;
    let (status, _, _) = preview(app, &photo["id"], &customer).await;
    assert_eq!(status, 200);
    let sent = send_with(
        app,
        room_id,
        &customer,
        json!({ "attachment_ids": [photo["id"]] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert_eq!(files_under(node.files.path()).len(), 2);
    let deleted = delete_message(app, room_id, &customer, &sent.json["id"]).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    wait_for_files(node.files.path(), 0).await;
}

crate::on_both_backends!(
    backend:
    images_get_their_size_and_a_preview,
    no_preview_for_documents_bombs_or_broken_images,
    a_deleted_message_takes_its_previews_along,
);
