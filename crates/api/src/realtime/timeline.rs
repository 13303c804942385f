//! What holds a place in a room's timeline on its way to a session — a message or a room
//! event, live or read back by the chat's timeline use cases.

use bytestring::ByteString;
use room_chats_types::{MessageDto, Seq};

use room_chats_core::chat::TimelineEntry;

/// What the entry is.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every entry is a message: boxing it would cost an allocation per delivery"
)]
pub(crate) enum Entry {
    /// A message: its frame when already serialized, and the `client_id` whose `ack` it is.
    Message {
        message: MessageDto,
        prepared: Option<ByteString>,
        as_ack: Option<String>,
    },
    /// A room event: its `room` frame as sent to clients.
    Event { text: ByteString },
    /// A place the client may not see (an internal note, for a customer): it passes nothing,
    /// but the entries after it need not wait for it.
    Hidden,
}

/// A timeline entry on its way to the client. Early ones wait in the session until the seqs
/// before them arrive.
#[derive(Debug)]
pub(crate) struct Arrival {
    pub(crate) seq: Seq,
    pub(crate) entry: Entry,
}

impl Arrival {
    pub(crate) fn message(
        message: MessageDto,
        prepared: Option<ByteString>,
        as_ack: Option<String>,
    ) -> Self {
        Self {
            seq: message.seq,
            entry: Entry::Message {
                message,
                prepared,
                as_ack,
            },
        }
    }

    pub(crate) fn event(seq: Seq, text: ByteString) -> Self {
        Self {
            seq,
            entry: Entry::Event { text },
        }
    }

    pub(crate) fn hidden(seq: Seq) -> Self {
        Self {
            seq,
            entry: Entry::Hidden,
        }
    }
}

impl From<TimelineEntry> for Arrival {
    fn from(entry: TimelineEntry) -> Self {
        match entry {
            TimelineEntry::Message(message) => Self::message(message, None, None),
            TimelineEntry::Event { seq, frame } => Self::event(seq, frame.into()),
            TimelineEntry::Hidden(seq) => Self::hidden(seq),
        }
    }
}
