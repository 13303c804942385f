//! Room members: who takes part in a room, admin assignment, and read markers.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{MemberDto, ReadMarkerDto, Role};

use crate::connection::write_transaction;
use crate::messages::unread_count;
use crate::rows::Spelled;
use crate::schema::{chat_rooms, room_members, user_names};
use crate::time::now_micros;
use crate::timeline::{append_room_event, lock_room};
use crate::{DbConnection, StoreError};

/// Makes `user_id` a member of the room with `role`, unless it already is one.
pub fn ensure_member(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    role: Role,
) -> Result<(), StoreError> {
    upsert_member(conn, room_id, user_id, role, false)
}

// Portable "insert if missing": Diesel's `on_conflict` does not compile on the two-backend
// connection, raw SQL with ON CONFLICT runs on both.
fn upsert_member(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    role: Role,
    assigned: bool,
) -> Result<(), StoreError> {
    let on_conflict = if assigned {
        "DO UPDATE SET assigned = TRUE"
    } else {
        "DO NOTHING"
    };
    diesel::sql_query(format!(
        "INSERT INTO room_members (room_id, user_id, role, assigned, last_read_seq, joined_at) \
         VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (room_id, user_id) {on_conflict}"
    ))
    .bind::<BigInt, _>(room_id)
    .bind::<Text, _>(user_id)
    .bind::<Text, _>(role.as_str())
    .bind::<Bool, _>(assigned)
    .bind::<BigInt, _>(now_micros())
    .execute(conn)?;
    Ok(())
}

/// Mutes or unmutes a room for `user_id` (a member row is made for a customer who has none).
/// Answers whether it is muted now.
pub fn set_muted(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    role: Role,
    muted: bool,
) -> Result<bool, StoreError> {
    diesel::sql_query(
        "INSERT INTO room_members (room_id, user_id, role, assigned, last_read_seq, joined_at, muted) \
         VALUES ($1, $2, $3, FALSE, 0, $4, $5) \
         ON CONFLICT (room_id, user_id) DO UPDATE SET muted = excluded.muted",
    )
    .bind::<BigInt, _>(room_id)
    .bind::<Text, _>(user_id)
    .bind::<Text, _>(role.as_str())
    .bind::<BigInt, _>(now_micros())
    .bind::<Bool, _>(muted)
    .execute(conn)?;
    is_muted(conn, room_id, user_id)
}

/// Whether `user_id` muted the room.
pub fn is_muted(conn: &mut DbConnection, room_id: i64, user_id: &str) -> Result<bool, StoreError> {
    Ok(room_members::table
        .find((room_id, user_id))
        .select(room_members::muted)
        .first(conn)
        .optional()?
        .unwrap_or(false))
}

/// A member row: user, role, assigned, last read seq, display name.
type MemberRow = (String, Spelled<Role>, bool, i64, Option<String>);

/// The members of a room with their display names, clients first.
pub fn members(conn: &mut DbConnection, room_id: i64) -> Result<Vec<MemberDto>, StoreError> {
    let rows: Vec<MemberRow> = room_members::table
        .left_join(user_names::table.on(user_names::user_id.eq(room_members::user_id)))
        .filter(room_members::room_id.eq(room_id))
        .select((
            room_members::user_id,
            room_members::role,
            room_members::assigned,
            room_members::last_read_seq,
            user_names::name.nullable(),
        ))
        .order((
            room_members::role.desc(),
            room_members::joined_at,
            room_members::user_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, role, assigned, last_read_seq, name)| MemberDto {
            user_id,
            name,
            role: role.into(),
            assigned,
            last_read_seq,
        })
        .collect())
}

