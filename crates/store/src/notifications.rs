//! Notifications owed to members who are away: scheduled with the messages that cause them,
//! fired (or cancelled) by the notifier once they are due.
//!
//! A burst of messages in a room schedules one row per member who did not send them all (the
//! order's customer and the assigned admins). When the row is older than the delay, the
//! notifier asks whether the member has a live connection that shows the room, then
//! [`fire`]s it: a member who read the burst's first message meanwhile, or is connected, is
//! not notified; anyone else gets a `notification.due` event in the room's webhook queue and a
//! push for each of their browsers, in the same transaction that removes the row.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use room_chats_types::{MessageDto, RoomDto, WebhookEventData, WebhookEventType};

use crate::connection::{commit_asynchronously, write_transaction};
use crate::members::unread_count;
use crate::outbox::{self, OutboxEvent};
use crate::push;
use crate::rooms::find_room;
use crate::rows::MessageRow;
use crate::schema::{messages, notification_schedule, room_members};
use crate::time::now_micros;
use crate::{DbConnection, StoreError};

/// A room's share of a stored batch: what its notifications need.
#[derive(Debug, Clone)]
pub(crate) struct Burst<'a> {
    /// The room.
    pub(crate) room_id: i64,
    /// Its first new seq in the batch.
    pub(crate) first_seq: i64,
    /// The one sender of all its new messages, if there was one (not notified of them).
    pub(crate) sole_sender: Option<&'a str>,
}

/// The members to schedule, from a `keys (room_id, first_seq, sole_sender)` relation: the
/// order's customer and the assigned admins of each room, but not the one sender of a burst.
/// The message batch's statement includes it (Postgres); SQLite runs it on its own.
pub(crate) const SCHEDULE_MEMBERS: &str = "\
    SELECT k.room_id, o.customer_id AS user_id, k.first_seq FROM keys AS k \
    JOIN chat_rooms AS c ON c.id = k.room_id JOIN orders AS o ON o.id = c.order_id \
    WHERE k.sole_sender IS NULL OR o.customer_id <> k.sole_sender \
    UNION ALL \
    SELECT k.room_id, m.user_id, k.first_seq FROM keys AS k \
    JOIN room_members AS m ON m.room_id = k.room_id AND m.assigned \
    WHERE k.sole_sender IS NULL OR m.user_id <> k.sole_sender";

/// Schedules the notifications of a batch's bursts on SQLite, inside its transaction. A
/// member with a row already (an earlier message of the same burst) keeps it.
pub(crate) fn schedule_sqlite(
    sqlite: &mut SqliteConnection,
    bursts: &[Burst<'_>],
    now: i64,
) -> Result<(), StoreError> {
    if bursts.is_empty() {
        return Ok(());
    }
    let keys: Vec<(i64, i64, Option<&str>)> = bursts
        .iter()
        .map(|b| (b.room_id, b.first_seq, b.sole_sender))
        .collect();
    let keys = serde_json::to_string(&keys)
        .map_err(|error| StoreError::Task(format!("burst keys: {error}")))?;
    diesel::sql_query(format!(
        "WITH keys AS (SELECT value ->> 0 AS room_id, value ->> 1 AS first_seq, \
             value ->> 2 AS sole_sender FROM json_each(?1)) \
         INSERT INTO notification_schedule (room_id, user_id, first_seq, since) \
         SELECT room_id, user_id, first_seq, ?2 FROM ({SCHEDULE_MEMBERS}) AS due WHERE true \
         ON CONFLICT (room_id, user_id) DO NOTHING"
    ))
    .bind::<Text, _>(keys)
    .bind::<BigInt, _>(now)
    .execute(sqlite)?;
    Ok(())
}

/// A notification whose delay has passed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Due {
    /// The room.
    pub room_id: i64,
    /// The member.
    pub user_id: String,
    /// The burst's first message.
    pub first_seq: i64,
    /// When it was scheduled (microseconds): identifies this burst's row.
    pub since: i64,
}

