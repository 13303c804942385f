//! Who rooms stored before the waiting state existed wait for, worked out from their messages
//! a range of room ids at a time (the migration left them NULL: rewriting every room row in one
//! statement would have held each room's lock until it committed, stopping sends).

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::connection::{numbered_placeholders, write_transaction};
use crate::schema::{rooms_awaiting_staff, waiting_backfill};
use crate::{DbConnection, StoreError};

/// Room ids one step looks at.
pub const BACKFILL_RANGE: i64 = 500;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillStep {
    /// Looked at a range; this many rooms got their state.
    Filled {
        /// Rooms updated.
        rooms: usize,
    },
    /// Every room was looked at.
    Done,
    /// Another node is working a range now.
    Busy,
}

/// An open room whose newest timeline entry is a message (not a note), and whose state is
/// unknown, waits for the other side of that message's sender, since the first message of the
/// sender's side after the other side last wrote. A room whose newest entry is an event (a
/// reopening, say) waits for no one until its next message, as the write path has it.
const FILL_SQL: &str = "\
UPDATE chat_rooms SET \
    waiting_for = CASE WHEN m.sender_role = 'client' THEN 'staff' ELSE 'customer' END, \
    waiting_since = (SELECT min(run.created_at) FROM messages run \
        WHERE run.room_id = chat_rooms.id AND NOT run.note AND run.seq > coalesce(( \
            SELECT max(other.seq) FROM messages other \
            WHERE other.room_id = chat_rooms.id AND NOT other.note \
              AND (other.sender_role = 'client') <> (m.sender_role = 'client')), 0)) \
FROM messages m \
WHERE chat_rooms.id >= {lo} AND chat_rooms.id < {hi} AND chat_rooms.status = 'open' \
  AND chat_rooms.waiting_for IS NULL AND chat_rooms.last_seq > 0 \
  AND m.room_id = chat_rooms.id AND m.seq = chat_rooms.last_seq AND NOT m.note \
RETURNING chat_rooms.id";

/// A room the fill gave its state.
#[derive(QueryableByName)]
struct FilledRoom {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Fills the next range of rooms below the backfill's mark and moves the mark down, in one
/// short transaction. On Postgres the mark's row is taken `SKIP LOCKED`: nodes take turns.
pub fn fill_next_range(conn: &mut DbConnection) -> Result<BackfillStep, StoreError> {
    write_transaction(conn, |conn| {
        let below: Option<i64> = match conn {
            DbConnection::Postgres(pg) => waiting_backfill::table
                .select(waiting_backfill::below)
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?,
            DbConnection::Sqlite(sqlite) => waiting_backfill::table
                .select(waiting_backfill::below)
                .first(sqlite)
                .optional()?,
        };
        let Some(below) = below else {
            return Ok(BackfillStep::Busy);
        };
        if below <= 1 {
            return Ok(BackfillStep::Done);
        }
        let from = (below - BACKFILL_RANGE).max(1);
        let sql = numbered_placeholders(conn, FILL_SQL, &["{lo}", "{hi}"]);
        let filled: Vec<FilledRoom> = diesel::sql_query(sql)
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(below)
            .load(conn)?;
        let filled: Vec<i64> = filled.into_iter().map(|room| room.id).collect();
        // The trigger started a response clock for each room found waiting for staff; they
        // waited since before the service kept clocks, so no target applies to them.
        diesel::update(
            rooms_awaiting_staff::table.filter(rooms_awaiting_staff::room_id.eq_any(&filled)),
        )
        .set(rooms_awaiting_staff::timed.eq(false))
        .execute(conn)?;
        let rooms = filled.len();
        diesel::update(waiting_backfill::table)
            .set(waiting_backfill::below.eq(from))
            .execute(conn)?;
        Ok(BackfillStep::Filled { rooms })
    })
}
