//! Rooms subscribed on a user stream. Each subscription is a room session of its own (the
//! same actor as a room socket's, so ordering, gap filling, resume, acks and the per-message
//! authorization are the room socket's), whose connection writes to this stream with the
//! room's id in every frame. The stream only admits subscriptions (cap, rate, visibility)
//! and routes room frames by their `room_id`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix::prelude::SendError;
use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Handler, WrapFuture};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use room_chats_types::frames::ClientFrame;
use room_chats_types::{RoomId, Seq};
use serde_json::Value;

use room_chats_core::error::ApiError;
use room_chats_core::retry_after::RetryAfter;

use super::UserStream;
use crate::realtime::conn_id::ConnId;
use crate::realtime::connection::{SubscriptionEnded, with_room_id};
use crate::realtime::session::{
    ChatSession, RoomFrame, SessionServices, SessionStart, Unsubscribe,
};
use crate::realtime::settings::RealtimeSettings;

/// The rooms of one stream and how fast it may add more.
pub(super) struct Subscriptions {
    rooms: HashMap<RoomId, (ConnId, Addr<ChatSession>)>,
    max: usize,
    budget: DefaultDirectRateLimiter,
}

impl Subscriptions {
    pub(super) fn new(settings: &RealtimeSettings) -> Self {
        let max = NonZeroU32::new(settings.max_subscriptions).unwrap_or(NonZeroU32::MIN);
        let rate = NonZeroU32::new(settings.subscribes_per_sec).unwrap_or(NonZeroU32::MIN);
        Self {
            rooms: HashMap::new(),
            max: max.get() as usize,
            budget: RateLimiter::direct(Quota::per_second(rate).allow_burst(max)),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Whether one more subscription to `room_id` may start now.
    fn admit(&self, room_id: RoomId) -> Result<(), ApiError> {
        if self.rooms.contains_key(&room_id) {
            return Err(ApiError::Conflict("already subscribed to this room"));
        }
        if self.rooms.len() >= self.max {
            return Err(ApiError::RateLimited {
                message: "too many rooms subscribed on this connection (WS_MAX_SUBSCRIPTIONS); unsubscribe first",
                retry_after: None,
            });
        }
        self.budget.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            ApiError::RateLimited {
                message: "subscribing too fast (WS_SUBSCRIBES_PER_SEC)",
                retry_after: Some(RetryAfter(wait)),
            }
        })
    }

    /// Ends every subscription (the stream is gone).
    pub(super) fn end_all(&mut self) {
        for (_, (_, room)) in self.rooms.drain() {
            room.do_send(Unsubscribe);
        }
    }
}

impl UserStream {
    /// Starts a room session on this connection, after checking the cap, the rate, the
    /// resume parameters and that the caller may see the room. Runs under `ctx.wait`, so the
    /// client's next frames (sends into the new room, say) find it subscribed.
    pub(super) fn subscribe(
        &mut self,
        room_id: RoomId,
        since: Option<Seq>,
        history: Option<i64>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        if let Err(refused) = self.rooms.admit(room_id) {
            return self.send_room_error(room_id, &refused, ctx);
        }
        let chat = self.services.chat.clone();
        let caller = self.connection.caller.clone();
        let rules = self.services.settings.history_rules();
        let joined = async move {
            chat.join_room(&caller, room_id, since, history, rules)
                .await
        };
        ctx.wait(joined.into_actor(self).map(move |joined, stream, ctx| {
            let join = match joined {
                Ok(join) => join,
                Err(refused) => return stream.send_room_error(room_id, &refused, ctx),
            };
            let conn = stream.services.hub.next_id();
            let start = SessionStart {
                conn,
                join,
                verdict: Arc::default(),
            };
            let services = SessionServices {
                chat: stream.services.chat.clone(),
                hub: Arc::clone(&stream.services.hub),
                verifier: Arc::clone(&stream.services.verifier),
                settings: Arc::clone(&stream.services.settings),
            };
            let outbox = stream.connection.outbox();
            let ended = ctx.address().recipient();
            let session = ChatSession::create(|room_ctx| {
                // As for a room socket: the hub never queues more than this for a session.
                room_ctx.set_mailbox_capacity(services.settings.outbox);
                ChatSession::subscribed(start, services, outbox, ended)
            });
            stream.rooms.rooms.insert(room_id, (conn, session));
        }));
    }

