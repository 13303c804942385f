//! Chat rooms: one per order.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{
    AssignedFilter, MessageDto, RoomDto, RoomSort, RoomStatus, RoomSummaryDto, WaitingFilter,
};

use crate::connection::write_transaction;
use crate::messages::unread_count;
use crate::outbox::{self, OutboxEvent};
use crate::rows::{MessageRow, RoomRow};
use crate::schema::{chat_rooms, messages, orders, room_members, rooms_awaiting_staff};
use crate::time::{activity_bucket, now_micros};
use crate::timeline::append_room_event;
use crate::{DbConnection, StoreError};

pub use crate::room_lookup::{find_room, find_room_by_order};

/// The last seq of each of `room_ids` that exists: the durable head of their timelines.
pub fn last_seqs(conn: &mut DbConnection, room_ids: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(chat_rooms::table
        .filter(chat_rooms::id.eq_any(room_ids))
        .select((chat_rooms::id, chat_rooms::last_seq))
        .load(conn)?)
}

/// The customer of each of `room_ids`' orders, checked when a client writes: access follows
/// the order's current customer, so a client whose order moved loses it at once.
pub fn customers_of(
    conn: &mut DbConnection,
    room_ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let rows: Vec<(i64, String)> = chat_rooms::table
        .inner_join(orders::table)
        .filter(chat_rooms::id.eq_any(room_ids))
        .select((chat_rooms::id, orders::customer_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Returns the order's room, creating it when there is none yet. The flag says whether it
/// was created by this call. The order must exist.
pub fn create_or_get_room(
    conn: &mut DbConnection,
    order_id: &str,
) -> Result<(RoomDto, bool), StoreError> {
    if let Some(room) = find_room_by_order(conn, order_id)? {
        return Ok((room, false));
    }
    write_transaction(conn, |conn| {
        let now = now_micros();
        let insert = diesel::insert_into(chat_rooms::table)
            .values((
                chat_rooms::order_id.eq(order_id),
                chat_rooms::status.eq(RoomStatus::Open.as_str()),
                chat_rooms::last_seq.eq(0),
                chat_rooms::created_at.eq(now),
                chat_rooms::last_activity_at.eq(now),
                chat_rooms::activity_bucket.eq(activity_bucket(now)),
            ))
            // Another request may create the room first: then this one returns that room.
            .on_conflict(chat_rooms::order_id)
            .do_nothing();
        // Diesel's multi-backend connection has no upsert: run it on the backend itself.
        let inserted = match conn {
            DbConnection::Postgres(pg) => insert.execute(pg),
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite),
        };
        let created = match inserted {
            Ok(rows) => rows == 1,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => return Err(StoreError::NotFound),
            Err(error) => return Err(error.into()),
        };
        let room = find_room_by_order(conn, order_id)?.ok_or(StoreError::NotFound)?;
        if created {
            outbox::record(conn, || Some(OutboxEvent::room_created(&room)))?;
        }
        Ok((room, created))
    })
}

/// Closes or reopens a room, recording the change in its timeline. Setting the status it
/// already has changes nothing: no event (`None`).
pub fn set_room_status(
    conn: &mut DbConnection,
    room_id: i64,
    status: RoomStatus,
    by_user: &str,
) -> Result<(RoomDto, Option<ServerFrame>), StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let room = chat_rooms::table
            .filter(chat_rooms::id.eq(room_id))
            .filter(chat_rooms::status.ne(status.as_str()));
        let (closed_at, closed_by, change) = match status {
            RoomStatus::Closed => (Some(now), Some(by_user), RoomChange::Closed),
            RoomStatus::Open => (None, None, RoomChange::Reopened),
        };
        let changed = diesel::update(room)
            .set((
                chat_rooms::status.eq(status.as_str()),
                chat_rooms::closed_at.eq(closed_at),
                chat_rooms::closed_by.eq(closed_by),
                // Staff's close is staff's: the customer's message does not reopen it.
                chat_rooms::closed_by_policy.eq(None::<&str>),
                chat_rooms::last_activity_at.eq(now),
                chat_rooms::activity_bucket.eq(activity_bucket(now)),
                // Closed, it waits for no one; reopened, for whoever the next message asks.
                chat_rooms::waiting_for.eq(None::<&str>),
                chat_rooms::waiting_since.eq(None::<i64>),
            ))
            .execute(conn)?;
        let event = match changed {
            0 => None,
            _ => Some(append_room_event(conn, room_id, change, None)?),
        };
        let room = find_room(conn, room_id)?.ok_or(StoreError::NotFound)?;
        Ok((room, event))
    })
}

