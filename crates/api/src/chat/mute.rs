//! Muting a room: the caller's own notification setting of it.

use room_chats_store::members;
use room_chats_types::{RoomId, RoomNotificationsDto};

use super::Chat;
use crate::auth::Caller;
use crate::error::ApiError;

impl Chat {
    /// The caller's notification setting of a room it may see.
    pub async fn room_notifications(
        &self,
        caller: &Caller,
        room_id: RoomId,
    ) -> Result<RoomNotificationsDto, ApiError> {
        let room = self.visible_room(caller, room_id).await?;
        let user = caller.user_id.clone();
        let muted = self
            .db
            .run(move |conn| members::is_muted(conn, room.id, &user))
            .await?;
        Ok(RoomNotificationsDto { room_id, muted })
    }

    /// Mutes or unmutes a room the caller may see, for the caller alone.
    pub async fn set_room_muted(
        &self,
        caller: &Caller,
        room_id: RoomId,
        muted: bool,
    ) -> Result<RoomNotificationsDto, ApiError> {
        let room = self.visible_room(caller, room_id).await?;
        let (user, role) = (caller.user_id.clone(), caller.role);
        let muted = self
            .db
            .run(move |conn| members::set_muted(conn, room.id, &user, role, muted))
            .await?;
        Ok(RoomNotificationsDto { room_id, muted })
    }
}
