//! Row structs and their conversion to wire types. They never leave this crate.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::prelude::*;
use diesel::sql_types::Text;
use room_chats_types::spelling::UnknownSpelling;
use room_chats_types::{MessageDto, OrderDto, Role, RoomDto, RoomStatus};

use crate::schema::{chat_rooms, messages, orders};
use crate::time::to_datetime;

/// An enum stored as its spelling (`role`, `status`), read back strictly: a value this build
/// does not know fails the query rather than turning into some default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spelled<T>(pub(crate) T);

impl<T, DB> FromSql<Text, DB> for Spelled<T>
where
    DB: Backend,
    String: FromSql<Text, DB>,
    T: TryFrom<String, Error = UnknownSpelling>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let spelling = String::from_sql(bytes)?;
        Ok(Self(T::try_from(spelling)?))
    }
}

/// Lets a row field be read as `Spelled<T>` (Diesel implements this for its own types only).
impl<T, DB> Queryable<Text, DB> for Spelled<T>
where
    DB: Backend,
    Self: FromSql<Text, DB>,
{
    type Row = Self;

    fn build(row: Self) -> deserialize::Result<Self> {
        Ok(row)
    }
}

/// A list of enums stored as comma-separated spellings (webhook event types), read back
/// strictly like [`Spelled`]: one spelling this build does not know fails the query, naming it.
#[derive(Debug, Clone)]
pub(crate) struct SpelledList<T>(pub(crate) Vec<T>);

impl<T, DB> FromSql<Text, DB> for SpelledList<T>
where
    DB: Backend,
    String: FromSql<Text, DB>,
    T: TryFrom<String, Error = UnknownSpelling>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let stored = String::from_sql(bytes)?;
        let list = stored
            .split(',')
            .map(str::trim)
            .filter(|spelling| !spelling.is_empty())
            .map(|spelling| T::try_from(spelling.to_owned()))
            .collect::<Result<_, _>>()?;
        Ok(Self(list))
    }
}

impl<T, DB> Queryable<Text, DB> for SpelledList<T>
where
    DB: Backend,
    Self: FromSql<Text, DB>,
{
    type Row = Self;

    fn build(row: Self) -> deserialize::Result<Self> {
        Ok(row)
    }
}

impl<T> From<SpelledList<T>> for Vec<T> {
    fn from(list: SpelledList<T>) -> Self {
        list.0
    }
}

impl From<Spelled<Role>> for Role {
    fn from(spelled: Spelled<Role>) -> Self {
        spelled.0
    }
}

impl From<Spelled<RoomStatus>> for RoomStatus {
    fn from(spelled: Spelled<RoomStatus>) -> Self {
        spelled.0
    }
}

/// A room joined with its order.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = chat_rooms)]
pub(crate) struct RoomRow {
    id: i64,
    order_id: String,
    #[diesel(deserialize_as = Spelled<RoomStatus>)]
    status: RoomStatus,
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
            status: row.status,
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
    #[diesel(deserialize_as = Spelled<Role>)]
    sender_role: Role,
    content: String,
    client_id: Option<String>,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    deleted_by: Option<String>,
    attachments: Option<String>,
}

impl From<MessageRow> for MessageDto {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            room_id: row.room_id,
            seq: row.seq,
            sender_id: row.sender_id,
            sender_role: row.sender_role,
            content: row.content,
            client_id: row.client_id,
            created_at: to_datetime(row.created_at),
            edited_at: row.edited_at.map(to_datetime),
            deleted_at: row.deleted_at.map(to_datetime),
            deleted_by: row.deleted_by,
            attachments: row
                .attachments
                .as_deref()
                .map(parse_attachments)
                .unwrap_or_default(),
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

/// A message's stored attachment list. Written by this service only; a row it cannot read is
/// shown without its files rather than failing the whole read.
fn parse_attachments(json: &str) -> Vec<room_chats_types::AttachmentDto> {
    serde_json::from_str(json).unwrap_or_else(|error| {
        tracing::warn!(%error, "a message's attachment list is unreadable");
        Vec::new()
    })
}
