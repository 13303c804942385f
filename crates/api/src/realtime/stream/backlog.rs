//! Inbox news waiting for room in the connection's outbox, conflated: an entry carries a
//! room's whole state (or its removal, or a user's presence), so a newer one replaces a
//! waiting older one for the same room. A client that reads slower than its rooms change gets
//! the newest state of each room once it catches up, and what waits is bounded by the rooms it
//! may see, not by how long it lags. Waiting room entries leave together, as one `inbox` frame
//! of up to [`MAX_INBOX_ROOMS_PER_FRAME`] rooms and [`MAX_INBOX_FRAME_BYTES`]. (Frames of
//! subscribed rooms are a conversation and are never conflated; they go to the outbox
//! directly.)

use std::collections::{HashMap, VecDeque};

use bytestring::ByteString;
use room_chats_types::RoomId;
use room_chats_types::stream::MAX_INBOX_ROOMS_PER_FRAME;

use crate::realtime::inbox::wire;

/// The size past which a frame takes no more rooms (it has at least one): rooms whose previews
/// are long share fewer to a frame, so what the outbox holds stays bounded in bytes.
pub(super) const MAX_INBOX_FRAME_BYTES: usize = 256 * 1024;

/// What a waiting entry is about: a newer entry about the same thing replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Room(RoomId),
    User(String),
}

#[derive(Debug)]
enum Waiting {
    /// A room's entry for an `inbox` frame.
    Room {
        entry: String,
        /// In `removed`, not `rooms`.
        removal: bool,
        /// The cursor of the update it came from.
        cursor: i64,
    },
    /// A frame of its own.
    Frame(ByteString),
}

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Backlog {
    order: VecDeque<Subject>,
    waiting: HashMap<Subject, Waiting>,
}

impl Backlog {
    /// Adds a room's entry (or its removal) from the update of `cursor`; one about the same
    /// room that still waits is replaced, keeping its place in line.
    pub(super) fn push_room(&mut self, room_id: RoomId, entry: String, removal: bool, cursor: i64) {
        let waiting = Waiting::Room {
            entry,
            removal,
            cursor,
        };
        self.push(Subject::Room(room_id), waiting);
    }

    /// Adds a user's presence frame, replacing one about the same user that still waits.
    pub(super) fn push_presence(&mut self, user_id: String, frame: ByteString) {
        self.push(Subject::User(user_id), Waiting::Frame(frame));
    }

    fn push(&mut self, subject: Subject, waiting: Waiting) {
        if self.waiting.insert(subject.clone(), waiting).is_none() {
            self.order.push_back(subject);
        }
    }

    /// The next frame: the entry that has waited longest, with the room entries behind it
    /// up to a frame's worth.
    pub(super) fn pop(&mut self) -> Option<ByteString> {
        let mut rooms = Vec::new();
        let mut removed = Vec::new();
        let mut newest = i64::MIN;
        let mut bytes = 0;
        while rooms.len() + removed.len() < MAX_INBOX_ROOMS_PER_FRAME {
            let Some(subject) = self.order.front() else {
                break;
            };
            let starts_frame = rooms.is_empty() && removed.is_empty();
            match self.waiting.get(subject) {
                Some(Waiting::Frame(_)) if !starts_frame => break,
                Some(Waiting::Room { entry, .. }) => {
                    if !starts_frame && bytes + entry.len() > MAX_INBOX_FRAME_BYTES {
                        break;
                    }
                    bytes += entry.len();
                }
                _ => {}
            }
            let Some(subject) = self.order.pop_front() else {
                break;
            };
            match self.waiting.remove(&subject) {
                Some(Waiting::Frame(frame)) => return Some(frame),
                Some(Waiting::Room {
                    entry,
                    removal,
                    cursor,
                }) => {
                    newest = newest.max(cursor);
                    if removal {
                        removed.push(entry);
                    } else {
                        rooms.push(entry);
                    }
                }
                None => {}
            }
        }
        if rooms.is_empty() && removed.is_empty() {
            return None;
        }
        Some(wire::inbox_frame(
            &rooms,
            &removed,
            self.cursor_after(newest),
        ))
    }

