//! One actor per `/ws/` connection: the user's stream. It starts with `stream_ready` (a delta
//! since the client's cursor, or "reload"), then turns every inbox update of the node into
//! this user's frames through its [`InboxView`].
//!
//! Database work whose result the next frame depends on (the opening catch-up, unread
//! baselines, a catch-up after the broker reconnected) runs under `ctx.wait`, which holds the
//! actor's mailbox until it completes, so updates are rendered in the order they came.
//!
//! The stream also carries the rooms the client subscribes to ([`rooms`]): each is a room
//! session of its own, writing to this connection.

mod backlog;
mod rooms;

use std::sync::Arc;
use std::time::Duration;

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Handler, SpawnHandle, StreamHandler,
    WrapFuture,
};
use actix_ws::{AggregatedMessage, CloseCode, ProtocolError};
use room_chats_types::frames::{Me, ServerFrame};
use room_chats_types::stream::{
    InboxChange, InboxMode, InboxRemoval, InboxStart, STREAM_CLIENT_FRAME_TYPES, StreamClientFrame,
    StreamFrame,
};
use room_chats_types::{ErrorCode, Role, RoomSummaryDto};
use serde_json::Value;

use room_chats_core::auth::{Caller, TokenVerifier};
use room_chats_core::chat::{Chat, RoomListRequest, UnreadBaseline};
use room_chats_core::error::ApiError;

use crate::realtime::connection::{self, Connection, ConnectionParts, Socket};
use crate::realtime::frame_guard::Verdict;
use crate::realtime::hub::{ConnId, Hub};
use crate::realtime::inbox::{
    CURSOR_SLACK_MICROS, Inbox, InboxNews, InboxUpdate, InboxView, StreamFilter, ToStream, wire,
};
use crate::realtime::settings::RealtimeSettings;

/// How soon the backlog is tried again while the outbox is busy.
const BACKLOG_RETRY: Duration = Duration::from_millis(10);

/// Inbox frames the backlog lets into the outbox at a time: several windows of a busy shop
/// (1,600 rooms), 4 MiB at most (`backlog::MAX_INBOX_FRAME_BYTES` each). A client that reads
/// slowly leaves the rest in the backlog, where a newer state of a room replaces its older
/// one. (4 delayed the inbox of 20 dashboards at 2,000 msg/s by ~100 ms at p99: frames waited
/// for the backlog's retry while subscribed rooms' frames shared the outbox.)
const INBOX_FRAMES_QUEUED: usize = 16;

/// Most rooms a catch-up sends; past it the client reloads the list.
pub const MAX_DELTA_ROOMS: i64 = 200;

/// Everything a stream starts from; the handshake handler has checked it already.
pub(crate) struct StreamStart {
    /// This connection's id on the node.
    pub conn: ConnId,
    /// The authenticated caller.
    pub caller: Caller,
    /// The inbox's filters.
    pub filter: StreamFilter,
    /// The client's cursor (micros), if it reconnects.
    pub cursor: Option<i64>,
    /// What the frame guard refused, if anything.
    pub verdict: Arc<Verdict>,
}

/// Shared services of every stream.
#[derive(Clone)]
pub(crate) struct StreamServices {
    /// The use cases (the room list, for catching up).
    pub chat: Chat,
    /// This node's hub (connection counting).
    pub hub: Arc<Hub>,
    /// This node's inbox.
    pub inbox: Arc<Inbox>,
    /// Verifies refreshed tokens.
    pub verifier: Arc<TokenVerifier>,
    /// Limits and timings.
    pub settings: Arc<RealtimeSettings>,
}

/// See the module docs.
pub(crate) struct UserStream {
    connection: Connection,
    view: InboxView,
    filter: StreamFilter,
    /// The newest cursor sent (micros): where a catch-up starts.
    cursor: Option<i64>,
    services: StreamServices,
    /// The rooms subscribed on this connection.
    rooms: rooms::Subscriptions,
    /// The node is shutting down: close with 1012 once every subscribed room has acked what
    /// it had in flight.
    restart_pending: bool,
    /// Inbox frames waiting for room in the outbox.
    backlog: backlog::Backlog,
    /// Retries the backlog once the writer has made room.
    drain_timer: Option<SpawnHandle>,
}

