//! The chat's use cases, written once below the transports. A REST handler and a WebSocket
//! session only adapt them: they parse their input, call the use case, and answer its
//! [`ApiError`](crate::ApiError) through the one table that gives every error its code, HTTP
//! status and `error` frame — so the same failure reads the same on both.
//!
//! Each use case authorizes first: one that acts on a room takes a [`VisibleRoom`], which only
//! the access check ([`Chat::visible_room`]) makes — a room the caller may not see answers like
//! one that does not exist. Then it checks the domain rules, writes, and announces what it
//! changed through the one [`Announcer`].

mod announce;
mod auto_close;
mod edits;
mod inbox;
mod join;
mod messages;
mod mute;
mod order_events;
mod paging;
mod rating;
mod reads;
mod response_clocks;
mod rooms;
mod search;
mod timeline;

use std::sync::Arc;
use std::time::Duration;

use room_chats_store::Database;
use room_chats_store::batch::MessageWriter;
use room_chats_types::rules::{check_content, check_id};

pub use crate::visible_room::VisibleRoom;
pub use announce::{Announcement, Announcer, Listener};
pub use inbox::{InboxRooms, UnreadBaseline};
pub use join::{HistoryRules, Join, JoinPoint};
pub use messages::{MessageDraft, Sent};
pub use paging::{HistoryRequest, RoomListRequest};
pub use response_clocks::SweepReport;
pub use timeline::{Opening, TIMELINE_PAGE, TimelineEntry};

use crate::attachments::AttachmentStore;
use crate::error::ApiError;
use crate::limits::Limits;
use crate::send_budget::SendBudget;

/// What the use cases need of the node; cheap to clone.
#[derive(Clone)]
pub struct Chat {
    db: Database,
    writer: MessageWriter,
    announcer: Announcer,
    send_budget: Arc<SendBudget>,
    /// Checks the direct uploads a message carries before it is queued.
    files: AttachmentStore,
    max_content_chars: usize,
    edit_window: Duration,
    keep_deleted_content: bool,
    /// What searches share, once read from the database.
    search_settings: Arc<tokio::sync::OnceCell<room_chats_store::search::SearchSettings>>,
}

impl Chat {
    /// The use cases over this node's storage and writer, under `limits`, announcing through
    /// `announcer` (the writer announces stored messages through the same one); messages carry
    /// files of `files`.
    pub fn new(
        db: Database,
        writer: MessageWriter,
        announcer: Announcer,
        files: AttachmentStore,
        limits: &Limits,
    ) -> Self {
        Self {
            db,
            writer,
            announcer,
            send_budget: Arc::new(limits.send_budget()),
            files,
            max_content_chars: limits.max_content_chars,
            edit_window: Duration::from_secs(limits.edit_window_secs),
            keep_deleted_content: limits.keep_deleted_content,
            search_settings: Arc::default(),
        }
    }

    /// Whether the database answers a query now, for the readiness probe.
    pub async fn check_database(&self) -> Result<(), ApiError> {
        Ok(self.db.ping().await?)
    }

    /// Checks message content against the rules (`MAX_CONTENT_CHARS` and the rest).
    fn check_content(&self, content: &str) -> Result<(), ApiError> {
        check_content(content, self.max_content_chars).map_err(ApiError::InvalidContent)
    }
}

/// Checks an external id (`field` names it in the error): user, order, reference, client id.
pub(crate) fn check_field(field: &str, id: &str) -> Result<(), ApiError> {
    check_id(id).map_err(|why| ApiError::Validation(format!("{field} {why}")))
}

/// Checks an optional idempotency key.
fn check_client_id(client_id: Option<&str>) -> Result<(), ApiError> {
    client_id.map_or(Ok(()), |client_id| check_field("client_id", client_id))
}