    /// The cursor of a frame whose newest entry is from `newest`: never past a change still
    /// waiting, so a client that reconnects with it is sent what it had not been.
    fn cursor_after(&self, newest: i64) -> i64 {
        self.waiting
            .values()
            .filter_map(|waiting| match waiting {
                Waiting::Room { cursor, .. } => Some(*cursor),
                Waiting::Frame(_) => None,
            })
            .fold(newest, i64::min)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use room_chats_types::stream::StreamFrame;

    use super::*;

    fn frame(text: Option<ByteString>) -> StreamFrame {
        let parsed = text.and_then(|text| serde_json::from_str(&text).ok());
        let Some(frame) = parsed else {
            panic!("no stream frame");
        };
        frame
    }

    fn removal(room_id: RoomId) -> String {
        format!(r#"{{"room_id":{room_id},"reason":"filtered"}}"#)
    }

    fn room_ids(frame: &StreamFrame) -> Vec<RoomId> {
        match frame {
            StreamFrame::Inbox { removed, .. } => removed.iter().map(|r| r.room_id).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_newer_entry_replaces_the_waiting_one_in_its_place_and_rooms_leave_together() {
        let mut backlog = Backlog::default();
        backlog.push_room(1, removal(1), true, 10);
        backlog.push_room(2, removal(2), true, 20);
        backlog.push_presence(
            "u1".to_owned(),
            ByteString::from_static(r#"{"type":"user_presence","user_id":"u1","online":true}"#),
        );
        backlog.push_room(3, removal(3), true, 30);
        backlog.push_room(1, removal(1), true, 40);
        let first = frame(backlog.pop());
        assert_eq!(room_ids(&first), vec![1, 2]);
        // Room 3's change still waits: the cursor does not pass it.
        assert!(matches!(first, StreamFrame::Inbox { cursor, .. } if cursor == "30"));
        assert!(matches!(
            frame(backlog.pop()),
            StreamFrame::UserPresence { online: true, .. }
        ));
        let last = frame(backlog.pop());
        assert_eq!(room_ids(&last), vec![3]);
        assert!(matches!(last, StreamFrame::Inbox { cursor, .. } if cursor == "30"));
        assert_eq!(backlog.pop(), None);
        assert!(backlog.is_empty());
    }

    #[test]
    fn long_entries_share_fewer_to_a_frame() {
        let mut backlog = Backlog::default();
        let long = |room_id: RoomId| {
            let padding = " ".repeat(MAX_INBOX_FRAME_BYTES / 3);
            format!(r#"{{"room_id":{room_id},{padding}"reason":"filtered"}}"#)
        };
        for room in 0..5 {
            backlog.push_room(room, long(room), true, room);
        }
        assert_eq!(room_ids(&frame(backlog.pop())), vec![0, 1]);
        assert_eq!(room_ids(&frame(backlog.pop())), vec![2, 3]);
        assert_eq!(room_ids(&frame(backlog.pop())), vec![4]);
        // One entry larger than the limit still goes, alone.
        let huge = format!(
            r#"{{"room_id":9,{}"reason":"filtered"}}"#,
            " ".repeat(MAX_INBOX_FRAME_BYTES)
        );
        backlog.push_room(9, huge, true, 9);
        assert_eq!(room_ids(&frame(backlog.pop())), vec![9]);
    }

    #[test]
    fn a_frame_carries_at_most_its_share_of_rooms() {
        let mut backlog = Backlog::default();
        let rooms = MAX_INBOX_ROOMS_PER_FRAME as i64 + 5;
        for room in 0..rooms {
            backlog.push_room(room, removal(room), true, room);
        }
        let first = frame(backlog.pop());
        assert_eq!(room_ids(&first).len(), MAX_INBOX_ROOMS_PER_FRAME);
        let second = frame(backlog.pop());
        assert_eq!(room_ids(&second).len(), 5);
        assert!(
            matches!(second, StreamFrame::Inbox { cursor, .. } if cursor == (rooms - 1).to_string())
        );
    }
}
