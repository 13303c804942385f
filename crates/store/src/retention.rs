//! Conversation retention (issue 29): rooms' own retention settings and legal holds, and the
//! purges the retention sweep runs — a room's old history, closed rooms left idle.
//!
//! A room's history is purged as a prefix of its timeline: every entry (message, with its
//! revisions, search row and attachments; room event) at or below the room's `purged_through`
//! is gone, every seq above it untouched, so seqs never move and a resume from below the
//! boundary can be told so. Files of purged attachments are queued in `storage_deletions` in
//! the same transaction ([`crate::storage_deletions`]).
//!
//! Every node sweeps. A purge takes a handful of rows of one room at a time and never the room
//! row a send locks: sends go on while a room is purged. Two nodes on one room: on Postgres a
//! transaction-scoped advisory lock per room makes the second skip it; on SQLite writers take
//! turns.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use room_chats_types::{RoomId, Seq, UserLegalHoldDto};

use crate::connection::write_transaction;
use crate::schema::{chat_rooms, room_members, room_retention, user_legal_holds};
use crate::storage_deletions;
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

/// A microsecond count of one day.
const DAY_MICROS: i64 = 86_400_000_000;

/// A room's own retention setting and hold, and how far its history was purged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomRetention {
    /// Days its history is kept instead of the global policy.
    pub history_days: Option<i64>,
    /// A legal hold on the room itself.
    pub legal_hold: bool,
    /// Why.
    pub hold_reason: Option<String>,
    /// Entries at or below this seq are purged.
    pub purged_through: Seq,
    /// Members held by a legal hold of their own.
    pub held_members: Vec<String>,
}

/// The room's retention; a room that never had one has the defaults (`NotFound` for no room).
pub fn room_retention(
    conn: &mut DbConnection,
    room_id: RoomId,
) -> Result<RoomRetention, StoreError> {
    let exists: Option<i64> = chat_rooms::table
        .find(room_id)
        .select(chat_rooms::id)
        .first(conn)
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let row: Option<(Option<i32>, bool, Option<String>, i64)> = room_retention::table
        .find(room_id)
        .select((
            room_retention::history_days,
            room_retention::legal_hold,
            room_retention::hold_reason,
            room_retention::purged_through,
        ))
        .first(conn)
        .optional()?;
    let held_members: Vec<String> = room_members::table
        .inner_join(user_legal_holds::table.on(user_legal_holds::user_id.eq(room_members::user_id)))
        .filter(room_members::room_id.eq(room_id))
        .order(room_members::user_id)
        .select(room_members::user_id)
        .load(conn)?;
    let (history_days, legal_hold, hold_reason, purged_through) =
        row.unwrap_or((None, false, None, 0));
    Ok(RoomRetention {
        history_days: history_days.map(i64::from),
        legal_hold,
        hold_reason,
        purged_through,
        held_members,
    })
}

/// A room's retention setting as an admin sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRetentionSetting {
    pub history_days: Option<i64>,
    pub legal_hold: bool,
    pub hold_reason: Option<String>,
}

/// Replaces the room's setting; the retention before and after (`NotFound` for no room).
pub fn set_room_retention(
    conn: &mut DbConnection,
    room_id: RoomId,
    setting: &RoomRetentionSetting,
) -> Result<(RoomRetention, RoomRetention), StoreError> {
    write_transaction(conn, |conn| {
        let before = room_retention(conn, room_id)?;
        // The use case keeps days within 1..=36,500.
        let days = setting
            .history_days
            .map(|days| i32::try_from(days).unwrap_or(i32::MAX));
        const UPSERT_SQL: &str = "INSERT INTO room_retention \
                (room_id, history_days, legal_hold, hold_reason, updated_at) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_id) DO UPDATE SET \
                history_days = excluded.history_days, legal_hold = excluded.legal_hold, \
                hold_reason = excluded.hold_reason, updated_at = excluded.updated_at";
        raw_sql!(conn, UPSERT_SQL, execute,
            BigInt => room_id,
            Nullable<diesel::sql_types::Integer> => days,
            Bool => setting.legal_hold,
            Nullable<Text> => setting.hold_reason.as_deref(),
            BigInt => now_micros(),
        )?;
        let after = room_retention(conn, room_id)?;
        Ok((before, after))
    })
}

type HoldRow = (String, Option<String>, StoredTime, String);

fn hold_dto((user_id, reason, placed_at, placed_by): HoldRow) -> UserLegalHoldDto {
    let placed_at: DateTime<Utc> = placed_at.into();
    UserLegalHoldDto {
        user_id,
        reason,
        placed_at,
        placed_by,
    }
}