    /// Ends a subscription; the room answers `unsubscribed` (1000) once it has stopped.
    pub(super) fn unsubscribe(&mut self, room_id: RoomId, ctx: &mut <Self as Actor>::Context) {
        match self.rooms.rooms.remove(&room_id) {
            Some((_, room)) => room.do_send(Unsubscribe),
            None => {
                let refused = ApiError::NotFound("subscription");
                self.send_room_error(room_id, &refused, ctx);
            }
        }
    }

    /// A room frame (`message`, `read`, `typing`, `edit`, `delete`) with the `room_id` of a
    /// subscribed room goes to that room's session, in the order the client sent it.
    pub(super) fn route_room_frame(
        &mut self,
        kind: &str,
        mut value: Value,
        reference: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let room_id = value
            .as_object_mut()
            .and_then(|object| object.remove("room_id"))
            .and_then(|room_id| room_id.as_i64());
        let Some(room_id) = room_id else {
            let refused = ApiError::BadRequest(format!(
                "a `{kind}` frame on /ws/ needs the `room_id` of a subscribed room"
            ));
            self.connection.send_api_error(&refused, reference, ctx);
            return;
        };
        let frame = match serde_json::from_value::<ClientFrame>(value) {
            Ok(frame) => frame,
            Err(error) => {
                let refused = ApiError::BadRequest(format!("invalid `{kind}` frame: {error}"));
                return self.send_room_error_ref(room_id, &refused, reference, ctx);
            }
        };
        let Some((_, room)) = self.rooms.rooms.get(&room_id) else {
            let refused = ApiError::NotFound("subscription");
            return self.send_room_error_ref(room_id, &refused, reference, ctx);
        };
        match room.try_send(RoomFrame(frame)) {
            Ok(()) | Err(SendError::Closed(_)) => {}
            Err(SendError::Full(_)) => {
                let refused = ApiError::Overloaded {
                    retry_after: RetryAfter(std::time::Duration::from_millis(100)),
                };
                self.send_room_error_ref(room_id, &refused, reference, ctx);
            }
        }
    }

    fn send_room_error(
        &mut self,
        room_id: RoomId,
        refused: &ApiError,
        ctx: &mut <Self as Actor>::Context,
    ) {
        self.send_room_error_ref(room_id, refused, None, ctx);
    }

    /// An `error` frame about a room (with its `room_id`), answering the frame `reference`
    /// names.
    fn send_room_error_ref(
        &mut self,
        room_id: RoomId,
        refused: &ApiError,
        reference: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        refused.log();
        self.services.hub.metrics().refused(refused.code(), "ws");
        match serde_json::to_string(&refused.frame(reference)) {
            Ok(text) => self.connection.send_text(with_room_id(&text, room_id), ctx),
            Err(error) => tracing::error!(%error, "frame not serializable"),
        }
    }

    /// Closes with 1012 once the node is shutting down and every room has ended.
    pub(super) fn restart_when_acked(&mut self, ctx: &mut <Self as Actor>::Context) {
        if self.restart_pending && self.rooms.is_empty() {
            self.connection
                .close(actix_ws::CloseCode::Restart, "service restart", ctx);
        }
    }
}

impl Handler<SubscriptionEnded> for UserStream {
    type Result = ();

    fn handle(&mut self, ended: SubscriptionEnded, ctx: &mut Self::Context) {
        if self
            .rooms
            .rooms
            .get(&ended.room_id)
            .is_some_and(|(conn, _)| *conn == ended.conn)
        {
            self.rooms.rooms.remove(&ended.room_id);
        }
        if ended.slow_consumer {
            // The client stopped reading this connection: it goes, as a room socket would.
            tracing::info!(conn = self.connection.id, "slow consumer disconnected");
            return self.connection.drop_slow_consumer(ctx);
        }
        self.restart_when_acked(ctx);
    }
}
