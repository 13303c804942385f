//! Named string schemas of the OpenAPI document that carry the input rules of [`crate::rules`],
//! so generated clients and validators refuse what the service would refuse, and accept what
//! it accepts. Wire fields keep their Rust type (`String`) and point here with `value_type`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::rules::{
    CONTENT_PATTERN, DEFAULT_MAX_CONTENT_CHARS, ID_PATTERN, MAX_ID_CHARS, ROOM_CURSOR_PATTERN,
};

/// An id of the main platform (user, order), an order reference or a `client_id`.
pub struct ExternalId;

impl PartialSchema for ExternalId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_ID_CHARS))
            .pattern(Some(ID_PATTERN))
            .description(Some(
                "An id of the main platform (user, order), an order reference or a `client_id`: \
                 1 to 128 characters, no control characters, no whitespace at either end.",
            ))
            .examples([serde_json::json!("order-1042")])
            .into()
    }
}

impl ToSchema for ExternalId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ExternalId")
    }
}

/// The text of a message.
pub struct MessageContent;

impl PartialSchema for MessageContent {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(DEFAULT_MAX_CONTENT_CHARS))
            .pattern(Some(CONTENT_PATTERN))
            .description(Some(
                "Message text, stored exactly as sent: at least one character that is not \
                 whitespace, no control characters other than tab, line feed and carriage \
                 return, and at most `MAX_CONTENT_CHARS` characters (4,000 unless the operator \
                 changed it).",
            ))
            .examples([serde_json::json!("Hello, where is my parcel?")])
            .into()
    }
}

impl ToSchema for MessageContent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MessageContent")
    }
}

/// The opaque cursor of the room list.
pub struct RoomCursor;

impl PartialSchema for RoomCursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(3))
            .pattern(Some(ROOM_CURSOR_PATTERN))
            .description(Some(
                "A `next_cursor` of the room list, passed back as it was received.",
            ))
            .into()
    }
}

impl ToSchema for RoomCursor {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RoomCursor")
    }
}
