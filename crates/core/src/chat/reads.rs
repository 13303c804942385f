//! Reading: a page of history, a room's detail, and the rooms a caller may see.

use room_chats_store::messages::{self, HistoryPage};
use room_chats_store::rooms::{self, RoomListFilter, RoomListScope, RoomListing};
use room_chats_store::{StoreError, members, retention};
use room_chats_types::{MessagePage, Role, RoomDetailDto, RoomId, Seq};

use super::{Chat, HistoryRequest, VisibleRoom, check_field};
use crate::access::{audience, require_chat_role};
use crate::auth::Caller;
use crate::error::ApiError;

impl Chat {
    /// The stored head (`last_seq`) of each of `room_ids` that exists, for the node's own
    /// timeline sweep: no caller asks, nothing of it reaches a client, so there is no access to
    /// check. Read in chunks: SQLite takes at most 32,766 bound values in one statement.
    pub async fn stored_heads(
        &self,
        room_ids: Vec<RoomId>,
    ) -> Result<Vec<(RoomId, Seq)>, ApiError> {
        const ROOMS_PER_QUERY: usize = 1_000;
        let heads = self
            .db
            .run(move |conn| {
                let mut heads = Vec::with_capacity(room_ids.len());
                for chunk in room_ids.chunks(ROOMS_PER_QUERY) {
                    heads.extend(rooms::last_seqs(conn, chunk)?);
                }
                Ok(heads)
            })
            .await?;
        Ok(heads)
    }

    /// A page of the room's messages.
    pub async fn history(
        &self,
        room: &VisibleRoom,
        request: HistoryRequest,
    ) -> Result<MessagePage, ApiError> {
        let (room_id, page, limit) = (room.id(), request.page, request.limit);
        let audience = audience(room.caller());
        Ok(self
            .db
            .run(move |conn| {
                let mut found = messages::history(conn, room_id, page, limit, audience)?;
                // The lowest seq the request reaches: a page after a seq, or the oldest page
                // there is. Only such a page reads the room's purge boundary.
                let reaches_down_to = match page {
                    HistoryPage::After(after) | HistoryPage::Between { after, .. } => Some(after),
                    HistoryPage::Before(_) => found.next_cursor.is_none().then_some(0),
                };
                if let Some(lowest) = reaches_down_to {
                    let purged = retention::purged_through(conn, room_id)?;
                    found.history_purged_through = (lowest < purged).then_some(purged);
                }
                Ok::<_, StoreError>(found)
            })
            .await?)
    }

    /// The room with its members, the caller's unread count and its newest `page_size`
    /// messages.
    pub async fn room_detail(
        &self,
        room: VisibleRoom,
        page_size: i64,
    ) -> Result<RoomDetailDto, ApiError> {
        let (room_id, user_id) = (room.id(), room.caller().user_id.clone());
        let audience = audience(room.caller());
        let (members, marker, page) = self
            .db
            .run(move |conn| {
                Ok::<_, StoreError>((
                    members::members(conn, room_id)?,
                    members::read_marker(conn, room_id, &user_id)?,
                    messages::history(
                        conn,
                        room_id,
                        HistoryPage::Before(i64::MAX),
                        page_size,
                        audience,
                    )?,
                ))
            })
            .await?;
        Ok(RoomDetailDto {
            room: room.into_room(),
            members,
            unread: marker.unread,
            has_more: page.next_cursor.is_some(),
            messages: page.items,
        })
    }

    /// A page of the rooms the caller may see (a client: its orders'; an admin: all), newest
    /// activity first. The assignment filter is for admins.
    pub(super) async fn list_rooms(
        &self,
        caller: &Caller,
        filter: RoomListFilter,
    ) -> Result<RoomListing, ApiError> {
        require_chat_role(caller)?;
        if filter.assigned.is_some() && caller.role != Role::Admin {
            return Err(ApiError::Validation(
                "the assigned filter is for admins".to_owned(),
            ));
        }
        if let Some(order_id) = &filter.order_id {
            check_field("order_id", order_id)?;
        }
        let caller = caller.clone();
        Ok(self
            .db
            .run(move |conn| {
                let scope = RoomListScope {
                    user_id: &caller.user_id,
                    only_customer: (caller.role == Role::Client).then_some(caller.user_id.as_str()),
                };
                rooms::list_rooms(conn, &scope, &filter)
            })
            .await?)
    }
}
