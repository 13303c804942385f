//! What the inbox learns about a room within one coalescing window, as nodes pass it to each
//! other: which messages were stored (seq and sender, for every user's unread count), whose
//! read marker moved, and how the room itself changed. The room's state is not in it: each
//! node reads that from the database when it tells its streams, so it is never older than
//! the commit that caused the touch.

use std::collections::HashMap;

use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{RoomId, Seq};
use serde::{Deserialize, Serialize};

use room_chats_core::chat::Announcement;

/// A change of the room itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum RoomTouchChange {
    /// The room was created.
    Opened,
    /// A room event (closed, reopened, an admin assigned or unassigned).
    Room {
        /// What happened.
        event: RoomChange,
        /// The admin assigned or unassigned.
        user_id: Option<String>,
    },
    /// The order moved from `previous` to another customer.
    Customer {
        /// Who lost access.
        previous: String,
    },
}

/// Everything one window saw of one room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoomTouch {
    /// The room.
    pub(crate) room_id: RoomId,
    /// Messages stored: seq and sender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) messages: Vec<(Seq, String)>,
    /// Read markers moved: user and where to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reads: Vec<(String, Seq)>,
    /// Changes of the room itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) changes: Vec<RoomTouchChange>,
}

impl RoomTouch {
    /// Whether the room itself changed (rather than only its messages and markers).
    pub(crate) fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// What one window gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Window {
    /// One touch per room.
    pub(crate) rooms: Vec<RoomTouch>,
    /// Users who came online (`true`) or went offline in the cluster, the last word of the
    /// window for each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) presence: Vec<(String, bool)>,
}

impl Window {
    fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.presence.is_empty()
    }
}

/// A window as published to the other nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InboxBatch {
    /// The publishing node, so a node skips its own batches.
    pub(crate) node: String,
    /// What the window gathered.
    #[serde(flatten)]
    pub(crate) window: Window,
}

/// What the open window gathered so far: one touch per room, one word per user.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    rooms: HashMap<RoomId, RoomTouch>,
    presence: HashMap<String, bool>,
}

impl Gathered {
    /// Adds what `announcement` says about its room. Whether the change should go out at once
    /// (a room change: closing, access) rather than at the window's end.
    pub(crate) fn add(&mut self, announcement: Announcement<'_>) -> bool {
        match announcement {
            Announcement::MessageStored(message) => {
                let touch = self.room(message.room_id);
                // A note touches the room (its activity) but is nobody's unread message.
                if !message.note {
                    touch
                        .messages
                        .push((message.seq, message.sender_id.clone()));
                }
                false
            }
            Announcement::ReadMoved {
                room_id,
                user_id,
                up_to,
            } => {
                self.room(room_id).reads.push((user_id.to_owned(), up_to));
                false
            }
            Announcement::RoomEvent { room_id, frame } => {
                let touch = self.room(room_id);
                match frame {
                    ServerFrame::Room { event, user_id, .. } => {
                        touch.changes.push(RoomTouchChange::Room {
                            event: *event,
                            user_id: user_id.clone(),
                        });
                        true
                    }
                    // Edits and deletes change the preview: activity.
                    _ => false,
                }
            }
            Announcement::CustomerChanged {
                room_id,
                previous_customer,
                ..
            } => {
                self.room(room_id).changes.push(RoomTouchChange::Customer {
                    previous: previous_customer.to_owned(),
                });
                true
            }
            Announcement::RoomOpened { room_id } => {
                self.room(room_id).changes.push(RoomTouchChange::Opened);
                true
            }
        }
    }

    fn room(&mut self, room_id: RoomId) -> &mut RoomTouch {
        self.rooms.entry(room_id).or_insert_with(|| RoomTouch {
            room_id,
            ..RoomTouch::default()
        })
    }

    /// A user came online (`true`) or went offline in the cluster.
    pub(crate) fn add_presence(&mut self, user_id: &str, online: bool) {
        self.presence.insert(user_id.to_owned(), online);
    }

