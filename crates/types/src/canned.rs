//! Canned replies: answers staff save once and insert into any conversation. Admins only; a
//! customer sees one only when an admin sends its text as a message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::{CannedReplyShortcut, CannedReplyTitle, MessageContent};

/// A saved reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CannedReplyDto {
    /// Reply id.
    pub id: i64,
    /// What the list shows.
    pub title: String,
    /// The text inserted into the message box.
    pub content: String,
    /// What staff type to pick it, if set (unique).
    pub shortcut: Option<String>,
    /// The admin who created it.
    pub created_by: String,
    /// The admin who last saved it.
    pub updated_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last saved.
    pub updated_at: DateTime<Utc>,
}

/// `POST /canned-replies` and `PUT /canned-replies/{reply_id}`: the whole reply.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedReplyBody {
    /// What the list shows.
    #[schema(value_type = CannedReplyTitle)]
    pub title: String,
    /// The text, under the rules of a message's content (it is sent as one).
    #[schema(value_type = MessageContent)]
    pub content: String,
    /// What staff type to pick it; omitted or `null` for none.
    #[serde(default)]
    #[schema(value_type = Option<CannedReplyShortcut>)]
    pub shortcut: Option<String>,
}
