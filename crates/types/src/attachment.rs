//! Files uploaded into a room's chat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::RoomId;

/// An uploaded file, as `POST /chat/{room_id}/attachments` answers it. Its bytes are at
/// `GET /attachments/{id}` for everyone who can see the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentDto {
    /// Its id.
    pub id: i64,
    /// The room it was uploaded into; only that room's members can read it.
    pub room_id: RoomId,
    /// Who uploaded it.
    pub uploader_id: String,
    /// The name it was uploaded under, made safe: no directories, no control characters, at
    /// most 255 bytes.
    pub filename: String,
    /// Its type as read from its first bytes (the client's claim is not trusted).
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// The message it was sent with; absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// When the upload completed.
    pub created_at: DateTime<Utc>,
}
