//! The webhook outbox's writing side: a change records its events in its own transaction.
//!
//! Each event becomes one row per enabled endpoint that takes its type, with the exact body
//! that will be delivered. Written with the change, so a committed change always has its
//! events and a rolled-back one never has any; [`crate::webhooks`] delivers them. With no
//! endpoint configured a change costs one indexed read of an empty table.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{
    MessageDto, RoomDto, RoomId, Seq, WebhookEvent, WebhookEventData, WebhookEventType,
};

use crate::schema::{webhook_endpoints, webhook_outbox};
use crate::time::{now_micros, to_datetime};
use crate::{DbConnection, StoreError};

/// An event to record.
#[derive(Debug, Clone)]
pub(crate) struct OutboxEvent {
    /// The room it is about: the queue it goes out in.
    pub(crate) room_id: RoomId,
    /// Its id, stable across retries and endpoints.
    pub(crate) event_id: String,
    /// Its type.
    pub(crate) kind: WebhookEventType,
    /// When it happened (microseconds).
    pub(crate) at: i64,
    /// Its objects.
    pub(crate) data: WebhookEventData,
}

impl OutboxEvent {
    /// The event of a room's timeline entry at `seq`: its id names the room and the seq, so
    /// receivers can line it up with history.
    pub(crate) fn of_timeline(
        room_id: RoomId,
        seq: Seq,
        kind: WebhookEventType,
        data: WebhookEventData,
    ) -> Self {
        Self {
            room_id,
            event_id: timeline_event_id(room_id, seq),
            kind,
            at: now_micros(),
            data,
        }
    }

    /// `message.created` (`note.created` for an internal note) for a stored message.
    pub(crate) fn message_created(message: &MessageDto) -> Self {
        Self {
            room_id: message.room_id,
            event_id: timeline_event_id(message.room_id, message.seq),
            kind: if message.note {
                WebhookEventType::NoteCreated
            } else {
                WebhookEventType::MessageCreated
            },
            at: message.created_at.timestamp_micros(),
            data: WebhookEventData {
                message: Some(message.clone()),
                ..empty_data()
            },
        }
    }

    /// `room.created`: seq 0, the place before the room's first entry.
    pub(crate) fn room_created(room: &RoomDto) -> Self {
        Self::of_timeline(
            room.id,
            0,
            WebhookEventType::RoomCreated,
            WebhookEventData {
                room: Some(room.clone()),
                ..empty_data()
            },
        )
    }

    /// The event a room timeline frame reports, if it reports one to webhooks (an order's
    /// change is the platform's own doing and is not sent back to it).
    pub(crate) fn of_frame(room_id: RoomId, frame: &ServerFrame) -> Option<Self> {
        let (seq, kind, data) = match frame {
            ServerFrame::Room {
                seq,
                event,
                room,
                user_id,
            } => {
                let kind = match event {
                    RoomChange::Closed => WebhookEventType::RoomClosed,
                    RoomChange::Reopened => WebhookEventType::RoomReopened,
                    RoomChange::Rated => WebhookEventType::RoomRated,
                    RoomChange::SlaBreached => WebhookEventType::RoomSlaBreached,
                    RoomChange::MemberAdded => WebhookEventType::RoomMemberAdded,
                    RoomChange::MemberRemoved => WebhookEventType::RoomMemberRemoved,
                    RoomChange::OrderChanged => return None,
                };
                let data = WebhookEventData {
                    room: Some(room.clone()),
                    user_id: user_id.clone(),
                    ..empty_data()
                };
                (*seq, kind, data)
            }
            ServerFrame::OrderEvent { seq, order_event } => {
                let data = WebhookEventData {
                    order_event: Some(order_event.clone()),
                    ..empty_data()
                };
                (*seq, WebhookEventType::OrderEvent, data)
            }
            ServerFrame::MessageEdited { seq, message } => {
                let kind = match message.note {
                    true => WebhookEventType::NoteEdited,
                    false => WebhookEventType::MessageEdited,
                };
                (*seq, kind, message_data(message))
            }
            ServerFrame::MessageDeleted { seq, message } => {
                let kind = match message.note {
                    true => WebhookEventType::NoteDeleted,
                    false => WebhookEventType::MessageDeleted,
                };
                (*seq, kind, message_data(message))
            }
            _ => return None,
        };
        Some(Self::of_timeline(room_id, seq, kind, data))
    }

    /// The delivery body.
    fn body(self) -> Result<String, StoreError> {
        let event = WebhookEvent {
            id: self.event_id,
            kind: self.kind,
            timestamp: to_datetime(self.at)?,
            data: self.data,
        };
        serde_json::to_string(&event)
            .map_err(|error| StoreError::Task(format!("webhook event not serializable: {error}")))
    }
}

/// The id of the event at a room's `seq`.
pub(crate) fn timeline_event_id(room_id: RoomId, seq: Seq) -> String {
    format!("evt_{room_id}_{seq}")
}

/// Event data with nothing in it.
pub(crate) fn empty_data() -> WebhookEventData {
    WebhookEventData {
        room: None,
        message: None,
        user_id: None,
        unread: None,
        order_event: None,
        export: None,
    }
}

fn message_data(message: &MessageDto) -> WebhookEventData {
    WebhookEventData {
        message: Some(message.clone()),
        ..empty_data()
    }
}

/// An enabled endpoint and the types it takes.
struct Subscriber {
    id: i64,
    types: Subscription,
}

