//! Row structs and their conversion to wire types. They never leave this crate.

use diesel::prelude::*;
use room_chats_types::{MessageDto, OrderDto, Role, RoomDto, RoomStatus};

use crate::schema::{chat_rooms, messages, orders};
use crate::time::to_datetime;

/// A room joined with its order.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = chat_rooms)]
pub(crate) struct RoomRow {
    id: i64,
    order_id: String,
    status: String,
    last_seq: i64,
    created_at: i64,
    last_activity_at: i64,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    #[diesel(select_expression = orders::reference)]
    reference: Option<String>,
    #[diesel(select_expression = orders::customer_id)]
    customer_id: String,
}

impl RoomRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn last_activity_micros(&self) -> i64 {
        self.last_activity_at
    }
}

impl From<RoomRow> for RoomDto {
    fn from(row: RoomRow) -> Self {
        Self {
            id: row.id,
            order_id: row.order_id,
            order_reference: row.reference,
            customer_id: row.customer_id,
            // The CHECK constraint admits only the two spellings.
            status: RoomStatus::parse(&row.status).unwrap_or(RoomStatus::Closed),
            last_seq: row.last_seq,
            created_at: to_datetime(row.created_at),
            last_activity_at: to_datetime(row.last_activity_at),
            closed_at: row.closed_at.map(to_datetime),
            closed_by: row.closed_by,
        }
    }
}

/// A stored message.
#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = messages)]
pub(crate) struct MessageRow {
    id: i64,
    room_id: i64,
    seq: i64,
    sender_id: String,
    sender_role: String,
    content: String,
    client_id: Option<String>,
    created_at: i64,
}

impl From<MessageRow> for MessageDto {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            room_id: row.room_id,
            seq: row.seq,
            sender_id: row.sender_id,
            // The CHECK constraint admits only client and admin.
            sender_role: Role::parse(&row.sender_role).unwrap_or(Role::Client),
            content: row.content,
            client_id: row.client_id,
            created_at: to_datetime(row.created_at),
        }
    }
}

/// A stored order.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub(crate) struct OrderRow {
    pub(crate) id: String,
    pub(crate) customer_id: String,
    pub(crate) reference: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<OrderRow> for OrderDto {
    fn from(row: OrderRow) -> Self {
        Self {
            order_id: row.id,
            customer_id: row.customer_id,
            reference: row.reference,
            created_at: to_datetime(row.created_at),
            updated_at: to_datetime(row.updated_at),
        }
    }
}