/// Records the customer's rating of a closed room, once, with its `rated` event. `NotFound`
/// for no such room; `Conflict` when the room is open or was rated already.
pub fn rate_room(
    conn: &mut DbConnection,
    room_id: i64,
    score: i16,
    comment: Option<&str>,
) -> Result<(RoomDto, ServerFrame), StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let rated = diesel::update(
            chat_rooms::table
                .find(room_id)
                .filter(chat_rooms::status.eq(RoomStatus::Closed.as_str()))
                .filter(chat_rooms::rating_score.is_null()),
        )
        .set((
            chat_rooms::rating_score.eq(Some(score)),
            chat_rooms::rating_comment.eq(comment),
            chat_rooms::rated_at.eq(Some(now)),
        ))
        .execute(conn)?;
        if rated == 0 {
            let status: Option<String> = chat_rooms::table
                .find(room_id)
                .select(chat_rooms::status)
                .first(conn)
                .optional()?;
            return Err(match status.as_deref() {
                None => StoreError::NotFound,
                Some("open") => StoreError::Conflict("a room is rated once it is closed"),
                Some(_) => StoreError::Conflict("this room was rated already"),
            });
        }
        let event = append_room_event(conn, room_id, RoomChange::Rated, None)?;
        let room = find_room(conn, room_id)?.ok_or(StoreError::NotFound)?;
        Ok((room, event))
    })
}

/// Who is asking for a room list, and what they may see.
#[derive(Debug, Clone)]
pub struct RoomListScope<'a> {
    /// The caller.
    pub user_id: &'a str,
    /// Clients see only rooms of their own orders; admins see all.
    pub only_customer: Option<&'a str>,
}

