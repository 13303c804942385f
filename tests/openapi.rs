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
}
