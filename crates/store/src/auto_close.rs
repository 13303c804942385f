//! Rooms that close themselves: the sweep's reads and writes, and the customer's message that
//! reopens a room a policy closed.
//!
//! Every node sweeps. A pass takes a batch of due rooms with their rows locked — on Postgres
//! `FOR UPDATE … SKIP LOCKED`, so nodes sweeping at once take different rooms and never wait
//! for each other or for a send; a room another node closed meanwhile is no longer `open` when
//! its lock is granted, and is left out — and closes each with its `closed` event, in one
//! transaction per batch. SQLite has one writer: batches run one after the other.

use std::collections::HashMap;

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};
use room_chats_types::ClosePolicy;
use room_chats_types::frames::{RoomChange, ServerFrame};

use crate::connection::write_transaction;
use crate::room_lookup::find_rooms;
use crate::schema::{chat_rooms, orders};
use crate::time::{activity_bucket, now_micros};
use crate::timeline::{append_room_event, record_events};
use crate::{DbConnection, StoreError};

/// Which rooms a policy closes: open, idle since `idle_before` (micros), not waiting for staff,
/// and for [`ClosePolicy::OrderDone`] of an order delivered or cancelled before `idle_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRooms {
    /// The policy.
    pub policy: ClosePolicy,
    /// Rooms whose last activity (and, for `OrderDone`, whose order's status) is older.
    pub idle_before: i64,
    /// Most rooms closed in one transaction.
    pub batch: i64,
}

#[derive(QueryableByName)]
struct DueRoom {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Closes one batch of the rooms `due` names; each closed room with its `closed` event to
/// announce (fewer than `due.batch`: nothing more is due right now, on this node's view).
/// A handful of statements per batch, whatever its size: the close, its event and its
/// webhook rows are written for all the batch's rooms at once.
pub fn close_due(
    conn: &mut DbConnection,
    due: DueRooms,
) -> Result<Vec<(i64, ServerFrame)>, StoreError> {
    write_transaction(conn, |conn| {
        let ids = due_rooms(conn, due)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_micros();
        // Closed by the policy, at each room's next seq: the seq of its `closed` event.
        let closed: Vec<(i64, i64)> = diesel::update(
            chat_rooms::table
                .filter(chat_rooms::id.eq_any(&ids))
                .filter(chat_rooms::status.eq("open")),
        )
        .set((
            chat_rooms::status.eq("closed"),
            chat_rooms::closed_at.eq(Some(now)),
            chat_rooms::closed_by.eq(None::<&str>),
            chat_rooms::closed_by_policy.eq(Some(due.policy.as_str())),
            chat_rooms::waiting_for.eq(None::<&str>),
            chat_rooms::waiting_since.eq(None::<i64>),
            chat_rooms::last_seq.eq(chat_rooms::last_seq + 1),
            chat_rooms::last_activity_at.eq(now),
            chat_rooms::activity_bucket.eq(activity_bucket(now)),
        ))
        .returning((chat_rooms::id, chat_rooms::last_seq))
        .get_results(conn)?;
        let seqs: HashMap<i64, i64> = closed.into_iter().collect();
        let room_ids: Vec<i64> = seqs.keys().copied().collect();
        let events: Vec<(i64, ServerFrame)> = find_rooms(conn, &room_ids)?
            .into_iter()
            .filter_map(|room| {
                let (id, seq) = (room.id, *seqs.get(&room.id)?);
                let frame = ServerFrame::Room {
                    seq,
                    event: RoomChange::Closed,
                    room,
                    user_id: None,
                };
                Some((id, frame))
            })
            .collect();
        record_events(conn, &events, RoomChange::Closed, now)?;
        Ok(events)
    })
}

/// The due rooms' ids, locked (Postgres) for the rest of the transaction, idle longest first.
fn due_rooms(conn: &mut DbConnection, due: DueRooms) -> Result<Vec<i64>, StoreError> {
    // The bucket bounds the walk of `chat_rooms_open_activity_idx`; `last_activity_at` is the
    // exact test. A customer waiting for staff is never closed on.
    let order_done = match due.policy {
        ClosePolicy::Idle => "",
        ClosePolicy::OrderDone => {
            " AND EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id \
               AND o.status IN ('delivered', 'cancelled') AND o.status_at <= {at})"
        }
    };
    let rows: Vec<DueRoom> = match conn {
        DbConnection::Postgres(pg) => {
            let sql = format!(
                "SELECT r.id FROM chat_rooms r \
                 WHERE r.status = 'open' AND r.activity_bucket <= $1 AND r.last_activity_at <= $2 \
                   AND (r.waiting_for IS NULL OR r.waiting_for = $3){} \
                 ORDER BY r.activity_bucket, r.id LIMIT $4 FOR UPDATE OF r SKIP LOCKED",
                order_done.replace("{at}", "$2")
            );
            bind_due(diesel::sql_query(sql).into_boxed(), due).load(pg)?
        }
        DbConnection::Sqlite(sqlite) => {
            let sql = format!(
                "SELECT r.id FROM chat_rooms r \
                 WHERE r.status = 'open' AND r.activity_bucket <= ?1 AND r.last_activity_at <= ?2 \
                   AND (r.waiting_for IS NULL OR r.waiting_for = ?3){} \
                 ORDER BY r.activity_bucket, r.id LIMIT ?4",
                order_done.replace("{at}", "?2")
            );
            bind_due(diesel::sql_query(sql).into_boxed(), due).load(sqlite)?
        }
    };
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Binds the due query's parameters: bucket, time, the side a room may wait for, batch size.
fn bind_due<'a, DB>(
    query: BoxedSqlQuery<'a, DB, SqlQuery>,
    due: DueRooms,
) -> BoxedSqlQuery<'a, DB, SqlQuery>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    query
        .bind::<BigInt, _>(activity_bucket(due.idle_before))
        .bind::<BigInt, _>(due.idle_before)
        .bind::<Text, _>("customer")
        .bind::<BigInt, _>(due.batch)
}

