//! Response-time clocks: the sweep's reads and writes.
//!
//! A room waiting for staff has a running clock, its row of `rooms_awaiting_staff`, started and
//! stopped by the waiting-state trigger (migration `response_times`) whatever statement changed
//! the room; a stopped clock moves to `response_times`, measured and with who answered (the
//! trigger writes the whole row: the sweep never revisits an answer). The store knows no
//! targets: the caller passes the deadline, worked out from its settings (business hours).
//!
//! Every node sweeps. Each step is one short transaction that takes its rows `FOR UPDATE SKIP
//! LOCKED` on Postgres, so nodes sweeping at once take different rows and never wait for each
//! other. A breach locks the room row before its clock — the order a message takes them (its
//! room update fires the trigger) — so a breach and a message never deadlock; the breach is
//! written under a condition (`breached_at IS NULL`), so it happens once whatever node sees it.

use diesel::prelude::*;
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{ResponseClock, RoomId, SlaClock};

use crate::connection::write_transaction;
use crate::room_lookup::find_room;
use crate::schema::{chat_rooms, response_times, rooms_awaiting_staff};
use crate::time::to_datetime;
use crate::timeline::append_event;
use crate::{DbConnection, StoreError};

/// A running clock without a deadline yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unscheduled {
    /// The room.
    pub room_id: RoomId,
    /// The target it runs against.
    pub clock: ResponseClock,
    /// When it started (micros).
    pub started_at: i64,
}

/// Gives up to `batch` running clocks of `clocks` (those with a target) their deadline,
/// `due_of` (micros). How many it gave one: fewer than `batch` means none is left.
pub fn schedule(
    conn: &mut DbConnection,
    clocks: &[ResponseClock],
    batch: i64,
    due_of: &dyn Fn(&Unscheduled) -> i64,
) -> Result<usize, StoreError> {
    let spellings: Vec<&str> = clocks.iter().map(|clock| clock.as_str()).collect();
    // Most sweeps find nothing: a read through the partial index, and no write transaction
    // (on SQLite one would take the write lock every sweep).
    let waiting: Option<i64> = rooms_awaiting_staff::table
        .filter(rooms_awaiting_staff::due_at.is_null())
        .filter(rooms_awaiting_staff::timed.eq(true))
        .filter(rooms_awaiting_staff::clock.eq_any(&spellings))
        .select(rooms_awaiting_staff::room_id)
        .first(conn)
        .optional()?;
    if waiting.is_none() {
        return Ok(0);
    }
    write_transaction(conn, |conn| {
        let query = rooms_awaiting_staff::table
            .filter(rooms_awaiting_staff::due_at.is_null())
            .filter(rooms_awaiting_staff::timed.eq(true))
            .filter(rooms_awaiting_staff::clock.eq_any(&spellings))
            .select((
                rooms_awaiting_staff::room_id,
                rooms_awaiting_staff::clock,
                rooms_awaiting_staff::since,
            ))
            .limit(batch);
        let rows: Vec<(i64, String, i64)> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        let mut scheduled = 0;
        for (room_id, clock, started_at) in rows {
            let clock = ResponseClock::try_from(clock)?;
            let due_at = due_of(&Unscheduled {
                room_id,
                clock,
                started_at,
            });
            scheduled += diesel::update(
                rooms_awaiting_staff::table
                    .find(room_id)
                    .filter(rooms_awaiting_staff::due_at.is_null()),
            )
            .set(rooms_awaiting_staff::due_at.eq(due_at))
            .execute(conn)?;
        }
        Ok(scheduled)
    })
}

