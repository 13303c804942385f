//! Seeing a room, closing and reopening it, assigning admins, and the orders rooms belong to.

use room_chats_store::audit::{AuditRecord, recorded};
use room_chats_store::orders::{self, Upsert};
use room_chats_store::{StoreError, members, rooms};
use room_chats_types::frames::ServerFrame;
use room_chats_types::{
    AuditAction, MemberDto, OrderDto, Role, RoomDto, RoomId, RoomStatus, UpsertOrderBody,
};

use super::{Announcement, Chat, VisibleRoom, check_field};
use crate::access::{may_see, require_admin, require_chat_role};
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;

impl Chat {
    /// Loads a room the caller may see ([`VisibleRoom::check`]): every room access starts
    /// here.
    pub async fn visible_room(
        &self,
        caller: &Caller,
        room_id: RoomId,
    ) -> Result<VisibleRoom, ApiError> {
        VisibleRoom::check(&self.db, caller, room_id).await
    }

    /// The order's room, created on first use (`true`) or as it exists; the caller becomes a
    /// member. A client may open only the chat of its own order: another's answers like an
    /// unknown order.
    pub async fn open_room(
        &self,
        caller: &Caller,
        order_id: String,
    ) -> Result<(RoomDto, bool), ApiError> {
        require_chat_role(caller)?;
        let opener = caller.clone();
        let opened = self
            .db
            .run(move |conn| {
                let Some(order) = orders::find_order(conn, &order_id)? else {
                    return Ok(None);
                };
                if !may_see(&opener, &order.customer_id) {
                    return Ok(None);
                }
                let (room, created) = rooms::create_or_get_room(conn, &order_id)?;
                members::ensure_member(conn, room.id, &opener.user_id, opener.role)?;
                if let Some(name) = &opener.name {
                    members::remember_name(conn, &opener.user_id, name)?;
                }
                Ok::<_, StoreError>(Some((room, created)))
            })
            .await?;
        let (room, created) = opened.ok_or(ApiError::NotFound("order"))?;
        if created {
            self.announcer
                .announce(Announcement::RoomOpened { room_id: room.id });
        }
        Ok((room, created))
    }

    /// Closes or reopens a room (admins); the room as it is now. Setting the status it has
    /// changes and announces nothing.
    pub async fn set_room_status(
        &self,
        room: &VisibleRoom,
        status: RoomStatus,
    ) -> Result<RoomDto, ApiError> {
        // Visibility first (the caller holds a visible room): a client learns nothing from a
        // 403 about a room it cannot see.
        require_admin(room.caller())?;
        let (room_id, by) = (room.id(), room.caller().user_id.clone());
        let action = match status {
            RoomStatus::Closed => AuditAction::RoomClosed,
            RoomStatus::Open => AuditAction::RoomReopened,
        };
        let record = AuditRecord {
            room_id: Some(room_id),
            ..audit::entry(room.caller(), action)
        };
        let (room, event) = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| rooms::set_room_status(conn, room_id, status, &by),
                    |(_, event)| event.is_some().then_some(record),
                )
            })
            .await?;
        self.announce_room_event(room_id, event.as_ref());
        Ok(room)
    }

    /// Assigns admin `user_id` to the room (admins); the room's members after it.
    pub async fn assign_admin(
        &self,
        room: &VisibleRoom,
        user_id: String,
    ) -> Result<Vec<MemberDto>, ApiError> {
        require_admin(room.caller())?;
        check_field("user_id", &user_id)?;
        let (room_id, customer_id) = (room.id(), room.room().customer_id.clone());
        let record = AuditRecord {
            room_id: Some(room_id),
            user_id: Some(user_id.clone()),
            ..audit::entry(room.caller(), AuditAction::AdminAssigned)
        };
        let (event, members) = self
            .db
            .run(move |conn| {
                let event = recorded(
                    conn,
                    |conn| members::assign_admin(conn, room_id, &user_id, &customer_id),
                    |event| event.is_some().then_some(record),
                )?;
                Ok::<_, StoreError>((event, members::members(conn, room_id)?))
            })
            .await?;
        self.announce_room_event(room_id, event.as_ref());
        Ok(members)
    }

    /// Removes admin `user_id`'s assignment (admins; its read marker stays). Idempotent.
    pub async fn unassign_admin(
        &self,
        room: &VisibleRoom,
        user_id: String,
    ) -> Result<(), ApiError> {
        require_admin(room.caller())?;
        check_field("user_id", &user_id)?;
        let room_id = room.id();
        let record = AuditRecord {
            room_id: Some(room_id),
            user_id: Some(user_id.clone()),
            ..audit::entry(room.caller(), AuditAction::AdminUnassigned)
        };
        let event = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| members::unassign_admin(conn, room_id, &user_id),
                    |event| event.is_some().then_some(record),
                )
            })
            .await?;
        self.announce_room_event(room_id, event.as_ref());
        Ok(())
    }

    /// Announces the room event a change stored, if it stored one.
    fn announce_room_event(&self, room_id: RoomId, event: Option<&ServerFrame>) {
        if let Some(frame) = event {
            self.announcer
                .announce(Announcement::RoomEvent { room_id, frame });
        }
    }

    /// Creates or updates an order (the platform's `service` tokens, and admins); the order,
    /// and `true` when it was new. When the
    /// customer changes, the previous customer loses access to the order's room: the store
    /// refuses its sends from the commit on, and its live connections end on every node.
    pub async fn upsert_order(
        &self,
        caller: &Caller,
        order_id: String,
        body: UpsertOrderBody,
    ) -> Result<(OrderDto, bool), ApiError> {
        if caller.role == Role::Client {
            return Err(ApiError::Forbidden(
                "only the platform or admins manage orders",
            ));
        }
        let UpsertOrderBody {
            customer_id,
            reference,
        } = body;
        check_field("order_id", &order_id)?;
        check_field("customer_id", &customer_id)?;
        if let Some(reference) = &reference {
            check_field("reference", reference)?;
        }
        let (order, upsert) = self
            .db
            .run(move |conn| {
                orders::upsert_order(conn, &order_id, &customer_id, reference.as_deref())
            })
            .await?;
        // Access first: the previous customer's connections end before the room's new state
        // (which names the new customer) is announced to its members.
        if let Upsert::CustomerChanged {
            room_id: Some(room_id),
            previous_customer,
            ..
        } = &upsert
        {
            self.announcer.announce(Announcement::CustomerChanged {
                room_id: *room_id,
                customer_id: &order.customer_id,
                previous_customer,
            });
        }
        if let Upsert::Updated { event } | Upsert::CustomerChanged { event, .. } = &upsert
            && let Some(frame) = event
            && let ServerFrame::Room { room, .. } = frame
        {
            self.announce_room_event(room.id, Some(frame));
        }
        Ok((order, matches!(upsert, Upsert::Created)))
    }
}
