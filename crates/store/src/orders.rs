//! Orders, registered by the main platform.

use diesel::prelude::*;
use room_chats_types::OrderDto;
use room_chats_types::frames::{RoomChange, ServerFrame};

use crate::connection::write_transaction;
use crate::error::is_unique_violation;
use crate::rows::OrderRow;
use crate::schema::{chat_rooms, orders, room_members};
use crate::time::now_micros;
use crate::timeline::append_room_event;
use crate::{DbConnection, StoreError};

/// Whether an upsert created the order or changed an existing one.
#[derive(Debug, Clone, PartialEq)]
pub enum Upsert {
    /// The order was new.
    Created,
    /// The order existed (and now has the given values).
    Updated {
        /// The `order_changed` event of its room, if it has one and something changed.
        event: Option<ServerFrame>,
    },
    /// The order moved to another customer; the previous one lost access to its room, if it
    /// has one (whose live connections must end).
    CustomerChanged {
        /// The order's room.
        room_id: Option<i64>,
        /// Who the order belonged to before.
        previous_customer: String,
        /// The `order_changed` event of its room, if it has one.
        event: Option<ServerFrame>,
    },
}

/// Creates or updates an order. When the customer changes, the previous customer's membership
/// of the order's room is removed with it, so it no longer appears among the members.
pub fn upsert_order(
    conn: &mut DbConnection,
    order_id: &str,
    customer_id: &str,
    reference: Option<&str>,
) -> Result<(OrderDto, Upsert), StoreError> {
    match try_upsert_order(conn, order_id, customer_id, reference) {
        // Two callers created the same new order at once: the loser now finds it and updates.
        Err(StoreError::Query(error)) if is_unique_violation(&error) => {
            try_upsert_order(conn, order_id, customer_id, reference)
        }
        other => other,
    }
}

fn try_upsert_order(
    conn: &mut DbConnection,
    order_id: &str,
    customer_id: &str,
    reference: Option<&str>,
) -> Result<(OrderDto, Upsert), StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let existing = orders::table
            .find(order_id)
            .select(OrderRow::as_select())
            .first(conn)
            .optional()?;
        let Some(existing) = existing else {
            let row = diesel::insert_into(orders::table)
                .values((
                    orders::id.eq(order_id),
                    orders::customer_id.eq(customer_id),
                    orders::reference.eq(reference),
                    orders::created_at.eq(now),
                    orders::updated_at.eq(now),
                ))
                .returning(orders::all_columns)
                .get_result::<OrderRow>(conn)?;
            return Ok((row.into(), Upsert::Created));
        };
        if existing.customer_id == customer_id && existing.reference.as_deref() == reference {
            return Ok((existing.into(), Upsert::Updated { event: None }));
        }
        let room_id = chat_rooms::table
            .filter(chat_rooms::order_id.eq(order_id))
            .select(chat_rooms::id)
            .first::<i64>(conn)
            .optional()?;
        let customer_changed = existing.customer_id != customer_id;
        if customer_changed && let Some(room_id) = room_id {
            diesel::delete(
                room_members::table
                    .filter(room_members::room_id.eq(room_id))
                    .filter(room_members::role.eq("client")),
            )
            .execute(conn)?;
        }
        let row = diesel::update(orders::table.find(order_id))
            .set((
                orders::customer_id.eq(customer_id),
                orders::reference.eq(reference),
                orders::updated_at.eq(now),
            ))
            .returning(orders::all_columns)
            .get_result::<OrderRow>(conn)?;
        // The room's timeline records it, with the room as it is now: its members see the new
        // reference or customer, and room lists and inbox catch-ups see activity.
        let event = room_id
            .map(|room_id| append_room_event(conn, room_id, RoomChange::OrderChanged, None))
            .transpose()?;
        let upsert = if customer_changed {
            Upsert::CustomerChanged {
                room_id,
                previous_customer: existing.customer_id,
                event,
            }
        } else {
            Upsert::Updated { event }
        };
        Ok((row.into(), upsert))
    })
}

/// Looks an order up.
pub fn find_order(conn: &mut DbConnection, order_id: &str) -> Result<Option<OrderDto>, StoreError> {
    let row = orders::table
        .find(order_id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Into::into))
}
