//! Named string schemas of the OpenAPI document that carry the input rules of [`crate::rules`],
//! so generated clients and validators refuse what the service would refuse, and accept what
//! it accepts. Wire fields keep their Rust type (`String`) and point here with `value_type`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::rules::{
    CANNED_SHORTCUT_PATTERN, CANNED_TITLE_PATTERN, CONTENT_PATTERN, DEFAULT_MAX_CONTENT_CHARS,
    ENDPOINT_URL_PATTERN, ID_PATTERN, MAX_CANNED_SHORTCUT_CHARS, MAX_CANNED_TITLE_CHARS,
    MAX_DESCRIPTION_CHARS, MAX_HOLD_REASON_CHARS, MAX_ID_CHARS, MAX_MEDIA_TYPE_CHARS,
    MAX_ORDER_EVENT_TEXT_CHARS, MAX_RATING_COMMENT_CHARS, MAX_ROOM_SEARCH_CHARS,
    MAX_SEARCH_QUERY_CHARS, MAX_URL_CHARS, MEDIA_TYPE_PATTERN, PLAIN_TEXT_PATTERN,
    PUSH_ENDPOINT_PATTERN, ROOM_CURSOR_PATTERN, SEARCH_CURSOR_PATTERN, TRACKING_URL_PATTERN,
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
    /// Why a legal hold is set.
    HoldReason = string_schema(
        1,
        Some(MAX_HOLD_REASON_CHARS),
        ID_PATTERN,
        "Why a legal hold is set: 1 to 500 characters, no control characters, no whitespace at \
         either end.",
        Some("Case 2026-114, court order of 3 December"),
    )
);

named_string_schema!(
    /// The line of an order event.
    OrderEventText = string_schema(
        1,
        Some(MAX_ORDER_EVENT_TEXT_CHARS),
        ID_PATTERN,
        "A line both sides of the chat see with an order event: 1 to 500 characters, no \
         control characters, no whitespace at either end.",
        Some("Handed to the carrier"),
    )
);

named_string_schema!(
    /// An order's tracking link.
    TrackingUrl = string_schema(
        8,
        Some(MAX_URL_CHARS),
        TRACKING_URL_PATTERN,
        "Where the customer follows the parcel: an http:// or https:// URL with a host, \
         without spaces or control characters, at most 2,048 characters.",
        Some("https://track.example.com/p/123"),
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
    /// The comment of a rating.
    RatingComment = string_schema(
        1,
        Some(MAX_RATING_COMMENT_CHARS),
        CONTENT_PATTERN,
        "What the customer adds to a rating, under a message's rules: 1 to 1,000 characters, \
         at least one that is not whitespace, no control characters other than tab, line feed \
         and carriage return.",
        Some("Quick and kind"),
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

named_string_schema!(
    /// The text of a search box.
    SearchText = string_schema(
        1,
        Some(MAX_SEARCH_QUERY_CHARS),
        "\\S",
        "Words in any order, `\"a phrase\"`, `-excluded` words, the last word as a prefix. A \
         word is a run of letters and digits (any script); other characters separate words. \
         1 to 200 characters holding at least one word to find, at most 10 words and phrases.",
        Some("broken zip"),
    )
);

named_string_schema!(
    /// What a staff member types to find a room.
    RoomSearchText = string_schema(
        1,
        Some(MAX_ROOM_SEARCH_CHARS),
        "\\S",
        "Part of an order id, order reference, customer id or customer display name: 1 to 100 \
         characters, not only whitespace. Case does not matter.",
        Some("1042"),
    )
);

named_string_schema!(
    /// The opaque cursor of a search.
    SearchCursor = string_schema(
        20,
        None,
        SEARCH_CURSOR_PATTERN,
        "A `next_cursor` of a search, passed back as it was received with the same query.",
        None,
    )
);

named_string_schema!(
    /// A webhook receiver's URL.
    EndpointUrl = string_schema(
        11,
        Some(MAX_URL_CHARS),
        ENDPOINT_URL_PATTERN,
        "The receiver's `https://` (or `http://`) URL on a public name, without credentials or \
         fragment. Names and addresses that are internal (loopback, private, link-local and \
         other reserved ranges) are refused unless `WEBHOOK_ALLOW_PRIVATE_URLS` is set; a public \
         IP address is accepted too.",
        Some("https://hooks.shop.example/chat"),
    )
);

named_string_schema!(
    /// A Web Push service URL.
    PushEndpoint = string_schema(
        12,
        Some(MAX_URL_CHARS),
        PUSH_ENDPOINT_PATTERN,
        "The `https://` URL of the push service the browser was given (internal addresses are \
         refused).",
        Some("https://fcm.googleapis.com/fcm/send/c1Kx…"),
    )
);

named_string_schema!(
    /// A webhook endpoint's description.
    EndpointDescription = string_schema(
        0,
        Some(MAX_DESCRIPTION_CHARS),
        PLAIN_TEXT_PATTERN,
        "Free text for the admins, at most 200 characters, no control characters.",
        Some("Order system, production"),
    )
);

named_string_schema!(
    /// A canned reply's title.
    CannedReplyTitle = string_schema(
        1,
        Some(MAX_CANNED_TITLE_CHARS),
        CANNED_TITLE_PATTERN,
        "What the list of saved replies shows: 1 to 100 characters, no control characters, no \
         whitespace at either end.",
        Some("Parcel delayed"),
    )
);

named_string_schema!(
    /// A canned reply's shortcut.
    CannedReplyShortcut = string_schema(
        1,
        Some(MAX_CANNED_SHORTCUT_CHARS),
        CANNED_SHORTCUT_PATTERN,
        "What staff type to pick the reply: lower-case letters, digits, `-` and `_`, starting \
         with a letter or digit, at most 32; unique among the replies.",
        Some("delayed"),
    )
);

named_string_schema!(
    /// The type of a file to upload.
    UploadType = string_schema(
        3,
        Some(MAX_MEDIA_TYPE_CHARS),
        MEDIA_TYPE_PATTERN,
        "The file's media type, one of `ATTACHMENT_TYPES` (by default `image/png`, `image/jpeg`, \
         `image/gif`, `image/webp`, `application/pdf`, `text/plain`; 415 `unsupported_type` for \
         another); its bytes must turn out to be of it.",
        Some("image/jpeg"),
    )
);
