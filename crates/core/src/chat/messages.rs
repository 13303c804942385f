//! Sending and marking read.

use std::future::Future;

use room_chats_store::StoreError;
use room_chats_store::auto_close::{self, Reopen};
use room_chats_store::batch::OwnedMessage;
use room_chats_store::members;
use room_chats_store::messages::Stored;
use room_chats_types::rules::MAX_ATTACHMENTS_PER_MESSAGE;
use room_chats_types::{MessageDto, ReadMarkerDto, Role, Seq};

use super::{Announcement, Chat, VisibleRoom, check_client_id};
use crate::access;
use crate::auth::Caller;
use crate::error::ApiError;

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A new message, with the next seq of its room.
    New(MessageDto),
    /// A retry of a `client_id` the sender used before: the message first stored with it;
    /// nothing was stored.
    Replayed(MessageDto),
}

impl From<Stored> for Sent {
    fn from(stored: Stored) -> Self {
        match stored {
            Stored::New(message) => Self::New(message),
            Stored::Replayed(message) => Self::Replayed(message),
        }
    }
}

/// A message as a sender writes it, over REST or a WebSocket.
#[derive(Debug, Clone, Default)]
pub struct MessageDraft {
    /// The text; may be absent (or empty) when files are sent.
    pub content: Option<String>,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// The sender's uploads in the room to send with it.
    pub attachment_ids: Vec<i64>,
    /// An internal note (staff only, text only).
    pub note: bool,
}

impl Chat {
    /// Checks a message for `room` against the rules, and takes it from the sender's budget:
    /// the message as it will be stored. The sender is always the caller who sees the room.
    /// Whether its attachments may be sent is decided with the room locked, when it is
    /// stored.
    pub fn admit_message(
        &self,
        room: &VisibleRoom,
        draft: MessageDraft,
    ) -> Result<OwnedMessage, ApiError> {
        let caller = room.caller();
        let MessageDraft {
            content,
            client_id,
            attachment_ids,
            note,
        } = draft;
        if note {
            check_note(caller, &attachment_ids)?;
        }
        check_attachment_ids(&attachment_ids)?;
        let content = content.unwrap_or_default();
        // Files alone make a message; words, when given, follow the rules.
        if attachment_ids.is_empty() || !content.is_empty() {
            self.check_content(&content)?;
        }
        check_client_id(client_id.as_deref())?;
        self.send_budget.take(&caller.user_id)?;
        Ok(OwnedMessage {
            room_id: room.id(),
            sender_id: caller.user_id.clone(),
            sender_role: caller.role,
            content,
            client_id,
            attachment_ids,
            note,
        })
    }

    /// Queues an admitted message at once, in call order (so one connection's messages are
    /// stored in the order it sent them); the future answers after its batch committed. The
    /// writer announces every new message. A customer's message to a room a policy closed
    /// reopens it and is stored after the `reopened` event.
    pub fn submit_message(
        &self,
        message: OwnedMessage,
    ) -> Result<impl Future<Output = Result<Sent, ApiError>> + use<>, ApiError> {
        // Kept only for a customer's message: the one whose refusal may reopen the room.
        let reopen = (message.sender_role == Role::Client).then(|| (self.clone(), message.clone()));
        let stored = self.writer.submit(message)?;
        Ok(async move {
            match (stored.await, reopen) {
                (Err(StoreError::RoomClosed), Some((chat, message))) => {
                    chat.reopen_and_send(message).await
                }
                (answer, _) => answer.map(Sent::from).map_err(ApiError::from),
            }
        })
    }

    /// The customer's message found its room closed: if a policy closed it, the room opens
    /// again (announced like any reopening) and the message is sent; a room staff closed
    /// stays closed.
    async fn reopen_and_send(&self, message: OwnedMessage) -> Result<Sent, ApiError> {
        let (room_id, customer) = (message.room_id, message.sender_id.clone());
        let reopen = self
            .db
            .run(move |conn| auto_close::reopen_for_customer(conn, room_id, &customer))
            .await?;
        match reopen {
            Reopen::Reopened(event) => self.announcer.announce(Announcement::RoomEvent {
                room_id,
                frame: &event,
            }),
            Reopen::Open => {}
            Reopen::Closed => return Err(ApiError::RoomClosed),
        }
        let stored = self.writer.submit(message)?;
        stored.await.map(Sent::from).map_err(ApiError::from)
    }

    /// Checks the direct uploads among the files `draft` names (the sender's, in `room`), so
    /// the message can carry them. Call before [`Chat::admit_message`]; a draft without files
    /// costs nothing.
    pub async fn receive_files(
        &self,
        room: &VisibleRoom,
        draft: &MessageDraft,
    ) -> Result<(), ApiError> {
        check_attachment_ids(&draft.attachment_ids)?;
        self.files
            .check_direct_uploads(&room.caller().user_id, room.id(), &draft.attachment_ids)
            .await
    }

    /// Admits and stores a message; `Sent::Replayed` for a retry of a stored `client_id`.
    pub async fn send_message(
        &self,
        room: &VisibleRoom,
        draft: MessageDraft,
    ) -> Result<Sent, ApiError> {
        self.receive_files(room, &draft).await?;
        let message = self.admit_message(room, draft)?;
        if let Some(name) = room.caller().name.clone() {
            let user_id = room.caller().user_id.clone();
            self.db
                .run(move |conn| members::remember_name(conn, &user_id, &name))
                .await?;
        }
        self.submit_message(message)?.await
    }

    /// Moves the caller's read marker in `room` up to `up_to` (default: the newest
    /// message); the caller becomes a member if it was not one.
    pub async fn mark_read(
        &self,
        room: &VisibleRoom,
        up_to: Option<Seq>,
    ) -> Result<ReadMarkerDto, ApiError> {
        let (room_id, caller) = (room.id(), room.caller());
        if up_to.is_some_and(|seq| seq < 0) {
            return Err(ApiError::Validation(
                "up_to must not be negative".to_owned(),
            ));
        }
        let (user_id, role) = (caller.user_id.clone(), caller.role);
        let marker = self
            .db
            .run(move |conn| members::mark_read(conn, room_id, &user_id, role, up_to))
            .await?;
        self.announcer.announce(Announcement::ReadMoved {
            room_id,
            user_id: &caller.user_id,
            up_to: marker.up_to,
        });
        Ok(marker)
    }
}

/// Only staff write internal notes, and a note is text: a file's download would reach anyone
/// who may read the room.
fn check_note(caller: &Caller, attachment_ids: &[i64]) -> Result<(), ApiError> {
    if !access::sees_notes(caller) {
        return Err(ApiError::Forbidden("only staff write internal notes"));
    }
    if !attachment_ids.is_empty() {
        return Err(ApiError::Validation(
            "an internal note is text only: attachment_ids must be empty".to_owned(),
        ));
    }
    Ok(())
}

/// At most [`MAX_ATTACHMENTS_PER_MESSAGE`] files, each named once.
fn check_attachment_ids(ids: &[i64]) -> Result<(), ApiError> {
    if ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(ApiError::Validation(format!(
            "attachment_ids names more than {MAX_ATTACHMENTS_PER_MESSAGE} files"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if !ids.iter().all(|id| seen.insert(*id)) {
        return Err(ApiError::Validation(
            "attachment_ids names a file twice".to_owned(),
        ));
    }
    Ok(())
}
