//! Canned replies (issue 28): the answers staff keep for the questions customers ask every day,
//! shared by every admin. Admins manage and read them; customers and the platform service may
//! not (a customer sees a reply only once an admin sends its text).

use room_chats_store::Database;
use room_chats_store::canned_replies::{self as store, CannedReplyText};
use room_chats_types::rules::{check_canned_shortcut, check_canned_title, check_content};
use room_chats_types::{CannedReplyBody, CannedReplyDto};

use crate::access::require_admin;
use crate::auth::Caller;
use crate::error::ApiError;

/// Most canned replies a deployment keeps: a list staff pick from, not a knowledge base.
pub const MAX_CANNED_REPLIES: i64 = 1_000;

/// The canned reply use cases.
#[derive(Clone)]
pub struct CannedReplies {
    db: Database,
    /// A reply is sent as a message: it keeps to the messages' limit (`MAX_CONTENT_CHARS`).
    max_content_chars: usize,
}

impl CannedReplies {
    /// The use cases over `db`, replies at most `max_content_chars` long.
    pub fn new(db: Database, max_content_chars: usize) -> Self {
        Self {
            db,
            max_content_chars,
        }
    }

    /// Saves a new reply.
    pub async fn create(
        &self,
        caller: &Caller,
        body: CannedReplyBody,
    ) -> Result<CannedReplyDto, ApiError> {
        require_admin(caller)?;
        self.check(&body)?;
        let admin = caller.user_id.clone();
        let reply = self
            .db
            .run(move |conn| store::create(conn, &admin, text(&body), MAX_CANNED_REPLIES))
            .await?;
        tracing::info!(reply_id = reply.id, by = %caller.user_id, "canned reply created");
        Ok(reply)
    }

    /// Every reply, by title.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<CannedReplyDto>, ApiError> {
        require_admin(caller)?;
        Ok(self.db.run(store::list).await?)
    }

    /// One reply.
    pub async fn get(&self, caller: &Caller, id: i64) -> Result<CannedReplyDto, ApiError> {
        require_admin(caller)?;
        self.db
            .run(move |conn| store::find(conn, id))
            .await
            .map_err(not_found)
    }

    /// Replaces a reply's title, text and shortcut.
    pub async fn replace(
        &self,
        caller: &Caller,
        id: i64,
        body: CannedReplyBody,
    ) -> Result<CannedReplyDto, ApiError> {
        require_admin(caller)?;
        self.check(&body)?;
        let admin = caller.user_id.clone();
        let reply = self
            .db
            .run(move |conn| store::replace(conn, id, &admin, text(&body)))
            .await
            .map_err(not_found)?;
        tracing::info!(reply_id = id, by = %caller.user_id, "canned reply changed");
        Ok(reply)
    }

    /// Deletes a reply.
    pub async fn delete(&self, caller: &Caller, id: i64) -> Result<(), ApiError> {
        require_admin(caller)?;
        self.db
            .run(move |conn| store::delete(conn, id))
            .await
            .map_err(not_found)?;
        tracing::info!(reply_id = id, by = %caller.user_id, "canned reply deleted");
        Ok(())
    }

    fn check(&self, body: &CannedReplyBody) -> Result<(), ApiError> {
        check_canned_title(&body.title)
            .map_err(|violation| ApiError::Validation(format!("title {violation}")))?;
        check_content(&body.content, self.max_content_chars).map_err(ApiError::InvalidContent)?;
        if let Some(shortcut) = &body.shortcut
            && !check_canned_shortcut(shortcut)
        {
            return Err(ApiError::Validation(
                "shortcut must be 1 to 32 lower-case letters, digits, `-` or `_`, starting \
                 with a letter or digit"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

fn text(body: &CannedReplyBody) -> CannedReplyText<'_> {
    CannedReplyText {
        title: &body.title,
        content: &body.content,
        shortcut: body.shortcut.as_deref(),
    }
}

fn not_found(error: room_chats_store::StoreError) -> ApiError {
    match error {
        room_chats_store::StoreError::NotFound => ApiError::NotFound("canned reply"),
        other => other.into(),
    }
}
