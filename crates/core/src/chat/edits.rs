//! Editing and deleting messages, and their revisions for admins.

use room_chats_store::StoreError;
use room_chats_store::audit::{AuditRecord, recorded};
use room_chats_store::edits::{self, Change, Delete, Edit};
use room_chats_types::{AuditAction, MessageDto, RevisionDto, RoomId};

use super::{Announcement, Chat, VisibleRoom, check_client_id};
use crate::access::{audience, require_admin};
use crate::audit;
use crate::error::ApiError;

impl Chat {
    /// Replaces the words of one of the caller's messages, within the edit window, while the
    /// room is open; the message as it is now. A retry with the same `client_id` changes
    /// nothing more.
    pub async fn edit_message(
        &self,
        room: &VisibleRoom,
        message_id: i64,
        content: String,
        client_id: Option<String>,
    ) -> Result<MessageDto, ApiError> {
        self.check_content(&content)?;
        check_client_id(client_id.as_deref())?;
        let (room_id, editor) = (room.id(), room.caller().user_id.clone());
        let audience = audience(room.caller());
        // Edits and deletes draw from the sender's budget, like sends.
        self.send_budget.take(&editor)?;
        let window_micros = i64::try_from(self.edit_window.as_micros()).unwrap_or(i64::MAX);
        let change = self
            .db
            .run(move |conn| {
                let edit = Edit {
                    room_id,
                    message_id,
                    editor: &editor,
                    audience,
                    content: &content,
                    client_id: client_id.as_deref(),
                    window_micros,
                };
                edits::edit_message(conn, &edit)
            })
            .await
            .map_err(message_error)?;
        Ok(self.announce_change(room_id, change))
    }

    /// Deletes a message — the caller's own, or any as an admin — leaving a tombstone; the
    /// tombstone. Deleting a deleted message changes nothing.
    pub async fn delete_message(
        &self,
        room: &VisibleRoom,
        message_id: i64,
        client_id: Option<String>,
    ) -> Result<MessageDto, ApiError> {
        check_client_id(client_id.as_deref())?;
        let (room_id, by, by_role) = (room.id(), room.caller().user_id.clone(), room.caller().role);
        self.send_budget.take(&by)?;
        let keep_content = self.keep_deleted_content;
        let record = AuditRecord {
            room_id: Some(room_id),
            message_id: Some(message_id),
            ..audit::entry(room.caller(), AuditAction::MessageDeleted)
        };
        let change = self
            .db
            .run(move |conn| {
                let delete = Delete {
                    room_id,
                    message_id,
                    by: &by,
                    by_role,
                    client_id: client_id.as_deref(),
                    keep_content,
                };
                recorded(
                    conn,
                    |conn| edits::delete_message(conn, &delete),
                    // Someone else's message: staff acting on what a person wrote.
                    |change| match change {
                        Change::Applied { message, .. } if message.sender_id != by => {
                            Some(AuditRecord {
                                user_id: Some(message.sender_id.clone()),
                                ..record
                            })
                        }
                        _ => None,
                    },
                )
            })
            .await
            .map_err(message_error)?;
        Ok(self.announce_change(room_id, change))
    }

    /// The words every change of a message replaced, oldest first (admins).
    pub async fn message_revisions(
        &self,
        room: &VisibleRoom,
        message_id: i64,
    ) -> Result<Vec<RevisionDto>, ApiError> {
        require_admin(room.caller())?;
        let room_id = room.id();
        let record = AuditRecord {
            room_id: Some(room_id),
            message_id: Some(message_id),
            ..audit::entry(room.caller(), AuditAction::RevisionsRead)
        };
        self.db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| edits::revisions(conn, room_id, message_id),
                    |_| Some(record),
                )
            })
            .await
            .map_err(message_error)
    }

    /// Announces an applied change's timeline event; the message either way.
    fn announce_change(&self, room_id: RoomId, change: Change) -> MessageDto {
        match change {
            Change::Applied { message, event } => {
                self.announcer.announce(Announcement::RoomEvent {
                    room_id,
                    frame: &event,
                });
                message
            }
            Change::Unchanged(message) => message,
        }
    }
}

/// A message the room does not hold is named as such (the room itself was found already).
fn message_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound("message"),
        other => other.into(),
    }
}