impl Subscriber {
    fn takes(&self, kind: WebhookEventType) -> bool {
        match &self.types {
            Subscription::All => true,
            Subscription::Only(types) => types.contains(&kind),
        }
    }
}

/// The event types an endpoint takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subscription {
    /// Every type (stored as an empty list).
    All,
    /// These types only.
    Only(Vec<WebhookEventType>),
}

#[derive(Insertable)]
#[diesel(table_name = webhook_outbox)]
struct OutboxRow {
    endpoint_id: i64,
    room_id: i64,
    event_id: String,
    event_type: &'static str,
    body: String,
    created_at: i64,
    next_attempt_at: i64,
}

/// Records the events `events` makes, for every enabled endpoint that takes them. Call inside
/// the transaction of the change; `events` runs only when some endpoint is enabled, so the
/// change pays for building them only then.
pub(crate) fn record<I>(
    conn: &mut DbConnection,
    events: impl FnOnce() -> I,
) -> Result<(), StoreError>
where
    I: IntoIterator<Item = OutboxEvent>,
{
    let subscribers = subscribers(conn)?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let now = now_micros();
    let mut rows = Vec::new();
    for event in events() {
        let takers: Vec<i64> = subscribers
            .iter()
            .filter(|subscriber| subscriber.takes(event.kind))
            .map(|subscriber| subscriber.id)
            .collect();
        if takers.is_empty() {
            continue;
        }
        let (room_id, event_id, kind) = (event.room_id, event.event_id.clone(), event.kind);
        let body = event.body()?;
        for endpoint_id in takers {
            rows.push(OutboxRow {
                endpoint_id,
                room_id,
                event_id: event_id.clone(),
                event_type: kind.as_str(),
                body: body.clone(),
                created_at: now,
                next_attempt_at: now,
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        // One statement whose text never changes, however many rows: a multi-row `VALUES`
        // list would be parsed and planned anew for every batch size. Rows are numbered in
        // the events' order, which is the order a queue goes out in.
        DbConnection::Postgres(pg) => {
            diesel::sql_query(
                "INSERT INTO webhook_outbox \
                     (endpoint_id, room_id, event_id, event_type, body, created_at, next_attempt_at) \
                 SELECT r.endpoint_id, r.room_id, r.event_id, r.event_type, r.body, $6, $6 \
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) \
                     WITH ORDINALITY AS r(endpoint_id, room_id, event_id, event_type, body, ord) \
                 ORDER BY r.ord",
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.endpoint_id).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.room_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|row| row.event_id.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|row| row.event_type).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|row| row.body.as_str()).collect::<Vec<_>>())
            .bind::<BigInt, _>(now)
            .execute(pg)?;
        }
        // SQLite's multi-row insert is a statement per row in Diesel; in-process, that is
        // cheap.
        DbConnection::Sqlite(sqlite) => {
            for row in &rows {
                diesel::insert_into(webhook_outbox::table)
                    .values(row)
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// The enabled endpoints.
fn subscribers(conn: &mut DbConnection) -> Result<Vec<Subscriber>, StoreError> {
    let rows: Vec<(i64, String)> = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .select((webhook_endpoints::id, webhook_endpoints::event_types))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, types)| Subscriber {
            id,
            types: parse_types(id, &types),
        })
        .collect())
}

/// Endpoint `endpoint_id`'s event types as stored: comma-separated, empty for all. A spelling
/// this build does not know (stored by a newer version during a rolling deploy) is logged as an
/// error that names it and takes nothing: it never widens the subscription to every type, and
/// it never fails the message write this is read for. (The admin API reads the same column
/// strictly and answers 500 naming it.)
pub(crate) fn parse_types(endpoint_id: i64, stored: &str) -> Subscription {
    if stored.trim().is_empty() {
        return Subscription::All;
    }
    let mut known = Vec::new();
    for spelling in stored.split(',').map(str::trim) {
        match WebhookEventType::parse(spelling) {
            Some(kind) => known.push(kind),
            None => tracing::error!(
                endpoint_id,
                spelling,
                "webhook endpoint names an event type this version does not know; it is sent no \
                 events of that type"
            ),
        }
    }
    Subscription::Only(known)
}

/// Event types in stored form.
pub(crate) fn format_types(types: &[WebhookEventType]) -> String {
    types
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_types_round_trip() {
        let types = [
            WebhookEventType::MessageCreated,
            WebhookEventType::RoomClosed,
        ];
        assert_eq!(
            parse_types(1, &format_types(&types)),
            Subscription::Only(types.to_vec())
        );
        assert_eq!(parse_types(1, ""), Subscription::All);
    }

    #[test]
    fn an_unknown_stored_type_never_means_every_type() {
        let newer = Subscriber {
            id: 1,
            types: parse_types(1, "message.reacted"),
        };
        assert_eq!(newer.types, Subscription::Only(Vec::new()));
        assert!(!newer.takes(WebhookEventType::MessageCreated));
        let mixed = Subscriber {
            id: 2,
            types: parse_types(2, "message.reacted, room.closed"),
        };
        assert!(mixed.takes(WebhookEventType::RoomClosed));
        assert!(!mixed.takes(WebhookEventType::MessageCreated));
        let all = Subscriber {
            id: 3,
            types: parse_types(3, " "),
        };
        assert!(all.takes(WebhookEventType::MessageCreated));
    }
}
