//! The proof that a caller may see a room.

use room_chats_types::{RoomDto, RoomId};

use crate::access::may_see;
use crate::auth::Caller;

/// A room and a caller checked to see it. Only the access check
/// ([`Chat::visible_room`](super::Chat::visible_room)) and opening an order's room make one,
/// and every use case that acts on a room takes one: none can read a room's messages, write
/// to it or make anyone its member without the check having run for that caller.
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
    /// Only the access check calls this, with a room `caller` may see.
    pub(super) fn checked(caller: Caller, room: RoomDto) -> Option<Self> {
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
