//! Reading a room's timeline — its messages and room events in seq order — for a live
//! session: what it opens with, a resume with `since`, a gap fill, and a catch-up after the
//! broker reconnected.

use room_chats_store::messages::{self, HistoryPage};
use room_chats_store::{StoreError, members, retention, rooms, timeline};
use room_chats_types::{MessageDto, Seq};

use super::{Chat, JoinPoint, VisibleRoom};
use crate::access::audience;
use crate::error::ApiError;

/// Timeline entries read per database round trip.
pub const TIMELINE_PAGE: i64 = 200;

/// One place in a room's timeline.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every entry is a message: boxing it would cost an allocation per entry"
)]
pub enum TimelineEntry {
    Message(MessageDto),
    /// A room event: its seq and its `room` frame as sent live (JSON).
    Event {
        seq: Seq,
        frame: String,
    },
    /// A seq the reader may not see (an internal note or an event about one, read for a
    /// customer): nothing of it is sent, but live delivery must know the seq is taken.
    Hidden(Seq),
}

impl TimelineEntry {
    /// Its seq in the room's timeline.
    pub fn seq(&self) -> Seq {
        match self {
            Self::Message(message) => message.seq,
            Self::Event { seq, .. } | Self::Hidden(seq) => *seq,
        }
    }
}

/// What a live session opens with.
#[derive(Debug)]
pub struct Opening {
    /// The room as it is now, checked again.
    pub room: VisibleRoom,
    /// The caller's unread count.
    pub unread: i64,
    /// Without `since`: the newest messages; with it, the timeline after `since`.
    pub entries: Vec<TimelineEntry>,
    /// Without `since`: older messages exist.
    pub has_more: bool,
    /// With a `since` below the room's purge boundary: the highest purged seq (the entries
    /// after `since` up to it are gone for good).
    pub purged_through: Option<Seq>,
}

impl Chat {
    /// What a session of `room` opens with, from `from`. One trip to the blocking pool reads
    /// the room, the caller's marker and the newest `history` messages (joins per second are bounded by these
    /// round trips); with `since`, the room and marker, then the timeline after `since`. The
    /// caller's display name is remembered on the way. A room the caller no longer sees (its
    /// order moved meanwhile) answers `not_found`.
    pub async fn opening(&self, room: &VisibleRoom, from: JoinPoint) -> Result<Opening, ApiError> {
        let JoinPoint { since, history } = from;
        let caller = room.caller().clone();
        let room_id = room.id();
        let user_id = caller.user_id.clone();
        let name = caller.name.clone();
        let audience = audience(&caller);
        let (current, unread, page, purged_through) = self
            .db
            .run(move |conn| {
                if let Some(name) = &name {
                    members::remember_name(conn, &user_id, name)?;
                }
                let room = rooms::find_room(conn, room_id)?.ok_or(StoreError::NotFound)?;
                let read = members::last_read_seq(conn, room_id, &user_id)?;
                let unread = messages::unread_count(conn, room_id, &user_id, read, room.last_seq)?;
                let (page, purged_through) = match since {
                    Some(since) => {
                        let purged = retention::purged_through(conn, room_id)?;
                        (None, (since < purged).then_some(purged))
                    }
                    None => {
                        let before = HistoryPage::Before(i64::MAX);
                        let page = messages::history(conn, room_id, before, history, audience)?;
                        (Some(page), None)
                    }
                };
                Ok::<_, StoreError>((room, unread, page, purged_through))
            })
            .await
            .map_err(room_error)?;
        let room = VisibleRoom::checked(caller, current).ok_or(ApiError::NotFound("room"))?;
        let (entries, has_more) = match page {
            Some(page) => {
                let has_more = page.next_cursor.is_some();
                let messages = page.items.into_iter().map(TimelineEntry::Message);
                (messages.collect(), has_more)
            }
            None => {
                let from = since.unwrap_or(0).min(room.room().last_seq);
                (self.timeline(&room, from, None).await?, false)
            }
        };
        Ok(Opening {
            room,
            unread,
            entries,
            has_more,
            purged_through,
        })
    }

    /// The room's timeline after `after`, checked again first: events may have been lost (the
    /// broker reconnected), and access may have changed with them. A room the caller no longer
    /// sees answers `not_found`.
    pub async fn catch_up(
        &self,
        room: &VisibleRoom,
        after: Seq,
    ) -> Result<Vec<TimelineEntry>, ApiError> {
        let room = self.visible_room(room.caller(), room.id()).await?;
        self.timeline(&room, after, None).await
    }

    /// The room's timeline entries with seq in `(after, up_to]` (to the end with `None`),
    /// oldest first, read page by page.
    pub async fn timeline(
        &self,
        room: &VisibleRoom,
        after: Seq,
        up_to: Option<Seq>,
    ) -> Result<Vec<TimelineEntry>, ApiError> {
        let audience = audience(room.caller());
        let room = room.id();
        let last = up_to.unwrap_or(Seq::MAX);
        let mut loaded = Vec::new();
        let mut cursor = after;
        loop {
            let (page, events) = self
                .db
                .run(move |conn| {
                    let after = HistoryPage::After(cursor);
                    let page = messages::history(conn, room, after, TIMELINE_PAGE, audience)?;
                    // The events (and, for a customer, the notes' places) up to the page's last
                    // message, or to `last` after the last page.
                    let events_to = match page.next_cursor {
                        Some(_) => page.items.last().map_or(last, |message| message.seq),
                        None => last,
                    };
                    let up_to = events_to.min(last);
                    let mut events = every_page(cursor, |after| {
                        timeline::room_events(conn, room, after, up_to, TIMELINE_PAGE, audience)
                    })?;
                    if !audience.sees_notes() {
                        events.extend(every_page(cursor, |after| {
                            timeline::note_places(conn, room, after, up_to, TIMELINE_PAGE)
                        })?);
                    }
                    Ok::<_, StoreError>((page, events))
                })
                .await?;
            let done = page.next_cursor.is_none();
            // Where the next page starts, even if every message of this one lies past `last`.
            let page_end = page.items.last().map_or(cursor, |message| message.seq);
            let mut entries: Vec<TimelineEntry> = page
                .items
                .into_iter()
                .filter(|message| message.seq <= last)
                .map(TimelineEntry::Message)
                .chain(events.into_iter().map(|event| match event.frame {
                    Some(frame) => TimelineEntry::Event {
                        seq: event.seq,
                        frame,
                    },
                    None => TimelineEntry::Hidden(event.seq),
                }))
                .collect();
            entries.sort_unstable_by_key(TimelineEntry::seq);
            cursor = entries
                .last()
                .map_or(page_end, |newest| newest.seq().max(page_end));
            loaded.extend(entries);
            if done || cursor >= last {
                return Ok(loaded);
            }
        }
    }
}

/// A room gone from the store reads as one the caller cannot see.
fn room_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound("room"),
        other => other.into(),
    }
}

/// Every entry a paged read (`page`, given the seq to read after) gives, oldest first: read
/// until a page comes back short.
fn every_page(
    after: Seq,
    mut page: impl FnMut(Seq) -> Result<Vec<timeline::StoredEvent>, StoreError>,
) -> Result<Vec<timeline::StoredEvent>, StoreError> {
    let mut entries = Vec::new();
    let mut cursor = after;
    loop {
        let read = page(cursor)?;
        let full = read.len() as i64 == TIMELINE_PAGE;
        if let Some(last) = read.last() {
            cursor = last.seq;
        }
        entries.extend(read);
        if !full {
            return Ok(entries);
        }
    }
}
