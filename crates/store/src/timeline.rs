//! A room's timeline: its messages and its events (closed, reopened, an admin assigned or
//! unassigned, a message edited or deleted) in one gapless sequence of seqs. Messages take
//! their seqs in [`crate::batch`]; events here, in the transaction of the change they record,
//! so a change is never stored without its event nor announced before both committed. The
//! event's webhook rows go into the outbox in the same transaction ([`crate::outbox`]).

use diesel::prelude::*;
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{RoomId, RoomStatus, Seq};

use crate::outbox::{self, OutboxEvent};
use crate::room_lookup::find_room;
use crate::rows::Spelled;
use crate::schema::{chat_rooms, messages, room_events};
use crate::time::{activity_bucket, now_micros};
use crate::{Audience, DbConnection, StoreError};

/// A room event as stored: its place and the frame clients receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its seq in the room's timeline.
    pub seq: Seq,
    /// The frame as sent live (JSON); `None` where the reader may not see it (an event about
    /// an internal note, read for a customer).
    pub frame: Option<String>,
}

/// Records that `change` happened to the room, at the room's next seq. Call inside the
/// transaction that made the change, after it: the frame carries the room as it is now.
pub(crate) fn append_room_event(
    conn: &mut DbConnection,
    room_id: RoomId,
    change: RoomChange,
    user_id: Option<&str>,
) -> Result<ServerFrame, StoreError> {
    append_event(conn, room_id, change.as_str(), None, |conn, seq| {
        let room = find_room(conn, room_id)?.ok_or(StoreError::NotFound)?;
        Ok(ServerFrame::Room {
            seq,
            event: change,
            room,
            user_id: user_id.map(str::to_owned),
        })
    })
}

/// Appends an event of `kind` (about `message_id`, for edits and deletes) at the room's next
/// seq, with the frame `frame` builds for that seq. Takes the room row's lock until the
/// commit, as storing a message does.
pub(crate) fn append_event(
    conn: &mut DbConnection,
    room_id: RoomId,
    kind: &str,
    message_id: Option<i64>,
    frame: impl FnOnce(&mut DbConnection, Seq) -> Result<ServerFrame, StoreError>,
) -> Result<ServerFrame, StoreError> {
    let now = now_micros();
    // Every timeline entry is activity: the room list and the inbox cursor follow it.
    let seq: Seq = diesel::update(chat_rooms::table.find(room_id))
        .set((
            chat_rooms::last_seq.eq(chat_rooms::last_seq + 1),
            chat_rooms::last_activity_at.eq(now),
            chat_rooms::activity_bucket.eq(activity_bucket(now)),
        ))
        .returning(chat_rooms::last_seq)
        .get_result(conn)?;
    let frame = frame(conn, seq)?;
    diesel::insert_into(room_events::table)
        .values((
            room_events::room_id.eq(room_id),
            room_events::seq.eq(seq),
            room_events::kind.eq(kind),
            room_events::message_id.eq(message_id),
            room_events::frame.eq(frame_text(&frame)?),
            room_events::created_at.eq(now),
            room_events::staff_only.eq(frame.staff_only()),
        ))
        .execute(conn)?;
    outbox::record(conn, || OutboxEvent::of_frame(room_id, &frame))?;
    Ok(frame)
}

/// Records the events of a change made to many rooms at once (each room's `last_seq` already
/// advanced to the event's seq, in the same transaction): their timeline rows and webhook rows,
/// one statement each for all of them.
pub(crate) fn record_events(
    conn: &mut DbConnection,
    events: &[(RoomId, ServerFrame)],
    change: RoomChange,
    now: i64,
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(events.len());
    for (room_id, frame) in events {
        let Some(seq) = frame.timeline_seq() else {
            continue;
        };
        rows.push((
            room_events::room_id.eq(*room_id),
            room_events::seq.eq(seq),
            room_events::kind.eq(change.as_str()),
            room_events::message_id.eq(None::<i64>),
            room_events::frame.eq(frame_text(frame)?),
            room_events::created_at.eq(now),
            room_events::staff_only.eq(frame.staff_only()),
        ));
    }
    match conn {
        DbConnection::Postgres(pg) => {
            diesel::insert_into(room_events::table)
                .values(&rows)
                .execute(pg)?;
        }
        // SQLite runs in-process: a statement per row costs no round trip.
        DbConnection::Sqlite(sqlite) => {
            for row in &rows {
                diesel::insert_into(room_events::table)
                    .values(row.clone())
                    .execute(sqlite)?;
            }
        }
    }
    outbox::record(conn, || {
        events
            .iter()
            .filter_map(|(room_id, frame)| OutboxEvent::of_frame(*room_id, frame))
            .collect::<Vec<_>>()
    })
}

/// A frame as stored and sent.
pub(crate) fn frame_text(frame: &ServerFrame) -> Result<String, StoreError> {
    serde_json::to_string(frame)
        .map_err(|error| StoreError::Task(format!("event not serializable: {error}")))
}

/// Locks the room's row until the commit and answers its status. A change that appends an
/// event takes this lock first, as the message writer does, so the two never wait on each
/// other's rows in opposite orders; what it reads after the lock is current.
pub(crate) fn lock_room(
    conn: &mut DbConnection,
    room_id: RoomId,
) -> Result<RoomStatus, StoreError> {
    let status: Spelled<RoomStatus> = diesel::update(chat_rooms::table.find(room_id))
        .set(chat_rooms::last_seq.eq(chat_rooms::last_seq))
        .returning(chat_rooms::status)
        .get_result(conn)?;
    Ok(status.0)
}

/// The room's events with a seq in `(after, up_to]`, oldest first, at most `limit`. For a
/// customer, an event about an internal note is there without its frame: the seq is taken,
/// what happened is not theirs to know.
pub fn room_events(
    conn: &mut DbConnection,
    room_id: RoomId,
    after: Seq,
    up_to: Seq,
    limit: i64,
    audience: Audience,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows: Vec<(Seq, String, bool)> = room_events::table
        .filter(room_events::room_id.eq(room_id))
        .filter(room_events::seq.gt(after))
        .filter(room_events::seq.le(up_to))
        .order(room_events::seq.asc())
        .select((
            room_events::seq,
            // The frame never leaves the database for a customer when it is staff-only.
            diesel::dsl::sql::<diesel::sql_types::Text>(if audience.sees_notes() {
                "frame"
            } else {
                "CASE WHEN staff_only THEN '' ELSE frame END"
            }),
            room_events::staff_only,
        ))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, frame, staff_only)| StoredEvent {
            seq,
            frame: match staff_only && !audience.sees_notes() {
                true => None,
                false => Some(frame),
            },
        })
        .collect())
}

/// The places of internal notes in `(after, up_to]`, oldest first, at most `limit`, as entries
/// without a frame: the seqs a customer's timeline skips (live delivery orders entries by seq
/// and must know a seq is taken to go on past it).
pub fn note_places(
    conn: &mut DbConnection,
    room_id: RoomId,
    after: Seq,
    up_to: Seq,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let seqs: Vec<Seq> = messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::seq.gt(after))
        .filter(messages::seq.le(up_to))
        .filter(messages::note.eq(true))
        .order(messages::seq.asc())
        .select(messages::seq)
        .limit(limit)
        .load(conn)?;
    Ok(seqs
        .into_iter()
        .map(|seq| StoredEvent { seq, frame: None })
        .collect())
}
