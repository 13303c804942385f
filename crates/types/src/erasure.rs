//! A person's rights over their data (issue 29): erasure and export — what is asked for and
//! what is told.

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

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Waiting for an exporter (within seconds).
    Pending,
    /// An exporter is writing the archive.
    Running,
    /// The archive can be downloaded from `download_url` until `expires_at`.
    Ready,
    /// The archive could not be written (`error` says why); ask again.
    Failed,
    /// The link expired and the archive was deleted; ask again.
    Expired,
}

impl ExportStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Ready,
            Self::Failed,
            Self::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

/// An export of a person's data: one zip of NDJSON files and their attachments' files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportDto {
    /// The export's id.
    pub id: i64,
    /// The person whose data it holds.
    pub user_id: String,
    /// Where it stands.
    pub status: ExportStatus,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// Who asked (the token's subject).
    pub requested_by: String,
    /// When the archive was written (or the export failed).
    pub finished_at: Option<DateTime<Utc>>,
    /// When the download link stops working and the archive is deleted.
    pub expires_at: Option<DateTime<Utc>>,
    /// The archive's size in bytes, once ready.
    pub size_bytes: Option<i64>,
    /// While ready: the path that downloads the archive without a token (its `key` is the
    /// authorization: hand it only to the person). `null` otherwise.
    pub download_url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}
