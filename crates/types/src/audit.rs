//! The audit trail: what staff and the platform did that changed or revealed data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::schema::ExternalId;
use crate::spelling::UnknownSpelling;
use crate::{Role, RoomId};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// An admin closed a room.
    RoomClosed,
    /// An admin reopened a room.
    RoomReopened,
    /// An admin assigned an admin (`user_id`) to a room.
    AdminAssigned,
    /// An admin removed an admin's (`user_id`) assignment.
    AdminUnassigned,
    /// An admin deleted someone else's message (`message_id`, written by `user_id`).
    MessageDeleted,
    /// An admin read the replaced words of a message (`message_id`).
    RevisionsRead,
    /// A webhook endpoint was created.
    WebhookEndpointCreated,
    /// A webhook endpoint's URL, events, description or state changed.
    WebhookEndpointUpdated,
    /// A webhook endpoint was deleted, with what was queued for it.
    WebhookEndpointDeleted,
    /// Dead letters of a webhook endpoint were put back in their queues.
    DeadLettersReplayed,
    /// An admin changed a room's own retention (`history_days`).
    RoomRetentionChanged,
    /// A legal hold was placed on a room (`room_id`) or a person (`user_id`), or its reason
    /// changed.
    LegalHoldPlaced,
    /// A legal hold on a room or a person was lifted.
    LegalHoldLifted,
    /// The platform asked for a person (`user_id`) to be erased.
    ErasureRequested,
    /// An export of a person's (`user_id`) data was asked for.
    ExportRequested,
}

impl AuditAction {
    /// Every action, in the order of the schema.
    pub const ALL: [Self; 15] = [
        Self::RoomClosed,
        Self::RoomReopened,
        Self::AdminAssigned,
        Self::AdminUnassigned,
        Self::MessageDeleted,
        Self::RevisionsRead,
        Self::WebhookEndpointCreated,
        Self::WebhookEndpointUpdated,
        Self::WebhookEndpointDeleted,
        Self::DeadLettersReplayed,
        Self::RoomRetentionChanged,
        Self::LegalHoldPlaced,
        Self::LegalHoldLifted,
        Self::ErasureRequested,
        Self::ExportRequested,
    ];

    /// The action as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomClosed => "room_closed",
            Self::RoomReopened => "room_reopened",
            Self::AdminAssigned => "admin_assigned",
            Self::AdminUnassigned => "admin_unassigned",
            Self::MessageDeleted => "message_deleted",
            Self::RevisionsRead => "revisions_read",
            Self::WebhookEndpointCreated => "webhook_endpoint_created",
            Self::WebhookEndpointUpdated => "webhook_endpoint_updated",
            Self::WebhookEndpointDeleted => "webhook_endpoint_deleted",
            Self::DeadLettersReplayed => "dead_letters_replayed",
            Self::RoomRetentionChanged => "room_retention_changed",
            Self::LegalHoldPlaced => "legal_hold_placed",
            Self::LegalHoldLifted => "legal_hold_lifted",
            Self::ErasureRequested => "erasure_requested",
            Self::ExportRequested => "export_requested",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for AuditAction {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("audit action", value, Self::parse)
    }
}

/// One recorded action. It names what was acted on, never the words of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryDto {
    /// Increasing with time; the list's cursor.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: the token's subject.
    pub actor_id: String,
    /// The role of that token.
    pub actor_role: Role,
    /// What was done.
    pub action: AuditAction,
    /// The room acted on, if any.
    pub room_id: Option<RoomId>,
    /// The person acted on, if any: the admin assigned or unassigned, the author of a deleted
    /// message.
    pub user_id: Option<String>,
    /// The message acted on, if any.
    pub message_id: Option<i64>,
    /// The webhook endpoint acted on, if any.
    pub webhook_endpoint_id: Option<i64>,
    /// The `X-Request-Id` of the request that did it (the one the caller sent, or the one
    /// the service gave it), for finding it in the logs.
    pub request_id: Option<String>,
}

/// Query of `GET /audit`: every filter given must match.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only what this user did.
    #[param(value_type = Option<ExternalId>)]
    pub actor_id: Option<String>,
    /// Only what was done to this room.
    // `value_type`: the alias alone becomes a `$ref`, which drops the minimum.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub room_id: Option<RoomId>,
    /// Only what was done to this person.
    #[param(value_type = Option<ExternalId>)]
    pub user_id: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The entries, newest first.
    pub items: Vec<AuditEntryDto>,
    /// Pass as `cursor` (with the same filters) for the next, older page; null at the end.
    pub next_cursor: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_spelling() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            let sent = serde_json::to_value(action).ok();
            assert_eq!(sent, Some(serde_json::Value::from(action.as_str())));
        }
        assert_eq!(AuditAction::parse("room_deleted"), None);
    }
}
