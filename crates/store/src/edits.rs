//! Editing and deleting messages. A message keeps its row and its seq; the change takes its
//! own place in the room's timeline (a `message_edited` or `message_deleted` event), and the
//! words it replaced are kept as a revision for admins. A deleted message becomes a tombstone
//! on every read path, replays of its earlier edits included.

use diesel::prelude::*;
use room_chats_types::frames::ServerFrame;
use room_chats_types::{MessageDto, RevisionDto, RevisionReason, Role, RoomId, RoomStatus};

use crate::connection::write_transaction;
use crate::rows::{MessageRow, Spelled};
use crate::schema::{message_revisions, messages, room_events};
use crate::search;
use crate::time::{StoredTime, now_micros, to_datetime};
use crate::timeline::{append_event, frame_text, lock_room};
use crate::{Audience, DbConnection, StoreError};

/// What an edit or delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The message changed; `event` is the change's timeline frame, to announce.
    Applied {
        /// The message now.
        message: MessageDto,
        /// The `message_edited` or `message_deleted` frame (boxed: it holds the message too).
        event: Box<ServerFrame>,
    },
    /// Nothing to change: a retry of the same `client_id`, an edit to the same words, or a
    /// delete of a deleted message. The message as it is.
    Unchanged(MessageDto),
}

/// An edit as asked for.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    /// The room the caller names (the message must be in it).
    pub room_id: RoomId,
    /// The message.
    pub message_id: i64,
    /// Who asks (only the sender may edit).
    pub editor: &'a str,
    /// Who the editor reads the room as: a customer cannot name a note.
    pub audience: Audience,
    /// The new words (checked by the caller).
    pub content: &'a str,
    /// Idempotency key.
    pub client_id: Option<&'a str>,
    /// How long after sending a message may be edited, µs.
    pub window_micros: i64,
}

/// Edits a message: its sender only, within the edit window, while the room is open.
pub fn edit_message(conn: &mut DbConnection, edit: &Edit<'_>) -> Result<Change, StoreError> {
    write_transaction(conn, |conn| {
        let status = lock_room(conn, edit.room_id)?;
        let current = message_in_room(conn, edit.room_id, edit.message_id, edit.audience)?;
        if current.sender_id != edit.editor {
            return Err(StoreError::Forbidden("only its sender may edit a message"));
        }
        if current.deleted_at.is_some() {
            return Err(StoreError::Conflict("the message was deleted"));
        }
        if already_applied(conn, edit.message_id, edit.client_id)?
            || current.content == edit.content
        {
            return Ok(Change::Unchanged(current));
        }
        if status == RoomStatus::Closed {
            return Err(StoreError::RoomClosed);
        }
        let now = now_micros();
        if now - current.created_at.timestamp_micros() > edit.window_micros {
            return Err(StoreError::Conflict("the message is past its edit window"));
        }
        keep_revision(
            conn,
            &current,
            RevisionReason::Edited,
            edit.client_id,
            edit.editor,
            now,
        )?;
        diesel::update(messages::table.find(edit.message_id))
            .set((
                messages::content.eq(edit.content),
                messages::edited_at.eq(Some(now)),
            ))
            .execute(conn)?;
        // Found by its current words only; the old ones stay in the revision.
        let words = search::indexed_words(edit.content, &current.attachments);
        search::index(conn, &[(edit.message_id, words)])?;
        let message = MessageDto {
            content: edit.content.to_owned(),
            edited_at: Some(to_datetime(now)?),
            ..current
        };
        let frame_message = message.clone();
        let event = append_event(
            conn,
            edit.room_id,
            "message_edited",
            Some(edit.message_id),
            |_, seq| {
                Ok(ServerFrame::MessageEdited {
                    seq,
                    message: frame_message,
                })
            },
        )?;
        Ok(Change::Applied {
            message,
            event: Box::new(event),
        })
    })
}

/// A delete as asked for.
#[derive(Debug, Clone, Copy)]
pub struct Delete<'a> {
    /// The room the caller names (the message must be in it).
    pub room_id: RoomId,
    /// The message.
    pub message_id: i64,
    /// Who asks: the sender, or an admin (moderation).
    pub by: &'a str,
    /// The asker's role.
    pub by_role: Role,
    /// Idempotency key.
    pub client_id: Option<&'a str>,
    /// Whether the message's revisions keep its words (`KEEP_DELETED_CONTENT`); if not, they
    /// are erased from every revision, and only who changed it when remains.
    pub keep_content: bool,
}

