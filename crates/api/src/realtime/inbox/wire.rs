//! The inbox's JSON. An update is news for every stream of the node, and the rooms in it
//! differ between viewers only in `unread` and `change`: each room is serialized once per
//! update ([`RenderedRoom`]) and every viewer's entry is spliced from it, so an admin costs a
//! copy of the text, not a serialization. Entries go out together, one `inbox` frame per
//! window ([`inbox_frame`]); tests hold the spliced text equal to what serde writes.

use bytestring::ByteString;
use room_chats_types::RoomSummaryDto;
use room_chats_types::stream::{InboxChange, InboxEntry, InboxRemoval, StreamFrame};

/// A room summary as JSON, split around the value of its `unread` member.
#[derive(Debug, Clone)]
pub(crate) struct RenderedRoom {
    /// Up to and including `"unread":`.
    head: String,
    /// After the value.
    tail: String,
}

impl RenderedRoom {
    /// Serializes `room`; `None` if its `unread` member cannot be found (never expected: the
    /// caller then serializes per viewer).
    pub(crate) fn new(room: &RoomSummaryDto) -> Option<Self> {
        let json = serde_json::to_string(room).ok()?;
        let member = format!("\"unread\":{}", room.unread);
        // The last match: `unread` follows `last_message` and only `assigned_admins` (a list
        // of strings, whose quotes are escaped) comes after it, so a message's text can never
        // be taken for it.
        let at = json.rfind(&member)?;
        let value_at = at + "\"unread\":".len();
        Some(Self {
            head: json[..value_at].to_owned(),
            tail: json[at + member.len()..].to_owned(),
        })
    }

    /// The room's entry for one viewer: `{"change":…,"room":{…,"unread":N,…}}`.
    pub(crate) fn entry(&self, change: InboxChange, unread: i64) -> String {
        let unread = unread.to_string();
        let change = change_name(change);
        let mut entry = String::with_capacity(
            self.head.len() + self.tail.len() + unread.len() + change.len() + 24,
        );
        entry.push_str("{\"change\":\"");
        entry.push_str(change);
        entry.push_str("\",\"room\":");
        entry.push_str(&self.head);
        entry.push_str(&unread);
        entry.push_str(&self.tail);
        entry.push('}');
        entry
    }
}

/// `change` as serde writes it (a test holds them equal).
const fn change_name(change: InboxChange) -> &'static str {
    match change {
        InboxChange::Appeared => "appeared",
        InboxChange::Changed => "changed",
        InboxChange::Activity => "activity",
    }
}

/// A room's entry serialized on its own (catch-ups, and the fallback of [`RenderedRoom`]).
pub(crate) fn entry_of(change: InboxChange, room: RoomSummaryDto) -> Option<String> {
    serde_json::to_string(&InboxEntry { change, room }).ok()
}

/// A removal's entry.
pub(crate) fn removal_of(removal: &InboxRemoval) -> Option<String> {
    serde_json::to_string(removal).ok()
}

/// A frame of its own (a user's presence).
pub(crate) fn frame_text(frame: &StreamFrame) -> Option<ByteString> {
    serde_json::to_string(frame).ok().map(ByteString::from)
}

/// One `inbox` frame of entries written by [`RenderedRoom::entry`], [`entry_of`] and
/// [`removal_of`].
pub(crate) fn inbox_frame(rooms: &[String], removed: &[String], cursor: i64) -> ByteString {
    let length: usize = rooms
        .iter()
        .chain(removed)
        .map(|entry| entry.len() + 1)
        .sum();
    let mut frame = String::with_capacity(length + 80);
    frame.push_str("{\"type\":\"inbox\",\"rooms\":[");
    push_joined(&mut frame, rooms);
    frame.push_str("],\"removed\":[");
    push_joined(&mut frame, removed);
    frame.push_str("],\"cursor\":\"");
    frame.push_str(&cursor.to_string());
    frame.push_str("\"}");
    ByteString::from(frame)
}

fn push_joined(frame: &mut String, entries: &[String]) {
    for (n, entry) in entries.iter().enumerate() {
        if n > 0 {
            frame.push(',');
        }
        frame.push_str(entry);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use room_chats_types::stream::RemovalReason;
    use room_chats_types::{MessageDto, Role, RoomDto, RoomStatus};

    use super::*;

    fn room(content: &str) -> RoomSummaryDto {
        RoomSummaryDto {
            room: RoomDto {
                id: 3,
                order_id: "o-\"unread\":0".to_owned(),
                order_reference: Some("R-1".to_owned()),
                customer_id: "c1".to_owned(),
                status: RoomStatus::Open,
                last_seq: 9,
                created_at: Utc::now(),
                last_activity_at: Utc::now(),
                closed_at: None,
                closed_by: None,
                closed_by_policy: None,
                rating: None,
                waiting: None,
                sla: None,
            },
            last_message: Some(MessageDto {
                id: 12,
                room_id: 3,
                seq: 9,
                sender_id: "c1".to_owned(),
                sender_role: Role::Client,
                content: content.to_owned(),
                client_id: Some("\"unread\":0".to_owned()),
                created_at: Utc::now(),
                edited_at: None,
                deleted_at: None,
                deleted_by: None,
                attachments: Vec::new(),
                note: false,
            }),
            unread: 0,
            assigned_admins: vec!["\"unread\":0".to_owned()],
        }
    }

    #[test]
    fn spliced_entries_are_what_serde_writes_whatever_the_text_holds() {
        for content in ["hello", "\"unread\":0", "{\"unread\":0}", "ü\u{1}\\"] {
            let summary = room(content);
            let Some(rendered) = RenderedRoom::new(&summary) else {
                panic!("no unread member in {summary:?}");
            };
            for change in [
                InboxChange::Appeared,
                InboxChange::Changed,
                InboxChange::Activity,
            ] {
                for unread in [0, 7, 1234] {
                    let mut expected = summary.clone();
                    expected.unread = unread;
                    assert_eq!(
                        Some(rendered.entry(change, unread)),
                        entry_of(change, expected),
                        "{content} {change:?} {unread}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_inbox_frame_parses_as_the_documented_frame() {
        let mut summary = room("hi");
        let (Some(rendered), Some(appeared)) = (
            RenderedRoom::new(&summary),
            entry_of(InboxChange::Appeared, summary.clone()),
        ) else {
            panic!("entries of {summary:?}");
        };
        let removal = InboxRemoval {
            room_id: 4,
            reason: RemovalReason::Filtered,
        };
        let entries = [rendered.entry(InboxChange::Activity, 2), appeared];
        let removed: Vec<String> = removal_of(&removal).into_iter().collect();
        let frame = inbox_frame(&entries, &removed, 1_796_161_444_439_897);
        let parsed = serde_json::from_str::<StreamFrame>(&frame).ok();
        let unread_two = {
            summary.unread = 2;
            summary.clone()
        };
        summary.unread = 0;
        assert_eq!(
            parsed,
            Some(StreamFrame::Inbox {
                rooms: vec![
                    InboxEntry {
                        change: InboxChange::Activity,
                        room: unread_two,
                    },
                    InboxEntry {
                        change: InboxChange::Appeared,
                        room: summary,
                    },
                ],
                removed: vec![removal],
                cursor: "1796161444439897".to_owned(),
            })
        );
        let empty = serde_json::from_str::<StreamFrame>(&inbox_frame(&[], &[], 5)).ok();
        assert!(
            matches!(empty, Some(StreamFrame::Inbox { rooms, removed, .. }) if rooms.is_empty() && removed.is_empty())
        );
    }
}
