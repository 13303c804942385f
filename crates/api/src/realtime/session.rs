//! One actor per WebSocket connection of a room. It adapts frames to the chat's use cases and
//! owns the connection's live state: its room, its ordering gate, its token's expiry, and the
//! queue to its writer task.
//!
//! Ordering: every timeline entry passes the pure [`OrderingGate`] (`ordering.rs`), which lets
//! seq `last + 1` through, drops what was already delivered, and holds what comes early: the
//! seqs before it usually follow within milliseconds (another node's message through the
//! broker), and otherwise the session reads them after a short grace. Database work that must
//! finish before the next frame is handled (opening, filling a gap) runs under `ctx.wait`,
//! which holds the actor's mailbox and stream until it completes.
//! Sends do not: each is queued for the message writer while its frame is handled, up to
//! `MAX_IN_FLIGHT` wait together, and the sender's own message coming through the room's
//! stream is turned into its `ack` there (matched by `client_id`), in seq order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Handler, Recipient, SpawnHandle,
    StreamHandler, WrapFuture,
};
use actix_ws::{AggregatedMessage, CloseCode, ProtocolError};
use bytestring::ByteString;
use room_chats_types::frames::{CLIENT_FRAME_TYPES, ClientFrame, Me, ServerFrame};
use room_chats_types::{ErrorCode, MessageDto, Seq};
use serde_json::Value;
use tokio::sync::mpsc;

use room_chats_core::access;
use room_chats_core::auth::TokenVerifier;
use room_chats_core::chat::{
    Chat, Join, JoinPoint, MessageDraft, Opening, Sent, TIMELINE_PAGE, VisibleRoom,
};
use room_chats_core::error::ApiError;

use crate::realtime::connection::{self, Connection, ConnectionParts, Socket, SubscriptionEnded};
use crate::realtime::frame_guard::Verdict;
use crate::realtime::hub::{ConnId, Hub, PreparedEvent, ToSession};
use crate::realtime::ordering::{Gap, OrderingGate, Passed};
use crate::realtime::settings::RealtimeSettings;
use crate::realtime::timeline::{Arrival, Entry};
use crate::realtime::writer::Outgoing;

/// Sends of one connection that may wait for the database at once. One at a time capped a
/// connection at one message per ack round trip, and kept the backlog of a busy node in the
/// sockets, where admission (`SEND_QUEUE_BUDGET_MS`) cannot see how long it has waited.
const MAX_IN_FLIGHT: u32 = 32;
/// How long a message that arrived before the seqs preceding it waits for them before they
/// are read from the database. With two nodes writing one room, the other node's message
/// routinely arrives through the broker a few milliseconds after this node's next one; reading
/// the database for each of those (under `ctx.wait`, holding the session) was the largest
/// extra cost of a second node.
const GAP_GRACE: Duration = Duration::from_millis(40);

/// Everything a session starts from; the handshake handler has authorized it already.
pub struct SessionStart {
    /// This connection's id on the node.
    pub conn: ConnId,
    /// The room, the authenticated caller who may see it, and where the session starts, as
    /// checked at the handshake.
    pub join: Join,
    /// What the frame guard refused, if anything.
    pub verdict: Arc<Verdict>,
}

/// Shared services of every session.
#[derive(Clone)]
pub struct SessionServices {
    /// The use cases (sending, marking read), shared with REST.
    pub chat: Chat,
    /// This node's hub.
    pub hub: Arc<Hub>,
    /// Verifies refreshed tokens.
    pub verifier: Arc<TokenVerifier>,
    /// Limits and timings.
    pub settings: Arc<RealtimeSettings>,
}

