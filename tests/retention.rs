//! Retention (issue 29): what is older than the operator keeps it is deleted by a sweep on
//! every node — and nothing younger.

use std::time::{Duration, Instant};

use room_chats_core::attachments::{AttachmentSettings, StorageLocation};
use room_chats_core::retention::ConversationPolicy;
use room_chats_workers::RetentionSettings;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::attachments::{files_under, send_with, upload_raw};
use crate::support::s3::S3Server;
use crate::support::{Backend, NodeOptions, TestApp};

crate::on_both_backends!(
    backend: audit_entries_older_than_their_retention_are_deleted_and_no_others,
    dead_letters_older_than_their_retention_are_deleted_and_no_others,
    history_older_than_its_retention_is_purged_and_a_resume_across_it_is_told,
    held_rooms_and_the_rooms_of_held_people_keep_their_history,
    a_room_s_own_retention_wins_over_the_global_one,
    purged_messages_take_their_files_with_them,
    closed_rooms_idle_past_their_retention_go_with_everything_in_them,
    retention_settings_and_holds_refuse_bad_input_and_other_roles,
);

/// A node sweeping every 100 ms with `settings`.
fn sweeping(settings: RetentionSettings) -> NodeOptions {
    NodeOptions {
        retention: RetentionSettings {
            sweep_every: Duration::from_millis(100),
            ..settings
        },
        ..NodeOptions::default()
    }
}

/// Waits until the node's sweep has counted deleted rows of `data`; their number.
async fn purged(app: &TestApp, data: &str) -> f64 {
    purged_at_least(&[app], data, 1.0).await
}

