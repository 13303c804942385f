//! The read models of the per-user stream (`/ws/`): rooms as every inbox shows them, and a
//! caller's unread baselines.

use room_chats_store::{Database, members, rooms};
use room_chats_types::{RoomId, RoomSummaryDto};

pub use room_chats_store::members::UnreadBaseline;

use super::Chat;
use crate::auth::Caller;
use crate::error::ApiError;

/// Reads rooms as every inbox shows them, for the node's inbox fan-out. No caller asks: each
/// stream shows a room only to a caller who sees it (`realtime::inbox::view`). Apart from
/// [`Chat`] because the inbox it serves is one of the listeners `Chat` announces to.
#[derive(Clone)]
pub struct InboxRooms {
    db: Database,
}

impl InboxRooms {
    /// Reads from `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Each of `room_ids` that exists: the room, its newest message and assigned admins, with
    /// `unread` 0 (each user's count is its own).
    pub async fn snapshots(&self, room_ids: Vec<RoomId>) -> Result<Vec<RoomSummaryDto>, ApiError> {
        if room_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .db
            .run(move |conn| rooms::room_snapshots(conn, &room_ids))
            .await?)
    }
}

impl Chat {
    /// The caller's unread baseline in each of `room_ids` (rooms its stream shows it), counted
    /// up to each room's `last_seq` in one statement, so that the stream adds the messages
    /// after it exactly once.
    pub async fn unread_baselines(
        &self,
        caller: &Caller,
        room_ids: Vec<RoomId>,
    ) -> Result<Vec<UnreadBaseline>, ApiError> {
        let user_id = caller.user_id.clone();
        Ok(self
            .db
            .run(move |conn| members::unread_baselines(conn, &user_id, &room_ids))
            .await?)
    }
}