/// The legal hold on `user_id`, if one is set.
pub fn user_hold(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<UserLegalHoldDto>, StoreError> {
    let row: Option<HoldRow> = user_legal_holds::table
        .find(user_id)
        .select((
            user_legal_holds::user_id,
            user_legal_holds::reason,
            user_legal_holds::placed_at,
            user_legal_holds::placed_by,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(hold_dto))
}

/// Places (or replaces the reason of) the legal hold on `user_id`; the hold before, if any,
/// and now.
pub fn place_user_hold(
    conn: &mut DbConnection,
    user_id: &str,
    reason: Option<&str>,
    placed_by: &str,
) -> Result<(Option<UserLegalHoldDto>, UserLegalHoldDto), StoreError> {
    write_transaction(conn, |conn| {
        let before = user_hold(conn, user_id)?;
        const UPSERT_SQL: &str = "INSERT INTO user_legal_holds \
                (user_id, reason, placed_at, placed_by) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
                reason = excluded.reason, placed_at = excluded.placed_at, \
                placed_by = excluded.placed_by";
        raw_sql!(conn, UPSERT_SQL, execute,
            Text => user_id,
            Nullable<Text> => reason,
            BigInt => now_micros(),
            Text => placed_by,
        )?;
        let after = user_hold(conn, user_id)?.ok_or(StoreError::NotFound)?;
        Ok((before, after))
    })
}

/// Lifts the legal hold on `user_id`; whether there was one.
pub fn lift_user_hold(conn: &mut DbConnection, user_id: &str) -> Result<bool, StoreError> {
    let lifted = diesel::delete(user_legal_holds::table.find(user_id)).execute(conn)?;
    Ok(lifted > 0)
}

/// The retention policy a purge applies: the global days (`None`: kept for ever, unless a
/// room sets its own), as of `now` (micros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    pub global_days: Option<i64>,
    pub now: i64,
}

/// A room with history to purge, and the moment before which its entries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct PurgeableRoom {
    #[diesel(sql_type = BigInt)]
    pub room_id: RoomId,
    #[diesel(sql_type = BigInt)]
    pub cutoff: i64,
}

/// The rooms with ids in `(after, after + window]` that are held by nothing and whose oldest
/// remaining timeline entry is older than their retention: a few index probes per room, no
/// lock. The caller walks the ids window after window up to [`last_room_id`].
pub fn purgeable_rooms(
    conn: &mut DbConnection,
    policy: HistoryPolicy,
    after: RoomId,
    window: i64,
) -> Result<Vec<PurgeableRoom>, StoreError> {
    const SQL: &str = "SELECT room_id, cutoff FROM ( \
            SELECT r.id AS room_id, coalesce(t.purged_through, 0) AS purged, \
                   $1 - coalesce(t.history_days, $2) * $3 AS cutoff \
            FROM chat_rooms AS r LEFT JOIN room_retention AS t ON t.room_id = r.id \
            WHERE r.id > $4 AND r.id <= $4 + $5 \
              AND coalesce(t.history_days, $2) IS NOT NULL \
              AND NOT coalesce(t.legal_hold, FALSE) \
              AND NOT EXISTS (SELECT 1 FROM room_members AS m \
                              JOIN user_legal_holds AS h ON h.user_id = m.user_id \
                              WHERE m.room_id = r.id) \
        ) AS c \
        WHERE coalesce((SELECT m.created_at FROM messages AS m \
                        WHERE m.room_id = c.room_id AND m.seq > c.purged \
                        ORDER BY m.seq LIMIT 1), c.cutoff) < c.cutoff \
           OR coalesce((SELECT e.created_at FROM room_events AS e \
                        WHERE e.room_id = c.room_id AND e.seq > c.purged \
                        ORDER BY e.seq LIMIT 1), c.cutoff) < c.cutoff \
        ORDER BY room_id";
    Ok(raw_sql!(conn, SQL, load,
        BigInt => policy.now,
        Nullable<BigInt> => policy.global_days,
        BigInt => DAY_MICROS,
        BigInt => after,
        BigInt => window,
    )?)
}

/// Whether some room has a retention of its own: without one, and without a global one, a
/// history purge has nothing to look for.
pub fn any_own_retention(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let one: Option<i64> = room_retention::table
        .filter(room_retention::history_days.is_not_null())
        .select(room_retention::room_id)
        .first(conn)
        .optional()?;
    Ok(one.is_some())
}

/// The highest room id (0 without rooms): where a walk of [`purgeable_rooms`] ends.
pub fn last_room_id(conn: &mut DbConnection) -> Result<RoomId, StoreError> {
    let last: Option<i64> = chat_rooms::table
        .select(diesel::dsl::max(chat_rooms::id))
        .first(conn)?;
    Ok(last.unwrap_or(0))
}

