//! WebSocket protocol v1: the frames exchanged on `GET /ws/chat/{room_id}/`, and the room
//! events nodes pass to each other through the broker. Every frame is a JSON object with a
//! `type`; see docs/REALTIME.md for the conversation they make up.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::{ExternalId, MessageContent};
use crate::{ErrorCode, MessageDto, OrderEventDto, Role, RoomDto, RoomId, Seq};

/// The subprotocol a browser offers (beside `bearer.<jwt>`) and the server selects.
pub const SUBPROTOCOL: &str = "room-chats.v1";
/// Prefix of the subprotocol entry that carries a token in browsers.
pub const BEARER_PROTOCOL_PREFIX: &str = "bearer.";

/// Who the connection speaks for, as sent in `ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The token's `sub`.
    pub user_id: String,
    /// The token's role.
    pub role: Role,
}

/// What changed about a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomChange {
    /// An admin closed the room.
    Closed,
    /// An admin reopened the room.
    Reopened,
    /// An admin was assigned.
    MemberAdded,
    /// An admin was unassigned.
    MemberRemoved,
    /// The room's order changed: its reference, or its customer (who then lost access).
    OrderChanged,
    /// The customer rated the closed room (`room.rating`).
    Rated,
    /// The room's response-time target was missed (`room.sla.breached_at`). Staff only: customers never
    /// receive it, and see its seq as a gap.
    SlaBreached,
}

impl RoomChange {
    /// The change as spelled on the wire (and stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::OrderChanged => "order_changed",
            Self::Rated => "rated",
            Self::SlaBreached => "sla_breached",
        }
    }
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Always the first frame of a connection.
    Ready {
        /// The room.
        room: RoomDto,
        /// The caller.
        me: Me,
        /// Seq of the newest message when the connection opened.
        last_seq: Seq,
        /// Messages of others after the caller's read marker.
        unread: i64,
    },
    /// Messages from before the connection: the last N, or everything after `since`.
    History {
        /// Oldest first.
        messages: Vec<MessageDto>,
        /// Whether older messages exist (without `since`), or whether more history frames
        /// follow (with `since`).
        has_more: bool,
    },
    /// Sent on a resume (`since`) from below the room's purge boundary, before the history:
    /// the room's timeline at or below `through_seq` was deleted under its retention policy
    /// (docs/DATA-PROTECTION.md). What follows starts above it; nothing at or below it will
    /// ever come.
    HistoryPurged {
        /// The highest purged seq.
        through_seq: Seq,
    },
    /// A message somebody else sent.
    Message {
        /// The message.
        message: MessageDto,
    },
    /// The caller's own message is stored (sent to the sending connection only).
    Ack {
        /// The `client_id` of the frame that sent it.
        client_id: String,
        /// The stored message.
        message: MessageDto,
    },
    /// A member's read marker moved.
    Read {
        /// The member.
        user_id: String,
        /// The member's new marker.
        up_to: Seq,
    },
    /// A member started or stopped typing. Never stored; `typing: false` also comes by itself
    /// a few seconds after the last `typing: true`.
    Typing {
        /// The member.
        user_id: String,
        /// Whether the member is typing.
        typing: bool,
    },
    /// A member's first connection to the room opened, or its last one closed.
    Presence {
        /// The member.
        user_id: String,
        /// Whether the member is connected.
        online: bool,
    },
    /// The room changed (closed, reopened, member added or removed). A durable change: it
    /// holds its place in the room's timeline (`seq`, shared with messages) and is replayed
    /// to a client resuming with `since`.
    Room {
        /// The change's position in the room's timeline.
        seq: Seq,
        /// What happened.
        event: RoomChange,
        /// The room after the change.
        room: RoomDto,
        /// The member added or removed, for member events.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// The platform reported what happened to the room's order (paid, shipped, delivered …).
    /// Durable: `seq` is its place in the timeline; both sides see it.
    OrderEvent {
        /// Its position in the room's timeline.
        seq: Seq,
        /// What happened.
        order_event: OrderEventDto,
    },
    /// A message was edited: `message` as it is now. Durable: `seq` is the edit's place in
    /// the timeline (the message keeps its own `message.seq`).
    MessageEdited {
        /// The edit's position in the room's timeline.
        seq: Seq,
        /// The message after the edit (after a later delete, when replayed: the tombstone).
        message: MessageDto,
    },
    /// A message was deleted: `message` is its tombstone (no content, `deleted_at`,
    /// `deleted_by`). Durable: `seq` is the delete's place in the timeline.
    MessageDeleted {
        /// The delete's position in the room's timeline.
        seq: Seq,
        /// The tombstone.
        message: MessageDto,
    },
    /// Answers this connection's `edit` or `delete` (or a retry of one): the message as it
    /// is now. Everyone, this connection included, also gets the change's timeline frame.
    Updated {
        /// The `client_id` of the `edit` or `delete` answered.
        client_id: String,
        /// The message now.
        message: MessageDto,
    },
    /// A frame was refused; the connection stays open unless a close follows.
    Error {
        /// Stable code, the same set as REST.
        code: ErrorCode,
        /// Explanation for humans.
        message: String,
        /// The `client_id` of the frame this answers, if it had one.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// With `rate_limited`: seconds (millisecond precision) until a send is accepted again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<f64>,
    },
    /// Answer to `ping`.
    Pong,
}