/// Up to `limit` notifications scheduled at or before `scheduled_by` (microseconds), oldest
/// first.
pub fn due(conn: &mut DbConnection, scheduled_by: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
    Ok(notification_schedule::table
        .filter(notification_schedule::since.le(scheduled_by))
        .order(notification_schedule::since)
        .limit(limit)
        .select((
            notification_schedule::room_id,
            notification_schedule::user_id,
            notification_schedule::first_seq,
            notification_schedule::since,
        ))
        .load(conn)?)
}

/// What became of a due notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// Sent: this is what the member is told.
    Notified(Box<Notification>),
    /// Not needed: the member is connected, read it, or lost access.
    Cancelled(&'static str),
    /// Another node fired it first.
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

/// Fires due notifications, each with whether its member is connected, in one transaction
/// (committed asynchronously: a crash only means one is fired again). Each row is removed
/// and, unless the member is connected, muted the room, read the burst or may no longer see
/// the room, its `notification.due` event and pushes are recorded — so a notification is sent
/// once however many nodes try.
pub fn fire_all(conn: &mut DbConnection, due: &[(Due, bool)]) -> Result<Vec<Fired>, StoreError> {
    write_transaction(conn, |conn| {
        commit_asynchronously(conn)?;
        due.iter()
            .map(|(due, connected)| fire(conn, due, *connected))
            .collect()
    })
}

/// Fires one due notification, inside [`fire_all`]'s transaction.
fn fire(conn: &mut DbConnection, due: &Due, connected: bool) -> Result<Fired, StoreError> {
    {
        let removed = diesel::delete(
            notification_schedule::table
                .find((due.room_id, &due.user_id))
                .filter(notification_schedule::since.eq(due.since)),
        )
        .execute(conn)?;
        if removed == 0 {
            return Ok(Fired::Taken);
        }
        if connected {
            return Ok(Fired::Cancelled("connected"));
        }
        let member: Option<(i64, bool, String, bool)> = room_members::table
            .find((due.room_id, &due.user_id))
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
        let read = member.as_ref().map_or(0, |(read, ..)| *read);
        if read >= due.first_seq {
            return Ok(Fired::Cancelled("read"));
        }
        let Some(room) = find_room(conn, due.room_id)? else {
            return Ok(Fired::Cancelled("room gone"));
        };
        let assigned_admin = member
            .as_ref()
            .is_some_and(|(_, assigned, role, _)| *assigned && role == "admin");
        if room.customer_id != due.user_id && !assigned_admin {
            return Ok(Fired::Cancelled("no longer a member"));
        }
        let unread = unread_count(conn, due.room_id, &due.user_id, read, room.last_seq)?;
        let newest: Option<MessageRow> = messages::table
            .filter(messages::room_id.eq(due.room_id))
            .filter(messages::seq.gt(read))
            .filter(messages::sender_id.ne(&due.user_id))
            .order(messages::seq.desc())
            .select(MessageRow::as_select())
            .first(conn)
            .optional()?;
        let (Some(newest), true) = (newest, unread > 0) else {
            return Ok(Fired::Cancelled("nothing unread"));
        };
        let notification = Notification {
            user_id: due.user_id.clone(),
            room,
            unread,
            message: newest.into(),
        };
        let event = OutboxEvent {
            room_id: due.room_id,
            event_id: notification_event_id(&notification),
            kind: WebhookEventType::NotificationDue,
            at: now_micros(),
            data: WebhookEventData {
                room: Some(notification.room.clone()),
                message: Some(notification.message.clone()),
                user_id: Some(notification.user_id.clone()),
                unread: Some(notification.unread),
            },
        };
        outbox::record(conn, || Some(event))?;
        push::record(
            conn,
            &due.user_id,
            due.room_id,
            &push_payload(&notification)?,
        )?;
        Ok(Fired::Notified(Box::new(notification)))
    }
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