/// See the module docs.
pub struct ChatSession {
    /// The socket's plumbing (outbox, heartbeat, token expiry, close codes).
    connection: Connection,
    /// The room, and the caller checked to see it at the handshake; shared with the use cases
    /// each frame starts, so handing it over costs no copy.
    room: Arc<VisibleRoom>,
    /// Where the session started: after `since`, or with the newest `history` messages.
    from: JoinPoint,
    /// Every timeline entry goes out through it: in seq order, once, acks included.
    gate: OrderingGate,
    /// Whether the caller may see internal notes (staff); a customer's session passes their
    /// seqs without a frame.
    sees_notes: bool,
    /// What the gate let out, on its way to the socket: kept (empty) between entries, so a
    /// delivery allocates nothing.
    passed: Vec<Passed>,
    /// Reads the missing seqs from the database once the grace ([`GAP_GRACE`]) is over.
    gap_timer: Option<SpawnHandle>,
    /// The node is shutting down: close with 1012 once nothing is in flight or owed, so that
    /// every stored message is acked first.
    restart_pending: bool,
    services: SessionServices,
    typing_until: Option<Instant>,
    typing_timer: Option<SpawnHandle>,
    joined: bool,
}

impl ChatSession {
    /// Creates the session and spawns its writer task on the given WebSocket session.
    pub fn new(start: SessionStart, services: SessionServices, ws: actix_ws::Session) -> Self {
        let parts = Self::parts(&start, &services);
        Self::with_connection(start, services, Connection::new(parts, ws))
    }

    /// A session of a room subscribed on a user stream: it writes to the stream's `outbox`
    /// and tells `stream` when it ends.
    pub(crate) fn subscribed(
        start: SessionStart,
        services: SessionServices,
        outbox: mpsc::Sender<Outgoing>,
        stream: Recipient<SubscriptionEnded>,
    ) -> Self {
        let parts = Self::parts(&start, &services);
        let room_id = start.join.room.id();
        let connection = Connection::subscription(parts, outbox, room_id, stream);
        Self::with_connection(start, services, connection)
    }

    fn parts(start: &SessionStart, services: &SessionServices) -> ConnectionParts {
        ConnectionParts {
            id: start.conn,
            caller: start.join.room.caller().clone(),
            verdict: Arc::clone(&start.verdict),
            settings: Arc::clone(&services.settings),
            verifier: Arc::clone(&services.verifier),
            known_types: &CLIENT_FRAME_TYPES,
            metrics: Arc::clone(services.hub.metrics()),
            kind: "chat",
        }
    }

    fn with_connection(
        start: SessionStart,
        services: SessionServices,
        connection: Connection,
    ) -> Self {
        Self {
            connection,
            gate: OrderingGate::new(start.join.room.caller().user_id.clone()),
            sees_notes: access::sees_notes(start.join.room.caller()),
            passed: Vec::new(),
            gap_timer: None,
            restart_pending: false,
            room: Arc::new(start.join.room),
            from: start.join.from,
            services,
            typing_until: None,
            typing_timer: None,
            joined: false,
        }
    }

    fn send_text(&mut self, text: ByteString, ctx: &mut <Self as Actor>::Context) {
        self.connection.send_text(text, ctx);
    }

    fn send_frame(&mut self, frame: &ServerFrame, ctx: &mut <Self as Actor>::Context) {
        self.connection.send_frame(frame, ctx);
    }

    fn send_error(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        reference: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        self.connection.send_error(code, message, reference, ctx);
    }

    fn send_api_error(
        &mut self,
        error: &ApiError,
        reference: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        self.connection.send_api_error(error, reference, ctx);
    }

    fn close(&mut self, code: CloseCode, description: &str, ctx: &mut <Self as Actor>::Context) {
        self.connection.close(code, description, ctx);
    }

    fn restart_when_acked(&mut self, ctx: &mut <Self as Actor>::Context) {
        if self.restart_pending && self.gate.settled() {
            self.close(CloseCode::Restart, "service restart", ctx);
        }
    }

    /// Delivers a room message through the ordering gate ([`ChatSession::admit`]). `as_ack`
    /// turns the frame into the sender's `ack`.
    fn deliver(
        &mut self,
        message: MessageDto,
        prepared: Option<ByteString>,
        as_ack: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        self.admit(Arrival::message(message, prepared, as_ack), ctx);
    }

