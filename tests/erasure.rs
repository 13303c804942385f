//! Erasure of a person (issue 29, point 3): after it, no table, stored frame, revision, queued
//! delivery, dead letter or file holds the person's words or name — while the other side's
//! history keeps its shape, pages and resumes.

use std::time::{Duration, Instant};

use room_chats_core::attachments::AttachmentSettings;
use room_chats_core::erasure::Erasures;
use room_chats_store::erasure::{self, Step};
use serde_json::{Value, json};

use crate::attachments::{files_under, send_with, upload_raw};
use crate::support::receiver::Mode;
use crate::support::{Backend, TestApp};

crate::on_both_backends!(
    backend: an_erased_person_leaves_no_word_or_name_behind,
    an_erasure_cut_short_is_finished_by_the_next_run,
);

/// The words every test writes as the person: found nowhere once they are erased.
const SECRET: &str = "zebrasecret";
/// The person's display name, from their token.
const NAME: &str = "Zelda Quixote";

/// A node whose files go to a directory the test looks into, collected every 100 ms.
async fn start(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let settings = AttachmentSettings {
        collect_every: Duration::from_millis(100),
        ..AttachmentSettings::default()
    };
    let node = crate::attachments::start(backend, settings).await;
    (node.app, node.files)
}

/// A client token of `sub` that carries the display name.
fn named_client(app: &TestApp, sub: &str) -> String {
    let mut claims = app.tokens.claims(sub, "client");
    claims["name"] = json!(NAME);
    app.tokens.sign(&claims)
}

