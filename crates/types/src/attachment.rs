//! Files uploaded into a room's chat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::RoomId;
use crate::schema::UploadType;

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
    /// An image's width in pixels as displayed (its EXIF rotation applied); absent for other
    /// files, and for images whose size could not be read from their first 256 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub width: Option<i32>,
    /// An image's height in pixels as displayed; present with `width`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub height: Option<i32>,
    /// Whether `GET /attachments/{id}/preview` serves a small JPEG of it (images up to 40
    /// megapixels, at most 320 pixels on a side), so lists need not load the whole file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
    /// The message it was sent with; absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// When the upload completed.
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /chat/{room_id}/attachments/direct`: the file the client is about to put
/// straight into the object store.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectUploadBody {
    /// The file's name (made safe as for a streamed upload).
    #[schema(example = "damaged-parcel.jpg", min_length = 1, max_length = 1024)]
    pub filename: String,
    /// Its exact length in bytes, at most `ATTACHMENT_MAX_BYTES` (25 MiB unless the operator
    /// changed it): an object of another length is refused when it is checked.
    #[serde(deserialize_with = "crate::whole::int")]
    #[schema(example = 482_113, minimum = 1, maximum = 26_214_400)]
    pub size: i64,
    /// Its type, one of the allowed ones (`ATTACHMENT_TYPES`); the upload URL accepts no other,
    /// and the bytes must turn out to be of it.
    #[schema(value_type = UploadType, example = "image/jpeg")]
    pub content_type: String,
}

/// Where and how to put a direct upload's bytes: send `method` to `url` with exactly
/// `headers` and the file as the body, before `expires_at`. Then send its `attachment_id` in a
/// message (or complete it first to see its metadata); the service checks the object then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DirectUploadDto {
    /// The attachment's id, for `attachment_ids` in a message.
    pub attachment_id: i64,
    /// The presigned URL of the object store.
    #[schema(
        example = "https://bucket.s3.eu-west-1.amazonaws.com/chat/uploads/7/9f2c…?X-Amz-Signature=…"
    )]
    pub url: String,
    /// Always `PUT`.
    #[schema(example = "PUT")]
    pub method: String,
    /// Headers the request must carry, with these values (`Content-Type`: it is signed).
    pub headers: std::collections::BTreeMap<String, String>,
    /// After this, the URL is refused.
    pub expires_at: DateTime<Utc>,
}