    /// Passes a timeline entry through the ordering gate ([`OrderingGate::admit`]) and writes
    /// what it lets out.
    fn admit(&mut self, arrival: Arrival, ctx: &mut <Self as Actor>::Context) {
        self.through_gate(|gate, out| gate.admit(arrival, out), ctx);
        self.restart_when_acked(ctx);
    }

    /// Runs one step of the gate, writes what it let out, in its order, and follows the gap it
    /// reports.
    fn through_gate(
        &mut self,
        step: impl FnOnce(&mut OrderingGate, &mut Vec<Passed>) -> Gap,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let mut out = std::mem::take(&mut self.passed);
        let gap = step(&mut self.gate, &mut out);
        for outgoing in out.drain(..) {
            match outgoing {
                Passed::Shared { text, committed_at } => {
                    self.connection.send_message(text, committed_at, ctx);
                }
                Passed::Event(text) => self.send_text(text, ctx),
                Passed::Frame(frame) => self.send_frame(&frame, ctx),
            }
        }
        self.passed = out;
        self.follow_gap(gap, ctx);
    }

    /// Early entries wait for the seqs before them: usually they follow within milliseconds
    /// (another node's message still on its way through the broker), so the gap is read
    /// after [`GAP_GRACE`] — or at once when too many wait.
    fn follow_gap(&mut self, gap: Gap, ctx: &mut <Self as Actor>::Context) {
        match gap {
            Gap::None => {
                if let Some(timer) = self.gap_timer.take() {
                    ctx.cancel_future(timer);
                }
            }
            Gap::Wait => self.await_gap(ctx),
            Gap::FillNow => self.fill_gap(ctx),
        }
    }

    /// Fills the gap before the first held message once [`GAP_GRACE`] is over, unless a timer
    /// for it runs already.
    fn await_gap(&mut self, ctx: &mut <Self as Actor>::Context) {
        if self.gap_timer.is_none() {
            let timer = ctx.run_later(GAP_GRACE, |session, ctx| {
                session.gap_timer = None;
                session.fill_gap(ctx);
            });
            self.gap_timer = Some(timer);
        }
    }

    /// Reads the seqs missing before the first held message from the database and delivers
    /// them (and so the held ones), holding the session's other frames meanwhile.
    fn fill_gap(&mut self, ctx: &mut <Self as Actor>::Context) {
        if let Some(timer) = self.gap_timer.take() {
            ctx.cancel_future(timer);
        }
        let Some((from, up_to)) = self.gate.missing() else {
            return;
        };
        let chat = self.services.chat.clone();
        let room = Arc::clone(&self.room);
        let fill = async move { chat.timeline(&room, from, Some(up_to)).await };
        ctx.wait(
            fill.into_actor(self)
                .map(move |loaded, session, ctx| match loaded {
                    Ok(missing) => {
                        for earlier in missing {
                            session.admit(earlier.into(), ctx);
                        }
                        // Committed seqs have no holes; if the database still lacks one,
                        // closing beats looping or skipping it.
                        let last_seq = session.gate.last_seq();
                        if last_seq < up_to {
                            let hole = ApiError::Internal(format!("seq {} missing", last_seq + 1));
                            return session.cannot_deliver(&hole, ctx);
                        }
                        // A later gap among the held messages gets its own grace.
                        session.through_gate(OrderingGate::release, ctx);
                        session.restart_when_acked(ctx);
                    }
                    Err(error) => session.cannot_deliver(&error, ctx),
                }),
        );
    }

    /// Delivering out of order or with a hole is worse than reconnecting: the client resumes
    /// with `since` and gets exactly what it missed.
    fn cannot_deliver(&mut self, error: &ApiError, ctx: &mut <Self as Actor>::Context) {
        tracing::warn!(%error, conn = self.connection.id, "cannot fill a gap; closing so the client resumes");
        self.send_error(
            ErrorCode::Unavailable,
            "storage unavailable; reconnect with since",
            None,
            ctx,
        );
        self.close(CloseCode::Error, "reconnect with since", ctx);
    }

