//! Reading a room by id or by order: below the room's changes and its timeline, which both
//! read the room as it is now (the timeline puts it in each `room` frame).

use diesel::prelude::*;
use room_chats_types::RoomDto;

use crate::rows::RoomRow;
use crate::schema::{chat_rooms, orders, rooms_awaiting_staff};
use crate::{DbConnection, StoreError};

/// Looks a room up by id.
pub fn find_room(conn: &mut DbConnection, room_id: i64) -> Result<Option<RoomDto>, StoreError> {
    let row = chat_rooms::table
        .inner_join(orders::table)
        .left_join(rooms_awaiting_staff::table)
        .filter(chat_rooms::id.eq(room_id))
        .select(RoomRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Into::into))
}

/// Looks rooms up by id; those that do not exist are left out.
pub(crate) fn find_rooms(
    conn: &mut DbConnection,
    room_ids: &[i64],
) -> Result<Vec<RoomDto>, StoreError> {
    let rows: Vec<RoomRow> = chat_rooms::table
        .inner_join(orders::table)
        .left_join(rooms_awaiting_staff::table)
        .filter(chat_rooms::id.eq_any(room_ids))
        .select(RoomRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Looks the room of an order up.
pub fn find_room_by_order(
    conn: &mut DbConnection,
    order_id: &str,
) -> Result<Option<RoomDto>, StoreError> {
    let row = chat_rooms::table
        .inner_join(orders::table)
        .left_join(rooms_awaiting_staff::table)
        .filter(chat_rooms::order_id.eq(order_id))
        .select(RoomRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Into::into))
}