/// The highest seq `user_id` has read in a room; 0 for a non-member.
pub fn last_read_seq(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
) -> Result<i64, StoreError> {
    Ok(room_members::table
        .find((room_id, user_id))
        .select(room_members::last_read_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// The caller's read marker and unread count in a room; a non-member has read nothing.
pub fn read_marker(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
) -> Result<ReadMarkerDto, StoreError> {
    let last_seq: i64 = chat_rooms::table
        .find(room_id)
        .select(chat_rooms::last_seq)
        .first(conn)?;
    let up_to = last_read_seq(conn, room_id, user_id)?;
    Ok(ReadMarkerDto {
        room_id,
        up_to,
        unread: unread_count(conn, room_id, user_id, up_to, last_seq)?,
    })
}

/// Moves the caller's read marker to `up_to` (default: the newest message). The marker never
/// moves backwards and never past the newest message, so a stale or inflated value is harmless.
pub fn mark_read(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    role: Role,
    up_to: Option<i64>,
) -> Result<ReadMarkerDto, StoreError> {
    write_transaction(conn, |conn| {
        let last_seq: i64 = chat_rooms::table
            .find(room_id)
            .select(chat_rooms::last_seq)
            .first(conn)?;
        let target = up_to.map_or(last_seq, |seq| seq.min(last_seq));
        ensure_member(conn, room_id, user_id, role)?;
        diesel::update(room_members::table.find((room_id, user_id)))
            .filter(room_members::last_read_seq.lt(target))
            .set((
                room_members::last_read_seq.eq(target),
                room_members::read_at.eq(now_micros()),
            ))
            .execute(conn)?;
        read_marker(conn, room_id, user_id)
    })
}

/// Assigns an admin to a room, recording it in the room's timeline. The order's customer
/// cannot be assigned. Assigning an assigned admin changes nothing: no event (`None`).
pub fn assign_admin(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    customer_id: &str,
) -> Result<Option<ServerFrame>, StoreError> {
    if user_id == customer_id {
        return Err(StoreError::Conflict(
            "the order's customer cannot be assigned as an admin",
        ));
    }
    write_transaction(conn, |conn| {
        lock_room(conn, room_id)?;
        let existing: Option<(Spelled<Role>, bool)> = room_members::table
            .find((room_id, user_id))
            .select((room_members::role, room_members::assigned))
            .first(conn)
            .optional()?;
        match existing {
            Some((Spelled(Role::Client), _)) => Err(StoreError::Conflict(
                "a client member cannot be assigned as an admin",
            )),
            Some((_, true)) => Ok(None),
            _ => {
                upsert_member(conn, room_id, user_id, Role::Admin, true)?;
                let event =
                    append_room_event(conn, room_id, RoomChange::MemberAdded, Some(user_id))?;
                Ok(Some(event))
            }
        }
    })
}

/// Removes an admin's assignment (its membership and read marker stay), recording it in the
/// room's timeline. Idempotent: unassigning an admin that is not assigned changes nothing
/// (`None`).
pub fn unassign_admin(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
) -> Result<Option<ServerFrame>, StoreError> {
    write_transaction(conn, |conn| {
        lock_room(conn, room_id)?;
        let changed = diesel::update(room_members::table.find((room_id, user_id)))
            .filter(room_members::role.eq(Role::Admin.as_str()))
            .filter(room_members::assigned.eq(true))
            .set(room_members::assigned.eq(false))
            .execute(conn)?;
        match changed {
            0 => Ok(None),
            _ => {
                append_room_event(conn, room_id, RoomChange::MemberRemoved, Some(user_id)).map(Some)
            }
        }
    })
}

/// Remembers a display name seen in a token, writing only when it changed.
pub fn remember_name(conn: &mut DbConnection, user_id: &str, name: &str) -> Result<(), StoreError> {
    diesel::sql_query(
        "INSERT INTO user_names (user_id, name, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at \
         WHERE user_names.name <> excluded.name",
    )
    .bind::<Text, _>(user_id)
    .bind::<Text, _>(name)
    .bind::<BigInt, _>(now_micros())
    .execute(conn)?;
    Ok(())
}

/// Where a user's unread count in a room stands: its marker, the room's newest seq when it was
/// counted, and how many messages of others lie between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadBaseline {
    /// The room.
    pub room_id: i64,
    /// The user's read marker.
    pub read_seq: i64,
    /// The room's `last_seq` the count goes up to.
    pub counted_seq: i64,
    /// Messages of others in `(read_seq, counted_seq]` (notes are not counted: see
    /// [`crate::messages::unread_count`]).
    pub unread: i64,
}

/// `user_id`'s unread baseline in each of `room_ids` that exists, counted up to the room's
/// `last_seq` as read in the same statement, so that a live stream can add the messages after
/// it exactly once. One statement for all the rooms: a dashboard's first update asks for a
/// thousand at once, and a round trip per room held the pool for a second.
pub fn unread_baselines(
    conn: &mut DbConnection,
    user_id: &str,
    room_ids: &[i64],
) -> Result<Vec<UnreadBaseline>, StoreError> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Integers formatted by us, never text from outside; `$1` is the user on both backends.
    let ids: Vec<String> = room_ids.iter().map(i64::to_string).collect();
    let query = format!(
        "SELECT r.id AS room_id, COALESCE(rm.last_read_seq, 0) AS read_seq, \
                r.last_seq AS counted_seq, \
                (SELECT count(*) FROM messages m \
                  WHERE m.room_id = r.id AND m.seq > COALESCE(rm.last_read_seq, 0) \
                    AND m.seq <= r.last_seq AND m.sender_id <> $1 AND NOT m.note) AS unread \
           FROM chat_rooms r \
           LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $1 \
          WHERE r.id IN ({})",
        ids.join(",")
    );
    let rows: Vec<BaselineRow> = diesel::sql_query(query)
        .bind::<Text, _>(user_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| UnreadBaseline {
            room_id: row.room_id,
            read_seq: row.read_seq.min(row.counted_seq),
            counted_seq: row.counted_seq,
            unread: row.unread,
        })
        .collect())
}

#[derive(QueryableByName)]
struct BaselineRow {
    #[diesel(sql_type = BigInt)]
    room_id: i64,
    #[diesel(sql_type = BigInt)]
    read_seq: i64,
    #[diesel(sql_type = BigInt)]
    counted_seq: i64,
    #[diesel(sql_type = BigInt)]
    unread: i64,
}
