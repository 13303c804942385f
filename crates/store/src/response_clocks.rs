//! Response-time clocks: the sweep's reads and writes.
//!
//! A room waiting for staff has a running clock, its row of `rooms_awaiting_staff`, started and
//! stopped by the waiting-state trigger (migration `response_times`) whatever statement changed
//! the room; a stopped clock moves to `response_times`. The store knows no targets: the caller
//! passes the deadline and the measure, worked out from its settings (business hours).
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
use crate::schema::{chat_rooms, messages, response_times, rooms_awaiting_staff};
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

/// A stopped clock the sweep has not measured yet: staff answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// The room.
    pub room_id: RoomId,
    /// The target it ran against.
    pub clock: ResponseClock,
    /// Whether a target applies (false for a room waiting since before clocks existed).
    pub timed: bool,
    /// When it started (micros).
    pub started_at: i64,
    /// When staff answered (micros).
    pub answered_at: i64,
    /// Its deadline, if the sweep had given it one before the answer.
    pub due_at: Option<i64>,
    /// When it was marked breached, if it was.
    pub breached_at: Option<i64>,
}

/// What the caller's settings make of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The wait (micros), in business hours when they are set.
    pub response_micros: i64,
    /// Its deadline (micros), if a target applies.
    pub due_at: Option<i64>,
}

/// Measures up to `batch` answered clocks: the wait, who answered (the newest staff message
/// at or below the answer's seq), and whether the answer came after the deadline — an answer
/// that beat the sweep to a passed deadline is a breach too, with its `sla_breached` event to
/// announce. How many it measured, and the events.
pub fn measure_answers(
    conn: &mut DbConnection,
    now: i64,
    batch: i64,
    measure: &dyn Fn(&Answered) -> Measure,
) -> Result<(usize, Vec<(RoomId, ServerFrame)>), StoreError> {
    type Row = (
        i64,
        i64,
        String,
        bool,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let unmeasured: Option<i64> = response_times::table
        .filter(response_times::answered_at.is_not_null())
        .filter(response_times::response_micros.is_null())
        .select(response_times::id)
        .first(conn)
        .optional()?;
    if unmeasured.is_none() {
        return Ok((0, Vec::new()));
    }
    write_transaction(conn, |conn| {
        let query = response_times::table
            .filter(response_times::answered_at.is_not_null())
            .filter(response_times::response_micros.is_null())
            .order(response_times::id)
            .select((
                response_times::id,
                response_times::room_id,
                response_times::clock,
                response_times::timed,
                response_times::started_at,
                response_times::answered_at,
                response_times::answered_seq,
                response_times::due_at,
                response_times::breached_at,
            ))
            .limit(batch);
        let rows: Vec<Row> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        let measured = rows.len();
        let mut events = Vec::new();
        for (id, room_id, clock, timed, started_at, answered_at, seq, due_at, breached_at) in rows {
            let answer = Answered {
                room_id,
                clock: ResponseClock::try_from(clock)?,
                timed,
                started_at,
                answered_at: answered_at.unwrap_or(started_at),
                due_at,
                breached_at,
            };
            let Measure {
                response_micros,
                due_at,
            } = measure(&answer);
            let responder: Option<String> = messages::table
                .filter(messages::room_id.eq(room_id))
                .filter(messages::seq.le(seq.unwrap_or(i64::MAX)))
                .filter(messages::sender_role.eq("admin"))
                .filter(messages::note.eq(false))
                .order(messages::seq.desc())
                .select(messages::sender_id)
                .first(conn)
                .optional()?;
            let late =
                answer.breached_at.is_none() && due_at.is_some_and(|due| answer.answered_at > due);
            let breached_at = if late { Some(now) } else { answer.breached_at };
            diesel::update(response_times::table.find(id))
                .set((
                    response_times::response_micros.eq(response_micros.max(0)),
                    response_times::responder_id.eq(responder),
                    response_times::due_at.eq(due_at),
                    response_times::breached_at.eq(breached_at),
                ))
                .execute(conn)?;
            if let (true, Some(due_at)) = (late, due_at) {
                let missed = Missed {
                    clock: answer.clock,
                    started_at,
                    due_at: Some(due_at),
                    breached_at: now,
                };
                events.push((room_id, append_breach(conn, room_id, missed)?));
            }
        }
        Ok((measured, events))
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
