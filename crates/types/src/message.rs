//! Messages and read markers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::schema::{ExternalId, MessageContent};
use crate::{AttachmentDto, Role, RoomId, Seq};

/// A stored chat message. REST and WebSocket frames carry exactly this object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageDto {
    /// Globally unique message id.
    pub id: i64,
    /// The room it belongs to.
    pub room_id: RoomId,
    /// Position in the room's timeline, which messages share with room events: 1, 2, 3 …
    /// with no gaps across both.
    pub seq: Seq,
    /// The sender's user id, always taken from the sender's token.
    pub sender_id: String,
    /// The sender's role when it sent the message.
    pub sender_role: Role,
    /// The text, exactly as sent or last edited; empty once the message is deleted.
    pub content: String,
    /// The sender's idempotency key, if it gave one.
    pub client_id: Option<String>,
    /// When the message was stored.
    pub created_at: DateTime<Utc>,
    /// When its sender last edited it; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted; absent while it is not. A deleted message stays in the timeline
    /// as this tombstone, without its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Who deleted it (its sender, or an admin moderating); absent while it is not deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    /// The files sent with it (`GET /attachments/{id}` reads each); absent when none, and
    /// once the message is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentDto>,
    /// `true` for an internal note: written by staff for staff, never shown to the room's
    /// customer (not in history, previews, unread counts, search or live frames; the customer
    /// sees a gap in `seq`). Absent on messages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub note: bool,
}

/// Body of `POST /chat/{room_id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageBody {
    /// The text; 1 to 4,000 characters by default, not only whitespace. May be left out when
    /// `attachment_ids` names files.
    #[serde(default)]
    #[schema(value_type = Option<MessageContent>)]
    pub content: Option<String>,
    /// Files uploaded into this room by the sender and not sent yet (at most 10).
    #[serde(default, deserialize_with = "crate::whole::list")]
    #[schema(max_items = 10)]
    pub attachment_ids: Vec<i64>,
    /// Idempotency key chosen by the sender: sending again with the same key returns the
    /// original message instead of storing a second one.
    #[schema(value_type = Option<ExternalId>, example = "3f1c2b7e-0d4a-4d55-9d0e-1c0a2b3c4d5e")]
    pub client_id: Option<String>,
    /// Admins: `true` writes an internal note, which the room's customer never sees. Text only
    /// (no attachments); not an answer to the customer (the room keeps waiting for staff).
    #[serde(default)]
    pub note: bool,
}

/// Query of `GET /chat/{room_id}/messages`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Messages with a seq lower than this: the newest such page (the default with neither
    /// bound is the newest page of all). With `after` too: the oldest page between the two.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub before: Option<Seq>,
    /// Messages with a seq higher than this, oldest first.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<Seq>,
    /// Page size, 1 to `HISTORY_PAGE_MAX` (200 unless the operator changed it); default
    /// `HISTORY_PAGE_DEFAULT` (50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A page of messages, always in ascending `seq` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub items: Vec<MessageDto>,
    /// The seq to pass as the same parameter (`before` or `after`) for the next page, or null
    /// when there is nothing more in that direction.
    pub next_cursor: Option<Seq>,
    /// Set when the room's history up to and including this seq was deleted under its
    /// retention policy and the page reaches down to it (`after` a seq below it, or the
    /// oldest page there is): what lay there will never come. Null otherwise
    /// (docs/DATA-PROTECTION.md#conversations).
    #[serde(default)]
    pub history_purged_through: Option<Seq>,
}

/// Body of `POST /chat/{room_id}/read`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMarkerBody {
    /// The highest seq the caller has read; omitted means "everything so far". The marker never
    /// moves backwards and never past the room's last message.
    #[serde(default, deserialize_with = "crate::whole::option")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub up_to: Option<Seq>,
}

/// The caller's read position in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadMarkerDto {
    /// The room.
    pub room_id: RoomId,
    /// The highest seq the caller has read.
    pub up_to: Seq,
    /// Messages of others after `up_to` (room events and the caller's own messages do not
    /// count).
    pub unread: i64,
}

/// Body of `PATCH /chat/{room_id}/messages/{message_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageBody {
    /// The new text, under the same rules as a new message.
    #[schema(value_type = MessageContent)]
    pub content: String,
    /// Idempotency key: a retry with the same key changes nothing more and answers the
    /// message as it is.
    #[schema(value_type = Option<ExternalId>, example = "9b2e…")]
    pub client_id: Option<String>,
}

/// Why a revision was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevisionReason {
    /// The sender edited the message.
    Edited,
    /// The message was deleted.
    Deleted,
}

impl RevisionReason {
    /// As spelled on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edited => "edited",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "edited" => Some(Self::Edited),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for RevisionReason {
    type Error = crate::spelling::UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        crate::spelling::UnknownSpelling::parse("revision reason", value, Self::parse)
    }
}

/// The words a change of a message replaced (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevisionDto {
    /// 1, 2, … in the order of the message's changes.
    pub revision: i64,
    /// Whether the change was an edit or the delete.
    pub reason: RevisionReason,
    /// The content before the change.
    pub content: String,
    /// Who changed it.
    pub changed_by: String,
    /// When.
    pub changed_at: DateTime<Utc>,
}