    /// Events may have been lost (the broker reconnected): access may have changed too, so
    /// it is checked again before the missed messages are delivered.
    fn catch_up(&mut self, ctx: &mut <Self as Actor>::Context) {
        let from = self.gate.last_seq();
        let chat = self.services.chat.clone();
        let room = Arc::clone(&self.room);
        let load = async move { chat.catch_up(&room, from).await };
        ctx.wait(
            load.into_actor(self)
                .map(|loaded, session, ctx| match loaded {
                    Ok(missing) => {
                        for entry in missing {
                            session.admit(entry.into(), ctx);
                        }
                    }
                    Err(ApiError::NotFound(_)) => session.lose_access(ctx),
                    Err(error) => session.cannot_deliver(&error, ctx),
                }),
        );
    }

    fn on_event(&mut self, event: &PreparedEvent, ctx: &mut <Self as Actor>::Context) {
        match event {
            // An internal note (or an event about one) reaches a customer's session only as
            // a taken seq: nothing of it is written to the client.
            PreparedEvent::Message { message, .. } if message.note && !self.sees_notes => {
                self.admit(Arrival::hidden(message.seq), ctx);
            }
            PreparedEvent::Message { message, text } => {
                self.deliver(message.clone(), Some(text.clone()), None, ctx);
            }
            PreparedEvent::Entry {
                seq, staff_only, ..
            } if *staff_only && !self.sees_notes => {
                self.admit(Arrival::hidden(*seq), ctx);
            }
            PreparedEvent::Entry { seq, text, .. } => {
                self.admit(Arrival::event(*seq, text.clone()), ctx);
            }
            // Other frames (read, typing, presence) go out as they are; whether
            // a room accepts messages is decided by the database when one is stored.
            PreparedEvent::Frame { text } => self.send_text(text.clone(), ctx),
            PreparedEvent::CustomerChanged { customer_id } => {
                if !Arc::make_mut(&mut self.room).moved_to(customer_id) {
                    self.lose_access(ctx);
                }
            }
        }
    }

    /// The caller may no longer see the room (its order moved to another customer): say so
    /// and close, before anything more of the room reaches it.
    fn lose_access(&mut self, ctx: &mut <Self as Actor>::Context) {
        tracing::info!(
            conn = self.connection.id,
            room = self.room.id(),
            "access to the room lost; closing"
        );
        self.send_error(
            ErrorCode::Forbidden,
            "you no longer have access to this room",
            None,
            ctx,
        );
        self.close(CloseCode::Policy, "access to the room lost", ctx);
    }

    fn on_frame(&mut self, frame: ClientFrame, ctx: &mut <Self as Actor>::Context) {
        match frame {
            ClientFrame::Message {
                client_id,
                content,
                attachment_ids,
                note,
            } => {
                let draft = MessageDraft {
                    content,
                    client_id: Some(client_id.clone()),
                    attachment_ids,
                    note,
                };
                self.on_message(client_id, draft, ctx);
            }
            ClientFrame::Read { up_to } => self.on_read(up_to, ctx),
            ClientFrame::Typing { typing } => self.on_typing(typing, ctx),
            ClientFrame::Edit {
                client_id,
                message_id,
                content,
            } => self.on_change(client_id, message_id, Some(content), ctx),
            ClientFrame::Delete {
                client_id,
                message_id,
            } => self.on_change(client_id, message_id, None, ctx),
            ClientFrame::Ping => self.send_frame(&ServerFrame::Pong, ctx),
            ClientFrame::Auth { token } => self.connection.refresh(&token, ctx),
        }
    }

    fn on_message(
        &mut self,
        client_id: String,
        draft: MessageDraft,
        ctx: &mut <Self as Actor>::Context,
    ) {
        if draft.attachment_ids.is_empty() {
            return self.store_message(client_id, draft, ctx);
        }
        // Files uploaded straight to the object store are checked first. The connection's next
        // frames wait meanwhile, so its messages are still stored in the order it sent them.
        let chat = self.services.chat.clone();
        let room = Arc::clone(&self.room);
        let received = async move {
            let checked = chat.receive_files(&room, &draft).await;
            (checked, draft)
        }
        .into_actor(self)
        .map(move |(checked, draft), session, ctx| match checked {
            Ok(()) => session.store_message(client_id, draft, ctx),
            Err(refused) => session.send_api_error(&refused, Some(client_id), ctx),
        });
        ctx.wait(received);
    }