/// Marks up to `batch` running clocks whose deadline passed before `now` (micros) breached,
/// each with its `sla_breached` event (and, through it, the `room.sla_breached` webhook), to
/// announce. Fewer than `batch` events: nothing more is due on this node's view.
pub fn breach_due(
    conn: &mut DbConnection,
    now: i64,
    batch: i64,
) -> Result<Vec<(RoomId, ServerFrame)>, StoreError> {
    // Read outside the transaction: most sweeps find nothing. What is found is checked again
    // under the rooms' locks.
    let due: Vec<i64> = rooms_awaiting_staff::table
        .filter(rooms_awaiting_staff::breached_at.is_null())
        .filter(rooms_awaiting_staff::due_at.lt(now))
        .order(rooms_awaiting_staff::due_at)
        .select(rooms_awaiting_staff::room_id)
        .limit(batch)
        .load(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    write_transaction(conn, |conn| {
        let rooms = chat_rooms::table
            .filter(chat_rooms::id.eq_any(&due))
            .order(chat_rooms::id)
            .select(chat_rooms::id);
        let locked: Vec<i64> = match conn {
            DbConnection::Postgres(pg) => rooms.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => rooms.load(sqlite)?,
        };
        // Under the room's lock the clock is as the last message left it: still running and
        // unbreached, or gone (answered, closed) or breached by another node.
        let breached: Vec<(i64, String, i64, Option<i64>)> = diesel::update(
            rooms_awaiting_staff::table
                .filter(rooms_awaiting_staff::room_id.eq_any(&locked))
                .filter(rooms_awaiting_staff::breached_at.is_null())
                .filter(rooms_awaiting_staff::due_at.lt(now)),
        )
        .set(rooms_awaiting_staff::breached_at.eq(now))
        .returning((
            rooms_awaiting_staff::room_id,
            rooms_awaiting_staff::clock,
            rooms_awaiting_staff::since,
            rooms_awaiting_staff::due_at,
        ))
        .get_results(conn)?;
        let mut events = Vec::with_capacity(breached.len());
        for (room_id, clock, started_at, due_at) in breached {
            let missed = Missed {
                clock: ResponseClock::try_from(clock)?,
                started_at,
                due_at,
                breached_at: now,
            };
            events.push((room_id, append_breach(conn, room_id, missed)?));
        }
        Ok(events)
    })
}

/// Announces up to `batch` answers that came after their deadline before the sweep had
/// marked the clock breached: the trigger that recorded the answer marked it breached and
/// left it unannounced. Each gets its `sla_breached` event, to announce.
pub fn announce_late_answers(
    conn: &mut DbConnection,
    batch: i64,
) -> Result<Vec<(RoomId, ServerFrame)>, StoreError> {
    let late: Option<i64> = response_times::table
        .filter(response_times::announced.eq(false))
        .select(response_times::id)
        .first(conn)
        .optional()?;
    if late.is_none() {
        return Ok(Vec::new());
    }
    type Row = (i64, i64, String, i64, Option<i64>, Option<i64>);
    write_transaction(conn, |conn| {
        let query = response_times::table
            .filter(response_times::announced.eq(false))
            .order(response_times::id)
            .select((
                response_times::id,
                response_times::room_id,
                response_times::clock,
                response_times::started_at,
                response_times::due_at,
                response_times::breached_at,
            ))
            .limit(batch);
        let rows: Vec<Row> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        let mut events = Vec::with_capacity(rows.len());
        for (id, room_id, clock, started_at, due_at, breached_at) in rows {
            diesel::update(response_times::table.find(id))
                .set(response_times::announced.eq(true))
                .execute(conn)?;
            let missed = Missed {
                clock: ResponseClock::try_from(clock)?,
                started_at,
                due_at,
                breached_at: breached_at.unwrap_or(started_at),
            };
            events.push((room_id, append_breach(conn, room_id, missed)?));
        }
        Ok(events)
    })
}

/// The clock a breach is about.
#[derive(Debug, Clone, Copy)]
struct Missed {
    clock: ResponseClock,
    started_at: i64,
    due_at: Option<i64>,
    breached_at: i64,
}

/// The room's `sla_breached` event. Its `room.sla` is the missed clock — for an answer that
/// came late, the room no longer waits and has no running clock, yet the event says which
/// target was missed and when it was due.
fn append_breach(
    conn: &mut DbConnection,
    room_id: RoomId,
    missed: Missed,
) -> Result<ServerFrame, StoreError> {
    let sla = SlaClock {
        clock: missed.clock,
        started_at: to_datetime(missed.started_at)?,
        due_at: missed.due_at.map(to_datetime).transpose()?,
        breached_at: Some(to_datetime(missed.breached_at)?),
    };
    let change = RoomChange::SlaBreached;
    append_event(conn, room_id, change.as_str(), None, |conn, seq| {
        let mut room = find_room(conn, room_id)?.ok_or(StoreError::NotFound)?;
        room.sla = Some(sla);
        Ok(ServerFrame::Room {
            seq,
            event: change,
            room,
            user_id: None,
        })
    })
}
