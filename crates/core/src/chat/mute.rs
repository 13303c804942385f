//! Muting a room: the caller's own notification setting of it.

use room_chats_store::members;
use room_chats_types::RoomNotificationsDto;

use super::{Chat, VisibleRoom};
use crate::error::ApiError;

impl Chat {
    /// The caller's notification setting of a room it may see.
    pub async fn room_notifications(
        &self,
        room: &VisibleRoom,
    ) -> Result<RoomNotificationsDto, ApiError> {
        let (room_id, user) = (room.id(), room.caller().user_id.clone());
        let muted = self
            .db
            .run(move |conn| members::is_muted(conn, room_id, &user))
            .await?;
        Ok(RoomNotificationsDto { room_id, muted })
    }

    /// Mutes or unmutes a room the caller may see, for the caller alone.
    pub async fn set_room_muted(
        &self,
        room: &VisibleRoom,
        muted: bool,
    ) -> Result<RoomNotificationsDto, ApiError> {
        let (room_id, user, role) = (room.id(), room.caller().user_id.clone(), room.caller().role);
        let muted = self
            .db
            .run(move |conn| members::set_muted(conn, room_id, &user, role, muted))
            .await?;
        Ok(RoomNotificationsDto { room_id, muted })
    }
}
