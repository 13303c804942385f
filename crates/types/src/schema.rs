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

/// A string schema with length bounds, a pattern and, when given, an example.
fn string_schema(
    min_length: usize,
    max_length: Option<usize>,
    pattern: &str,
    description: &str,
    example: Option<&str>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min_length))
        .max_length(max_length)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples(example)
        .into()
}

/// Declares a named string schema.
macro_rules! named_string_schema {
    ($(#[$doc:meta])* $name:ident = $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

named_string_schema!(
    /// An id of the main platform (user, order), an order reference or a `client_id`.
    ExternalId = string_schema(
        1,
        Some(MAX_ID_CHARS),
        ID_PATTERN,
        "An id of the main platform (user, order), an order reference or a `client_id`: 1 to \
         128 characters, no control characters, no whitespace at either end.",
        Some("order-1042"),
    )
);

named_string_schema!(
    /// The text of a message.
    MessageContent = string_schema(
        1,
        Some(DEFAULT_MAX_CONTENT_CHARS),
        CONTENT_PATTERN,
        "Message text, stored exactly as sent: at least one character that is not whitespace, \
         no control characters other than tab, line feed and carriage return, and at most \
         `MAX_CONTENT_CHARS` characters (4,000 unless the operator changed it).",
        Some("Hello, where is my parcel?"),
    )
);

named_string_schema!(
    /// The opaque cursor of the room list.
    RoomCursor = string_schema(
        3,
        None,
        ROOM_CURSOR_PATTERN,
        "A `next_cursor` of the room list, passed back as it was received.",
        None,
    )
);