/// Waits until the erasure of `user_id` is done.
async fn erased(app: &TestApp, user_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = app
            .call(
                "GET",
                &format!("/users/{user_id}/erasure"),
                Some(&app.tokens.service()),
                None,
            )
            .await;
        assert_eq!(status.status, 200, "{status:?}");
        if status.json["status"] == "done" {
            return status.json;
        }
        assert!(Instant::now() < deadline, "still running: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks for the erasure of `user_id` as the platform.
async fn request_erasure(app: &TestApp, user_id: &str) -> Value {
    let requested = app
        .call(
            "POST",
            &format!("/users/{user_id}/erasure"),
            Some(&app.tokens.service()),
            None,
        )
        .await;
    assert_eq!(requested.status, 202, "{requested:?}");
    assert_eq!(requested.json["user_id"], user_id);
    requested.json
}

/// Files under `dir` whose bytes hold `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .collect()
}

/// The person writes, edits, sends and leaves files, rates the room, mutes it; webhook
/// deliveries of their words wait in the queue (the receiver fails). After the erasure: no
/// table and no file holds their words or name; staff's history keeps every seq, the
/// person's messages as tombstones; a resume replays no word of theirs; the queued
/// deliveries go out without them, and `user.erased` follows. Erasing again is harmless.
async fn an_erased_person_leaves_no_word_or_name_behind(backend: Backend) {
    let (app, files) = start(backend).await;
    let receiver = app.webhook_receiver(&[]).await;
    receiver.set_mode(Mode::Status(500));
    let room = app.room("ERASE-1", "cust-erase").await;
    let customer = named_client(&app, "cust-erase");
    let staff = app.tokens.admin("agent-erase");

    let first = app.send(room, &customer, &format!("{SECRET} one")).await;
    app.send(room, &customer, &format!("{SECRET} two")).await;
    let edited = app
        .call(
            "PATCH",
            &format!("/chat/{room}/messages/{}", first.id),
            Some(&customer),
            Some(json!({ "content": format!("{SECRET} edited") })),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    file.extend_from_slice(SECRET.as_bytes());
    let uploaded = upload_raw(
        &app,
        room,
        &customer,
        &format!("{SECRET}.png"),
        file.clone(),
    )
    .await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let sent = send_with(
        &app,
        room,
        &customer,
        json!({ "attachment_ids": [uploaded.json["id"]] }),
    )
    .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    let unsent = upload_raw(&app, room, &customer, &format!("{SECRET}-unsent.png"), file).await;
    assert_eq!(unsent.status, 201, "{unsent:?}");
    app.send(room, &staff, "staff answer").await;
    for (path, token, body) in [
        ("read", &customer, json!({})),
        ("close", &staff, Value::Null),
        (
            "rating",
            &customer,
            json!({ "score": 2, "comment": format!("{SECRET} rating") }),
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let answer = app
            .call("POST", &format!("/chat/{room}/{path}"), Some(token), body)
            .await;
        assert!(answer.status < 300, "{path}: {answer:?}");
    }
    let muted = app
        .call(
            "PUT",
            &format!("/chat/{room}/notifications"),
            Some(&customer),
            Some(json!({ "muted": true })),
        )
        .await;
    assert_eq!(muted.status, 200, "{muted:?}");
    // An archive of their data, made before: it holds their file's bytes as they are.
    let export = app
        .call(
            "POST",
            "/users/cust-erase/exports",
            Some(&app.tokens.service()),
            None,
        )
        .await;
    assert_eq!(export.status, 202, "{export:?}");
    let archive = files
        .path()
        .join(format!("exports/{}.zip", export.json["id"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !archive.exists() {
        assert!(Instant::now() < deadline, "no archive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seqs_before: Vec<i64> = app
        .history(room, &staff)
        .await
        .iter()
        .map(|m| m.seq)
        .collect();
    assert!(
        !app.tables_containing(SECRET).is_empty(),
        "the words are stored"
    );
    assert!(
        !app.tables_containing(NAME).is_empty(),
        "the name is stored"
    );
    assert!(!files_holding(files.path(), SECRET).is_empty());

    let requested = request_erasure(&app, "cust-erase").await;
    assert_eq!(requested["requested_by"], "platform");
    let done = erased(&app, "cust-erase").await;
    assert!(done["finished_at"].is_string(), "{done}");

    assert_eq!(app.tables_containing(SECRET), Vec::<String>::new());
    assert_eq!(app.tables_containing(NAME), Vec::<String>::new());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !files_holding(files.path(), SECRET).is_empty() {
        assert!(
            Instant::now() < deadline,
            "files left: {:?}",
            files_under(files.path())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let withdrawn = app
        .call(
            "GET",
            &format!("/exports/{}", export.json["id"]),
            Some(&app.tokens.service()),
            None,
        )
        .await;
    assert_eq!(withdrawn.json["status"], "expired", "{withdrawn:?}");
    let history = app.history(room, &staff).await;
    let seqs_after: Vec<i64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs_after, seqs_before, "every seq stays");
    for message in &history {
        if message.sender_id == "cust-erase" {
            assert_eq!(message.content, "");
            assert!(message.deleted_at.is_some(), "a tombstone: {message:?}");
            assert!(message.attachments.is_empty());
        } else {
            assert_eq!(message.content, "staff answer");
        }
    }
    let mut resumed = app.resume(room, 0, &staff).await;
    let replay = serde_json::to_string(&resumed.until_caught_up().await).expect("frames");
    assert!(!replay.contains(SECRET), "{replay}");
    let revisions = app
        .call(
            "GET",
            &format!("/chat/{room}/messages/{}/revisions", first.id),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(revisions.status, 200, "{revisions:?}");
    assert!(
        !revisions.json.to_string().contains(SECRET),
        "{revisions:?}"
    );

    receiver.set_mode(Mode::Accept);
    receiver
        .wait_until(Duration::from_secs(30), |deliveries| {
            deliveries
                .iter()
                .any(|d| d.answered == 204 && d.event["type"] == "user.erased")
        })
        .await;
    for delivery in receiver.accepted() {
        let body = delivery.event.to_string();
        assert!(!body.contains(SECRET), "sent after the erasure: {body}");
        if delivery.event["type"] == "user.erased" {
            assert_eq!(delivery.event["data"], json!({ "user_id": "cust-erase" }));
        }
    }

    request_erasure(&app, "cust-erase").await;
    erased(&app, "cust-erase").await;
    let entries = crate::audit::trail(&app, "?action=erasure_requested").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["user_id"], "cust-erase");
}

/// An erasure that stopped after its first steps — a node killed mid-way — is finished by
/// the next run from where it stopped, and ends as one that ran whole.
async fn an_erasure_cut_short_is_finished_by_the_next_run(backend: Backend) {
    let (app, _files) = start(backend).await;
    let customer = named_client(&app, "cust-cut");
    let room = app.room("ERASE-CUT", "cust-cut").await;
    for line in 0..12 {
        app.send(room, &customer, &format!("{SECRET} {line}")).await;
    }
    let db = app.database();
    // The request and two steps of two rows — the name, then two messages — committed at
    // once (so the node's own eraser cannot take the request first); then the "crash".
    let cut_short = db
        .run(|conn| {
            diesel::Connection::transaction(conn, |conn| {
                erasure::request(conn, "cust-cut", "platform")?;
                let first = erasure::erase_step(conn, "cust-cut", 2, "evt_test")?;
                let second = erasure::erase_step(conn, "cust-cut", 2, "evt_test")?;
                Ok::<_, room_chats_store::StoreError>((first, second))
            })
        })
        .await
        .expect("the first steps");
    assert_eq!(cut_short, (Step::Worked(1), Step::Worked(2)));

    let rerun = Erasures::new(db).run_pending().await.expect("the rerun");
    assert!(
        rerun <= 1,
        "finished by the rerun or by the node's own eraser"
    );
    erased(&app, "cust-cut").await;
    assert_eq!(app.tables_containing(SECRET), Vec::<String>::new());
    assert_eq!(app.tables_containing(NAME), Vec::<String>::new());
    let history = app.history(room, &app.tokens.admin("agent-cut")).await;
    assert_eq!(history.len(), 12);
    assert!(history.iter().all(|message| message.content.is_empty()));
}