/// The rooms that changed since a cursor, or `None` when there are too many to send.
type Delta = Option<Vec<RoomSummaryDto>>;

impl UserStream {
    /// Creates the stream and spawns its writer task on the given WebSocket session.
    pub(crate) fn new(start: StreamStart, services: StreamServices, ws: actix_ws::Session) -> Self {
        let parts = ConnectionParts {
            id: start.conn,
            caller: start.caller.clone(),
            verdict: start.verdict,
            settings: Arc::clone(&services.settings),
            verifier: Arc::clone(&services.verifier),
            known_types: &STREAM_CLIENT_FRAME_TYPES,
            metrics: Arc::clone(services.hub.metrics()),
            kind: "stream",
        };
        Self {
            connection: Connection::new(parts, ws),
            view: InboxView::new(start.caller, start.filter),
            filter: start.filter,
            cursor: start.cursor,
            rooms: rooms::Subscriptions::new(&services.settings),
            services,
            restart_pending: false,
            backlog: backlog::Backlog::default(),
            drain_timer: None,
        }
    }

    /// Queues an update's news through the backlog, each entry with the update's read time
    /// as its cursor.
    fn send_inbox(
        &mut self,
        news: Vec<InboxNews>,
        update: &InboxUpdate,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let cursor = update.read_at;
        for item in news {
            match item {
                InboxNews::Room {
                    room_id,
                    change,
                    unread,
                } => {
                    if let Some(entry) = update.entry(room_id, change, unread) {
                        self.backlog.push_room(room_id, entry, false, cursor);
                    }
                }
                InboxNews::Removed { room_id, reason } => {
                    if let Some(entry) = wire::removal_of(&InboxRemoval { room_id, reason }) {
                        self.backlog.push_room(room_id, entry, true, cursor);
                    }
                }
                InboxNews::Presence { user_id, online } => {
                    let frame = StreamFrame::UserPresence {
                        user_id: user_id.clone(),
                        online,
                    };
                    if let Some(text) = wire::frame_text(&frame) {
                        self.backlog.push_presence(user_id, text);
                    }
                }
            }
        }
        self.drain_backlog(ctx);
    }

    /// Moves waiting inbox frames to the outbox while it holds fewer than
    /// [`INBOX_FRAMES_QUEUED`] frames (and is less than half full): the rest is kept for the
    /// subscribed rooms, whose frames cannot wait in a backlog, and what the inbox has not
    /// sent yet waits where it is conflated, not in the outbox.
    fn drain_backlog(&mut self, ctx: &mut <Self as Actor>::Context) {
        let outbox = self.services.settings.outbox;
        let reserve = (outbox / 2).max(outbox.saturating_sub(INBOX_FRAMES_QUEUED));
        while self.connection.outbox_room() > reserve {
            let Some(frame) = self.backlog.pop() else {
                break;
            };
            self.connection.send_text(frame, ctx);
        }
        if !self.backlog.is_empty() && self.drain_timer.is_none() {
            self.drain_timer = Some(ctx.run_later(BACKLOG_RETRY, |stream, ctx| {
                stream.drain_timer = None;
                stream.drain_backlog(ctx);
            }));
        }
    }

