//! Messages: what storing one did, and reading pages of history. Messages are stored by
//! [`crate::batch`] alone (one write path for batches and single messages).

use diesel::prelude::*;
use room_chats_types::{MessageDto, MessagePage};

use crate::rows::MessageRow;
use crate::schema::messages;
use crate::{Audience, DbConnection, StoreError};

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new message with the next seq of its room.
    New(MessageDto),
    /// The same sender already sent this `client_id`: the original message, nothing stored.
    Replayed(MessageDto),
}

impl Stored {
    /// The message, new or original.
    pub fn message(&self) -> &MessageDto {
        match self {
            Self::New(message) | Self::Replayed(message) => message,
        }
    }
}

/// Which slice of a room's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPage {
    /// The newest messages with a seq below the bound (`i64::MAX` for the very newest).
    Before(i64),
    /// The oldest messages with a seq above the bound.
    After(i64),
    /// The oldest messages with a seq above `after` and below `before`.
    Between {
        /// Exclusive lower bound.
        after: i64,
        /// Exclusive upper bound.
        before: i64,
    },
}

/// Reads a page of history as `audience` may see it (a customer's leaves internal notes
/// out), returned oldest first. `next_cursor` is the bound for the next page in the same
/// direction, when there is one.
pub fn history(
    conn: &mut DbConnection,
    room_id: i64,
    page: HistoryPage,
    limit: i64,
    audience: Audience,
) -> Result<MessagePage, StoreError> {
    let mut in_room = messages::table
        .filter(messages::room_id.eq(room_id))
        .select(MessageRow::as_select())
        .limit(limit + 1)
        .into_boxed();
    if !audience.sees_notes() {
        in_room = in_room.filter(messages::note.eq(false));
    }
    let mut rows: Vec<MessageRow> = match page {
        HistoryPage::Before(bound) => in_room
            .filter(messages::seq.lt(bound))
            .order(messages::seq.desc())
            .load(conn)?,
        HistoryPage::After(bound) => in_room
            .filter(messages::seq.gt(bound))
            .order(messages::seq.asc())
            .load(conn)?,
        HistoryPage::Between { after, before } => in_room
            .filter(messages::seq.gt(after))
            .filter(messages::seq.lt(before))
            .order(messages::seq.asc())
            .load(conn)?,
    };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    if matches!(page, HistoryPage::Before(_)) {
        rows.reverse();
    }
    let items: Vec<MessageDto> = rows.into_iter().map(Into::into).collect();
    let next_cursor = match (has_more, page) {
        (false, _) => None,
        (true, HistoryPage::Before(_)) => items.first().map(|message| message.seq),
        (true, HistoryPage::After(_) | HistoryPage::Between { .. }) => {
            items.last().map(|message| message.seq)
        }
    };
    Ok(MessagePage {
        items,
        next_cursor,
        history_purged_through: None,
    })
}

/// How many messages of others `user_id` has not read: those after its marker `read`. Room
/// events (closed, assigned …) share the seqs but are not messages, and the user's own
/// messages are not news to it. Nor are internal notes, for anyone: they are not messages of
/// the conversation (and a customer must not learn of them). `last_seq` (the room's) saves the
/// query when nothing is newer.
pub fn unread_count(
    conn: &mut DbConnection,
    room_id: i64,
    user_id: &str,
    read: i64,
    last_seq: i64,
) -> Result<i64, StoreError> {
    if read >= last_seq {
        return Ok(0);
    }
    Ok(messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::seq.gt(read))
        .filter(messages::sender_id.ne(user_id))
        .filter(messages::note.eq(false))
        .count()
        .get_result(conn)?)
}