/// Filters and paging of a room list.
#[derive(Debug, Clone, Default)]
pub struct RoomListFilter {
    /// Only rooms with this status.
    pub status: Option<RoomStatus>,
    /// By assignment.
    pub assigned: Option<AssignedFilter>,
    /// By whom the room waits for.
    pub waiting: Option<WaitingFilter>,
    /// Only the room of this order.
    pub order_id: Option<String>,
    /// Only rooms whose order id, reference, customer id or customer name holds this
    /// (lower-case) text, or on Postgres comes close to it.
    pub text: Option<String>,
    /// The order: newest activity first, or only rooms waiting for staff, longest first.
    pub sort: RoomSort,
    /// Rooms after this position in `sort`'s order: (`last_activity_at` micros, id) or
    /// (`waiting_since` micros, id).
    pub after: Option<(i64, i64)>,
    /// Only rooms that changed after this time (micros): activity, or the caller's own read
    /// marker moving (the per-user stream's catch-up).
    pub changed_since: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// A page of rooms.
#[derive(Debug, Clone)]
pub struct RoomListing {
    /// The rooms, newest activity first.
    pub items: Vec<RoomSummaryDto>,
    /// The position to pass as [`RoomListFilter::after`] (same `sort`) for the next page, if any.
    pub next_after: Option<(i64, i64)>,
}

/// What room search matches of an order, as the trigram index of migration `room_search` is
/// built: order id, reference and customer id in one lower-case text.
const ROOM_SEARCH_KEY: &str =
    "lower(orders.id || ' ' || coalesce(orders.reference, '') || ' ' || orders.customer_id)";

/// `text` with LIKE's wildcards (and the escape character) escaped by a backslash.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// A page of rooms, newest activity first, with each room's last message and the caller's
/// unread count.
pub fn list_rooms(
    conn: &mut DbConnection,
    scope: &RoomListScope<'_>,
    filter: &RoomListFilter,
) -> Result<RoomListing, StoreError> {
    // `rooms_awaiting_staff` holds the rooms' response clocks and the waiting order.
    let mut query = chat_rooms::table
        .inner_join(orders::table)
        .left_join(
            messages::table.on(messages::room_id
                .eq(chat_rooms::id)
                .and(messages::seq.eq(chat_rooms::last_seq))
                .and(messages::note.eq(false))),
        )
        .left_join(rooms_awaiting_staff::table)
        .select((RoomRow::as_select(), Option::<MessageRow>::as_select()))
        .limit(filter.limit + 1)
        .into_boxed();
    query = match filter.sort {
        // The same order as (last_activity_at, id); the index covers the bucket (see
        // `ACTIVITY_BUCKET_MICROS`).
        RoomSort::Activity => query.order((
            chat_rooms::activity_bucket.desc(),
            chat_rooms::last_activity_at.desc(),
            chat_rooms::id.desc(),
        )),
        RoomSort::WaitingLongest => query
            .filter(rooms_awaiting_staff::since.is_not_null())
            .order((
                rooms_awaiting_staff::since.asc(),
                rooms_awaiting_staff::room_id.asc(),
            )),
    };
    if let Some(customer) = scope.only_customer {
        query = query.filter(orders::customer_id.eq(customer.to_owned()));
    }
    if let Some(status) = filter.status {
        query = query.filter(chat_rooms::status.eq(status.as_str()));
    }
    if let Some(order_id) = &filter.order_id {
        query = query.filter(chat_rooms::order_id.eq(order_id.clone()));
    }
    query = match filter.waiting.map(WaitingFilter::party) {
        Some(Some(party)) => query.filter(chat_rooms::waiting_for.eq(party.as_str())),
        Some(None) => query.filter(chat_rooms::waiting_for.is_null()),
        None => query,
    };
    if let Some(text) = &filter.text {
        // Any part of the order's id, reference or customer id, or of the customer's name;
        // on Postgres also a name close to it (a typo: `<%`, word similarity ≥ 0.6), through
        // the trigram indexes of the same expressions (migration `room_search`). Ids and
        // references match as typed: close to `order-20` is every `order-…`. SQLite scans:
        // the embedded scale.
        let anywhere = format!("%{}%", escape_like(text));
        let key_or_name = sql::<Bool>(&format!("({ROOM_SEARCH_KEY} LIKE "))
            .bind::<Text, _>(anywhere.clone())
            .sql(
                " ESCAPE '\\' OR orders.customer_id IN \
                 (SELECT user_id FROM user_names WHERE lower(name) LIKE ",
            )
            .bind::<Text, _>(anywhere)
            .sql(" ESCAPE '\\'");
        query = if matches!(conn, DbConnection::Postgres(_)) {
            query.filter(
                key_or_name
                    .sql(" OR ")
                    .bind::<Text, _>(text.clone())
                    .sql(" OPERATOR(public.<%) lower(name)))"),
            )
        } else {
            query.filter(key_or_name.sql("))"))
        };
    }
    match filter.assigned {
        Some(AssignedFilter::Me) => {
            let mine = room_members::table
                .filter(room_members::user_id.eq(scope.user_id.to_owned()))
                .filter(room_members::assigned.eq(true))
                .select(room_members::room_id);
            query = query.filter(chat_rooms::id.eq_any(mine));
        }
        Some(AssignedFilter::None) => {
            let assigned = room_members::table
                .filter(room_members::assigned.eq(true))
                .select(room_members::room_id);
            query = query.filter(diesel::dsl::not(chat_rooms::id.eq_any(assigned)));
        }
        None => {}
    }
    if let Some(since) = filter.changed_since {
        let read_since = room_members::table
            .filter(room_members::user_id.eq(scope.user_id.to_owned()))
            .filter(room_members::read_at.gt(since))
            .select(room_members::room_id);
        query = query.filter(
            chat_rooms::activity_bucket
                .ge(activity_bucket(since))
                .and(chat_rooms::last_activity_at.gt(since))
                .or(chat_rooms::id.eq_any(read_since)),
        );
    }
    match (filter.sort, filter.after) {
        (_, None) => {}
        (RoomSort::Activity, Some((activity, id))) => {
            let bucket = activity_bucket(activity);
            query = query.filter(
                chat_rooms::activity_bucket
                    .lt(bucket)
                    .or(chat_rooms::activity_bucket.eq(bucket).and(
                        chat_rooms::last_activity_at
                            .lt(activity)
                            .or(chat_rooms::last_activity_at
                                .eq(activity)
                                .and(chat_rooms::id.lt(id))),
                    )),
            );
        }
        (RoomSort::WaitingLongest, Some((since, id))) => {
            query = query.filter(
                rooms_awaiting_staff::since
                    .gt(since)
                    .or(rooms_awaiting_staff::since
                        .eq(since)
                        .and(rooms_awaiting_staff::room_id.gt(id))),
            );
        }
    }
    let mut rows: Vec<(RoomRow, Option<MessageRow>)> = query.load(conn)?;
    let has_more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));

    let next_after = if has_more {
        rows.last().map(|(room, _)| match filter.sort {
            RoomSort::Activity => (room.last_activity_micros(), room.id()),
            // The same time as `rooms_awaiting_staff.since`: the trigger copies it.
            RoomSort::WaitingLongest => (room.waiting_since_micros().unwrap_or(0), room.id()),
        })
    } else {
        None
    };
    let items = summaries(conn, Some(scope.user_id), rows)?;
    Ok(RoomListing { items, next_after })
}

