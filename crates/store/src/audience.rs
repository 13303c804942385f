//! Who a read is for. Staff see a room's whole timeline; its customer never sees an internal
//! note nor an event about one. Reads take the audience and leave those rows out in SQL, so a
//! note never leaves the database on a customer's behalf.

use room_chats_types::Role;

/// The reader of a room's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Admins: everything, notes included.
    Staff,
    /// The room's customer (and anyone who is not staff): no notes.
    Customer,
}

impl Audience {
    /// The audience of a caller with `role`: only admins are staff.
    pub fn of(role: Role) -> Self {
        match role {
            Role::Admin => Self::Staff,
            Role::Client | Role::Service => Self::Customer,
        }
    }

    /// Whether it sees internal notes and the events about them.
    pub fn sees_notes(self) -> bool {
        self == Self::Staff
    }
}
