//! Sending and marking read.

use std::future::Future;

use room_chats_store::batch::OwnedMessage;
use room_chats_store::members;
use room_chats_store::messages::Stored;
use room_chats_types::{ReadMarkerDto, RoomId, Seq};

use super::{Announcement, Chat, check_client_id};
use crate::auth::Caller;
use crate::error::ApiError;

impl Chat {
    /// Checks a message for room `room_id` (one `caller` may see) against the rules, and
    /// takes it from the sender's budget: the message as it will be stored. The sender is
    /// always the caller.
    pub fn admit_message(
        &self,
        caller: &Caller,
        room_id: RoomId,
        content: String,
        client_id: Option<String>,
    ) -> Result<OwnedMessage, ApiError> {
        self.check_content(&content)?;
        check_client_id(client_id.as_deref())?;
        self.send_budget.take(&caller.user_id)?;
        Ok(OwnedMessage {
            room_id,
            sender_id: caller.user_id.clone(),
            sender_role: caller.role,
            content,
            client_id,
        })
    }

    /// Queues an admitted message at once, in call order (so one connection's messages are
    /// stored in the order it sent them); the future answers after its batch committed. The
    /// writer announces every new message.
    pub fn submit_message(
        &self,
        message: OwnedMessage,
    ) -> Result<impl Future<Output = Result<Stored, ApiError>> + use<>, ApiError> {
        let stored = self.writer.submit(message)?;
        Ok(async move { stored.await.map_err(ApiError::from) })
    }

    /// Admits and stores a message; `Stored::Replayed` for a retry of a stored `client_id`.
    pub async fn send_message(
        &self,
        caller: &Caller,
        room_id: RoomId,
        content: String,
        client_id: Option<String>,
    ) -> Result<Stored, ApiError> {
        let message = self.admit_message(caller, room_id, content, client_id)?;
        if let Some(name) = caller.name.clone() {
            let user_id = caller.user_id.clone();
            self.db
                .run(move |conn| members::remember_name(conn, &user_id, &name))
                .await?;
        }
        self.submit_message(message)?.await
    }

    /// Moves the caller's read marker in room `room_id` (one it may see) up to `up_to`
    /// (default: the newest message).
    pub async fn mark_read(
        &self,
        caller: &Caller,
        room_id: RoomId,
        up_to: Option<Seq>,
    ) -> Result<ReadMarkerDto, ApiError> {
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
