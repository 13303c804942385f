//! Chat rooms: one per order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::schema::{ExternalId, RoomCursor, RoomSearchText};
use crate::spelling::UnknownSpelling;
use crate::{MessageDto, Role, RoomId, Seq};

/// Whether a room accepts new messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    /// Members may write.
    Open,
    /// Read-only until an admin reopens it.
    Closed,
}

impl RoomStatus {
    /// The status as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for RoomStatus {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("room status", value, Self::parse)
    }
}

/// Who a room waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitingFor {
    /// The customer spoke last and no staff member has answered since.
    Staff,
    /// Staff spoke last; the customer has not written since.
    Customer,
}

impl WaitingFor {
    /// The spelling as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Customer => "customer",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staff" => Some(Self::Staff),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }

    /// Whom a room waits for once a message of `sender` is its newest.
    pub fn after_message_of(sender: Role) -> Self {
        match sender {
            Role::Client => Self::Staff,
            // Only clients and admins write messages.
            Role::Admin | Role::Service => Self::Customer,
        }
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for WaitingFor {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("waiting party", value, Self::parse)
    }
}

/// Whom a room waits for, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Waiting {
    /// `staff`: the customer spoke last and no staff member answered since; `customer`: staff
    /// spoke last.
    #[serde(rename = "for")]
    pub party: WaitingFor,
    /// When it began: the first message of the side that is waiting, since the other side last
    /// spoke.
    pub since: DateTime<Utc>,
}

/// Which response-time target a room's clock measures against (`SLA_FIRST_RESPONSE_SECS`,
/// `SLA_NEXT_RESPONSE_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseClock {
    /// The customer's first message since the room opened (or reopened) waits for an answer.
    FirstResponse,
    /// The customer wrote again after staff had answered.
    NextResponse,
}

impl ResponseClock {
    /// Both clocks.
    pub const ALL: [Self; 2] = [Self::FirstResponse, Self::NextResponse];

    /// The spelling as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|clock| clock.as_str() == value)
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for ResponseClock {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("response clock", value, Self::parse)
    }
}

/// The running response-time clock of a room waiting for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaClock {
    /// The target it runs against.
    pub clock: ResponseClock,
    /// When it started: `waiting.since`.
    pub started_at: DateTime<Utc>,
    /// When the target is missed (counted in business hours when they are set); null when no
    /// target is set for this clock, for the first second after it started (the sweep sets
    /// it), and for rooms that were waiting before the service had targets.
    pub due_at: Option<DateTime<Utc>>,
    /// When the service noticed the miss (a `sla_breached` room event, the
    /// `room.sla_breached` webhook); null while the target can still be met.
    pub breached_at: Option<DateTime<Utc>>,
}

/// A chat room and the order it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomDto {
    /// Room id, used in every `/chat/{room_id}` path.
    pub id: RoomId,
    /// The order this room is about.
    pub order_id: String,
    /// The order's human-readable reference.
    pub order_reference: Option<String>,
    /// The order's customer.
    pub customer_id: String,
    /// Open or closed.
    pub status: RoomStatus,
    /// Seq of the newest entry of the room's timeline (a message or a room event); 0 when
    /// there is none.
    pub last_seq: Seq,
    /// When the room was created.
    pub created_at: DateTime<Utc>,
    /// Time of the newest message (or of creation, closing, reopening).
    pub last_activity_at: DateTime<Utc>,
    /// When the room was closed, if it is closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it, if staff closed it.
    pub closed_by: Option<String>,
    /// The policy that closed it, if it closed itself (`closed_by` is then null): the
    /// customer's next message reopens such a room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_policy: Option<ClosePolicy>,
    /// The customer's rating, once given (`POST /chat/{room_id}/rating`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingDto>,
    /// Whom the room waits for and since when; `null` when it waits for no one (nothing said
    /// yet, or closed). Rooms stored before this field existed show it from their next
    /// message.
    pub waiting: Option<Waiting>,
    /// The response-time clock, while the room waits for staff (`waiting.for` = `staff`);
    /// null otherwise. Part of the room as every member reads it, as `waiting` is (a customer
    /// app may say by when an answer is due); the `sla_breached` event goes to staff only.
    #[serde(default)]
    pub sla: Option<SlaClock>,
}

/// The customer's satisfaction with a closed room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingDto {
    /// 1 (bad) to 5 (very good).
    #[schema(minimum = 1, maximum = 5)]
    pub score: i16,
    /// What the customer added, if anything.
    pub comment: Option<String>,
    /// When the customer rated.
    pub at: DateTime<Utc>,
}

/// Body of `POST /chat/{room_id}/rating`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// 1 (bad) to 5 (very good).
    #[serde(deserialize_with = "crate::whole::int")]
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    /// Optional words.
    #[schema(value_type = Option<crate::schema::RatingComment>)]
    pub comment: Option<String>,
}

