//! Canned replies (issue 28): admins keep a shared list of saved answers; customers and the
//! platform service may not read or change it; every field is checked at its edges.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    admins_share_one_list_of_replies,
    only_admins_keep_replies,
    each_field_is_checked_at_its_edges,
    a_shortcut_belongs_to_one_reply,
);

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let created = app
        .call("POST", "/canned-replies", Some(token), Some(body))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    created.json
}

/// One admin saves, another reads, changes and deletes: the list is shared, by title, and
/// says who saved what.
async fn admins_share_one_list_of_replies(app: TestApp) {
    let anna = app.tokens.admin("staff-anna");
    let ben = app.tokens.admin("staff-ben");
    let delayed = create(
        &app,
        &anna,
        json!({
            "title": "Parcel delayed",
            "content": "Sorry, your parcel is late.\nWe will write again tomorrow.",
            "shortcut": "delayed"
        }),
    )
    .await;
    assert_eq!(delayed["created_by"], "staff-anna");
    assert_eq!(delayed["updated_by"], "staff-anna");
    assert_eq!(delayed["shortcut"], "delayed");
    assert!(delayed["created_at"].is_string(), "{delayed}");
    let address = create(
        &app,
        &anna,
        json!({ "title": "Address change", "content": "Which address should we use?" }),
    )
    .await;
    assert!(address["shortcut"].is_null(), "{address}");

    let listed = app.call("GET", "/canned-replies", Some(&ben), None).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let titles: Vec<&str> = listed
        .json
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|reply| reply["title"].as_str())
        .collect();
    assert_eq!(titles, ["Address change", "Parcel delayed"], "by title");

    let path = format!("/canned-replies/{}", delayed["id"]);
    let replaced = app
        .call(
            "PUT",
            &path,
            Some(&ben),
            Some(json!({ "title": "Parcel delayed", "content": "Your parcel is late." })),
        )
        .await;
    assert_eq!(replaced.status, 200, "{replaced:?}");
    assert_eq!(replaced.json["content"], "Your parcel is late.");
    assert!(
        replaced.json["shortcut"].is_null(),
        "omitted removes it: {replaced:?}"
    );
    assert_eq!(replaced.json["created_by"], "staff-anna");
    assert_eq!(replaced.json["updated_by"], "staff-ben");
    let read = app.call("GET", &path, Some(&anna), None).await;
    assert_eq!(read.json, replaced.json);

    let deleted = app.call("DELETE", &path, Some(&anna), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    app.call("GET", &path, Some(&anna), None)
        .await
        .assert_error(404, "not_found");
    app.call("DELETE", &path, Some(&anna), None)
        .await
        .assert_error(404, "not_found");
    app.call(
        "PUT",
        &path,
        Some(&anna),
        Some(json!({ "title": "Gone", "content": "Gone" })),
    )
    .await
    .assert_error(404, "not_found");
    let listed = app.call("GET", "/canned-replies", Some(&ben), None).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1), "{listed:?}");
}

/// Customers and the platform service get 403 on every path, and nothing changes.
async fn only_admins_keep_replies(app: TestApp) {
    let admin = app.tokens.admin("staff-anna");
    let reply = create(
        &app,
        &admin,
        json!({ "title": "Hello", "content": "Hello, how can we help?" }),
    )
    .await;
    let path = format!("/canned-replies/{}", reply["id"]);
    let body = json!({ "title": "Mine", "content": "Mine now" });
    for token in [app.tokens.client("cust-1"), app.tokens.service()] {
        for (method, path, body) in [
            ("GET", "/canned-replies", None),
            ("POST", "/canned-replies", Some(body.clone())),
            ("GET", path.as_str(), None),
            ("PUT", path.as_str(), Some(body.clone())),
            ("DELETE", path.as_str(), None),
        ] {
            app.call(method, path, Some(&token), body)
                .await
                .assert_error(403, "forbidden");
        }
    }
    app.call("GET", "/canned-replies", None, None)
        .await
        .assert_error(401, "unauthorized");
    let read = app.call("GET", &path, Some(&admin), None).await;
    assert_eq!(read.json, reply, "unchanged");
}

