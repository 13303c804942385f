//! Export of a person's data (issue 29, point 2): one zip of what the service keeps about them,
//! as they may see it — asked for by them or the platform, written in the background, behind
//! a link that only its own key opens and that expires.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use room_chats_core::attachments::AttachmentSettings;
use serde_json::{Value, json};

use crate::attachments::{send_with, upload_raw};
use crate::support::{Backend, TestApp};

crate::on_both_backends!(
    backend: a_customer_s_export_holds_what_they_see_and_nothing_else,
    a_staff_member_s_export_holds_their_own_messages_only,
    export_links_open_with_their_own_key_until_they_expire,
);

async fn start(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let settings = AttachmentSettings {
        collect_every: Duration::from_millis(100),
        ..AttachmentSettings::default()
    };
    let node = crate::attachments::start(backend, settings).await;
    (node.app, node.files)
}

/// Asks for an export of `user_id` with `token`; the export.
async fn request_export(app: &TestApp, user_id: &str, token: &str) -> Value {
    let requested = app
        .call(
            "POST",
            &format!("/users/{user_id}/exports"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(requested.status, 202, "{requested:?}");
    assert_eq!(requested.json["status"], "pending");
    requested.json
}

/// Waits until export `id` is ready, read with `token`; the export.
async fn ready(app: &TestApp, id: &Value, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let export = app
            .call("GET", &format!("/exports/{id}"), Some(token), None)
            .await;
        assert_eq!(export.status, 200, "{export:?}");
        if export.json["status"] == "ready" {
            return export.json;
        }
        assert_ne!(export.json["status"], "failed", "{export:?}");
        assert!(Instant::now() < deadline, "not ready: {export:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bytes `path` answers without a token, and its status.
async fn download(app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let mut response = app
        .client()
        .get(app.url(path))
        .send()
        .await
        .expect("request reaches the service");
    let body = response.body().limit(64 << 20).await.expect("body");
    (response.status().as_u16(), body.to_vec())
}

/// Every entry of the zip `bytes`, by name.
fn entries(bytes: Vec<u8>) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut entries = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("entry");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("entry bytes");
        let name = entry.name().expect("an entry name").to_string();
        entries.insert(name, content);
    }
    entries
}

/// The JSON lines of entry `name`.
fn lines(entries: &BTreeMap<String, Vec<u8>>, name: &str) -> Vec<Value> {
    let content = entries.get(name).unwrap_or_else(|| panic!("no {name}"));
    std::str::from_utf8(content)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The customer's archive: both their rooms, every message of them but staff's notes, the
/// room events, their file, read marker, mute setting and push endpoint — and nothing of
/// another customer's room, nor a push key.
async fn a_customer_s_export_holds_what_they_see_and_nothing_else(backend: Backend) {
    let (app, _files) = start(backend).await;
    let customer = app.tokens.client("cust-exp");
    let staff = app.tokens.admin("agent-exp");
    let first = app.room("EXP-1", "cust-exp").await;
    let second = app.room("EXP-2", "cust-exp").await;
    let foreign = app.room("EXP-3", "cust-other").await;
    app.send(first, &customer, "hello from the customer").await;
    let photo: Vec<u8> = b"\x89PNG\r\n\x1a\nphoto bytes".to_vec();
    let uploaded = upload_raw(&app, first, &customer, "parcel.png", photo.clone()).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let sent = send_with(
        &app,
        first,
        &customer,
        json!({ "attachment_ids": [uploaded.json["id"]] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    app.send(first, &staff, "a staff reply").await;
    let note = send_with(
        &app,
        first,
        &staff,
        json!({ "content": "a staff note", "note": true }),
    )
    .await;
    assert_eq!(note.status, 201, "{note:?}");
    app.close(first, &staff).await;
    app.send(second, &customer, "about the second order").await;
    app.send(foreign, &app.tokens.client("cust-other"), "not theirs")
        .await;
    let muted = app
        .call(
            "PUT",
            &format!("/chat/{second}/notifications"),
            Some(&customer),
            Some(json!({ "muted": true })),
        )
        .await;
    assert_eq!(muted.status, 200, "{muted:?}");
    app.execute_sql(&format!(
        "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at) \
         VALUES ('cust-exp', 'https://push.example/device-1', 'P256DHKEY', 'AUTHSECRET', {})",
        chrono::Utc::now().timestamp_micros()
    ));

    for token in [staff.clone(), app.tokens.client("cust-other")] {
        app.call("POST", "/users/cust-exp/exports", Some(&token), None)
            .await
            .assert_error(403, "forbidden");
    }
    let requested = request_export(&app, "cust-exp", &customer).await;
    let export = ready(&app, &requested["id"], &customer).await;
    for token in [staff.clone(), app.tokens.client("cust-other")] {
        app.call(
            "GET",
            &format!("/exports/{}", export["id"]),
            Some(&token),
            None,
        )
        .await
        .assert_error(404, "not_found");
    }
    let link = export["download_url"].as_str().expect("a link");
    let (status, bytes) = download(&app, link).await;
    assert_eq!(status, 200);
    assert_eq!(export["size_bytes"], bytes.len());
    let all = String::from_utf8_lossy(&bytes).to_string();
    let entries = entries(bytes);

    let profile: Value = serde_json::from_slice(&entries["profile.json"]).expect("profile");
    assert_eq!(profile["user_id"], "cust-exp");
    let rooms: Vec<(Value, Value)> = lines(&entries, "rooms.ndjson")
        .into_iter()
        .map(|line| (line["room"]["id"].clone(), line["as"].clone()))
        .collect();
    assert_eq!(
        rooms,
        vec![
            (json!(first), json!("customer")),
            (json!(second), json!("customer"))
        ]
    );
    let words: Vec<Value> = lines(&entries, "messages.ndjson")
        .into_iter()
        .map(|message| message["content"].clone())
        .collect();
    assert_eq!(
        words,
        vec![
            json!("hello from the customer"),
            json!(""),
            json!("a staff reply"),
            json!("about the second order"),
        ]
    );
    assert!(!all.contains("a staff note") && !all.contains("not theirs"));
    let events = lines(&entries, "events.ndjson");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "closed");
    let file = format!("files/{}-parcel.png", uploaded.json["id"]);
    assert_eq!(entries.get(&file), Some(&photo), "{:?}", entries.keys());
    let settings = lines(&entries, "notification_settings.ndjson");
    assert!(
        settings.contains(&json!({ "room_id": second, "muted": true })),
        "{settings:?}"
    );
    assert_eq!(lines(&entries, "read_markers.ndjson").len(), 2);
    let pushes = lines(&entries, "push_subscriptions.ndjson");
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0]["endpoint"], "https://push.example/device-1");
    assert!(!all.contains("P256DHKEY") && !all.contains("AUTHSECRET"));

    let entries_in_trail = crate::audit::trail(&app, "?action=export_requested").await;
    assert_eq!(entries_in_trail.len(), 1);
    assert_eq!(entries_in_trail[0]["user_id"], "cust-exp");
}

/// Asked for by the platform, a staff member's archive holds the messages they wrote — their
/// notes too — and none of the customer's.
async fn a_staff_member_s_export_holds_their_own_messages_only(backend: Backend) {
    let (app, _files) = start(backend).await;
    let customer = app.tokens.client("cust-st");
    let staff = app.tokens.admin("agent-st");
    let room = app.room("EXP-ST", "cust-st").await;
    app.send(room, &customer, "the customer's words").await;
    app.send(room, &staff, "the agent's answer").await;
    let note = send_with(
        &app,
        room,
        &staff,
        json!({ "content": "the agent's note", "note": true }),
    )
    .await;
    assert_eq!(note.status, 201, "{note:?}");

    let service = app.tokens.service();
    let requested = request_export(&app, "agent-st", &service).await;
    let export = ready(&app, &requested["id"], &service).await;
    let (status, bytes) = download(&app, export["download_url"].as_str().expect("a link")).await;
    assert_eq!(status, 200);
    let entries = entries(bytes);
    let rooms = lines(&entries, "rooms.ndjson");
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["as"], "staff");
    let words: Vec<Value> = lines(&entries, "messages.ndjson")
        .into_iter()
        .map(|message| message["content"].clone())
        .collect();
    assert_eq!(
        words,
        vec![json!("the agent's answer"), json!("the agent's note")]
    );
    assert!(lines(&entries, "events.ndjson").is_empty());
}

/// A link opens only with its own key, on its own export, and no more once it expired.
async fn export_links_open_with_their_own_key_until_they_expire(backend: Backend) {
    let (app, files) = start(backend).await;
    let service = app.tokens.service();
    app.room("EXP-L", "cust-link").await;
    let first = request_export(&app, "cust-link", &service).await;
    let second = request_export(&app, "cust-link", &service).await;
    let first = ready(&app, &first["id"], &service).await;
    let second = ready(&app, &second["id"], &service).await;
    let link = first["download_url"].as_str().expect("a link").to_owned();
    let key = link.split("key=").nth(1).expect("a key");
    let other_key = second["download_url"]
        .as_str()
        .and_then(|link| link.split("key=").nth(1))
        .expect("a key");
    assert_ne!(key, other_key);
    assert_eq!(download(&app, &link).await.0, 200);
    for refused in [
        format!("/exports/{}/archive?key={other_key}", first["id"]),
        format!("/exports/{}/archive?key={}", first["id"], "0".repeat(64)),
        format!("/exports/{}/archive?key=", first["id"]),
        format!("/exports/999999/archive?key={key}"),
    ] {
        assert_eq!(download(&app, &refused).await.0, 404, "{refused}");
    }
    assert_eq!(
        download(&app, &format!("/exports/{}/archive", first["id"]))
            .await
            .0,
        400
    );

    app.execute_sql(&format!(
        "UPDATE exports SET expires_at = {} WHERE id = {}",
        chrono::Utc::now().timestamp_micros() - 1,
        first["id"]
    ));
    assert_eq!(download(&app, &link).await.0, 404, "expired");
    let expired = app
        .call(
            "GET",
            &format!("/exports/{}", first["id"]),
            Some(&service),
            None,
        )
        .await;
    assert_eq!(expired.json["download_url"], Value::Null, "{expired:?}");

    // The exporter's next look marks it expired and the collector deletes its archive; the
    // other export's stays.
    let archive = |id: &Value| files.path().join(format!("exports/{id}.zip"));
    assert!(
        archive(&second["id"]).exists(),
        "archives live in the store"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while archive(&first["id"]).exists() {
        assert!(Instant::now() < deadline, "the expired archive stays");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expired = app
        .call(
            "GET",
            &format!("/exports/{}", first["id"]),
            Some(&service),
            None,
        )
        .await;
    assert_eq!(expired.json["status"], "expired", "{expired:?}");
    assert!(archive(&second["id"]).exists());
}
