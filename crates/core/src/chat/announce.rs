//! The one point every durable change of a room is announced through.
//!
//! A use case (or the message writer, for stored messages) announces what it changed once,
//! after the change committed; every listener hears it: the hub (which tells the room's
//! sessions on this node and publishes to the others), the inbox (the per-user streams' rooms)
//! and the webhook dispatcher (woken for this node's new outbox rows), attached in the server's
//! wiring without touching a use case. Ephemeral signals (typing, presence) are not durable
//! changes and do not pass here.

use std::sync::Arc;

use room_chats_types::frames::ServerFrame;
use room_chats_types::{MessageDto, RoomId, Seq};

/// A durable change, as announced.
#[derive(Debug, Clone, Copy)]
pub enum Announcement<'a> {
    /// A new message was stored.
    MessageStored(&'a MessageDto),
    /// A member's read marker moved.
    ReadMoved {
        /// The room.
        room_id: RoomId,
        /// Whose marker.
        user_id: &'a str,
        /// Where it is now.
        up_to: Seq,
    },
    /// A room event took its place in the room's timeline (closed, reopened, an admin
    /// assigned or unassigned): `frame` is its `room` frame, seq included.
    RoomEvent {
        /// The room.
        room_id: RoomId,
        /// The event as clients receive it.
        frame: &'a ServerFrame,
    },
    /// The room's order now belongs to `customer_id`.
    CustomerChanged {
        /// The room.
        room_id: RoomId,
        /// The order's new customer.
        customer_id: &'a str,
        /// Its previous customer, who lost access.
        previous_customer: &'a str,
    },
    /// A room was created (for an order, on its first opening).
    RoomOpened {
        /// The room.
        room_id: RoomId,
    },
}

/// Hears every announcement, in the order of the announcements of each room.
pub trait Listener: Send + Sync {
    /// Called after the change committed; must not block.
    fn hear(&self, announcement: Announcement<'_>);
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Announcer {
    listeners: Arc<[Arc<dyn Listener>]>,
}

impl Announcer {
    /// An announcer that tells `listeners`, in this order.
    pub fn new(listeners: Vec<Arc<dyn Listener>>) -> Self {
        Self {
            listeners: listeners.into(),
        }
    }

    /// Tells every listener.
    pub fn announce(&self, announcement: Announcement<'_>) {
        for listener in self.listeners.iter() {
            listener.hear(announcement);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Remembers the rooms of what it heard.
    #[derive(Default)]
    struct Recorder {
        heard: Mutex<Vec<RoomId>>,
    }

    impl Listener for Recorder {
        fn hear(&self, announcement: Announcement<'_>) {
            let room = match announcement {
                Announcement::MessageStored(message) => message.room_id,
                Announcement::ReadMoved { room_id, .. }
                | Announcement::RoomEvent { room_id, .. }
                | Announcement::CustomerChanged { room_id, .. }
                | Announcement::RoomOpened { room_id } => room_id,
            };
            self.heard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(room);
        }
    }

    #[test]
    fn every_listener_hears_every_announcement_in_order() {
        let first = Arc::new(Recorder::default());
        let second = Arc::new(Recorder::default());
        let announcer = Announcer::new(vec![
            Arc::clone(&first) as Arc<dyn Listener>,
            Arc::clone(&second) as Arc<dyn Listener>,
        ]);
        announcer.announce(Announcement::ReadMoved {
            room_id: 1,
            user_id: "u1",
            up_to: 3,
        });
        announcer.announce(Announcement::CustomerChanged {
            room_id: 2,
            customer_id: "u2",
            previous_customer: "u1",
        });
        for recorder in [first, second] {
            let heard = recorder
                .heard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            assert_eq!(heard, vec![1, 2]);
        }
    }
}