/// Deletes a message (its sender, or an admin of a room it can see), leaving a tombstone.
/// Deleting a deleted message changes nothing. Allowed in closed rooms too (moderation).
pub fn delete_message(conn: &mut DbConnection, delete: &Delete<'_>) -> Result<Change, StoreError> {
    write_transaction(conn, |conn| {
        lock_room(conn, delete.room_id)?;
        let audience = Audience::of(delete.by_role);
        let current = message_in_room(conn, delete.room_id, delete.message_id, audience)?;
        if current.sender_id != delete.by && delete.by_role != Role::Admin {
            return Err(StoreError::Forbidden(
                "only its sender or an admin may delete a message",
            ));
        }
        if current.deleted_at.is_some() {
            return Ok(Change::Unchanged(current));
        }
        let now = now_micros();
        keep_revision(
            conn,
            &current,
            RevisionReason::Deleted,
            delete.client_id,
            delete.by,
            now,
        )?;
        if !delete.keep_content {
            diesel::update(
                message_revisions::table.filter(message_revisions::message_id.eq(current.id)),
            )
            .set(message_revisions::content.eq(""))
            .execute(conn)?;
        }
        diesel::update(messages::table.find(delete.message_id))
            .set((
                messages::content.eq(""),
                messages::deleted_at.eq(Some(now)),
                messages::deleted_by.eq(Some(delete.by)),
                // A tombstone shows no files, as it shows no words.
                messages::attachments.eq(None::<String>),
            ))
            .execute(conn)?;
        search::unindex(conn, delete.message_id)?;
        let tombstone = MessageDto {
            content: String::new(),
            deleted_at: Some(to_datetime(now)?),
            deleted_by: Some(delete.by.to_owned()),
            attachments: Vec::new(),
            ..current
        };
        scrub_earlier_edits(conn, delete.room_id, &tombstone)?;
        let frame_message = tombstone.clone();
        let event = append_event(
            conn,
            delete.room_id,
            "message_deleted",
            Some(delete.message_id),
            |_, seq| {
                Ok(ServerFrame::MessageDeleted {
                    seq,
                    message: frame_message,
                })
            },
        )?;
        Ok(Change::Applied {
            message: tombstone,
            event: Box::new(event),
        })
    })
}

/// The words each change of a message replaced, oldest first (admins only; checked by the
/// caller).
pub fn revisions(
    conn: &mut DbConnection,
    room_id: RoomId,
    message_id: i64,
) -> Result<Vec<RevisionDto>, StoreError> {
    message_in_room(conn, room_id, message_id, Audience::Staff)?;
    let rows: Vec<(i64, Spelled<RevisionReason>, String, String, StoredTime)> =
        message_revisions::table
            .filter(message_revisions::message_id.eq(message_id))
            .order(message_revisions::revision.asc())
            .select((
                message_revisions::revision,
                message_revisions::reason,
                message_revisions::content,
                message_revisions::changed_by,
                message_revisions::changed_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(revision, reason, content, changed_by, changed_at)| RevisionDto {
                revision,
                reason: reason.0,
                content,
                changed_by,
                changed_at: changed_at.0,
            },
        )
        .collect())
}

/// The message, if it is in the room and `audience` may see it (`NotFound` otherwise: ids of
/// other rooms' messages, or of notes for a customer, cannot be probed).
fn message_in_room(
    conn: &mut DbConnection,
    room_id: RoomId,
    message_id: i64,
    audience: Audience,
) -> Result<MessageDto, StoreError> {
    let mut query = messages::table
        .find(message_id)
        .filter(messages::room_id.eq(room_id))
        .select(MessageRow::as_select())
        .into_boxed();
    if !audience.sees_notes() {
        query = query.filter(messages::note.eq(false));
    }
    let row: MessageRow = query.first(conn)?;
    Ok(row.into())
}

/// Whether a change with this idempotency key was made to the message already.
fn already_applied(
    conn: &mut DbConnection,
    message_id: i64,
    client_id: Option<&str>,
) -> Result<bool, StoreError> {
    let Some(client_id) = client_id else {
        return Ok(false);
    };
    let found: i64 = message_revisions::table
        .filter(message_revisions::message_id.eq(message_id))
        .filter(message_revisions::client_id.eq(client_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Keeps the words a change replaces, as the message's next revision.
fn keep_revision(
    conn: &mut DbConnection,
    current: &MessageDto,
    reason: RevisionReason,
    client_id: Option<&str>,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let previous: i64 = message_revisions::table
        .filter(message_revisions::message_id.eq(current.id))
        .count()
        .get_result(conn)?;
    diesel::insert_into(message_revisions::table)
        .values((
            message_revisions::message_id.eq(current.id),
            message_revisions::revision.eq(previous + 1),
            message_revisions::reason.eq(reason.as_str()),
            message_revisions::content.eq(&current.content),
            message_revisions::client_id.eq(client_id),
            message_revisions::changed_by.eq(by),
            message_revisions::changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rewrites the stored frames of the message's earlier edits to carry its tombstone, so a
/// client resuming from before them never receives the deleted words.
fn scrub_earlier_edits(
    conn: &mut DbConnection,
    room_id: RoomId,
    tombstone: &MessageDto,
) -> Result<(), StoreError> {
    let edits: Vec<i64> = room_events::table
        .filter(room_events::room_id.eq(room_id))
        .filter(room_events::message_id.eq(tombstone.id))
        .filter(room_events::kind.eq("message_edited"))
        .select(room_events::seq)
        .load(conn)?;
    for seq in edits {
        let frame = ServerFrame::MessageEdited {
            seq,
            message: tombstone.clone(),
        };
        diesel::update(room_events::table.find((room_id, seq)))
            .set(room_events::frame.eq(frame_text(&frame)?))
            .execute(conn)?;
    }
    Ok(())
}
