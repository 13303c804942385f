//! Row structs and their conversion to wire types. They never leave this crate.

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, SingleValue, SqlType, Text};
use room_chats_types::spelling::UnknownSpelling;
use room_chats_types::{
    AttachmentDto, ClosePolicy, MessageDto, OrderDto, OrderStatus, RatingDto, ResponseClock, Role,
    RoomDto, RoomStatus, SlaClock, Waiting, WaitingFor,
};
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::read_through::read_through_from_sql;
use crate::schema::{chat_rooms, messages, orders, rooms_awaiting_staff};
use crate::time::StoredTime;

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

read_through_from_sql!(impl<T> Spelled<T> as Text);

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

read_through_from_sql!(impl<T> SpelledList<T> as Text);

impl<T> From<SpelledList<T>> for Vec<T> {
    fn from(list: SpelledList<T>) -> Self {
        list.0
    }
}

/// A nullable column read strictly as `T` when it holds a value: `NULL` is `None`, a value
/// `T` cannot read fails the query.
#[derive(Debug, Clone)]
pub(crate) struct OrNone<T>(pub(crate) Option<T>);

impl<T, ST, DB> FromSql<Nullable<ST>, DB> for OrNone<T>
where
    DB: Backend,
    T: FromSql<ST, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        T::from_sql(bytes).map(|value| Self(Some(value)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        bytes.map_or(Ok(Self(None)), Self::from_sql)
    }
}

read_through_from_sql!(impl<T, ST> OrNone<T> as Nullable<ST> where ST: SqlType + SingleValue);

impl<T> From<OrNone<Spelled<T>>> for Option<T> {
    fn from(spelled: OrNone<Spelled<T>>) -> Self {
        spelled.0.map(|value| value.0)
    }
}

impl From<OrNone<StoredTime>> for Option<DateTime<Utc>> {
    fn from(time: OrNone<StoredTime>) -> Self {
        time.0.map(DateTime::from)
    }
}

impl From<OrNone<StoredJson<Vec<AttachmentDto>>>> for Option<Vec<AttachmentDto>> {
    fn from(json: OrNone<StoredJson<Vec<AttachmentDto>>>) -> Self {
        json.0.map(Vec::from)
    }
}

/// JSON stored as text by this service, read back strictly: text that does not parse as `T`
/// fails the query, naming why.
#[derive(Debug, Clone)]
pub(crate) struct StoredJson<T>(pub(crate) T);

impl<T, DB> FromSql<Text, DB> for StoredJson<T>
where
    DB: Backend,
    String: FromSql<Text, DB>,
    T: DeserializeOwned,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        serde_json::from_str(&text).map(Self).map_err(|error| {
            StoreError::Unreadable(format!("stored JSON does not parse: {error}")).into()
        })
    }
}

read_through_from_sql!(impl<T> StoredJson<T> as Text);

impl From<StoredJson<Vec<AttachmentDto>>> for Vec<AttachmentDto> {
    fn from(json: StoredJson<Vec<AttachmentDto>>) -> Self {
        json.0
    }
}

impl From<Spelled<ResponseClock>> for ResponseClock {
    fn from(spelled: Spelled<ResponseClock>) -> Self {
        spelled.0
    }
}

impl From<Spelled<Role>> for Role {
    fn from(spelled: Spelled<Role>) -> Self {
        spelled.0
    }
}

impl From<Spelled<ClosePolicy>> for ClosePolicy {
    fn from(spelled: Spelled<ClosePolicy>) -> Self {
        spelled.0
    }
}

impl From<Spelled<OrderStatus>> for OrderStatus {
    fn from(spelled: Spelled<OrderStatus>) -> Self {
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
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
    #[diesel(deserialize_as = StoredTime)]
    last_activity_at: DateTime<Utc>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    closed_at: Option<DateTime<Utc>>,
    closed_by: Option<String>,
    #[diesel(deserialize_as = OrNone<Spelled<ClosePolicy>>)]
    closed_by_policy: Option<ClosePolicy>,
    #[diesel(embed)]
    rating: RatingRow,
    #[diesel(deserialize_as = OrNone<Spelled<WaitingFor>>)]
    waiting_for: Option<WaitingFor>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    waiting_since: Option<DateTime<Utc>>,
    #[diesel(select_expression = orders::reference)]
    reference: Option<String>,
    #[diesel(select_expression = orders::customer_id)]
    customer_id: String,
    #[diesel(embed)]
    clock: ClockRow,
}

/// The customer's rating of a room, if given.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = chat_rooms)]
pub(crate) struct RatingRow {
    rating_score: Option<i16>,
    rating_comment: Option<String>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    rated_at: Option<DateTime<Utc>>,
}

/// A room's response clock: every query of rooms left-joins `rooms_awaiting_staff`, so each
/// column may be NULL (the room does not wait for staff).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = rooms_awaiting_staff)]
pub(crate) struct ClockRow {
    #[diesel(select_expression = rooms_awaiting_staff::clock.nullable())]
    #[diesel(deserialize_as = OrNone<Spelled<ResponseClock>>)]
    clock: Option<ResponseClock>,
    #[diesel(select_expression = rooms_awaiting_staff::due_at.nullable())]
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(select_expression = rooms_awaiting_staff::breached_at.nullable())]
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    breached_at: Option<DateTime<Utc>>,
}

impl RoomRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn last_activity_micros(&self) -> i64 {
        self.last_activity_at.timestamp_micros()
    }

    pub(crate) fn waiting_since_micros(&self) -> Option<i64> {
        self.waiting_since.map(|since| since.timestamp_micros())
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
            created_at: row.created_at,
            last_activity_at: row.last_activity_at,
            closed_at: row.closed_at,
            closed_by: row.closed_by,
            closed_by_policy: row.closed_by_policy,
            rating: row
                .rating
                .rating_score
                .zip(row.rating.rated_at)
                .map(|(score, at)| RatingDto {
                    score,
                    comment: row.rating.rating_comment,
                    at,
                }),
            waiting: row
                .waiting_for
                .zip(row.waiting_since)
                .map(|(party, since)| Waiting { party, since }),
            sla: row
                .clock
                .clock
                .zip(row.waiting_since)
                .map(|(clock, started_at)| SlaClock {
                    clock,
                    started_at,
                    due_at: row.clock.due_at,
                    breached_at: row.clock.breached_at,
                }),
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
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    edited_at: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    deleted_at: Option<DateTime<Utc>>,
    deleted_by: Option<String>,
    /// `NULL` when the message has no files.
    #[diesel(deserialize_as = OrNone<StoredJson<Vec<AttachmentDto>>>)]
    attachments: Option<Vec<AttachmentDto>>,
    note: bool,
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
            created_at: row.created_at,
            edited_at: row.edited_at,
            deleted_at: row.deleted_at,
            deleted_by: row.deleted_by,
            attachments: row.attachments.unwrap_or_default(),
            note: row.note,
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
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
    #[diesel(deserialize_as = StoredTime)]
    updated_at: DateTime<Utc>,
    #[diesel(deserialize_as = OrNone<Spelled<OrderStatus>>)]
    status: Option<OrderStatus>,
    #[diesel(deserialize_as = OrNone<StoredTime>)]
    status_at: Option<DateTime<Utc>>,
}

impl From<OrderRow> for OrderDto {
    fn from(row: OrderRow) -> Self {
        Self {
            order_id: row.id,
            customer_id: row.customer_id,
            reference: row.reference,
            created_at: row.created_at,
            updated_at: row.updated_at,
            status: row.status,
            status_at: row.status_at,
        }
    }
}