    fn store_message(
        &mut self,
        client_id: String,
        draft: MessageDraft,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let chat = &self.services.chat;
        // Queued now, while this frame is handled, so the connection's messages are stored in
        // the order it sent them.
        let store = chat
            .admit_message(&self.room, draft)
            .and_then(|message| chat.submit_message(message));
        let store = match store {
            Ok(store) => store,
            Err(refused) => return self.send_api_error(&refused, Some(client_id), ctx),
        };
        let in_flight = self.gate.sending(&client_id);
        let answered = store.into_actor(self).map(move |stored, session, ctx| {
            session.on_stored(stored, client_id, ctx);
        });
        // Up to MAX_IN_FLIGHT sends of a connection wait for the database together (in the
        // writer's queue, where admission sees them, and in one batch); past that, this one
        // holds the connection's next frames until it is answered.
        if in_flight > MAX_IN_FLIGHT {
            ctx.wait(answered);
        } else {
            ctx.spawn(answered);
        }
    }

    fn on_stored(
        &mut self,
        stored: Result<Sent, ApiError>,
        client_id: String,
        ctx: &mut <Self as Actor>::Context,
    ) {
        match stored {
            Ok(sent) => self.through_gate(|gate, out| gate.stored(client_id, sent, out), ctx),
            Err(error) => {
                self.gate.refused(&client_id);
                match error {
                    // The room is gone for this caller (its order moved to another customer).
                    ApiError::NotFound(_) => self.lose_access(ctx),
                    error => self.send_api_error(&error, Some(client_id), ctx),
                }
            }
        }
        self.restart_when_acked(ctx);
    }

    fn on_read(&mut self, up_to: Option<Seq>, ctx: &mut <Self as Actor>::Context) {
        let chat = self.services.chat.clone();
        let room = Arc::clone(&self.room);
        let mark = async move { chat.mark_read(&room, up_to).await };
        ctx.spawn(mark.into_actor(self).map(|marked, session, ctx| {
            if let Err(error) = marked {
                session.send_api_error(&error, None, ctx);
            }
        }));
    }

    /// Edits (`content`) or deletes a message; answers `updated` to this connection, while
    /// the room's timeline carries the change to everyone.
    fn on_change(
        &mut self,
        client_id: String,
        message_id: i64,
        content: Option<String>,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let chat = self.services.chat.clone();
        let (caller, room_id) = (self.connection.caller.clone(), self.room.id());
        let key = Some(client_id.clone());
        let change = async move {
            // Checked again: a change is rare, and the order may have moved since the join.
            let room = chat.visible_room(&caller, room_id).await?;
            match content {
                Some(content) => chat.edit_message(&room, message_id, content, key).await,
                None => chat.delete_message(&room, message_id, key).await,
            }
        };
        ctx.spawn(
            change
                .into_actor(self)
                .map(|changed, session, ctx| match changed {
                    Ok(message) => {
                        let frame = ServerFrame::Updated { client_id, message };
                        session.send_frame(&frame, ctx);
                    }
                    Err(error) => session.send_api_error(&error, Some(client_id), ctx),
                }),
        );
    }

    fn on_typing(&mut self, typing: bool, ctx: &mut <Self as Actor>::Context) {
        if let Some(timer) = self.typing_timer.take() {
            ctx.cancel_future(timer);
        }
        if !typing {
            if self.typing_until.take().is_some() {
                self.announce_typing(false);
            }
            return;
        }
        let ttl = self.services.settings.typing_ttl;
        // Refreshes within the window extend it without another broadcast.
        if self.typing_until.is_none() {
            self.announce_typing(true);
        }
        self.typing_until = Some(Instant::now() + ttl);
        self.typing_timer = Some(ctx.run_later(ttl, |session, _| {
            session.typing_timer = None;
            if session.typing_until.take().is_some() {
                session.announce_typing(false);
            }
        }));
    }

