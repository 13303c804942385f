//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes.

use actix_web::App;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "room-chats",
        description = "Real-time support chat between the customer of an order and the shop's staff. \
            Every call needs a bearer JWT; errors are `{\"error\": {\"code\", \"message\"}}` with a stable \
            snake_case code. Paths accept an optional trailing slash. The WebSocket protocol is \
            described in docs/REALTIME.md.",
        license(name = "MIT"),
    ),
    modifiers(&BearerScheme),
    // Schemas that only parameters refer to: utoipa collects the others from bodies.
    components(schemas(
        room_chats_types::AssignedFilter,
        room_chats_types::WaitingFilter,
        room_chats_types::RoomSort,
        room_chats_types::RoomStatus,
        room_chats_types::AuditAction,
        room_chats_types::schema::ExternalId,
        room_chats_types::schema::MessageContent,
        room_chats_types::schema::RoomCursor,
        room_chats_types::schema::SearchCursor,
        room_chats_types::schema::SearchText,
        room_chats_types::schema::RoomSearchText,
        room_chats_types::SearchSort,
        // What webhook receivers are sent (docs/NOTIFICATIONS.md).
        room_chats_types::WebhookEvent,
    )),
    tags(
        (name = "rooms", description = "Chat rooms: one per order"),
        (name = "messages", description = "History, sending and read markers"),
        (name = "search", description = "Finding messages by their words (query language in docs/API.md)"),
        (name = "orders", description = "Orders registered by the main platform"),
        (name = "canned replies", description = "The admins' shared saved answers, inserted into a conversation by the dashboard"),
        (name = "reports", description = "The support team's figures for a time range (docs/SUPPORT.md)"),
        (name = "audit", description = "What staff and the platform did that changed or revealed data (docs/DATA-PROTECTION.md)"),
        (name = "data protection", description = "Retention of conversations and legal holds (docs/DATA-PROTECTION.md)"),
        (name = "webhooks", description = "Receivers of signed event deliveries (docs/NOTIFICATIONS.md); the body of every delivery is the `WebhookEvent` schema"),
        (name = "push", description = "Web Push to the browsers of members who are away (docs/NOTIFICATIONS.md)"),
        (name = "realtime", description = "The WebSocket protocol v1 (frames in docs/REALTIME.md)"),
        (name = "operations", description = "Health and readiness probes"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT from the main platform: `sub` is the user id, `role` is client, \
                         admin or service (`is_staff: true` also means admin), `exp` is required.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API description, as served at `/openapi.json` and committed in `openapi/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    // After the routes' schemas are in: `ApiDoc`'s modifiers run before they are merged.
    WordsOrFiles.modify(&mut api);
    api
}

/// A message needs words or files: `SendMessageBody` says so, as the service does (422
/// `invalid_content` for neither). Serde's derive cannot state a rule across two fields.
struct WordsOrFiles;

impl Modify for WordsOrFiles {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(schemas) = openapi.components.as_mut().map(|c| &mut c.schemas) else {
            return;
        };
        let Some(body) = schemas.remove("SendMessageBody") else {
            return;
        };
        let words = ObjectBuilder::new()
            .property("content", ObjectBuilder::new().schema_type(Type::String))
            .required("content");
        let files = ObjectBuilder::new()
            .property(
                "attachment_ids",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::Integer))
                    .min_items(Some(1)),
            )
            .required("attachment_ids");
        let rule = AllOfBuilder::new()
            .item(body)
            .item(AnyOfBuilder::new().item(words).item(files))
            .description(Some(
                "Body of `POST /chat/{room_id}/messages`: `content`, `attachment_ids` (at least \
                 one), or both.",
            ));
        schemas.insert("SendMessageBody".to_owned(), rule.into());
    }
}

/// The API description as pretty JSON with a trailing newline: the committed file's form.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
