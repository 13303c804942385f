//! Webhooks: the events the service posts to the main platform, and the admin API's bodies
//! for the endpoints that receive them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::schema::{EndpointDescription, EndpointUrl};
use crate::spelling::UnknownSpelling;
use crate::{ExportDto, MessageDto, OrderEventDto, RoomDto, RoomId};

/// What happened, as named in an event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum WebhookEventType {
    /// A room was created for an order. `data`: `{room}`.
    #[serde(rename = "room.created")]
    RoomCreated,
    /// An admin closed a room. `data`: `{room}`.
    #[serde(rename = "room.closed")]
    RoomClosed,
    /// An admin reopened a room. `data`: `{room}`.
    #[serde(rename = "room.reopened")]
    RoomReopened,
    /// The customer rated a closed room. `data`: `{room}` with its `rating`.
    #[serde(rename = "room.rated")]
    RoomRated,
    /// A room's response-time target was missed. `data`: `{room}`, its `sla` clock with
    /// `breached_at`.
    #[serde(rename = "room.sla_breached")]
    RoomSlaBreached,
    /// An admin was assigned to a room. `data`: `{room, user_id}`.
    #[serde(rename = "room.member_added")]
    RoomMemberAdded,
    /// An admin was unassigned from a room. `data`: `{room, user_id}`.
    #[serde(rename = "room.member_removed")]
    RoomMemberRemoved,
    /// A message was stored. `data`: `{message}`.
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A message was edited. `data`: `{message}` as it is now.
    #[serde(rename = "message.edited")]
    MessageEdited,
    /// A message was deleted. `data`: `{message}`, its tombstone.
    #[serde(rename = "message.deleted")]
    MessageDeleted,
    /// Staff wrote an internal note (never shown to the customer). `data`: `{message}` with
    /// `note: true`. Apart from `message.created` so that an integration that passes messages
    /// on to customers never passes on a note.
    #[serde(rename = "note.created")]
    NoteCreated,
    /// An internal note was edited. `data`: `{message}` as it is now.
    #[serde(rename = "note.edited")]
    NoteEdited,
    /// An internal note was deleted. `data`: `{message}`, its tombstone.
    #[serde(rename = "note.deleted")]
    NoteDeleted,
    /// The platform reported what happened to an order that has a room. `data`:
    /// `{order_event}` (with its `room_id` and `seq`).
    #[serde(rename = "order.event")]
    OrderEvent,
    /// A member who is away has unread messages. `data`: `{room, user_id, unread, message}`, the newest unread message.
    #[serde(rename = "notification.due")]
    NotificationDue,
    /// A person was erased (docs/DATA-PROTECTION.md): do the same downstream. `data`:
    /// `{user_id}`. Sent once the erasure is done, in a queue of its own (no room).
    #[serde(rename = "user.erased")]
    UserErased,
    /// An export of a person's data is ready to download. `data`: `{user_id, export}` with
    /// its `download_url`. In a queue of its own (no room).
    #[serde(rename = "export.ready")]
    ExportReady,
}

impl WebhookEventType {
    /// Every type, in catalogue order.
    pub const ALL: [Self; 17] = [
        Self::RoomCreated,
        Self::RoomClosed,
        Self::RoomReopened,
        Self::RoomRated,
        Self::RoomSlaBreached,
        Self::RoomMemberAdded,
        Self::RoomMemberRemoved,
        Self::MessageCreated,
        Self::MessageEdited,
        Self::MessageDeleted,
        Self::NoteCreated,
        Self::NoteEdited,
        Self::NoteDeleted,
        Self::OrderEvent,
        Self::NotificationDue,
        Self::UserErased,
        Self::ExportReady,
    ];

    /// The type as sent and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomCreated => "room.created",
            Self::RoomClosed => "room.closed",
            Self::RoomReopened => "room.reopened",
            Self::RoomRated => "room.rated",
            Self::RoomSlaBreached => "room.sla_breached",
            Self::RoomMemberAdded => "room.member_added",
            Self::RoomMemberRemoved => "room.member_removed",
            Self::MessageCreated => "message.created",
            Self::MessageEdited => "message.edited",
            Self::MessageDeleted => "message.deleted",
            Self::NoteCreated => "note.created",
            Self::NoteEdited => "note.edited",
            Self::NoteDeleted => "note.deleted",
            Self::OrderEvent => "order.event",
            Self::NotificationDue => "notification.due",
            Self::UserErased => "user.erased",
            Self::ExportReady => "export.ready",
        }
    }

    /// Parses the sent spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for WebhookEventType {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("webhook event type", value, Self::parse)
    }
}

