//! Inbox frames waiting for room in the connection's outbox, conflated: an inbox frame carries
//! a room's whole state (or a user's presence), so a newer one replaces a waiting older one
//! for the same room. A client that reads slower than its rooms change gets the newest state
//! of each room once it catches up, and what waits is bounded by the rooms it may see, not by
//! how long it lags. (Frames of subscribed rooms are a conversation and are never conflated;
//! they go to the outbox directly.)

use std::collections::{HashMap, VecDeque};

use room_chats_types::RoomId;
use room_chats_types::stream::StreamFrame;

/// What a waiting frame is about: a newer frame about the same thing replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Room(RoomId),
    User(String),
    /// Anything else waits its turn and replaces nothing.
    Unique(u64),
}

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Backlog {
    order: VecDeque<Subject>,
    waiting: HashMap<Subject, StreamFrame>,
    next_unique: u64,
}

impl Backlog {
    /// Adds a frame; one about the same room (or user) that still waits is replaced, keeping
    /// its place in line.
    pub(super) fn push(&mut self, frame: StreamFrame) {
        let subject = match &frame {
            StreamFrame::Inbox { room, .. } => Subject::Room(room.room.id),
            StreamFrame::InboxRemoved { room_id, .. } => Subject::Room(*room_id),
            StreamFrame::UserPresence { user_id, .. } => Subject::User(user_id.clone()),
            _ => {
                self.next_unique += 1;
                Subject::Unique(self.next_unique)
            }
        };
        if self.waiting.insert(subject.clone(), frame).is_none() {
            self.order.push_back(subject);
        }
    }

    /// The frame that has waited longest.
    pub(super) fn pop(&mut self) -> Option<StreamFrame> {
        let subject = self.order.pop_front()?;
        self.waiting.remove(&subject)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use room_chats_types::stream::RemovalReason;

    use super::*;

    fn removed(room_id: RoomId, cursor: &str) -> StreamFrame {
        StreamFrame::InboxRemoved {
            room_id,
            reason: RemovalReason::Filtered,
            cursor: cursor.to_owned(),
        }
    }

    #[test]
    fn a_newer_frame_about_a_room_replaces_the_waiting_one_in_its_place() {
        let mut backlog = Backlog::default();
        backlog.push(removed(1, "a"));
        backlog.push(removed(2, "b"));
        backlog.push(removed(1, "c"));
        assert_eq!(backlog.pop(), Some(removed(1, "c")));
        assert_eq!(backlog.pop(), Some(removed(2, "b")));
        assert_eq!(backlog.pop(), None);
        assert!(backlog.is_empty());
    }
}
