//! What happened to an order (paid, shipped, delivered …), as the platform reports it: kept as
//! the order's status, listed per order, and — when the order has a room — an entry of the
//! room's timeline that both sides see, with its webhook.

use diesel::prelude::*;
use room_chats_types::frames::ServerFrame;
use room_chats_types::{OrderEventDto, OrderStatus};

use crate::connection::write_transaction;
use crate::error::is_unique_violation;
use crate::rows::Spelled;
use crate::schema::{chat_rooms, order_events, orders};
use crate::time::{StoredTime, now_micros, to_datetime};
use crate::timeline::{append_event, lock_room};
use crate::{DbConnection, StoreError};

/// An order event to record (checked by the caller).
#[derive(Debug, Clone, Copy)]
pub struct NewOrderEvent<'a> {
    /// The order.
    pub order_id: &'a str,
    /// What happened.
    pub status: OrderStatus,
    /// A line for both sides.
    pub text: Option<&'a str>,
    /// A tracking link.
    pub tracking_url: Option<&'a str>,
    /// The platform's id of the event, for retries.
    pub event_id: Option<&'a str>,
}

/// What recording an order event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A new event; `frame` is its timeline entry to announce, when the order has a room.
    New {
        /// The event.
        event: OrderEventDto,
        /// Its `order_event` frame (boxed: it holds the event again).
        frame: Option<Box<ServerFrame>>,
    },
    /// The platform sent this `event_id` before: the event as first recorded, nothing new.
    Replayed(OrderEventDto),
}

/// Records an order event: the order's status, the event's row, and its entry in the order's
/// room (if the customer opened one), in one transaction. `NotFound` for an unknown order.
pub fn record_order_event(
    conn: &mut DbConnection,
    new: &NewOrderEvent<'_>,
) -> Result<Recorded, StoreError> {
    match try_record(conn, new) {
        // The same `event_id` twice at once: the loser finds the winner's row.
        Err(StoreError::Query(error)) if is_unique_violation(&error) => try_record(conn, new),
        other => other,
    }
}

fn try_record(conn: &mut DbConnection, new: &NewOrderEvent<'_>) -> Result<Recorded, StoreError> {
    write_transaction(conn, |conn| {
        if let Some(event) = recorded_before(conn, new)? {
            return Ok(Recorded::Replayed(event));
        }
        let now = now_micros();
        // The order's row first, as `orders::upsert_order` takes it before the room's: two
        // changes of one order never wait for each other's rows in opposite orders.
        let known = diesel::update(orders::table.find(new.order_id))
            .set((
                orders::status.eq(Some(new.status.as_str())),
                orders::status_at.eq(Some(now)),
            ))
            .execute(conn)?;
        if known == 0 {
            return Err(StoreError::NotFound);
        }
        let room_id: Option<i64> = chat_rooms::table
            .filter(chat_rooms::order_id.eq(new.order_id))
            .select(chat_rooms::id)
            .first(conn)
            .optional()?;
        let mut event = OrderEventDto {
            order_id: new.order_id.to_owned(),
            status: new.status,
            text: new.text.map(str::to_owned),
            tracking_url: new.tracking_url.map(str::to_owned),
            event_id: new.event_id.map(str::to_owned),
            at: to_datetime(now)?,
            room_id,
            seq: None,
        };
        let frame = match room_id {
            Some(room_id) => {
                // As every timeline change: the room's lock first, then the next seq.
                lock_room(conn, room_id)?;
                let frame = append_event(conn, room_id, "order_event", None, |_, seq| {
                    event.seq = Some(seq);
                    Ok(ServerFrame::OrderEvent {
                        seq,
                        order_event: event.clone(),
                    })
                })?;
                Some(Box::new(frame))
            }
            None => None,
        };
        diesel::insert_into(order_events::table)
            .values((
                order_events::order_id.eq(new.order_id),
                order_events::status.eq(new.status.as_str()),
                order_events::text.eq(new.text),
                order_events::tracking_url.eq(new.tracking_url),
                order_events::event_id.eq(new.event_id),
                order_events::created_at.eq(now),
                order_events::room_id.eq(room_id),
                order_events::seq.eq(event.seq),
            ))
            .execute(conn)?;
        Ok(Recorded::New { event, frame })
    })
}

/// The event recorded before under the same `event_id` of the order, if any.
fn recorded_before(
    conn: &mut DbConnection,
    new: &NewOrderEvent<'_>,
) -> Result<Option<OrderEventDto>, StoreError> {
    let Some(event_id) = new.event_id else {
        return Ok(None);
    };
    let row: Option<EventRow> = order_events::table
        .filter(order_events::order_id.eq(new.order_id))
        .filter(order_events::event_id.eq(event_id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Into::into))
}

/// A stored order event.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = order_events)]
struct EventRow {
    order_id: String,
    #[diesel(deserialize_as = Spelled<OrderStatus>)]
    status: OrderStatus,
    text: Option<String>,
    tracking_url: Option<String>,
    event_id: Option<String>,
    #[diesel(deserialize_as = StoredTime)]
    created_at: chrono::DateTime<chrono::Utc>,
    room_id: Option<i64>,
    seq: Option<i64>,
}

impl From<EventRow> for OrderEventDto {
    fn from(row: EventRow) -> Self {
        Self {
            order_id: row.order_id,
            status: row.status,
            text: row.text,
            tracking_url: row.tracking_url,
            event_id: row.event_id,
            at: row.created_at,
            room_id: row.room_id,
            seq: row.seq,
        }
    }
}
