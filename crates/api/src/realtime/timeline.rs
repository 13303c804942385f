//! What holds a place in a room's timeline on its way to a session — a message or a room
//! event — and reading a range of the timeline back from the database, for a resume with
//! `since`, a gap fill and a catch-up after the broker reconnected.

use bytestring::ByteString;
use room_chats_store::messages::{self, HistoryPage};
use room_chats_store::{Database, StoreError, timeline};
use room_chats_types::{MessageDto, RoomId, Seq};

/// Timeline entries read per database round trip.
pub(crate) const FILL_PAGE: i64 = 200;

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
}

/// Loads the room's timeline entries with seq in `(after, up_to]` (to the end with `None`),
/// oldest first, page by page.
pub(crate) async fn load_range(
    db: &Database,
    room: RoomId,
    after: Seq,
    up_to: Option<Seq>,
) -> Result<Vec<Arrival>, StoreError> {
    let last = up_to.unwrap_or(Seq::MAX);
    let mut loaded = Vec::new();
    let mut cursor = after;
    loop {
        let (page, events) = db
            .run(move |conn| {
                let page = messages::history(conn, room, HistoryPage::After(cursor), FILL_PAGE)?;
                // The events up to the page's last message, or to `last` after the last page.
                let events_to = match page.next_cursor {
                    Some(_) => page.items.last().map_or(last, |message| message.seq),
                    None => last,
                };
                let events = events_before(conn, room, cursor, events_to.min(last))?;
                Ok::<_, StoreError>((page, events))
            })
            .await?;
        let done = page.next_cursor.is_none();
        // Where the next page starts, even if every message of this one lies past `last`.
        let page_end = page.items.last().map_or(cursor, |message| message.seq);
        let mut entries: Vec<Arrival> = page
            .items
            .into_iter()
            .filter(|message| message.seq <= last)
            .map(|message| Arrival::message(message, None, None))
            .chain(
                events
                    .into_iter()
                    .map(|event| Arrival::event(event.seq, event.frame.into())),
            )
            .collect();
        entries.sort_unstable_by_key(|entry| entry.seq);
        cursor = entries
            .last()
            .map_or(page_end, |newest| newest.seq.max(page_end));
        loaded.extend(entries);
        if done || cursor >= last {
            return Ok(loaded);
        }
    }
}

/// Every room event with a seq in `(after, up_to]`, oldest first.
fn events_before(
    conn: &mut room_chats_store::DbConnection,
    room: RoomId,
    after: Seq,
    up_to: Seq,
) -> Result<Vec<timeline::StoredEvent>, StoreError> {
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let page = timeline::room_events(conn, room, cursor, up_to, FILL_PAGE)?;
        let full = page.len() as i64 == FILL_PAGE;
        if let Some(last) = page.last() {
            cursor = last.seq;
        }
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}
