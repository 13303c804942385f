//! Erasure of a person (issue 29): what the platform asks for and what it is told.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The display name an erased person has everywhere from then on.
pub const ERASED_NAME: &str = "Erased user";

/// Where an erasure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureStatus {
    /// Requested; the eraser is at work (or will be at its next look, within seconds).
    Running,
    /// Every trace listed in docs/DATA-PROTECTION.md is gone; `user.erased` was sent.
    Done,
}

/// An erasure of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErasureDto {
    /// The person erased.
    pub user_id: String,
    /// Where it stands.
    pub status: ErasureStatus,
    /// When it was (last) requested.
    pub requested_at: DateTime<Utc>,
    /// Who requested it (the token's subject).
    pub requested_by: String,
    /// When it finished; `null` while running.
    pub finished_at: Option<DateTime<Utc>>,
}