    /// Ends the window: what it gathered (`None` if nothing), leaving this empty.
    pub(crate) fn take(&mut self) -> Option<Window> {
        let window = Window {
            rooms: std::mem::take(&mut self.rooms).into_values().collect(),
            presence: std::mem::take(&mut self.presence).into_iter().collect(),
        };
        (!window.is_empty()).then_some(window)
    }
}

/// Merges several windows into one: one touch per room, keeping each room's touches in the
/// order they came, and each user's last word.
pub(crate) fn merge(windows: impl IntoIterator<Item = Window>) -> Window {
    let mut merged: Vec<RoomTouch> = Vec::new();
    let mut index: HashMap<RoomId, usize> = HashMap::new();
    let mut presence: Vec<(String, bool)> = Vec::new();
    let mut touches = Vec::new();
    for window in windows {
        touches.extend(window.rooms);
        for (user, online) in window.presence {
            presence.retain(|(known, _)| *known != user);
            presence.push((user, online));
        }
    }
    for touch in touches {
        match index.get(&touch.room_id) {
            Some(&at) => {
                let into = &mut merged[at];
                into.messages.extend(touch.messages);
                into.reads.extend(touch.reads);
                into.changes.extend(touch.changes);
            }
            None => {
                index.insert(touch.room_id, merged.len());
                merged.push(touch);
            }
        }
    }
    Window {
        rooms: merged,
        presence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_gathers_one_touch_per_room_and_room_changes_are_urgent() {
        let mut gathered = Gathered::default();
        assert!(!gathered.add(Announcement::ReadMoved {
            room_id: 1,
            user_id: "a",
            up_to: 3,
        }));
        assert!(gathered.add(Announcement::RoomOpened { room_id: 2 }));
        assert!(!gathered.add(Announcement::ReadMoved {
            room_id: 1,
            user_id: "b",
            up_to: 4,
        }));
        gathered.add_presence("a", true);
        let window = gathered.take().unwrap_or_default();
        let mut touches = window.rooms;
        touches.sort_by_key(|touch| touch.room_id);
        assert_eq!(window.presence, vec![("a".to_owned(), true)]);
        assert!(gathered.take().is_none(), "taking ends the window");
        assert_eq!(touches.len(), 2);
        assert_eq!(
            touches[0].reads,
            vec![("a".to_owned(), 3), ("b".to_owned(), 4)]
        );
        assert!(touches[1].changed());
    }

    #[test]
    fn merging_keeps_each_rooms_touches_in_order() {
        let touch = |room_id, seq: Seq| RoomTouch {
            room_id,
            messages: vec![(seq, "u".to_owned())],
            ..RoomTouch::default()
        };
        let window = |rooms, presence| Window { rooms, presence };
        let merged = merge([
            window(vec![touch(1, 1), touch(2, 1)], vec![("a".to_owned(), true)]),
            window(vec![touch(1, 2)], vec![("a".to_owned(), false)]),
        ]);
        assert_eq!(merged.rooms.len(), 2);
        assert_eq!(
            merged.rooms[0].messages,
            vec![(1, "u".to_owned()), (2, "u".to_owned())]
        );
        assert_eq!(
            merged.presence,
            vec![("a".to_owned(), false)],
            "the last word"
        );
    }

    #[test]
    fn batches_round_trip_and_stay_small() {
        let batch = InboxBatch {
            node: "n1".to_owned(),
            window: Window {
                rooms: vec![RoomTouch {
                    room_id: 5,
                    messages: vec![(9, "c1".to_owned())],
                    ..RoomTouch::default()
                }],
                presence: Vec::new(),
            },
        };
        let text = serde_json::to_string(&batch).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"node":"n1","rooms":[{"room_id":5,"messages":[[9,"c1"]]}]}"#
        );
        assert_eq!(serde_json::from_str::<InboxBatch>(&text).ok(), Some(batch));
    }
}