/// Titles of 1 and 100 characters, shortcuts of 1 and 32, content at the messages' limit are
/// taken; one past each, blank or badly formed ones are 422, and nothing is saved.
async fn each_field_is_checked_at_its_edges(app: TestApp) {
    let admin = app.tokens.admin("staff-anna");
    let max_content = room_chats_types::rules::DEFAULT_MAX_CONTENT_CHARS;
    for body in [
        json!({ "title": "a", "content": "b", "shortcut": "c" }),
        json!({ "title": "t".repeat(100), "content": "é".repeat(max_content),
                "shortcut": format!("a{}", "-_9".repeat(10)).chars().take(32).collect::<String>() }),
        json!({ "title": "Two  words", "content": " padded\ttext\r\n", "shortcut": null }),
    ] {
        create(&app, &admin, body).await;
    }
    for (body, code) in [
        (json!({ "title": "", "content": "b" }), "validation_failed"),
        (
            json!({ "title": " lead", "content": "b" }),
            "validation_failed",
        ),
        (
            json!({ "title": "trail ", "content": "b" }),
            "validation_failed",
        ),
        (
            json!({ "title": "t".repeat(101), "content": "b" }),
            "validation_failed",
        ),
        (
            json!({ "title": "bell\u{7}", "content": "b" }),
            "validation_failed",
        ),
        (json!({ "title": "a", "content": "" }), "invalid_content"),
        (
            json!({ "title": "a", "content": " \n\t" }),
            "invalid_content",
        ),
        (
            json!({ "title": "a", "content": "x".repeat(max_content + 1) }),
            "invalid_content",
        ),
        (
            json!({ "title": "a", "content": "nul\u{0}" }),
            "invalid_content",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "" }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "Upper" }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "-dash" }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "has space" }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "s".repeat(33) }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "shortcut": "ünï" }),
            "validation_failed",
        ),
        (
            json!({ "title": "a", "content": "b", "extra": 1 }),
            "validation_failed",
        ),
        (json!({ "content": "b" }), "validation_failed"),
        (json!({ "title": 7, "content": "b" }), "validation_failed"),
        (json!([]), "validation_failed"),
    ] {
        let refused = app
            .call("POST", "/canned-replies", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(refused.status, 422, "{body}: {refused:?}");
        refused.assert_error(422, code);
    }
    let listed = app.call("GET", "/canned-replies", Some(&admin), None).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(3), "{listed:?}");
    for path in [
        "/canned-replies/0",
        "/canned-replies/-1",
        "/canned-replies/99999999",
    ] {
        app.call("GET", path, Some(&admin), None)
            .await
            .assert_error(404, "not_found");
    }
}

/// A shortcut names one reply: a second reply (saved or changed) with it is a 409, and once
/// the first lets it go another may take it.
async fn a_shortcut_belongs_to_one_reply(app: TestApp) {
    let admin = app.tokens.admin("staff-anna");
    let first = create(
        &app,
        &admin,
        json!({ "title": "Refund", "content": "Your refund is on its way.", "shortcut": "refund" }),
    )
    .await;
    let second = create(
        &app,
        &admin,
        json!({ "title": "Refund 2", "content": "Refunded.", "shortcut": "refund2" }),
    )
    .await;
    app.call(
        "POST",
        "/canned-replies",
        Some(&admin),
        Some(json!({ "title": "Again", "content": "x", "shortcut": "refund" })),
    )
    .await
    .assert_error(409, "conflict");
    let second_path = format!("/canned-replies/{}", second["id"]);
    app.call(
        "PUT",
        &second_path,
        Some(&admin),
        Some(json!({ "title": "Refund 2", "content": "Refunded.", "shortcut": "refund" })),
    )
    .await
    .assert_error(409, "conflict");
    let kept = app.call("GET", &second_path, Some(&admin), None).await;
    assert_eq!(kept.json, second, "a refused change changes nothing");

    let first_path = format!("/canned-replies/{}", first["id"]);
    app.call("DELETE", &first_path, Some(&admin), None).await;
    let moved = app
        .call(
            "PUT",
            &second_path,
            Some(&admin),
            Some(json!({ "title": "Refund 2", "content": "Refunded.", "shortcut": "refund" })),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(moved.json["shortcut"], "refund");
}
