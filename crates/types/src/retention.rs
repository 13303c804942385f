//! Retention and legal holds (issue 29): how long a room's history is kept, and who or what
//! must not be purged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::HoldReason;
use crate::{RoomId, Seq};

/// Most days a room's own retention may name (a hundred years).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// A room's retention as an admin sets it: the whole setting, replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomRetentionBody {
    /// Days this room's history (messages, their revisions and files, room events) is kept
    /// instead of `HISTORY_RETENTION_DAYS`; `null` or absent: the global policy.
    #[serde(default, deserialize_with = "crate::whole::option")]
    #[schema(minimum = 1, maximum = 36500)]
    pub history_days: Option<i64>,
    /// A legal hold: while set, nothing of the room is purged, whatever the policies say.
    pub legal_hold: bool,
    /// Why the room is held (for the admins who will lift it); only with `legal_hold`.
    #[serde(default)]
    #[schema(value_type = Option<HoldReason>)]
    pub hold_reason: Option<String>,
}

/// A room's retention: its own setting, what applies, and how far its history was purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomRetentionDto {
    /// The room.
    pub room_id: RoomId,
    /// The room's own retention in days; `null`: the global policy.
    pub history_days: Option<i64>,
    /// Whether a legal hold is set on the room itself.
    pub legal_hold: bool,
    /// Why it is held.
    pub hold_reason: Option<String>,
    /// Members whose own legal hold keeps the room (`PUT /users/{user_id}/legal-hold`).
    pub held_members: Vec<String>,
    /// Whether anything of the room can be purged now: no hold on it or on any member.
    pub purgeable: bool,
    /// Days the room's history is kept under the setting in force (its own, else the global
    /// one); `null`: for ever.
    pub effective_history_days: Option<i64>,
    /// Every timeline entry at or below this seq was purged (0: nothing). Seqs above it are
    /// untouched; a resume from below it is told so (`history_purged` frame).
    pub purged_through: Seq,
}

/// A legal hold on a person, as the platform or an admin places it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserLegalHoldBody {
    /// Why the person's data is held.
    #[serde(default)]
    #[schema(value_type = Option<HoldReason>)]
    pub reason: Option<String>,
}

/// A legal hold on a person: no room they are a member of is purged while it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserLegalHoldDto {
    /// The person held.
    pub user_id: String,
    /// Why.
    pub reason: Option<String>,
    /// When it was placed (or last changed).
    pub placed_at: DateTime<Utc>,
    /// Who placed it (the token's subject).
    pub placed_by: String,
}