/// What one purge step deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgedHistory {
    pub messages: usize,
    pub room_events: usize,
    pub attachments: usize,
}

impl PurgedHistory {
    /// Whether the step deleted anything.
    pub fn is_empty(&self) -> bool {
        self.messages + self.room_events + self.attachments == 0
    }
}

#[derive(QueryableByName)]
struct Boundary {
    #[diesel(sql_type = Nullable<BigInt>)]
    through: Option<i64>,
}

#[derive(QueryableByName)]
struct PurgeState {
    #[diesel(sql_type = BigInt)]
    purged: i64,
    #[diesel(sql_type = Bool)]
    held: bool,
}

/// Purges the next stretch of `room`'s history — at most `batch` timeline entries, all older
/// than its cutoff — in one transaction; what it deleted (nothing once the room is done, is
/// held meanwhile, or another node is purging it). The hold is checked again here, under the
/// transaction: one placed after the room was found keeps it.
pub fn purge_room_history(
    conn: &mut DbConnection,
    room: PurgeableRoom,
    batch: i64,
) -> Result<PurgedHistory, StoreError> {
    const STATE_SQL: &str = "SELECT coalesce((SELECT purged_through FROM room_retention \
                                              WHERE room_id = $1), 0) AS purged, \
            (coalesce((SELECT legal_hold FROM room_retention WHERE room_id = $1), FALSE) \
             OR EXISTS (SELECT 1 FROM room_members AS m \
                        JOIN user_legal_holds AS h ON h.user_id = m.user_id \
                        WHERE m.room_id = $1)) AS held";
    // The last entry older than the cutoff among the next `batch` entries after the boundary.
    const BOUNDARY_SQL: &str = "SELECT max(seq) AS through FROM ( \
            SELECT seq, created_at FROM ( \
                SELECT seq, created_at FROM messages WHERE room_id = $1 AND seq > $2 \
                UNION ALL \
                SELECT seq, created_at FROM room_events WHERE room_id = $1 AND seq > $2 \
            ) AS entries ORDER BY seq LIMIT $3 \
        ) AS next WHERE created_at < $4";
    const ATTACHMENTS_SQL: &str = "DELETE FROM attachments WHERE message_id IN ( \
            SELECT id FROM messages WHERE room_id = $1 AND seq > $2 AND seq <= $3 \
        ) RETURNING storage_key, upload_key, preview_key";
    const MESSAGES_SQL: &str = "DELETE FROM messages WHERE room_id = $1 AND seq > $2 AND seq <= $3";
    const EVENTS_SQL: &str =
        "DELETE FROM room_events WHERE room_id = $1 AND seq > $2 AND seq <= $3";
    const BOUNDARY_MOVE_SQL: &str = "INSERT INTO room_retention (room_id, purged_through, \
                                                                 updated_at) \
            VALUES ($1, $2, $3) ON CONFLICT (room_id) DO UPDATE SET \
            purged_through = CASE WHEN excluded.purged_through > room_retention.purged_through \
                                  THEN excluded.purged_through \
                                  ELSE room_retention.purged_through END";
    let room_id = room.room_id;
    write_transaction(conn, |conn| {
        if let DbConnection::Postgres(pg) = conn {
            // Two 32-bit keys (a space of their own, apart from single-key locks): rooms
            // whose ids differ by a multiple of 2^31 share a lock, and one waits a sweep.
            let key = (room_id % (1 << 31)) as i32;
            let taken: bool =
                diesel::select(pg_try_advisory_xact_lock(ADVISORY_SPACE, key)).get_result(pg)?;
            if !taken {
                return Ok(PurgedHistory::default());
            }
        }
        let state: PurgeState = raw_sql!(conn, STATE_SQL, get_result, BigInt => room_id)?;
        if state.held {
            return Ok(PurgedHistory::default());
        }
        let purged = state.purged;
        let boundary: Boundary = raw_sql!(conn, BOUNDARY_SQL, get_result,
            BigInt => room_id, BigInt => purged, BigInt => batch, BigInt => room.cutoff)?;
        let Some(through) = boundary.through else {
            return Ok(PurgedHistory::default());
        };
        let files: Vec<storage_deletions::StoredKeys> = raw_sql!(conn, ATTACHMENTS_SQL, load,
            BigInt => room_id, BigInt => purged, BigInt => through)?;
        storage_deletions::queue(conn, &storage_deletions::object_keys(&files))?;
        let messages = raw_sql!(conn, MESSAGES_SQL, execute,
            BigInt => room_id, BigInt => purged, BigInt => through)?;
        let room_events = raw_sql!(conn, EVENTS_SQL, execute,
            BigInt => room_id, BigInt => purged, BigInt => through)?;
        raw_sql!(conn, BOUNDARY_MOVE_SQL, execute,
            BigInt => room_id, BigInt => through, BigInt => now_micros())?;
        Ok(PurgedHistory {
            messages,
            room_events,
            attachments: files.len(),
        })
    })
}