/// The body of every delivery (Standard Webhooks' envelope). The headers `webhook-id` (equal
/// to `id`), `webhook-timestamp` and `webhook-signature` sign it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEvent {
    /// Unique per event and the same on every retry: receivers deduplicate on it.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: WebhookEventType,
    /// When it happened (the change's commit, not the delivery).
    pub timestamp: DateTime<Utc>,
    /// The objects REST returns, by type (see [`WebhookEventType`]).
    pub data: WebhookEventData,
}

/// An event's objects. Which fields are present depends on the type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEventData {
    /// The room, for `room.*` and `notification.due`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomDto>,
    /// The message, for `message.*`; the newest unread one for `notification.due`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageDto>,
    /// The member added or removed (`room.member_*`), or the one to notify
    /// (`notification.due`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// How many messages the member has not read (`notification.due`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<i64>,
    /// What happened to the order (`order.event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_event: Option<OrderEventDto>,
    /// The export that is ready (`export.ready`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportDto>,
}

/// A URL that receives events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpointDto {
    /// Endpoint id.
    pub id: i64,
    /// Where events are posted.
    pub url: String,
    /// Free text for the people who run it.
    pub description: String,
    /// The types it receives; empty means every type.
    pub event_types: Vec<WebhookEventType>,
    /// Disabled endpoints receive nothing and queue nothing.
    pub enabled: bool,
    /// Why the service disabled it (e.g. the receiver answered 410), if it did.
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_` + base64), for verifying `webhook-signature`.
    pub secret: String,
    /// Events waiting for delivery (not dead).
    pub pending: i64,
    /// Events that exhausted their retries, listable and replayable.
    pub dead: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// `POST /webhooks/endpoints`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointBody {
    /// `https://` (or `http://`) URL of the receiver; private and loopback addresses are
    /// refused unless `WEBHOOK_ALLOW_PRIVATE_URLS` is set.
    #[schema(value_type = EndpointUrl)]
    pub url: String,
    /// Free text, at most 200 characters.
    #[serde(default)]
    #[schema(value_type = EndpointDescription)]
    pub description: String,
    /// The types to receive; omitted or empty means every type.
    #[serde(default)]
    pub event_types: Vec<WebhookEventType>,
}

/// `PATCH /webhooks/endpoints/{id}`: the fields to change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointBody {
    /// A new receiver URL (same rules as on creation).
    #[serde(default)]
    #[schema(value_type = Option<EndpointUrl>)]
    pub url: Option<String>,
    /// New free text.
    #[serde(default)]
    #[schema(value_type = Option<EndpointDescription>)]
    pub description: Option<String>,
    /// New types to receive; empty means every type.
    #[serde(default)]
    pub event_types: Option<Vec<WebhookEventType>>,
    /// Enable (clearing `disabled_reason`) or disable the endpoint.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An event that exhausted its retries for one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterDto {
    /// Delivery id, to replay just this one.
    pub id: i64,
    /// The room it is about.
    pub room_id: RoomId,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub kind: WebhookEventType,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    /// What went wrong the last time.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When it was given up.
    pub dead_at: DateTime<Utc>,
    /// The event as it would be delivered.
    pub event: serde_json::Value,
}

/// A page of dead letters, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterPage {
    /// The dead letters.
    pub items: Vec<DeadLetterDto>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i64>,
}

/// Paging of `GET /webhooks/endpoints/{id}/dead-letters`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterQuery {
    /// Only dead letters with a larger id (the previous page's `next_after`).
    pub after: Option<i64>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// `POST /webhooks/endpoints/{id}/dead-letters/replay`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// The dead letters to deliver again; omitted means all of the endpoint's.
    #[serde(default, deserialize_with = "crate::whole::option_list")]
    pub ids: Option<Vec<i64>>,
}

/// What a replay queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplayDto {
    /// Dead letters put back in their rooms' queues.
    pub replayed: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_spelling() {
        for kind in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).ok();
            assert_eq!(json, Some(format!("\"{}\"", kind.as_str())));
        }
        assert_eq!(WebhookEventType::parse("message.sent"), None);
    }
}
