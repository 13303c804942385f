//! The committed spec is what the code generates.

#[test]
fn committed_spec_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json exists");
    let generated = room_chats_api::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn committed_asyncapi_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/asyncapi.json"
    ))
    .expect("openapi/asyncapi.json exists");
    assert!(
        committed == room_chats_api::asyncapi_json(),
        "openapi/asyncapi.json is stale: run `cargo run -- asyncapi > openapi/asyncapi.json`"
    );
}

#[test]
fn spec_documents_every_endpoint_with_bearer_security() {
    let spec: serde_json::Value =
        serde_json::from_str(&room_chats_api::openapi_json()).expect("spec is JSON");
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/orders/{order_id}", "put"),
        ("/chat", "get"),
        ("/chat/{room_id}", "get"),
        ("/chat/order/{order_id}/chat", "post"),
        ("/chat/{room_id}/close", "post"),
        ("/chat/{room_id}/reopen", "post"),
        ("/chat/{room_id}/messages", "get"),
        ("/chat/{room_id}/messages", "post"),
        ("/chat/{room_id}/read", "post"),
        ("/chat/{room_id}/admins/{user_id}", "put"),
        ("/chat/{room_id}/admins/{user_id}", "delete"),
    ] {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is missing");
        if !path.ends_with("z") {
            assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path} lacks 401"
            );
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Every `$ref` in `value`, with where it was found.
fn refs<'a>(value: &'a serde_json::Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => found.push((at.clone(), target)),
                    _ => refs(inner, format!("{at}/{key}"), found),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                refs(inner, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// Generators (openapi-typescript) and validators stop at the first `$ref` that points
/// nowhere or the first operationId used twice; CI also runs openapi-spec-validator over the
/// committed file.
#[test]
fn every_reference_resolves_and_every_response_is_described() {
    let spec: serde_json::Value =
        serde_json::from_str(&room_chats_api::openapi_json()).expect("spec is JSON");
    let mut found = Vec::new();
    refs(&spec, String::new(), &mut found);
    assert!(!found.is_empty());
    for (at, target) in found {
        let pointer = target.strip_prefix('#').unwrap_or(target);
        assert!(
            spec.pointer(pointer).is_some(),
            "{at}: $ref {target} points nowhere"
        );
    }
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            // Generated clients name their functions after these.
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} twice"
            );
            for (status, response) in operation["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
}

/// The limits the service enforces are in the schema, so that generated clients and
/// validators refuse what the service would refuse.
#[test]
fn enforced_limits_are_stated_in_the_schema() {
    let spec: serde_json::Value =
        serde_json::from_str(&room_chats_api::openapi_json()).expect("spec is JSON");
    let parameter = |path: &str, method: &str, name: &str| {
        spec["paths"][path][method]["parameters"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    };
    let schemas = &spec["components"]["schemas"];
    let limit = parameter("/chat", "get", "limit");
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(100))
    );
    let limit = parameter("/chat/{room_id}/messages", "get", "limit");
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(200))
    );
    for bound in ["before", "after"] {
        let schema = parameter("/chat/{room_id}/messages", "get", bound);
        assert_eq!(schema["minimum"].as_i64(), Some(0), "{bound}");
    }
    assert_eq!(
        parameter("/ws/chat/{room_id}", "get", "since")["minimum"].as_i64(),
        Some(0)
    );
    let history = parameter("/ws/chat/{room_id}", "get", "history");
    assert_eq!(
        (history["minimum"].as_i64(), history["maximum"].as_i64()),
        (Some(0), Some(200))
    );
    assert_eq!(
        parameter("/chat", "get", "cursor")["$ref"],
        "#/components/schemas/RoomCursor"
    );
    assert_eq!(schemas["RoomCursor"]["minLength"].as_i64(), Some(3));
    let up_to = &schemas["ReadMarkerBody"]["properties"]["up_to"];
    assert_eq!(up_to["minimum"].as_i64(), Some(0), "{up_to}");
    // Optional: a message of files alone leaves it out (the rule "words or files" is the
    // second part of the body's `allOf`).
    let send = &schemas["SendMessageBody"]["allOf"][0];
    let content = &send["properties"]["content"]["oneOf"][0];
    assert_eq!(content["$ref"], "#/components/schemas/MessageContent");
    let files = &send["properties"]["attachment_ids"];
    assert_eq!(
        files["maxItems"].as_u64(),
        Some(room_chats_types::rules::MAX_ATTACHMENTS_PER_MESSAGE as u64)
    );
    let content = &schemas["MessageContent"];
    assert_eq!(content["pattern"], room_chats_types::rules::CONTENT_PATTERN);
    assert_eq!(
        (content["minLength"].as_i64(), content["maxLength"].as_i64()),
        (Some(1), Some(4000))
    );
    assert_eq!(
        schemas["ExternalId"]["pattern"],
        room_chats_types::rules::ID_PATTERN
    );
    for (schema, field) in [
        ("UpsertOrderBody", "customer_id"),
        ("UpsertOrderBody", "reference"),
    ] {
        let property = schemas[schema]["properties"][field].to_string();
        assert!(
            property.contains("ExternalId"),
            "{schema}.{field}: {property}"
        );
    }
}

#[actix_web::test]
async fn served_spec_and_docs_ui() {
    let app = crate::support::TestApp::start(crate::support::Backend::Sqlite).await;
    let spec = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(spec.status, 200);
    let generated: serde_json::Value =
        serde_json::from_str(&room_chats_api::openapi_json()).expect("spec is JSON");
    assert_eq!(spec.json, generated);

    let mut docs = app
        .client()
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("docs reachable");
    assert_eq!(docs.status().as_u16(), 200);
    let html = docs.body().await.expect("docs body");
    assert!(String::from_utf8_lossy(&html).contains("swagger"));

    let asyncapi = app.call("GET", "/asyncapi.json", None, None).await;
    assert_eq!(asyncapi.status, 200);
    let generated: serde_json::Value =
        serde_json::from_str(&room_chats_api::asyncapi_json()).expect("asyncapi is JSON");
    assert_eq!(asyncapi.json, generated);
}