/// The advisory lock space of history purges (its first key; the room id is the second).
const ADVISORY_SPACE: i32 = 0x5245_5431; // "RET1"

diesel::define_sql_function! {
    /// Postgres: takes a transaction-scoped advisory lock if free.
    fn pg_try_advisory_xact_lock(
        space: diesel::sql_types::Integer,
        key: diesel::sql_types::Integer,
    ) -> Bool;
}

/// The seq through which `room`'s history was purged (0: none).
pub fn purged_through(conn: &mut DbConnection, room_id: RoomId) -> Result<Seq, StoreError> {
    let purged: Option<i64> = room_retention::table
        .find(room_id)
        .select(room_retention::purged_through)
        .first(conn)
        .optional()?;
    Ok(purged.unwrap_or(0))
}

/// Deletes up to `batch` webhook and push deliveries still queued that were made before
/// `before` (micros): an outbox row older than the history it carries would outlive it. How
/// many.
pub fn purge_outbox_before(
    conn: &mut DbConnection,
    before: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    const WEBHOOK_SQL: &str = "DELETE FROM webhook_outbox WHERE id IN ( \
            SELECT id FROM webhook_outbox WHERE dead_at IS NULL AND created_at < $1 \
            ORDER BY id LIMIT $2)";
    const PUSH_SQL: &str = "DELETE FROM push_outbox WHERE id IN ( \
            SELECT id FROM push_outbox WHERE created_at < $1 ORDER BY id LIMIT $2)";
    write_transaction(conn, |conn| {
        let webhooks = raw_sql!(conn, WEBHOOK_SQL, execute, BigInt => before, BigInt => batch)?;
        let pushes = raw_sql!(conn, PUSH_SQL, execute, BigInt => before, BigInt => batch)?;
        Ok(webhooks + pushes)
    })
}

/// Deletes up to `batch` closed rooms idle since before `before` (micros), held by nothing,
/// with everything in them — their order, members, timeline, clocks — and queues their
/// files' deletion; how many rooms. Rooms another transaction holds (a send racing the purge,
/// another node) are skipped: their turn comes at the next sweep.
pub fn purge_closed_rooms(
    conn: &mut DbConnection,
    before: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    const ROOMS_SQL: &str = "SELECT r.id AS room_id, r.order_id AS order_id \
        FROM chat_rooms AS r \
        WHERE r.status = 'closed' AND r.last_activity_at < $1 \
          AND NOT EXISTS (SELECT 1 FROM room_retention AS t \
                          WHERE t.room_id = r.id AND t.legal_hold) \
          AND NOT EXISTS (SELECT 1 FROM room_members AS m \
                          JOIN user_legal_holds AS h ON h.user_id = m.user_id \
                          WHERE m.room_id = r.id) \
        ORDER BY r.last_activity_at, r.id LIMIT $2";
    const FILES_SQL: &str = "DELETE FROM attachments WHERE room_id = $1 \
        RETURNING storage_key, upload_key, preview_key";
    write_transaction(conn, |conn| {
        let sql = match conn {
            DbConnection::Postgres(_) => format!("{ROOMS_SQL} FOR UPDATE OF r SKIP LOCKED"),
            DbConnection::Sqlite(_) => ROOMS_SQL.to_owned(),
        };
        let rooms: Vec<ClosedRoom> =
            raw_sql!(conn, sql.as_str(), load, BigInt => before, BigInt => batch)?;
        for room in &rooms {
            let files: Vec<storage_deletions::StoredKeys> =
                raw_sql!(conn, FILES_SQL, load, BigInt => room.room_id)?;
            storage_deletions::queue(conn, &storage_deletions::object_keys(&files))?;
        }
        // The order goes with its room: it holds the customer's id and nothing else refers to
        // it (one room per order); deleting it cascades to the room and all it holds.
        let orders: Vec<&str> = rooms.iter().map(|room| room.order_id.as_str()).collect();
        diesel::delete(
            crate::schema::orders::table.filter(crate::schema::orders::id.eq_any(&orders)),
        )
        .execute(conn)?;
        Ok(rooms.len())
    })
}

#[derive(QueryableByName)]
struct ClosedRoom {
    #[diesel(sql_type = BigInt)]
    room_id: i64,
    #[diesel(sql_type = Text)]
    order_id: String,
}