    fn announce_typing(&self, typing: bool) {
        let frame = ServerFrame::Typing {
            user_id: self.connection.caller.user_id.clone(),
            typing,
        };
        self.services
            .hub
            .publish_frame(self.room.id(), frame, Some(self.connection.id));
    }

    /// Sends `ready` and `history`; runs under `wait` so no live event overtakes them.
    fn open(&mut self, ctx: &mut <Self as Actor>::Context) {
        let chat = self.services.chat.clone();
        let (room, from) = (Arc::clone(&self.room), self.from);
        let load = async move { chat.opening(&room, from).await };
        ctx.wait(
            load.into_actor(self)
                .map(|loaded, session, ctx| match loaded {
                    Ok(opening) => session.opened(opening, ctx),
                    // The order moved to another customer since the handshake.
                    Err(ApiError::NotFound(_)) => session.lose_access(ctx),
                    Err(error) => {
                        tracing::warn!(%error, conn = session.connection.id, "cannot open the session");
                        session.send_error(
                            ErrorCode::Unavailable,
                            "storage unavailable; retry shortly",
                            None,
                            ctx,
                        );
                        session.close(CloseCode::Error, "storage unavailable", ctx);
                    }
                }),
        );
    }

    /// Sends `ready` and the history, and announces the caller's presence.
    fn opened(&mut self, opening: Opening, ctx: &mut <Self as Actor>::Context) {
        let Opening {
            room,
            unread,
            entries,
            has_more,
            purged_through,
        } = opening;
        let last_seq = room.room().last_seq;
        // Without `since` the history ends at the newest message; with it, everything after
        // `since` was loaded. Either way nothing at or below `last_seq` is sent again.
        let floor = self
            .from
            .since
            .map_or(last_seq, |since| since.min(last_seq));
        self.gate
            .start_after(entries.last().map_or(floor, |entry| entry.seq().max(floor)));
        let ready_room = room.room().clone();
        self.room = Arc::new(room);
        let entries = entries.into_iter().map(Arrival::from).collect();
        let ready = ServerFrame::Ready {
            me: Me {
                user_id: self.connection.caller.user_id.clone(),
                role: self.connection.caller.role,
            },
            last_seq: self.gate.last_seq(),
            unread,
            room: ready_room,
        };
        self.send_frame(&ready, ctx);
        if let Some(through_seq) = purged_through {
            self.send_frame(&ServerFrame::HistoryPurged { through_seq }, ctx);
        }
        self.send_history(entries, has_more, ctx);
        self.announce_presence(1, ctx);
    }

    /// Sends the history after `ready`, in seq order: runs of messages as `history` frames
    /// (at most [`TIMELINE_PAGE`] messages each) and each room event between them as its `room`
    /// frame. Every `history` frame but the last says `has_more: true` (another follows); the
    /// last one says whether older messages exist (without `since`) or more follow.
    fn send_history(
        &mut self,
        entries: Vec<Arrival>,
        has_more: bool,
        ctx: &mut <Self as Actor>::Context,
    ) {
        let mut frames: Vec<ServerFrame> = Vec::new();
        let mut events: Vec<(usize, ByteString)> = Vec::new();
        let mut run: Vec<MessageDto> = Vec::new();
        for arrival in entries {
            match arrival.entry {
                Entry::Message { message, .. } => {
                    run.push(message);
                    if run.len() == TIMELINE_PAGE as usize {
                        frames.push(history_frame(std::mem::take(&mut run)));
                    }
                }
                Entry::Event { text } => {
                    if !run.is_empty() {
                        frames.push(history_frame(std::mem::take(&mut run)));
                    }
                    // Sent after the history frames before it.
                    events.push((frames.len(), text));
                }
                // Not the caller's to see; the gate has its seq already.
                Entry::Hidden => {}
            }
        }
        // The last frame is always a `history` frame, empty if need be.
        if !run.is_empty()
            || frames.is_empty()
            || events.last().is_some_and(|(at, _)| *at == frames.len())
        {
            frames.push(history_frame(run));
        }
        if let Some(ServerFrame::History { has_more: last, .. }) = frames.last_mut() {
            *last = has_more;
        }
        let mut events = events.into_iter().peekable();
        for (index, frame) in frames.iter().enumerate() {
            while let Some((_, text)) = events.next_if(|(at, _)| *at == index) {
                self.send_text(text, ctx);
            }
            self.send_frame(frame, ctx);
        }
    }