/// Waits until the sweeps of `nodes` have counted at least `rows` deleted rows of `data`
/// between them; their number.
async fn purged_at_least(nodes: &[&TestApp], data: &str, rows: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let purged = purged_now(nodes, data).await;
        if purged >= rows {
            return purged;
        }
        assert!(
            Instant::now() < deadline,
            "{purged} rows of {data} purged, not {rows}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rows of `data` the sweeps of `nodes` have deleted so far.
async fn purged_now(nodes: &[&TestApp], data: &str) -> f64 {
    let key = format!("room_chats_retention_purged_total{{data=\"{data}\"}}");
    let mut purged = 0.0;
    for node in nodes {
        purged += crate::metrics::scrape(node).await.value(&key);
    }
    purged
}

/// A node keeping conversations `policy` says, sweeping every 100 ms, its files in `files`.
fn keeping(policy: ConversationPolicy, files: StorageLocation) -> NodeOptions {
    NodeOptions {
        storage: Some(files),
        attachments: AttachmentSettings {
            collect_every: Duration::from_millis(100),
            ..AttachmentSettings::default()
        },
        ..sweeping(RetentionSettings {
            conversations: policy,
            ..RetentionSettings::DEFAULT
        })
    }
}

/// A node keeping conversations `policy` says, its files in a directory of its own.
async fn start_keeping(backend: Backend, policy: ConversationPolicy) -> (TestApp, TempDir) {
    let files = tempfile::tempdir().expect("temp dir");
    let location = StorageLocation::Directory(files.path().to_owned());
    let app = TestApp::start_node(backend, keeping(policy, location)).await;
    (app, files)
}

/// `token` sends a message carrying one file, `name`.
async fn send_file(app: &TestApp, room: i64, token: &str, name: &str) {
    let uploaded = upload_raw(app, room, token, name, crate::attachments::png(2_000)).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let body = json!({ "attachment_ids": [uploaded.json["id"]] });
    let sent = send_with(app, room, token, body).await;
    assert_eq!(sent.status, 201, "{sent:?}");
}

/// A policy purging history older than `days`.
const fn history(days: u32) -> ConversationPolicy {
    ConversationPolicy {
        history_days: Some(days),
        closed_room_days: None,
    }
}

const DAY: i64 = 86_400 * 1_000_000;

/// Makes the room's timeline entries at or below `through` `days` older.
fn backdate(app: &TestApp, room: i64, through: i64, days: i64) {
    for table in ["messages", "room_events"] {
        app.execute_sql(&format!(
            "UPDATE {table} SET created_at = created_at - {age} \
             WHERE room_id = {room} AND seq <= {through}",
            age = days * DAY
        ));
    }
}

/// The words of the room's history as `token` pages it over REST, oldest first.
async fn words(app: &TestApp, room: i64, token: &str) -> Vec<(i64, String)> {
    app.history(room, token)
        .await
        .into_iter()
        .map(|message| (message.seq, message.content))
        .collect()
}

/// The room's retention as an admin reads it.
async fn retention_of(app: &TestApp, room: i64) -> Value {
    let read = app
        .call(
            "GET",
            &format!("/chat/{room}/retention"),
            Some(&app.tokens.admin("dpo")),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    read.json
}

/// With a retention of one day, the sweep purges the room's entries older than a day —
/// messages and room events, as one prefix of the timeline — and nothing younger. Seqs do not
/// move; a resume from inside the purged range is told where it ends, and one from above it
/// is not told anything.
async fn history_older_than_its_retention_is_purged_and_a_resume_across_it_is_told(
    backend: Backend,
) {
    let (app, _files) = start_keeping(backend, history(1)).await;
    let room = app.room("RET-H", "cust-h").await;
    let customer = app.tokens.client("cust-h");
    let staff = app.tokens.admin("agent-h");
    for words in ["pastword one", "pastword two", "pastword three"] {
        app.send(room, &customer, words).await;
    }
    for path in ["close", "reopen"] {
        let answer = app
            .call("POST", &format!("/chat/{room}/{path}"), Some(&staff), None)
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    app.send(room, &customer, "new one").await;
    app.send(room, &staff, "new two").await;
    backdate(&app, room, 5, 2);

    assert_eq!(purged(&app, "messages").await, 3.0);
    // The pass's counts are added one after the other: wait for this one too.
    assert_eq!(
        purged_at_least(&[&app], "room_events", 2.0).await,
        2.0,
        "the close and reopen"
    );
    let kept = vec![(6, "new one".to_owned()), (7, "new two".to_owned())];
    assert_eq!(words(&app, room, &customer).await, kept);
    assert_eq!(words(&app, room, &staff).await, kept);
    assert_eq!(
        app.tables_containing("pastword"),
        Vec::<String>::new(),
        "no table, the search index included, holds a purged word"
    );
    let retention = retention_of(&app, room).await;
    assert_eq!(retention["purged_through"], 5, "{retention}");
    assert_eq!(retention["effective_history_days"], 1, "{retention}");
    assert_eq!(retention["history_days"], Value::Null, "{retention}");

    // Over REST too: a page reaching below the boundary says where it is; one above it not.
    for (query, told) in [
        ("after=2", json!(5)),
        ("", json!(5)),
        ("after=5", Value::Null),
        ("before=8&limit=1", Value::Null),
    ] {
        let page = app
            .call(
                "GET",
                &format!("/chat/{room}/messages?{query}"),
                Some(&customer),
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{page:?}");
        assert_eq!(
            page.json["history_purged_through"], told,
            "{query}: {page:?}"
        );
    }

    let mut resumed = app.resume(room, 2, &customer).await;
    let frames = resumed.until_caught_up().await;
    let kinds: Vec<&str> = frames
        .iter()
        .filter_map(|frame| frame["type"].as_str())
        .collect();
    assert_eq!(kinds, ["ready", "history_purged", "history"], "{frames:?}");
    assert_eq!(frames[1]["through_seq"], 5);
    let seqs: Vec<&Value> = frames[2]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|message| &message["seq"])
        .collect();
    assert_eq!(seqs, [&json!(6), &json!(7)]);

    let mut above = app.resume(room, 6, &customer).await;
    let frames = above.until_caught_up().await;
    let kinds: Vec<&str> = frames
        .iter()
        .filter_map(|frame| frame["type"].as_str())
        .collect();
    assert_eq!(kinds, ["ready", "history"], "{frames:?}");

    assert_eq!(app.send(room, &customer, "after the purge").await.seq, 8);
}

/// A legal hold on a room, or on a person who is a member of it, keeps its history however
/// old; the room of nobody held is purged. Lifting the hold lets the next sweep purge it.
/// Placing and lifting holds is audited.
async fn held_rooms_and_the_rooms_of_held_people_keep_their_history(backend: Backend) {
    let (app, _files) = start_keeping(backend, history(1)).await;
    let admin = app.tokens.admin("dpo");
    let service = app.tokens.service();
    let mut rooms = Vec::new();
    for (order, customer) in [
        ("RET-HA", "cust-ha"),
        ("RET-HB", "cust-hb"),
        ("RET-HC", "cust-hc"),
    ] {
        let room = app.room(order, customer).await;
        let token = app.tokens.client(customer);
        app.send(room, &token, "first").await;
        app.send(room, &token, "second").await;
        rooms.push((room, token));
    }
    let held_room = app
        .call(
            "PUT",
            &format!("/chat/{}/retention", rooms[0].0),
            Some(&admin),
            Some(json!({ "legal_hold": true, "hold_reason": "Case 2026-114" })),
        )
        .await;
    assert_eq!(held_room.status, 200, "{held_room:?}");
    assert_eq!(held_room.json["legal_hold"], true);
    assert_eq!(held_room.json["purgeable"], false);
    let held_person = app
        .call(
            "PUT",
            "/users/cust-hb/legal-hold",
            Some(&service),
            Some(json!({ "reason": "Court order of 3 December" })),
        )
        .await;
    assert_eq!(held_person.status, 200, "{held_person:?}");
    assert_eq!(held_person.json["user_id"], "cust-hb");
    assert_eq!(
        held_person.json["placed_by"], "platform",
        "the service token's subject"
    );
    let through_member = retention_of(&app, rooms[1].0).await;
    assert_eq!(through_member["held_members"], json!(["cust-hb"]));
    assert_eq!(through_member["purgeable"], false);
    for (room, _) in &rooms {
        backdate(&app, *room, 2, 3);
    }

    assert_eq!(
        purged(&app, "messages").await,
        2.0,
        "only the room nobody holds"
    );
    assert_eq!(words(&app, rooms[0].0, &rooms[0].1).await.len(), 2);
    assert_eq!(words(&app, rooms[1].0, &rooms[1].1).await.len(), 2);
    assert!(words(&app, rooms[2].0, &rooms[2].1).await.is_empty());

    let lifted = app
        .call("DELETE", "/users/cust-hb/legal-hold", Some(&service), None)
        .await;
    assert_eq!(lifted.status, 204, "{lifted:?}");
    assert_eq!(purged_at_least(&[&app], "messages", 4.0).await, 4.0);
    assert!(words(&app, rooms[1].0, &rooms[1].1).await.is_empty());
    assert_eq!(
        words(&app, rooms[0].0, &rooms[0].1).await.len(),
        2,
        "still held"
    );

    let actions: Vec<(Value, Value, Value)> = crate::audit::trail(&app, "")
        .await
        .into_iter()
        .map(|entry| {
            (
                entry["action"].clone(),
                entry["room_id"].clone(),
                entry["user_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            (json!("legal_hold_lifted"), Value::Null, json!("cust-hb")),
            (json!("legal_hold_placed"), Value::Null, json!("cust-hb")),
            (json!("legal_hold_placed"), json!(rooms[0].0), Value::Null),
        ]
    );
}

/// A room's own retention applies where the global policy keeps everything; other rooms
/// keep theirs. Setting it is audited.
async fn a_room_s_own_retention_wins_over_the_global_one(backend: Backend) {
    let (app, _files) = start_keeping(backend, ConversationPolicy::default()).await;
    let customer = app.tokens.client("cust-own");
    let short = app.room("RET-OWN-1", "cust-own").await;
    let kept = app.room("RET-OWN-2", "cust-own").await;
    for room in [short, kept] {
        app.send(room, &customer, "an old line").await;
        backdate(&app, room, 1, 10);
    }
    let set = app
        .call(
            "PUT",
            &format!("/chat/{short}/retention"),
            Some(&app.tokens.admin("dpo")),
            Some(json!({ "history_days": 7, "legal_hold": false })),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.json["history_days"], 7);
    assert_eq!(set.json["effective_history_days"], 7);

    assert_eq!(purged(&app, "messages").await, 1.0);
    assert!(words(&app, short, &customer).await.is_empty());
    assert_eq!(words(&app, kept, &customer).await.len(), 1);
    assert_eq!(
        retention_of(&app, kept).await["effective_history_days"],
        Value::Null
    );
    let entries = crate::audit::trail(&app, "?action=room_retention_changed").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["room_id"], short);
}

/// A purged message's files are deleted from the store — here a directory — and the files of
/// a message still kept stay.
async fn purged_messages_take_their_files_with_them(backend: Backend) {
    let (app, files) = start_keeping(backend, history(1)).await;
    let customer = app.tokens.client("cust-files");
    let room = app.room("RET-F", "cust-files").await;
    for name in ["old.png", "new.png"] {
        send_file(&app, room, &customer, name).await;
    }
    assert_eq!(files_under(files.path()).len(), 2);
    backdate(&app, room, 1, 2);

    assert_eq!(purged(&app, "attachments").await, 1.0);
    wait_for_files(files.path(), 1).await;
    let history = app.history(room, &customer).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].attachments[0].filename, "new.png");
}

/// Waits until `dir` holds `count` files.
async fn wait_for_files(dir: &std::path::Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = files_under(dir);
        if found.len() == count {
            return;
        }
        assert!(Instant::now() < deadline, "files left: {found:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Postgres and a real S3-compatible server: a purged message's object leaves the bucket.
#[actix_web::test]
async fn purged_files_leave_the_bucket() {
    let s3 = S3Server::start("room-chats-retention").await;
    let app =
        TestApp::start_node(Backend::Postgres, keeping(history(1), s3.location("kept"))).await;
    let customer = app.tokens.client("cust-s3-ret");
    let room = app.room("RET-S3", "cust-s3-ret").await;
    send_file(&app, room, &customer, "old.png").await;
    assert!(!s3.keys().await.is_empty());
    backdate(&app, room, 1, 2);

    assert_eq!(purged(&app, "attachments").await, 1.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s3.keys().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "objects left: {:?}",
            s3.keys().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With closed rooms kept one day, a room closed and idle for longer goes with its order,
/// messages and files; a room closed recently, an open room however idle and a held closed
/// room stay.
async fn closed_rooms_idle_past_their_retention_go_with_everything_in_them(backend: Backend) {
    let (app, files) = start_keeping(
        backend,
        ConversationPolicy {
            history_days: None,
            closed_room_days: Some(1),
        },
    )
    .await;
    let staff = app.tokens.admin("agent-closed");
    let mut rooms = Vec::new();
    for (order, customer) in [
        ("RET-C-IDLE", "cust-c1"),
        ("RET-C-RECENT", "cust-c2"),
        ("RET-C-OPEN", "cust-c3"),
        ("RET-C-HELD", "cust-c4"),
    ] {
        let room = app.room(order, customer).await;
        let token = app.tokens.client(customer);
        send_file(&app, room, &token, "f.png").await;
        rooms.push(room);
    }
    let (idle, recent, open, held) = (rooms[0], rooms[1], rooms[2], rooms[3]);
    for room in [idle, recent, held] {
        app.close(room, &staff).await;
    }
    let hold = app
        .call(
            "PUT",
            &format!("/chat/{held}/retention"),
            Some(&staff),
            Some(json!({ "legal_hold": true })),
        )
        .await;
    assert_eq!(hold.status, 200, "{hold:?}");
    app.execute_sql(&format!(
        "UPDATE chat_rooms SET last_activity_at = last_activity_at - {age} \
         WHERE id IN ({idle}, {open}, {held})",
        age = 2 * DAY
    ));

    assert_eq!(purged(&app, "closed_rooms").await, 1.0);
    let gone = app
        .call("GET", &format!("/chat/{idle}"), Some(&staff), None)
        .await;
    assert_eq!(gone.status, 404, "{gone:?}");
    for room in [recent, open, held] {
        let kept = app
            .call("GET", &format!("/chat/{room}"), Some(&staff), None)
            .await;
        assert_eq!(kept.status, 200, "{kept:?}");
    }
    wait_for_files(files.path(), 3).await;
}

/// Room retention is the admins'; holds on people the admins' and the platform's. Every bad
/// value is a 422 naming the field, and nothing changes.
async fn retention_settings_and_holds_refuse_bad_input_and_other_roles(backend: Backend) {
    let app = TestApp::start(backend).await;
    let room = app.room("RET-BAD", "cust-bad").await;
    let admin = app.tokens.admin("dpo");
    let path = format!("/chat/{room}/retention");
    for (body, says) in [
        (
            json!({ "history_days": 0, "legal_hold": false }),
            "history_days",
        ),
        (
            json!({ "history_days": 36_501, "legal_hold": false }),
            "history_days",
        ),
        (
            json!({ "legal_hold": false, "hold_reason": "why" }),
            "hold_reason",
        ),
        (
            json!({ "legal_hold": true, "hold_reason": " padded " }),
            "hold_reason",
        ),
        (
            json!({ "legal_hold": true, "hold_reason": "x".repeat(501) }),
            "hold_reason",
        ),
        (
            json!({ "legal_hold": true, "hold_reason": "a\u{7}b" }),
            "hold_reason",
        ),
        (json!({ "history_days": 3 }), "legal_hold"),
        (json!({ "legal_hold": true, "keep": 1 }), "keep"),
        (json!({ "legal_hold": "yes" }), "boolean"),
    ] {
        let refused = app
            .call("PUT", &path, Some(&admin), Some(body.clone()))
            .await;
        refused.assert_error(422, "validation_failed");
        let message = refused.json["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let unchanged = retention_of(&app, room).await;
    assert_eq!(unchanged["legal_hold"], false);
    assert_eq!(unchanged["history_days"], Value::Null);
    let fine = json!({ "legal_hold": false });
    for token in [app.tokens.client("cust-bad"), app.tokens.service()] {
        app.call("GET", &path, Some(&token), None)
            .await
            .assert_error(403, "forbidden");
        app.call("PUT", &path, Some(&token), Some(fine.clone()))
            .await
            .assert_error(403, "forbidden");
    }
    app.call("GET", "/chat/999999/retention", Some(&admin), None)
        .await
        .assert_error(404, "not_found");
    app.call("PUT", "/chat/999999/retention", Some(&admin), Some(fine))
        .await
        .assert_error(404, "not_found");
    app.call("PUT", &path, None, None)
        .await
        .assert_error(401, "unauthorized");

    let customer = app.tokens.client("cust-bad");
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(|| json!({}));
        app.call(method, "/users/cust-bad/legal-hold", Some(&customer), body)
            .await
            .assert_error(403, "forbidden");
    }
    app.call("GET", "/users/cust-bad/legal-hold", Some(&admin), None)
        .await
        .assert_error(404, "not_found");
    app.call("DELETE", "/users/cust-bad/legal-hold", Some(&admin), None)
        .await
        .assert_error(404, "not_found");
    for body in [
        json!({ "reason": "" }),
        json!({ "reason": 7 }),
        json!({ "why": "x" }),
    ] {
        app.call(
            "PUT",
            "/users/cust-bad/legal-hold",
            Some(&admin),
            Some(body),
        )
        .await
        .assert_error(422, "validation_failed");
    }
    app.call(
        "PUT",
        "/users/%20padded/legal-hold",
        Some(&admin),
        Some(json!({})),
    )
    .await
    .assert_error(422, "validation_failed");
    let placed = app
        .call(
            "PUT",
            "/users/cust-bad/legal-hold",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(placed.status, 200, "{placed:?}");
    assert_eq!(placed.json["reason"], Value::Null);
    let read = app
        .call("GET", "/users/cust-bad/legal-hold", Some(&admin), None)
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json["placed_by"], "dpo");
}

/// Two nodes sweeping the same rooms at once: every old entry is purged exactly once between
/// them, and every room ends at the same boundary.
#[actix_web::test]
async fn two_nodes_purging_at_once_purge_each_entry_once() {
    let files = tempfile::tempdir().expect("temp dir");
    let options = || {
        keeping(
            history(1),
            StorageLocation::Directory(files.path().to_owned()),
        )
    };
    let first = TestApp::start_node(Backend::Postgres, options()).await;
    let customer = first.tokens.client("cust-two");
    let mut rooms = Vec::new();
    for index in 0..12 {
        let room = first.room(&format!("RET-2N-{index}"), "cust-two").await;
        for line in 0..5 {
            first.send(room, &customer, &format!("line {line}")).await;
        }
        rooms.push(room);
    }
    let second = first.start_peer(options()).await;
    for room in &rooms {
        backdate(&first, *room, 5, 2);
    }

    assert_eq!(
        purged_at_least(&[&first, &second], "messages", 60.0).await,
        60.0
    );
    for room in rooms {
        assert!(words(&first, room, &customer).await.is_empty());
        assert_eq!(retention_of(&second, room).await["purged_through"], 5);
    }
}

/// Dead letters carry message words: with a retention of one day, the one that died two days
/// ago is deleted, the one that died an hour ago stays (and can still be replayed).
async fn dead_letters_older_than_their_retention_are_deleted_and_no_others(backend: Backend) {
    let app = TestApp::start_node(
        backend,
        sweeping(RetentionSettings {
            dead_letters: Some(Duration::from_secs(86_400)),
            ..RetentionSettings::DEFAULT
        }),
    )
    .await;
    let room = app.room("RET-1", "cust-ret").await;
    let created = app
        .call(
            "POST",
            "/webhooks/endpoints",
            Some(&app.tokens.service()),
            Some(json!({ "url": "https://hooks.example.com/in", "event_types": ["message.created"] })),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let endpoint = created.json["id"].as_i64().expect("endpoint id");
    let hour: i64 = 3_600 * 1_000_000;
    for (event_id, died_hours_ago) in [("evt-old", 48), ("evt-recent", 1)] {
        app.execute_sql(&format!(
            "INSERT INTO webhook_outbox (endpoint_id, room_id, event_id, event_type, body, \
             created_at, attempts, next_attempt_at, first_failed_at, last_status, dead_at) \
             VALUES ({endpoint}, {room}, '{event_id}', 'message.created', '{{}}', \
             {now} - {ago}, 12, 0, {now} - {ago}, 500, {now} - {ago})",
            now = chrono::Utc::now().timestamp_micros(),
            ago = died_hours_ago * hour,
        ));
    }
    assert_eq!(purged(&app, "dead_letters").await, 1.0);
    let letters = app
        .call(
            "GET",
            &format!("/webhooks/endpoints/{endpoint}/dead-letters"),
            Some(&app.tokens.service()),
            None,
        )
        .await;
    assert_eq!(letters.status, 200, "{letters:?}");
    let kept: Vec<&Value> = letters.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|letter| &letter["event_id"])
        .collect();
    assert_eq!(kept, vec![&json!("evt-recent")]);
}

/// With a retention of one day for the audit trail, the sweep deletes the entries recorded
/// more than a day ago — and only those.
async fn audit_entries_older_than_their_retention_are_deleted_and_no_others(backend: Backend) {
    let app = TestApp::start_node(
        backend,
        sweeping(RetentionSettings {
            audit: Some(Duration::from_secs(86_400)),
            ..RetentionSettings::DEFAULT
        }),
    )
    .await;
    let room = app.room("RET-A", "cust-ret").await;
    let staff = app.tokens.admin("agent-1");
    for path in ["close", "reopen", "close"] {
        let answer = app
            .call("POST", &format!("/chat/{room}/{path}"), Some(&staff), None)
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let two_days: i64 = 2 * 86_400 * 1_000_000;
    app.execute_sql(&format!(
        "UPDATE audit_entries SET at = at - {two_days} \
         WHERE action = 'room_reopened' OR id = (SELECT min(id) FROM audit_entries)"
    ));
    assert_eq!(purged(&app, "audit_entries").await, 2.0, "both at once");
    let kept = crate::audit::trail(&app, "").await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["action"], "room_closed");
}