/// What [`reopen_for_customer`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reopen {
    /// A policy had closed the room: it is open again, with this `reopened` event.
    Reopened(Box<ServerFrame>),
    /// The room is open (someone reopened it meanwhile).
    Open,
    /// Staff closed the room: it stays closed.
    Closed,
}

/// Reopens the room for its customer's message if a policy closed it (one staff closed stays
/// closed) and `customer_id` is still its order's customer (a former customer opens nothing).
/// The update takes the room's lock, so a sweep and this never both act.
pub fn reopen_for_customer(
    conn: &mut DbConnection,
    room_id: i64,
    customer_id: &str,
) -> Result<Reopen, StoreError> {
    write_transaction(conn, |conn| {
        let their_orders = orders::table
            .filter(orders::customer_id.eq(customer_id.to_owned()))
            .select(orders::id);
        let reopened = diesel::update(
            chat_rooms::table
                .find(room_id)
                .filter(chat_rooms::status.eq("closed"))
                .filter(chat_rooms::closed_by_policy.is_not_null())
                .filter(chat_rooms::order_id.eq_any(their_orders)),
        )
        .set((
            chat_rooms::status.eq("open"),
            chat_rooms::closed_at.eq(None::<i64>),
            chat_rooms::closed_by_policy.eq(None::<&str>),
        ))
        .execute(conn)?;
        if reopened == 1 {
            let event = append_room_event(conn, room_id, RoomChange::Reopened, None)?;
            return Ok(Reopen::Reopened(Box::new(event)));
        }
        let status: String = chat_rooms::table
            .find(room_id)
            .select(chat_rooms::status)
            .first(conn)?;
        Ok(if status == "open" {
            Reopen::Open
        } else {
            Reopen::Closed
        })
    })
}
