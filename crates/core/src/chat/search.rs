//! Message search: who finds what is decided when the search runs, from the rooms the caller
//! may see now — never from what was true when a message was indexed.

use room_chats_store::search::{self, SearchSettings};
use room_chats_types::{FilenameMatch, Role, SearchHitDto, SearchPage};

use super::Chat;
use crate::access::require_chat_role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::search::SearchRequest;

impl Chat {
    /// A page of the messages matching `request` in rooms the caller may see: a client those
    /// of its own orders (as the orders are now), an admin all rooms; service tokens chat
    /// nowhere and search nothing. Deleted messages are never found, edited ones by their
    /// current words only.
    pub async fn search_messages(
        &self,
        caller: &Caller,
        request: SearchRequest,
    ) -> Result<SearchPage, ApiError> {
        require_chat_role(caller)?;
        if request.assigned.is_some() && caller.role != Role::Admin {
            return Err(ApiError::Validation(
                "the assigned filter is for admins".to_owned(),
            ));
        }
        let settings = self.search_settings().await?;
        let key = settings.cursor_key.as_str();
        let only_customer = (caller.role == Role::Client).then(|| caller.user_id.clone());
        let store_search = request.for_store(settings, only_customer, &caller.user_id)?;
        let mut found = self
            .db
            .run(move |conn| search::search_messages(conn, &store_search))
            .await?;
        let limit = usize::try_from(request.limit()).unwrap_or(usize::MAX);
        let next_cursor = if found.len() > limit {
            found.truncate(limit);
            found
                .last()
                .map(|last| request.cursor_after(key, last.position))
        } else {
            None
        };
        let items = found
            .into_iter()
            .map(|found| {
                // Highlights for the rows shown only.
                let content_matches = request.query.matches_in(&found.message.content);
                let filename_matches = found
                    .message
                    .attachments
                    .iter()
                    .filter_map(|file| {
                        let ranges = request.query.matches_in(&file.filename);
                        (!ranges.is_empty()).then_some(FilenameMatch {
                            attachment_id: file.id,
                            ranges,
                        })
                    })
                    .collect();
                SearchHitDto {
                    message: found.message,
                    order_id: found.order_id,
                    order_reference: found.order_reference,
                    content_matches,
                    filename_matches,
                }
            })
            .collect();
        Ok(SearchPage { items, next_cursor })
    }

    /// What searches share (the index's language, the cursors' key): the database's, the
    /// same on every node, read once — both are set before the node serves.
    async fn search_settings(&self) -> Result<&SearchSettings, ApiError> {
        Ok(self
            .search_settings
            .get_or_try_init(|| self.db.run(search::search_settings))
            .await?)
    }
}
