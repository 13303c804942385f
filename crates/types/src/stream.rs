//! The per-user stream, `GET /ws/`: one connection per user (or device) that carries the
//! user's inbox — every room the user may see, as it changes. See docs/REALTIME.md.
//!
//! Inbox frames carry whole room summaries, so a client applies each one as an upsert keyed by
//! room id and never has to merge deltas; frames about one room arrive in the order of its
//! changes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::frames::Me;
use crate::{RoomId, RoomSummaryDto, Seq};

/// How the inbox starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxMode {
    /// `rooms` holds every room that changed since the client's cursor: apply them and
    /// carry on.
    Delta,
    /// The client sent no cursor, or too much changed since it: load the list again with
    /// `GET /chat/` (the live frames that follow are newer than nothing the list returns).
    Reload,
}

/// The inbox part of `stream_ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboxStart {
    /// Whether `rooms` is a delta or the client must reload the list.
    pub mode: InboxMode,
    /// Pass as `?cursor=` when reconnecting. Opaque.
    pub cursor: String,
    /// With `delta`: the rooms that changed since the client's cursor, newest activity first.
    pub rooms: Vec<RoomSummaryDto>,
}

/// Why an inbox frame was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxChange {
    /// The room entered the inbox: created, reopened (under `status=open`), the caller was
    /// assigned (under `assigned=me`), or its order moved to the caller.
    Appeared,
    /// The room itself changed: closed, reopened, an admin assigned or unassigned.
    Changed,
    /// New messages, edits, deletes or read markers: the preview, `last_seq` or the caller's
    /// unread count moved.
    Activity,
}

/// Most rooms (changed and removed together) one `inbox` frame carries; more go in the next.
pub const MAX_INBOX_ROOMS_PER_FRAME: usize = 100;

/// A room of the inbox as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboxEntry {
    /// Why it was sent.
    pub change: InboxChange,
    /// The room with its newest message, the caller's unread count and assigned admins (an
    /// item of `GET /chat/`).
    pub room: RoomSummaryDto,
}

/// A room that left the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboxRemoval {
    /// The room.
    pub room_id: RoomId,
    /// Why.
    pub reason: RemovalReason,
}

/// Why a room left the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// The room's order moved to another customer.
    AccessLost,
    /// The room no longer matches the stream's filters (closed under `status=open`, unassigned
    /// under `assigned=me` …).
    Filtered,
}

/// A frame the server sends on `/ws/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamFrame {
    /// Always the first frame of a `/ws/` connection.
    StreamReady {
        /// The caller.
        me: Me,
        /// Where the inbox starts.
        inbox: InboxStart,
        /// Admins: the users with a connection now (then `user_presence` frames keep it
        /// current). Clients: always empty.
        online: Vec<String>,
    },
    /// Rooms of the inbox that changed, as they are now (apply each as an upsert by room id),
    /// and rooms that left it. One frame per coalescing window, with at most 100 rooms
    /// (`rooms` and `removed` together; fewer when their previews are long, as a frame stays
    /// under about 256 KiB; a window that changed more sends several frames); a room is in a
    /// frame once.
    Inbox {
        /// The rooms that changed, each with why.
        rooms: Vec<InboxEntry>,
        /// The rooms that left the inbox.
        removed: Vec<InboxRemoval>,
        /// Pass as `?cursor=` when reconnecting. Opaque.
        cursor: String,
    },
    /// A room subscription ended: asked for (`code` 1000), or as the room socket would have
    /// closed (1008 access lost or too far behind, 1011 storage down, 1012 restart).
    Unsubscribed {
        /// The room.
        room_id: RoomId,
        /// The close code a room socket would have used.
        code: u16,
        /// Why.
        reason: String,
    },
    /// A user came online (a first connection anywhere in the cluster) or went offline (its
    /// last one closed). Admins only.
    UserPresence {
        /// The user.
        user_id: String,
        /// Whether the user has a connection now.
        online: bool,
    },
}

/// A frame the client sends on `/ws/`. Besides these, the room socket's `message`, `read`,
/// `typing`, `edit` and `delete` frames, each with the `room_id` of a subscribed room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StreamClientFrame {
    /// Receive a room's full stream on this connection, as a room socket would (`ready`,
    /// `history`, then live frames), each frame with `room_id`.
    Subscribe {
        /// The room.
        room_id: RoomId,
        /// Resume after this seq (as `?since=` on a room socket).
        #[serde(default)]
        #[schema(value_type = Option<i64>, minimum = 0)]
        since: Option<Seq>,
        /// Recent messages in the history without `since` (as `?history=`).
        #[serde(default)]
        #[schema(value_type = Option<i64>, minimum = 0, maximum = 200)]
        history: Option<i64>,
    },
    /// Stop receiving a room's stream; answered by `unsubscribed` (code 1000).
    Unsubscribe {
        /// The room.
        room_id: RoomId,
    },
    /// Ask for a `pong`.
    Ping,
    /// Replace the connection's token before it expires.
    Auth {
        /// A fresh token for the same user.
        token: String,
    },
}

/// The frame types a client may send on `/ws/`: its own, and the room frames it routes to a
/// subscribed room by their `room_id`.
pub const STREAM_CLIENT_FRAME_TYPES: [&str; 10] = [
    "subscribe",
    "unsubscribe",
    "ping",
    "auth",
    "message",
    "read",
    "mark_read",
    "typing",
    "edit",
    "delete",
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inbox_frames_are_tagged_and_snake_cased() {
        let frame = StreamFrame::Inbox {
            rooms: Vec::new(),
            removed: vec![InboxRemoval {
                room_id: 7,
                reason: RemovalReason::AccessLost,
            }],
            cursor: "12".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&frame).ok(),
            Some(json!({
                "type": "inbox", "rooms": [],
                "removed": [{"room_id": 7, "reason": "access_lost"}], "cursor": "12"
            }))
        );
        let parse =
            |value: serde_json::Value| serde_json::from_value::<StreamClientFrame>(value).ok();
        assert_eq!(
            parse(json!({"type": "ping"})),
            Some(StreamClientFrame::Ping)
        );
        assert_eq!(
            parse(json!({"type": "subscribe"})),
            None,
            "room_id is required"
        );
        assert_eq!(
            parse(json!({"type": "subscribe", "room_id": 3})),
            Some(StreamClientFrame::Subscribe {
                room_id: 3,
                since: None,
                history: None
            })
        );
    }
}
