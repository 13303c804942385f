//! Notifications owed to members who are away: scheduled with the messages that cause them,
//! fired (or cancelled) by the notifier once they are due.
//!
//! A burst of messages in a room schedules one row for the room, in the message batch's
//! transaction; later messages of the burst find it and leave it. When it is older than the
//! delay, the notifier finds the room's members (the order's customer and the assigned
//! admins), asks whether each has a live connection that shows the room, then [`fire_all`]
//! removes the row and notifies each member who is not connected, did not mute the room and
//! has not read the burst's first message (a sender has: its marker moved when it wrote) — a
//! `notification.due` event in the room's webhook queue and a push for each of their
//! browsers, in that same transaction.

use diesel::prelude::*;
use room_chats_types::{MessageDto, RoomDto, WebhookEventData, WebhookEventType};

use crate::connection::{commit_asynchronously, write_transaction};
use crate::messages::unread_count;
use crate::outbox::{self, OutboxEvent};
use crate::push;
use crate::rooms::find_room;
use crate::rows::MessageRow;
use crate::schema::{chat_rooms, messages, notification_bursts, orders, room_members};
use crate::time::now_micros;
use crate::{DbConnection, StoreError};

/// A room's share of a stored batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Burst {
    /// The room.
    pub(crate) room_id: i64,
    /// Its first new seq in the batch.
    pub(crate) first_seq: i64,
}

/// Schedules the bursts of a batch on SQLite, inside its transaction (Postgres does it in the
/// batch's one statement). A room with a burst scheduled already keeps it.
pub(crate) fn schedule_sqlite(
    sqlite: &mut SqliteConnection,
    bursts: &[Burst],
    now: i64,
) -> Result<(), StoreError> {
    for burst in bursts {
        diesel::insert_into(notification_bursts::table)
            .values((
                notification_bursts::room_id.eq(burst.room_id),
                notification_bursts::first_seq.eq(burst.first_seq),
                notification_bursts::since.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(sqlite)?;
    }
    Ok(())
}

/// A burst whose delay has passed, with the members to consider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The room.
    pub room_id: i64,
    /// The burst's first message.
    pub first_seq: i64,
    /// When it was scheduled (microseconds): identifies this burst's row.
    pub since: i64,
    /// The room's members now: its order's customer and its assigned admins.
    pub members: Vec<String>,
}

/// Up to `limit` bursts scheduled at or before `scheduled_by` (microseconds), oldest first,
/// with their rooms' members.
pub fn due(conn: &mut DbConnection, scheduled_by: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
    let bursts: Vec<(i64, i64, i64)> = notification_bursts::table
        .filter(notification_bursts::since.le(scheduled_by))
        .order(notification_bursts::since)
        .limit(limit)
        .select((
            notification_bursts::room_id,
            notification_bursts::first_seq,
            notification_bursts::since,
        ))
        .load(conn)?;
    let rooms: Vec<i64> = bursts.iter().map(|(room_id, ..)| *room_id).collect();
    let customers: Vec<(i64, String)> = chat_rooms::table
        .inner_join(orders::table)
        .filter(chat_rooms::id.eq_any(&rooms))
        .select((chat_rooms::id, orders::customer_id))
        .load(conn)?;
    let admins: Vec<(i64, String)> = room_members::table
        .filter(room_members::room_id.eq_any(&rooms))
        .filter(room_members::assigned.eq(true))
        .select((room_members::room_id, room_members::user_id))
        .load(conn)?;
    Ok(bursts
        .into_iter()
        .map(|(room_id, first_seq, since)| {
            let members = customers
                .iter()
                .chain(&admins)
                .filter(|(room, _)| *room == room_id)
                .map(|(_, user)| user.clone())
                .collect();
            Due {
                room_id,
                first_seq,
                since,
                members,
            }
        })
        .collect())
}

/// What became of one member's notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// Sent: this is what the member is told.
    Notified(Box<Notification>),
    /// Not needed: the member is connected, muted the room, read it, or lost access.
    Cancelled(&'static str),
    /// Another node fired the burst first.
    Taken,
}

/// A notification as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The member.
    pub user_id: String,
    /// The room as it is now.
    pub room: RoomDto,
    /// Messages of others the member has not read.
    pub unread: i64,
    /// The newest of them.
    pub message: MessageDto,
}