    fn announce_presence(&self, delta: i64, ctx: &mut <Self as Actor>::Context) {
        let hub = Arc::clone(&self.services.hub);
        let room = self.room.id();
        let user = self.connection.caller.user_id.clone();
        let conn = self.connection.id;
        let announce = async move {
            match hub.broker().presence(room, &user, delta).await {
                Ok(count) if (delta > 0 && count == 1) || (delta < 0 && count == 0) => {
                    let frame = ServerFrame::Presence {
                        user_id: user,
                        online: delta > 0,
                    };
                    hub.publish_frame(room, frame, Some(conn));
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "presence not counted"),
            }
        };
        if delta > 0 {
            ctx.spawn(announce.into_actor(self));
        } else {
            // The actor is stopping: the announcement outlives it.
            actix_web::rt::spawn(announce);
        }
    }
}

/// A `history` frame of `messages` that says another one follows.
fn history_frame(messages: Vec<MessageDto>) -> ServerFrame {
    ServerFrame::History {
        messages,
        has_more: true,
    }
}

impl Actor for ChatSession {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Join before loading history: an event published meanwhile waits in the mailbox and
        // is then delivered or dropped by seq, never lost.
        self.services.hub.join(
            self.room.id(),
            self.connection.id,
            ctx.address().recipient(),
        );
        self.joined = true;
        self.open(ctx);
        self.connection.start(ctx);
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        if self.joined {
            self.services.hub.leave(self.room.id(), self.connection.id);
            if self.typing_until.take().is_some() {
                self.announce_typing(false);
            }
            self.announce_presence(-1, ctx);
        }
        // A subscription is counted as its stream's connection.
        if !self.connection.is_subscription() {
            self.services
                .hub
                .close_connection(&self.connection.caller.user_id);
        }
    }
}

/// A frame for a room subscribed on a user stream, which routed it here.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct RoomFrame(pub(crate) ClientFrame);

impl Handler<RoomFrame> for ChatSession {
    type Result = ();

    fn handle(&mut self, RoomFrame(frame): RoomFrame, ctx: &mut Self::Context) {
        self.on_frame(frame, ctx);
    }
}

/// The client unsubscribed from the room (or its stream ended).
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Unsubscribe;

impl Handler<Unsubscribe> for ChatSession {
    type Result = ();

    fn handle(&mut self, _: Unsubscribe, ctx: &mut Self::Context) {
        self.close(CloseCode::Normal, "unsubscribed", ctx);
    }
}

impl Handler<ToSession> for ChatSession {
    type Result = ();

    fn handle(&mut self, message: ToSession, ctx: &mut Self::Context) {
        match message {
            ToSession::Event(event) => self.on_event(&event, ctx),
            ToSession::CatchUp => self.catch_up(ctx),
            ToSession::CatchUpTo(seq) => {
                if seq > self.gate.last_seq() {
                    self.catch_up(ctx);
                }
            }
            ToSession::Shutdown => {
                self.restart_pending = true;
                self.restart_when_acked(ctx);
            }
            ToSession::Lagged => {
                self.send_error(
                    ErrorCode::Unavailable,
                    "this connection fell too far behind the room; reconnect with since",
                    None,
                    ctx,
                );
                self.close(
                    CloseCode::Policy,
                    "too far behind; reconnect with since",
                    ctx,
                );
            }
        }
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for ChatSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        connection::receive(self, item, ctx);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Socket for ChatSession {
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
        match serde_json::from_value::<ClientFrame>(value) {
            Ok(frame) => self.on_frame(frame, ctx),
            Err(error) => self.send_error(
                ErrorCode::BadRequest,
                format!("invalid `{kind}` frame: {error}"),
                reference,
                ctx,
            ),
        }
    }
}