    /// The rooms that changed since `cursor` (less the slack), read at the time returned.
    fn load_delta(
        &self,
        cursor: i64,
    ) -> impl Future<Output = (Result<Delta, ApiError>, i64)> + 'static {
        let chat = self.services.chat.clone();
        let caller = self.connection.caller.clone();
        let request = RoomListRequest::changed_since(
            cursor.saturating_sub(CURSOR_SLACK_MICROS),
            self.filter.status,
            self.filter.assigned,
            MAX_DELTA_ROOMS,
        );
        async move {
            let read_at = chrono::Utc::now().timestamp_micros();
            let page = chat.room_page(&caller, request).await;
            let delta = page.map(|page| page.next_cursor.is_none().then_some(page.items));
            (delta, read_at)
        }
    }

    /// Sends `stream_ready`: a delta since the client's cursor, or "reload".
    fn open(&mut self, ctx: &mut <Self as Actor>::Context) {
        let delta = self.cursor.map(|cursor| self.load_delta(cursor));
        let hub = Arc::clone(&self.services.hub);
        let admin = self.connection.caller.role == Role::Admin;
        let load = async move {
            let (delta, read_at) = match delta {
                Some(load) => load.await,
                None => (Ok(None), chrono::Utc::now().timestamp_micros()),
            };
            let mut online = Vec::new();
            if admin {
                // On failure the stream still works; `user_presence` frames fill the list in.
                match hub.broker().online_users().await {
                    Ok(users) => online = users,
                    Err(error) => {
                        tracing::warn!(%error, "online users unreadable at a stream's start")
                    }
                }
            }
            (delta, read_at, online)
        };
        ctx.wait(
            load.into_actor(self)
                .map(|(delta, read_at, online), stream, ctx| match delta {
                    Ok(delta) => stream.ready(delta, read_at, online, ctx),
                    Err(error) => stream.cannot_continue(&error, ctx),
                }),
        );
    }

    fn ready(
        &mut self,
        delta: Delta,
        read_at: i64,
        online: Vec<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let (mode, rooms) = match delta {
            Some(rooms) => (InboxMode::Delta, rooms),
            None => (InboxMode::Reload, Vec::new()),
        };
        self.view.seed(&rooms, read_at);
        self.cursor = Some(read_at);
        let caller = &self.connection.caller;
        let frame = StreamFrame::StreamReady {
            me: Me {
                user_id: caller.user_id.clone(),
                role: caller.role,
            },
            inbox: InboxStart {
                mode,
                cursor: read_at.to_string(),
                rooms,
            },
            online,
        };
        self.connection.send_frame(&frame, ctx);
    }

    /// Renders an update, after reading the unread baselines it needs.
    fn on_update(&mut self, update: Arc<InboxUpdate>, ctx: &mut <Self as Actor>::Context) {
        let needed = self.view.baselines_needed(&update);
        if needed.is_empty() {
            return self.render(&update, ctx);
        }
        let chat = self.services.chat.clone();
        let caller = self.connection.caller.clone();
        let load = async move { chat.unread_baselines(&caller, needed).await };
        ctx.wait(load.into_actor(self).map(
            move |loaded: Result<Vec<UnreadBaseline>, ApiError>, stream, ctx| match loaded {
                Ok(baselines) => {
                    for baseline in &baselines {
                        stream.view.set_baseline(baseline);
                    }
                    stream.render(&update, ctx);
                }
                Err(error) => stream.cannot_continue(&error, ctx),
            },
        ));
    }

    fn render(&mut self, update: &InboxUpdate, ctx: &mut <Self as Actor>::Context) {
        let news = self.view.render(update);
        if news.is_empty() {
            return;
        }
        self.cursor = Some(
            self.cursor
                .map_or(update.read_at, |cursor| cursor.max(update.read_at)),
        );
        self.send_inbox(news, update, ctx);
    }

    /// Updates may have been lost: sends every room that changed since the newest cursor sent,
    /// or closes so the client reloads when that is too many.
    fn catch_up(&mut self, ctx: &mut <Self as Actor>::Context) {
        let cursor = self.cursor.unwrap_or(0);
        ctx.wait(
            self.load_delta(cursor).into_actor(self).map(
                |(delta, read_at), stream, ctx| match delta {
                    Ok(Some(rooms)) => {
                        stream.view.seed(&rooms, read_at);
                        stream.cursor = Some(read_at);
                        for room in rooms {
                            let room_id = room.room.id;
                            if let Some(entry) = wire::entry_of(InboxChange::Activity, room) {
                                stream.backlog.push_room(room_id, entry, false, read_at);
                            }
                        }
                        stream.drain_backlog(ctx);
                    }
                    Ok(None) => stream.fell_behind(ctx),
                    Err(error) => stream.cannot_continue(&error, ctx),
                },
            ),
        );
    }

    /// Too much to catch up on the connection: the client reconnects with its cursor (and
    /// is told to reload if that is still too much).
    fn fell_behind(&mut self, ctx: &mut <Self as Actor>::Context) {
        self.connection.send_error(
            ErrorCode::Unavailable,
            "this stream fell too far behind; reconnect with your cursor",
            None,
            ctx,
        );
        self.connection.close(
            CloseCode::Policy,
            "too far behind; reconnect with cursor",
            ctx,
        );
    }

    fn cannot_continue(&mut self, error: &ApiError, ctx: &mut <Self as Actor>::Context) {
        tracing::warn!(error = %error, conn = self.connection.id, "stream cannot continue; closing so the client reconnects");
        self.connection.send_error(
            ErrorCode::Unavailable,
            "storage unavailable; reconnect with your cursor",
            None,
            ctx,
        );
        self.connection
            .close(CloseCode::Error, "reconnect with cursor", ctx);
    }
}

