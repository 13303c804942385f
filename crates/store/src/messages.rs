//! Messages: storing with a gap-free per-room sequence, and reading pages of history.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use room_chats_types::{MessageDto, MessagePage, Role, RoomStatus};

use crate::connection::write_transaction;
use crate::error::is_unique_violation;
use crate::rows::MessageRow;
use crate::schema::{chat_rooms, messages};
use crate::time::{activity_bucket, now_micros};
use crate::{DbConnection, StoreError};

/// A message to store. The sender comes from the caller's token, never from a request body.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The room.
    pub room_id: i64,
    /// The sender's user id.
    pub sender_id: &'a str,
    /// The sender's role (client or admin).
    pub sender_role: Role,
    /// Validated content.
    pub content: &'a str,
    /// The sender's idempotency key.
    pub client_id: Option<&'a str>,
}

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

/// Internal outcome that aborts the transaction (undoing the seq increment) on a replay.
enum Abort {
    Replay(MessageDto),
    Store(StoreError),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Stores a message, giving it the room's next seq in the same transaction.
///
/// The room row's `last_seq` is incremented first: that row lock serialises concurrent senders
/// of one room (on any number of nodes), so seqs are 1, 2, 3 … with no gaps, and the rollback of
/// a failed insert gives its seq back. The sender's read marker moves to the new message.
pub fn store_message(conn: &mut DbConnection, new: &NewMessage<'_>) -> Result<Stored, StoreError> {
    match write_transaction(conn, |conn| insert_next(conn, new)) {
        Ok(message) => Ok(Stored::New(message)),
        Err(Abort::Replay(message)) => Ok(Stored::Replayed(message)),
        // A concurrent retry with the same client_id committed between our check and insert.
        Err(Abort::Store(StoreError::Query(error))) if is_unique_violation(&error) => {
            match new.client_id.map(|id| find_by_client_id(conn, new, id)) {
                Some(Ok(Some(original))) => Ok(Stored::Replayed(original)),
                Some(Err(error)) => Err(error),
                _ => Err(StoreError::Query(error)),
            }
        }
        Err(Abort::Store(error)) => Err(error),
    }
}

fn insert_next(conn: &mut DbConnection, new: &NewMessage<'_>) -> Result<MessageDto, Abort> {
    let now = now_micros();
    let seq: Option<i64> = diesel::update(
        chat_rooms::table
            .filter(chat_rooms::id.eq(new.room_id))
            .filter(chat_rooms::status.eq(RoomStatus::Open.as_str())),
    )
    .set((
        chat_rooms::last_seq.eq(chat_rooms::last_seq + 1),
        chat_rooms::last_activity_at.eq(now),
        chat_rooms::activity_bucket.eq(activity_bucket(now)),
    ))
    .returning(chat_rooms::last_seq)
    .get_result(conn)
    .optional()?;
    if new.sender_role == Role::Client {
        let customers = crate::rooms::customers_of(conn, &[new.room_id]).map_err(Abort::Store)?;
        if customers.get(&new.room_id).map(String::as_str) != Some(new.sender_id) {
            return Err(Abort::Store(StoreError::NoAccess));
        }
    }
    let Some(seq) = seq else {
        let exists = chat_rooms::table
            .find(new.room_id)
            .select(chat_rooms::id)
            .first::<i64>(conn)
            .optional()?
            .is_some();
        return Err(Abort::Store(if exists {
            StoreError::RoomClosed
        } else {
            StoreError::NotFound
        }));
    };
    if let Some(client_id) = new.client_id {
        // Checked under the room lock, so a retry racing its original sees the committed row.
        if let Some(original) = find_by_client_id(conn, new, client_id).map_err(Abort::Store)? {
            return Err(Abort::Replay(original));
        }
    }
    let row = diesel::insert_into(messages::table)
        .values((
            messages::room_id.eq(new.room_id),
            messages::seq.eq(seq),
            messages::sender_id.eq(new.sender_id),
            messages::sender_role.eq(new.sender_role.as_str()),
            messages::content.eq(new.content),
            messages::client_id.eq(new.client_id),
            messages::created_at.eq(now),
        ))
        .returning(messages::all_columns)
        .get_result::<MessageRow>(conn)?;
    // Writing is reading: the sender has seen everything up to its own message.
    diesel::sql_query(
        "INSERT INTO room_members (room_id, user_id, role, assigned, last_read_seq, joined_at) \
         VALUES ($1, $2, $3, FALSE, $4, $5) \
         ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq",
    )
    .bind::<BigInt, _>(new.room_id)
    .bind::<Text, _>(new.sender_id)
    .bind::<Text, _>(new.sender_role.as_str())
    .bind::<BigInt, _>(seq)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(row.into())
}

fn find_by_client_id(
    conn: &mut DbConnection,
    new: &NewMessage<'_>,
    client_id: &str,
) -> Result<Option<MessageDto>, StoreError> {
    let row = messages::table
        .filter(messages::room_id.eq(new.room_id))
        .filter(messages::sender_id.eq(new.sender_id))
        .filter(messages::client_id.eq(client_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Into::into))
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

/// Reads a page of history, returned oldest first. `next_cursor` is the bound for the next
/// page in the same direction, when there is one.
pub fn history(
    conn: &mut DbConnection,
    room_id: i64,
    page: HistoryPage,
    limit: i64,
) -> Result<MessagePage, StoreError> {
    let in_room = messages::table
        .filter(messages::room_id.eq(room_id))
        .select(MessageRow::as_select())
        .limit(limit + 1);
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
    Ok(MessagePage { items, next_cursor })
}