/// `room_ids` as every inbox shows them: room, newest message and assigned admins, with
/// `unread` 0 (each user's count is its own). Rooms that do not exist are left out.
pub fn room_snapshots(
    conn: &mut DbConnection,
    room_ids: &[i64],
) -> Result<Vec<RoomSummaryDto>, StoreError> {
    let rows: Vec<(RoomRow, Option<MessageRow>)> = chat_rooms::table
        .inner_join(orders::table)
        .left_join(
            messages::table.on(messages::room_id
                .eq(chat_rooms::id)
                .and(messages::seq.eq(chat_rooms::last_seq))
                .and(messages::note.eq(false))),
        )
        .left_join(rooms_awaiting_staff::table)
        .filter(chat_rooms::id.eq_any(room_ids))
        .select((RoomRow::as_select(), Option::<MessageRow>::as_select()))
        .load(conn)?;
    summaries(conn, None, rows)
}

/// The room's newest message, if it has one. Never an internal note: the preview is the
/// conversation's, for every viewer, so that one text serves every inbox.
fn newest_message(conn: &mut DbConnection, room_id: i64) -> Result<Option<MessageDto>, StoreError> {
    let row: Option<MessageRow> = messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::note.eq(false))
        .order(messages::seq.desc())
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(MessageDto::from))
}

/// Each listed room with its newest message, the viewer's unread count (0 without a viewer)
/// and its assigned admins.
fn summaries(
    conn: &mut DbConnection,
    viewer: Option<&str>,
    rows: Vec<(RoomRow, Option<MessageRow>)>,
) -> Result<Vec<RoomSummaryDto>, StoreError> {
    let room_ids: Vec<i64> = rows.iter().map(|(room, _)| room.id()).collect();
    let user_id = viewer.unwrap_or_default();
    // The viewer's marker and every assigned admin of the listed rooms, in one query.
    let members: Vec<(i64, String, bool, i64)> = room_members::table
        .filter(room_members::room_id.eq_any(&room_ids))
        .filter(
            room_members::user_id
                .eq(user_id)
                .or(room_members::assigned.eq(true)),
        )
        .select((
            room_members::room_id,
            room_members::user_id,
            room_members::assigned,
            room_members::last_read_seq,
        ))
        .order((room_members::room_id, room_members::user_id))
        .load(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for (room, newest_entry) in rows {
        let room: RoomDto = room.into();
        // The join finds the newest timeline entry when it is a message (the usual case);
        // after a room event, an edit or a note, the newest message is looked up by itself.
        let last_message = match newest_entry {
            Some(message) => Some(MessageDto::from(message)),
            None if room.last_seq > 0 => newest_message(conn, room.id)?,
            None => None,
        };
        let in_room = members.iter().filter(|(room_id, ..)| *room_id == room.id);
        let read = in_room
            .clone()
            .find(|(_, user, ..)| user == user_id)
            .map_or(0, |(.., last_read)| *last_read);
        let assigned_admins = in_room
            .filter(|(_, _, assigned, _)| *assigned)
            .map(|(_, user, ..)| user.clone())
            .collect();
        let unread = match viewer {
            Some(user_id) => unread_count(conn, room.id, user_id, read, room.last_seq)?,
            None => 0,
        };
        items.push(RoomSummaryDto {
            unread,
            last_message,
            assigned_admins,
            room,
        });
    }
    Ok(items)
}
