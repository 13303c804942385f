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
//! other. A breach locks the room rows before their clocks, in id order — the order a message
//! batch takes them (its room update fires the trigger) — so a breach and a message never
//! deadlock; the breach is written under a condition (`breached_at IS NULL`), so it happens
//! once whatever node sees it. A batch's events are written for all its rooms at once, a
//! statement each (as the auto-close sweep writes its closes).

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{ResponseClock, RoomId, SlaClock};

use crate::connection::write_transaction;
use crate::room_lookup::find_rooms;
use crate::schema::{chat_rooms, response_times, rooms_awaiting_staff};
use crate::time::{activity_bucket, now_micros, to_datetime};
use crate::timeline::record_events;
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
    // Most sweeps find nothing: a read, and no write transaction (on SQLite one would take the
    // write lock every sweep). No index leads to these clocks (a message batch that starts one
    // would pay for it, targets or not): the read scans the clocks running now, the rooms
    // waiting for staff.
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
        let mut deadlines = Vec::with_capacity(rows.len());
        for (room_id, clock, started_at) in rows {
            let clock = ResponseClock::try_from(clock)?;
            let due_at = due_of(&Unscheduled {
                room_id,
                clock,
                started_at,
            });
            deadlines.push((room_id, due_at));
        }
        set_deadlines(conn, &deadlines)
    })
}

/// Gives each clock of `deadlines` (room, due at) its deadline, unless it has one: on Postgres
/// in one statement (a burst of new waits is thousands of clocks), on SQLite — in-process, no
/// round trip — a statement each. How many it gave one.
fn set_deadlines(conn: &mut DbConnection, deadlines: &[(i64, i64)]) -> Result<usize, StoreError> {
    match conn {
        DbConnection::Postgres(pg) => Ok(diesel::sql_query(
            "UPDATE rooms_awaiting_staff AS a SET due_at = v.due_at \
             FROM unnest($1::bigint[], $2::bigint[]) AS v(room_id, due_at) \
             WHERE a.room_id = v.room_id AND a.due_at IS NULL",
        )
        .bind::<Array<BigInt>, _>(
            deadlines
                .iter()
                .map(|(room_id, _)| *room_id)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(
            deadlines
                .iter()
                .map(|(_, due_at)| *due_at)
                .collect::<Vec<_>>(),
        )
        .execute(pg)?),
        DbConnection::Sqlite(sqlite) => {
            let mut scheduled = 0;
            for (room_id, due_at) in deadlines {
                scheduled += diesel::update(
                    rooms_awaiting_staff::table
                        .find(room_id)
                        .filter(rooms_awaiting_staff::due_at.is_null()),
                )
                .set(rooms_awaiting_staff::due_at.eq(due_at))
                .execute(sqlite)?;
            }
            Ok(scheduled)
        }
    }
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
        let locked = lock_rooms(conn, &due)?;
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
        let missed = breached
            .into_iter()
            .map(|(room_id, clock, started_at, due_at)| {
                let missed = Missed {
                    clock: ResponseClock::try_from(clock)?,
                    started_at,
                    due_at,
                    breached_at: now,
                };
                Ok((room_id, missed))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        record_breaches(conn, &missed)
    })
}

/// Announces up to `batch` answers that came after their deadline before the sweep had
/// marked the clock breached: the trigger that recorded the answer marked it breached and
/// left it unannounced. Each gets its `sla_breached` event, to announce. One answer per room
/// a call (a room's events are numbered from its row, advanced once): a room's second late
/// answer waits for the next call.
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
        let room_ids: Vec<i64> = rows.iter().map(|row| row.1).collect();
        let mut unclaimed: HashSet<i64> = lock_rooms(conn, &room_ids)?.into_iter().collect();
        let mut announced = Vec::new();
        let mut missed: Vec<(RoomId, Missed)> = Vec::new();
        for (id, room_id, clock, started_at, due_at, breached_at) in rows {
            // A room another transaction holds, or whose late answer this call already took.
            if !unclaimed.remove(&room_id) {
                continue;
            }
            announced.push(id);
            let clock = ResponseClock::try_from(clock)?;
            let breached_at = breached_at.unwrap_or(started_at);
            missed.push((
                room_id,
                Missed {
                    clock,
                    started_at,
                    due_at,
                    breached_at,
                },
            ));
        }
        diesel::update(response_times::table.filter(response_times::id.eq_any(&announced)))
            .set(response_times::announced.eq(true))
            .execute(conn)?;
        record_breaches(conn, &missed)
    })
}

/// Locks the rooms of `room_ids` in id order (skipping, on Postgres, those another
/// transaction holds: a sweep never waits for a send); the ids it locked.
fn lock_rooms(conn: &mut DbConnection, room_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let rooms = chat_rooms::table
        .filter(chat_rooms::id.eq_any(room_ids))
        .order(chat_rooms::id)
        .select(chat_rooms::id);
    Ok(match conn {
        DbConnection::Postgres(pg) => rooms.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sqlite) => rooms.load(sqlite)?,
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

impl Missed {
    fn sla(&self) -> Result<SlaClock, StoreError> {
        Ok(SlaClock {
            clock: self.clock,
            started_at: to_datetime(self.started_at)?,
            due_at: self.due_at.map(to_datetime).transpose()?,
            breached_at: Some(to_datetime(self.breached_at)?),
        })
    }
}

/// The `sla_breached` events of the rooms of `missed` (each room once, its row locked), at
/// each room's next seq: the rooms advance in one statement, their timeline and webhook rows
/// go in one statement each. An event's `room.sla` is the missed clock — for an answer that
/// came late, the room no longer waits and has no running clock, yet the event says which
/// target was missed and when it was due.
fn record_breaches(
    conn: &mut DbConnection,
    missed: &[(RoomId, Missed)],
) -> Result<Vec<(RoomId, ServerFrame)>, StoreError> {
    if missed.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let room_ids: Vec<i64> = missed.iter().map(|(room_id, _)| *room_id).collect();
    // Every timeline entry is activity: the room list and the inbox cursor follow it.
    let seqs: HashMap<i64, i64> =
        diesel::update(chat_rooms::table.filter(chat_rooms::id.eq_any(&room_ids)))
            .set((
                chat_rooms::last_seq.eq(chat_rooms::last_seq + 1),
                chat_rooms::last_activity_at.eq(now),
                chat_rooms::activity_bucket.eq(activity_bucket(now)),
            ))
            .returning((chat_rooms::id, chat_rooms::last_seq))
            .get_results::<(i64, i64)>(conn)?
            .into_iter()
            .collect();
    let mut rooms: HashMap<i64, _> = find_rooms(conn, &room_ids)?
        .into_iter()
        .map(|room| (room.id, room))
        .collect();
    let mut events = Vec::with_capacity(missed.len());
    for (room_id, missed) in missed {
        let (Some(seq), Some(mut room)) = (seqs.get(room_id), rooms.remove(room_id)) else {
            return Err(StoreError::NotFound);
        };
        room.sla = Some(missed.sla()?);
        let frame = ServerFrame::Room {
            seq: *seq,
            event: RoomChange::SlaBreached,
            room,
            user_id: None,
        };
        events.push((*room_id, frame));
    }
    record_events(conn, &events, RoomChange::SlaBreached, now)?;
    Ok(events)
}