impl Actor for UserStream {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Join before reading the catch-up: an update meanwhile waits in the mailbox, and the
        // view never sends a room's state older than one it sent.
        self.services
            .inbox
            .join(self.connection.id, ctx.address().recipient());
        self.open(ctx);
        self.connection.start(ctx);
        self.count_stream(1);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.rooms.end_all();
        self.services.inbox.leave(self.connection.id);
        self.services
            .hub
            .close_connection(&self.connection.caller.user_id);
        self.count_stream(-1);
    }
}

impl UserStream {
    /// Counts this stream in the cluster (`delta` +1 or -1): the notifier does not notify a
    /// user whose stream shows every room's news.
    fn count_stream(&self, delta: i64) {
        self.services
            .hub
            .note_stream(&self.connection.caller.user_id, delta);
    }
}

impl Handler<ToStream> for UserStream {
    type Result = ();

    fn handle(&mut self, message: ToStream, ctx: &mut Self::Context) {
        match message {
            ToStream::Update(update) => self.on_update(update, ctx),
            ToStream::CatchUp => self.catch_up(ctx),
            ToStream::Shutdown => {
                // Subscribed rooms hear it from the hub and end once their sends are acked.
                self.restart_pending = true;
                self.restart_when_acked(ctx);
            }
            ToStream::Lagged => self.fell_behind(ctx),
        }
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for UserStream {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        connection::receive(self, item, ctx);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Socket for UserStream {
    fn connection(&mut self) -> &mut Connection {
        &mut self.connection
    }

    fn on_json(
        &mut self,
        kind: &str,
        value: Value,
        reference: Option<String>,
        ctx: &mut Self::Context,
    ) {
        if !matches!(kind, "subscribe" | "unsubscribe" | "ping" | "auth") {
            return self.route_room_frame(kind, value, reference, ctx);
        }
        match serde_json::from_value::<StreamClientFrame>(value) {
            Ok(StreamClientFrame::Subscribe {
                room_id,
                since,
                history,
            }) => self.subscribe(room_id, since, history, ctx),
            Ok(StreamClientFrame::Unsubscribe { room_id }) => self.unsubscribe(room_id, ctx),
            Ok(StreamClientFrame::Ping) => self.connection.send_frame(&ServerFrame::Pong, ctx),
            Ok(StreamClientFrame::Auth { token }) => self.connection.refresh(&token, ctx),
            Err(error) => self.connection.send_error(
                ErrorCode::BadRequest,
                format!("invalid `{kind}` frame: {error}"),
                reference,
                ctx,
            ),
        }
    }
}
