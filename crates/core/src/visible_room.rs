//! The proof that a caller may see a room, and the one check that makes it.

use room_chats_store::{Database, rooms};
use room_chats_types::{RoomDto, RoomId};

use crate::access::{may_see, require_chat_role};
use crate::auth::Caller;
use crate::error::ApiError;

/// A room and a caller checked to see it. Only the access check ([`VisibleRoom::check`],
/// which `Chat::visible_room` and the attachment use cases call) and opening an order's room
/// make one, and every use case that acts on a room takes one: none can read a room's
/// messages, write to it or make anyone its member without the check having run for that
/// caller.
///
/// What it says of the room is as of the check. The rules that can change meanwhile are
/// decided again where it matters: the store refuses a message of a customer who lost the
/// order, and closedness is read with the room locked.
#[derive(Debug, Clone)]
pub struct VisibleRoom {
    caller: Caller,
    room: RoomDto,
}

impl VisibleRoom {
    /// Loads a room the caller may see: every room access starts here. A room of someone
    /// else's order answers exactly like a room that does not exist, so room ids cannot be
    /// probed.
    pub async fn check(db: &Database, caller: &Caller, room_id: RoomId) -> Result<Self, ApiError> {
        require_chat_role(caller)?;
        let room = db.run(move |conn| rooms::find_room(conn, room_id)).await?;
        room.and_then(|room| Self::checked(caller.clone(), room))
            .ok_or(ApiError::NotFound("room"))
    }

    /// A room `caller` may see, as just read or made by a use case; `None` when it may not.
    pub(crate) fn checked(caller: Caller, room: RoomDto) -> Option<Self> {
        may_see(&caller, &room.customer_id).then_some(Self { caller, room })
    }

    /// The room's id.
    pub fn id(&self) -> RoomId {
        self.room.id
    }

    /// The room as of the check.
    pub fn room(&self) -> &RoomDto {
        &self.room
    }

    /// Who was checked.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The room as of the check, for an answer.
    pub fn into_room(self) -> RoomDto {
        self.room
    }

    /// The room's order moved to customer `customer_id`: whether the caller still sees it.
    /// A caller that does not must stop acting on the room (a live session closes).
    pub fn moved_to(&mut self, customer_id: &str) -> bool {
        self.room.customer_id = customer_id.to_owned();
        may_see(&self.caller, customer_id)
    }
}