/// Why a room closed itself (`AUTO_CLOSE_IDLE_HOURS`, `AUTO_CLOSE_AFTER_ORDER_HOURS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosePolicy {
    /// No one wrote for the idle time, and the customer was not waiting for staff.
    Idle,
    /// Its order was delivered or cancelled that long ago, and the room was idle since.
    OrderDone,
}

impl ClosePolicy {
    /// The policy as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::OrderDone => "order_done",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Idle, Self::OrderDone]
            .into_iter()
            .find(|policy| policy.as_str() == value)
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for ClosePolicy {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("close policy", value, Self::parse)
    }
}

/// A room in the caller's list, with what the list view needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomSummaryDto {
    /// The room.
    #[serde(flatten)]
    pub room: RoomDto,
    /// The newest message, for a preview.
    pub last_message: Option<MessageDto>,
    /// Messages of others after the caller's read marker (room events and the caller's own
    /// messages do not count).
    pub unread: i64,
    /// User ids of the admins assigned to the room.
    pub assigned_admins: Vec<String>,
}

/// A page of rooms, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomPage {
    /// The rooms.
    pub items: Vec<RoomSummaryDto>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Someone taking part in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberDto {
    /// The member's user id.
    pub user_id: String,
    /// Display name from the member's latest token, if it carried one.
    pub name: Option<String>,
    /// Client or admin.
    pub role: Role,
    /// Whether an admin is assigned to handle this room.
    pub assigned: bool,
    /// The highest seq this member has read.
    pub last_read_seq: Seq,
}

/// Everything a chat screen needs on open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomDetailDto {
    /// The room.
    #[serde(flatten)]
    pub room: RoomDto,
    /// Everyone who has taken part or is assigned.
    pub members: Vec<MemberDto>,
    /// Messages of others after the caller's read marker (room events and the caller's own
    /// messages do not count).
    pub unread: i64,
    /// The newest messages, oldest first.
    pub messages: Vec<MessageDto>,
    /// Whether older messages exist than those in `messages`.
    pub has_more: bool,
}

/// Which rooms an admin's list shows by assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignedFilter {
    /// Rooms the caller is assigned to.
    Me,
    /// Rooms no admin is assigned to.
    None,
}

/// Which rooms a list shows by whom they wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitingFilter {
    /// Rooms whose customer spoke last and got no answer yet.
    Staff,
    /// Rooms where staff spoke last.
    Customer,
    /// Rooms that wait for no one: nothing said yet, or closed.
    None,
}

impl WaitingFilter {
    /// Whom the rooms it keeps wait for: `None` for no one.
    pub fn party(self) -> Option<WaitingFor> {
        match self {
            Self::Staff => Some(WaitingFor::Staff),
            Self::Customer => Some(WaitingFor::Customer),
            Self::None => None,
        }
    }
}

/// The order of a room list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomSort {
    /// Newest activity first.
    #[default]
    Activity,
    /// Only rooms waiting for staff, the one waiting longest first (by `waiting.since`).
    WaitingLongest,
}

/// Query of `GET /chat/`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomListQuery {
    /// Only rooms with this status.
    pub status: Option<RoomStatus>,
    /// Admins only: `me` for rooms assigned to the caller, `none` for unassigned rooms.
    pub assigned: Option<AssignedFilter>,
    /// `staff` for rooms whose customer waits for an answer, `customer` for rooms where staff
    /// spoke last, `none` for rooms that wait for no one (the room's `waiting`).
    pub waiting: Option<WaitingFilter>,
    /// Only the room of this order.
    #[param(value_type = Option<ExternalId>)]
    pub order_id: Option<String>,
    /// Rooms whose order id, order reference, customer id or customer display name holds this
    /// text (any part, any case); on Postgres also customers whose name is close to it (a
    /// typo). Newest activity first, like the rest of the list.
    #[param(value_type = Option<RoomSearchText>)]
    pub q: Option<String>,
    /// `activity` (default): newest activity first. `waiting_longest`: only rooms waiting for
    /// staff, the one waiting longest first; with `waiting`, only `staff` is allowed. A cursor
    /// pages the order it was issued for.
    pub sort: Option<RoomSort>,
    /// Page size, 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<RoomCursor>)]
    pub cursor: Option<String>,
}

/// `PUT /chat/{room_id}/notifications`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomNotificationsBody {
    /// `true`: no notification (`notification.due`, Web Push) of this room's messages for
    /// the caller. Live frames and unread counts are not affected.
    pub muted: bool,
}

/// The caller's notification setting of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomNotificationsDto {
    /// The room.
    pub room_id: RoomId,
    /// Whether the caller muted it.
    pub muted: bool,
}