/// Fires due bursts, each with whether each of its members is connected, in one transaction
/// (committed asynchronously: a crash only means a burst is fired again). Each burst's row is
/// removed, and its members notified unless connected, muted, up to date or no longer members
/// — so a burst is notified once however many nodes try.
pub fn fire_all(
    conn: &mut DbConnection,
    due: &[(Due, Vec<(String, bool)>)],
) -> Result<Vec<Fired>, StoreError> {
    write_transaction(conn, |conn| {
        commit_asynchronously(conn)?;
        let mut fired = Vec::new();
        for (burst, members) in due {
            let removed = diesel::delete(
                notification_bursts::table
                    .find(burst.room_id)
                    .filter(notification_bursts::since.eq(burst.since)),
            )
            .execute(conn)?;
            if removed == 0 {
                fired.push(Fired::Taken);
                continue;
            }
            for (user_id, connected) in members {
                fired.push(notify(conn, burst, user_id, *connected)?);
            }
        }
        Ok(fired)
    })
}

/// Notifies one member of a burst, inside [`fire_all`]'s transaction, unless not needed.
fn notify(
    conn: &mut DbConnection,
    burst: &Due,
    user_id: &str,
    connected: bool,
) -> Result<Fired, StoreError> {
    if connected {
        return Ok(Fired::Cancelled("connected"));
    }
    let member: Option<(i64, bool, String, bool)> = room_members::table
        .find((burst.room_id, user_id))
        .select((
            room_members::last_read_seq,
            room_members::assigned,
            room_members::role,
            room_members::muted,
        ))
        .first(conn)
        .optional()?;
    if member.as_ref().is_some_and(|(.., muted)| *muted) {
        return Ok(Fired::Cancelled("muted"));
    }
    // Whether the member read everything of others is what counts ("nothing unread" below),
    // not whether it read past the burst's first seq: a burst the member's own message began
    // (its marker moves with it) still holds the answers that came after.
    let read = member.as_ref().map_or(0, |(read, ..)| *read);
    let Some(room) = find_room(conn, burst.room_id)? else {
        return Ok(Fired::Cancelled("room gone"));
    };
    let assigned_admin = member
        .as_ref()
        .is_some_and(|(_, assigned, role, _)| *assigned && role == "admin");
    if room.customer_id != user_id && !assigned_admin {
        return Ok(Fired::Cancelled("no longer a member"));
    }
    let unread = unread_count(conn, burst.room_id, user_id, read, room.last_seq)?;
    let newest: Option<MessageRow> = messages::table
        .filter(messages::room_id.eq(burst.room_id))
        .filter(messages::seq.gt(read))
        .filter(messages::sender_id.ne(user_id))
        // The notification (webhook, push) quotes a message of the conversation, never a
        // note written after the burst began.
        .filter(messages::note.eq(false))
        .order(messages::seq.desc())
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    let (Some(newest), true) = (newest, unread > 0) else {
        return Ok(Fired::Cancelled("nothing unread"));
    };
    let notification = Notification {
        user_id: user_id.to_owned(),
        room,
        unread,
        message: newest.into(),
    };
    let event = OutboxEvent {
        room_id: burst.room_id,
        event_id: notification_event_id(&notification),
        kind: WebhookEventType::NotificationDue,
        at: now_micros(),
        data: WebhookEventData {
            room: Some(notification.room.clone()),
            message: Some(notification.message.clone()),
            user_id: Some(notification.user_id.clone()),
            unread: Some(notification.unread),
            order_event: None,
            export: None,
        },
    };
    outbox::record(conn, || Some(event))?;
    push::record(conn, user_id, burst.room_id, &push_payload(&notification)?)?;
    Ok(Fired::Notified(Box::new(notification)))
}

/// Characters of the newest message a push carries: a push payload holds about 4 KB, and a
/// notification shows a line or two.
const PUSH_PREVIEW_CHARS: usize = 200;

/// What the member's browsers receive (its service worker shows it): the room, how many are
/// unread, and the start of the newest message.
fn push_payload(notification: &Notification) -> Result<String, StoreError> {
    let message = &notification.message;
    let preview: String = message.content.chars().take(PUSH_PREVIEW_CHARS).collect();
    let payload = serde_json::json!({
        "type": "notification.due",
        "room_id": notification.room.id,
        "order_id": notification.room.order_id,
        "order_reference": notification.room.order_reference,
        "unread": notification.unread,
        "message": {
            "id": message.id,
            "seq": message.seq,
            "sender_id": message.sender_id,
            "sender_role": message.sender_role,
            "content": preview,
            "created_at": message.created_at,
        },
    });
    serde_json::to_string(&payload)
        .map_err(|error| StoreError::Task(format!("push payload: {error}")))
}

/// `ntf_{room}_{newest seq}_{member}`: the same if a firing is retried, different for each
/// member (whose id is hashed: ids may hold characters a header cannot).
fn notification_event_id(notification: &Notification) -> String {
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    let member = notification
        .user_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!(
        "ntf_{}_{}_{member:016x}",
        notification.room.id, notification.message.seq
    )
}
