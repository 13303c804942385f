//! Satisfaction: the customer rates a closed room once.

use room_chats_store::rooms;
use room_chats_types::rules::{MAX_RATING_COMMENT_CHARS, check_content};
use room_chats_types::{RatingBody, Role, RoomDto};

use super::{Announcement, Chat, VisibleRoom};
use crate::error::ApiError;

impl Chat {
    /// Records the room's customer's rating (1 to 5, an optional comment) of the closed room,
    /// once: a `rated` event both sides see, and the `room.rated` webhook. The room as rated.
    pub async fn rate_room(
        &self,
        room: &VisibleRoom,
        body: RatingBody,
    ) -> Result<RoomDto, ApiError> {
        if room.caller().role != Role::Client {
            return Err(ApiError::Forbidden("only the room's customer rates it"));
        }
        let RatingBody { score, comment } = body;
        let score = i16::try_from(score)
            .ok()
            .filter(|score| (1..=5).contains(score))
            .ok_or_else(|| ApiError::Validation("score must be between 1 and 5".to_owned()))?;
        if let Some(comment) = &comment {
            check_content(comment, MAX_RATING_COMMENT_CHARS)
                .map_err(|why| ApiError::Validation(format!("comment {why}")))?;
        }
        let room_id = room.id();
        let (rated, event) = self
            .db
            .run(move |conn| rooms::rate_room(conn, room_id, score, comment.as_deref()))
            .await?;
        self.announcer.announce(Announcement::RoomEvent {
            room_id,
            frame: &event,
        });
        Ok(rated)
    }
}