impl ServerFrame {
    /// The frame's place in the room's timeline, for the durable events that have one (room
    /// changes, edits, deletes; messages carry theirs in `message.seq`).
    pub fn timeline_seq(&self) -> Option<Seq> {
        match self {
            Self::Room { seq, .. }
            | Self::OrderEvent { seq, .. }
            | Self::MessageEdited { seq, .. }
            | Self::MessageDeleted { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// Whether only staff may see the frame: it carries an internal note (the note itself, its
    /// edit or its deletion). The room's customer gets none of these, live or replayed.
    pub fn staff_only(&self) -> bool {
        match self {
            Self::Message { message }
            | Self::Ack { message, .. }
            | Self::MessageEdited { message, .. }
            | Self::MessageDeleted { message, .. }
            | Self::Updated { message, .. } => message.note,
            Self::Room { event, .. } => *event == RoomChange::SlaBreached,
            _ => false,
        }
    }
}

/// A frame the client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Send a message; answered by `ack` (or `error` with `ref` = `client_id`).
    Message {
        /// Idempotency key: a retry with the same key is acked with the original message.
        #[schema(value_type = ExternalId)]
        client_id: String,
        /// The text; may be left out when `attachment_ids` names files.
        #[serde(default)]
        #[schema(value_type = Option<MessageContent>)]
        content: Option<String>,
        /// Files uploaded into this room by the sender and not sent yet (at most 10).
        #[serde(default, deserialize_with = "crate::whole::list")]
        #[schema(max_items = 10)]
        attachment_ids: Vec<i64>,
        /// Admins: `true` writes an internal note, never shown to the customer (text only).
        #[serde(default)]
        note: bool,
    },
    /// Move the read marker (`up_to` omitted = everything so far).
    #[serde(alias = "mark_read")]
    Read {
        /// The highest seq read.
        #[serde(default, deserialize_with = "crate::whole::option")]
        #[schema(value_type = Option<i64>, minimum = 0)]
        up_to: Option<Seq>,
    },
    /// Tell the room the caller is (or stopped) typing.
    Typing {
        /// Whether the caller is typing.
        typing: bool,
    },
    /// Edit one of the caller's messages; answered by `updated` (or `error` with `ref` =
    /// `client_id`).
    Edit {
        /// Idempotency key: a retry with the same key changes nothing more.
        #[schema(value_type = ExternalId)]
        client_id: String,
        /// The message's id.
        message_id: i64,
        /// The new text.
        #[schema(value_type = MessageContent)]
        content: String,
    },
    /// Delete a message (the caller's own; admins: any); answered by `updated`.
    Delete {
        /// Idempotency key, as for `edit`.
        #[schema(value_type = ExternalId)]
        client_id: String,
        /// The message's id.
        message_id: i64,
    },
    /// Ask for a `pong`.
    Ping,
    /// Replace the connection's token before it expires.
    Auth {
        /// A fresh token for the same user.
        token: String,
    },
}

/// The frame types a client may send, for telling "unknown type" from "bad fields".
pub const CLIENT_FRAME_TYPES: [&str; 8] = [
    "message",
    "read",
    "mark_read",
    "typing",
    "edit",
    "delete",
    "ping",
    "auth",
];

/// Something that happened in a room, passed between nodes and to every local session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomEvent {
    /// A message was stored.
    Message {
        /// The message.
        message: MessageDto,
    },
    /// A frame for every session of the room: live-only ones (read, typing, presence) go out
    /// as they are; durable ones with a timeline seq (room, message_edited, message_deleted)
    /// pass each session's ordering gate.
    Frame {
        /// The frame.
        frame: ServerFrame,
    },
    /// The room's order now belongs to `customer_id`: every other client's session of the
    /// room has lost access and ends. Never sent to clients as is.
    CustomerChanged {
        /// The order's new customer.
        customer_id: String,
    },
}

/// A room event addressed to a room, as published through the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomEnvelope {
    /// The room.
    pub room_id: RoomId,
    /// The publishing node, so a node can ignore its own publications.
    pub node: String,
    /// What happened.
    pub event: RoomEvent,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn room_changes_are_stored_as_they_are_spelled_on_the_wire() {
        for change in [
            RoomChange::Closed,
            RoomChange::Reopened,
            RoomChange::MemberAdded,
            RoomChange::MemberRemoved,
            RoomChange::OrderChanged,
            RoomChange::Rated,
        ] {
            let json = serde_json::to_value(change).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(change.as_str()));
        }
    }

    #[test]
    fn client_frames_parse_with_aliases_and_defaults() {
        let parse = |value: serde_json::Value| serde_json::from_value::<ClientFrame>(value).ok();
        assert_eq!(
            parse(json!({"type": "mark_read"})),
            Some(ClientFrame::Read { up_to: None })
        );
        assert_eq!(
            parse(json!({"type": "read", "up_to": 4})),
            Some(ClientFrame::Read { up_to: Some(4) })
        );
        assert_eq!(parse(json!({"type": "ping"})), Some(ClientFrame::Ping));
        assert_eq!(parse(json!({"type": "message", "content": "x"})), None);
        // A body cannot smuggle a sender in.
        assert_eq!(
            parse(json!({"type": "message", "client_id": "c", "content": "x", "sender_id": "a"})),
            None
        );
    }

    #[test]
    fn error_frames_carry_ref() {
        let frame = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            reference: Some("c1".into()),
            retry_after: Some(0.25),
        };
        assert_eq!(
            serde_json::to_value(&frame).ok(),
            Some(json!({
                "type": "error", "code": "rate_limited", "message": "slow down", "ref": "c1",
                "retry_after": 0.25
            }))
        );
        assert_eq!(
            serde_json::to_value(ServerFrame::Pong).ok(),
            Some(json!({"type": "pong"}))
        );
    }
}
