//! The OpenAPI document and the service agree: what the document forbids is refused, and
//! what it admits is read. (A schema fuzzer holds the service to this; these pin the cases it
//! found: integers written as `805.0`, array bodies, ids in paths and filters, downloads of
//! any type, a message with neither words nor files, webhook and push URLs.)

use room_chats_core::attachments::AttachmentSettings;
use serde_json::{Value, json};

use room_chats_core::webhooks::WebhookSettings;

use crate::rating::rate;
use crate::support::{Backend, NodeOptions, TestApp};

fn document() -> Value {
    serde_json::from_str(&room_chats_api::openapi_json()).expect("the document is JSON")
}

#[test]
fn the_document_states_the_rules_the_service_keeps() {
    let spec = document();
    let download = &spec["paths"]["/attachments/{attachment_id}"]["get"]["responses"];
    for status in ["200", "206"] {
        let types: Vec<&String> = download[status]["content"]
            .as_object()
            .expect("content")
            .keys()
            .collect();
        assert_eq!(
            types,
            ["*/*"],
            "a download is served as the type it was stored as"
        );
    }

    let send = &spec["components"]["schemas"]["SendMessageBody"];
    let either = &send["allOf"][1]["anyOf"];
    assert_eq!(either[0]["required"], json!(["content"]), "{send}");
    assert_eq!(either[1]["required"], json!(["attachment_ids"]), "{send}");
    assert_eq!(either[1]["properties"]["attachment_ids"]["minItems"], 1);

    let direct = &spec["components"]["schemas"]["DirectUploadBody"]["properties"];
    assert_eq!(
        direct["size"]["maximum"],
        AttachmentSettings::DEFAULT.max_bytes,
        "the default ATTACHMENT_MAX_BYTES"
    );
    // The allowed types are the operator's (`ATTACHMENT_TYPES`): a media type is all the
    // document can promise, and every default one is one.
    let pattern = spec["components"]["schemas"]["UploadType"]["pattern"]
        .as_str()
        .expect("pattern");
    assert_eq!(pattern, room_chats_types::rules::MEDIA_TYPE_PATTERN);

    let dead_letters = &spec["paths"]["/webhooks/endpoints/{endpoint_id}/dead-letters"]["get"];
    let limit = dead_letters["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .expect("limit");
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(200))
    );
    // A rating's comment is checked as a message's content is, with its own length.
    let comment = &spec["components"]["schemas"]["RatingComment"];
    assert_eq!(comment["pattern"], room_chats_types::rules::CONTENT_PATTERN);
    assert_eq!(
        comment["maxLength"],
        room_chats_types::rules::MAX_RATING_COMMENT_CHARS
    );
    for (schema, scheme) in [("EndpointUrl", "^https?://"), ("PushEndpoint", "^https://")] {
        let pattern = spec["components"]["schemas"][schema]["pattern"]
            .as_str()
            .expect("pattern");
        assert!(pattern.starts_with(scheme), "{schema}: {pattern}");
    }
}

/// Bodies the document admits are read: JSON Schema counts `3.0` as an integer.
#[actix_web::test]
async fn integers_written_with_a_zero_fraction_are_read() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room_id = app.room("ord-doc-1", "cust-doc").await;
    let customer = app.tokens.client("cust-doc");
    for words in ["one", "two", "three"] {
        app.send(room_id, &customer, words).await;
    }
    let admin = app.tokens.admin("staff-doc");
    let read = app
        .call(
            "POST",
            &format!("/chat/{room_id}/read"),
            Some(&admin),
            Some(json!({ "up_to": 2.0 })),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json["up_to"], 2);
    // A fraction, or a number in a string, is no integer.
    for body in [json!({ "up_to": 2.5 }), json!({ "up_to": "2" })] {
        app.call(
            "POST",
            &format!("/chat/{room_id}/read"),
            Some(&admin),
            Some(body),
        )
        .await
        .assert_error(422, "validation_failed");
    }

    let retention = app
        .call(
            "PUT",
            &format!("/chat/{room_id}/retention"),
            Some(&admin),
            Some(json!({ "history_days": 30.0, "legal_hold": false })),
        )
        .await;
    assert_eq!(retention.status, 200, "{retention:?}");
    assert_eq!(retention.json["history_days"], 30);
    app.close(room_id, &admin).await;
    rate(&app, room_id, &customer, json!({ "score": 4.5 }))
        .await
        .assert_error(422, "validation_failed");
    let rated = rate(&app, room_id, &customer, json!({ "score": 4.0 })).await;
    assert_eq!(rated.status, 201, "{rated:?}");
    assert_eq!(rated.json["rating"]["score"], 4);
}

