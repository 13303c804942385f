//! The rooms of one person — as the customer of their orders, or as a member (staff) — which
//! an export reads and an erasure rewrites.

use diesel::prelude::*;
use room_chats_types::RoomId;

use crate::schema::{chat_rooms, orders, room_members};
use crate::{DbConnection, StoreError};

/// A room of a person's, and how they are in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonsRoom {
    pub room_id: RoomId,
    /// The customer of the room's order (else staff: a member).
    pub as_customer: bool,
}

/// Every room `user_id` is or was in: as the customer of its order, or as a member.
pub fn persons_rooms(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<PersonsRoom>, StoreError> {
    let as_customer: Vec<i64> = chat_rooms::table
        .inner_join(orders::table)
        .filter(orders::customer_id.eq(user_id))
        .select(chat_rooms::id)
        .load(conn)?;
    let as_member: Vec<i64> = room_members::table
        .filter(room_members::user_id.eq(user_id))
        .select(room_members::room_id)
        .load(conn)?;
    let staff_rooms: Vec<i64> = as_member
        .into_iter()
        .filter(|room| !as_customer.contains(room))
        .collect();
    let mut rooms: Vec<PersonsRoom> = staff_rooms
        .into_iter()
        .map(|room_id| PersonsRoom {
            room_id,
            as_customer: false,
        })
        .chain(as_customer.into_iter().map(|room_id| PersonsRoom {
            room_id,
            as_customer: true,
        }))
        .collect();
    rooms.sort_by_key(|room| room.room_id);
    Ok(rooms)
}