/// Every parameter that names a person or an order carries the id rules, and the room filters
/// of searches and the audit trail say that a room id is positive: a fuzzer that follows the
/// document sends nothing the service refuses for breaking them.
#[test]
fn ids_in_paths_and_filters_carry_their_rules() {
    let spec = document();
    let mut checked = 0;
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(parameters) = operation["parameters"].as_array() else {
                continue;
            };
            for parameter in parameters {
                let name = parameter["name"].as_str().expect("name");
                let schema = &parameter["schema"];
                let place = format!("{method} {path} {name}");
                if ["user_id", "order_id", "actor_id", "sender"].contains(&name) {
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ExternalId",
                        "{place}: {schema}"
                    );
                    checked += 1;
                } else if name == "room_id" && parameter["in"] == "query" {
                    assert_eq!(schema["minimum"], 1, "{place}: {schema}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 15, "only {checked} parameters found");
}

/// The push keys' patterns admit exactly the base64url texts of 65 and 16 bytes that the
/// service reads (padded or not), so a browser's keys always pass them.
#[test]
fn push_key_patterns_match_what_the_service_reads() {
    use base64::Engine;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

    let spec = document();
    let keys = &spec["components"]["schemas"]["PushSubscriptionKeys"]["properties"];
    for (field, bytes) in [("p256dh", 65), ("auth", 16)] {
        let pattern = regex::Regex::new(keys[field]["pattern"].as_str().expect("pattern"))
            .expect("a pattern");
        for fill in [0_u8, 1, 0x7f, 0xfe, 0xff] {
            let mut key = vec![fill; bytes];
            if let Some(last) = key.last_mut() {
                *last = fill.wrapping_mul(37).wrapping_add(11);
            }
            for text in [URL_SAFE_NO_PAD.encode(&key), URL_SAFE.encode(&key)] {
                assert!(pattern.is_match(&text), "{field}: {text}");
            }
            for wrong in [bytes - 1, bytes + 1] {
                let text = URL_SAFE_NO_PAD.encode(vec![fill; wrong]);
                assert!(!pattern.is_match(&text), "{field} of {wrong} bytes: {text}");
            }
        }
    }
}

/// What the document forbids is refused: a body that is not an object, ids that break the id
/// rules in a path or a filter, a message with neither words nor files, URLs of one label.
#[actix_web::test]
async fn what_the_document_forbids_is_refused() {
    let app = TestApp::start(Backend::Sqlite).await;
    let room_id = app.room("ord-doc-2", "cust-doc").await;
    let customer = app.tokens.client("cust-doc");
    let admin = app.tokens.admin("staff-doc");

    for (method, path, token) in [
        ("POST", format!("/chat/{room_id}/read"), &customer),
        ("POST", format!("/chat/{room_id}/messages"), &customer),
        ("POST", "/webhooks/endpoints".to_owned(), &admin),
    ] {
        for body in [json!([null, null]), json!([]), json!(null), json!(7)] {
            let refused = app
                .call(method, &path, Some(token), Some(body.clone()))
                .await;
            refused.assert_error(422, "validation_failed");
            assert!(
                refused.json["error"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("expected a JSON object")),
                "{method} {path} {body}: {refused:?}"
            );
        }
    }

    app.call(
        "DELETE",
        &format!("/chat/{room_id}/admins/%C3%97%C2%9B"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(422, "validation_failed");
    app.call("GET", "/chat?order_id=%20x", Some(&admin), None)
        .await
        .assert_error(422, "validation_failed");

    app.call(
        "POST",
        &format!("/chat/{room_id}/messages"),
        Some(&customer),
        Some(json!({ "content": null, "attachment_ids": [], "client_id": null })),
    )
    .await
    .assert_error(422, "invalid_content");

    // A node that keeps webhooks off private networks, as in production.
    let strict = TestApp::start_node(
        Backend::Sqlite,
        NodeOptions {
            webhooks: WebhookSettings {
                allow_private_urls: false,
                ..WebhookSettings::DEFAULT
            },
            ..NodeOptions::default()
        },
    )
    .await;
    let (app, admin) = (&strict, strict.tokens.admin("staff-doc"));
    for url in ["https://ho/hook", "http://metadata/computeMetadata/v1/"] {
        app.call(
            "POST",
            "/webhooks/endpoints",
            Some(&admin),
            Some(json!({ "url": url })),
        )
        .await
        .assert_error(422, "validation_failed");
    }
}
