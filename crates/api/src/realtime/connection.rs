//! The plumbing of a WebSocket connection, the same for every kind of socket: the bounded
//! outbox and its writer task, the heartbeat, the token's expiry and its refresh (`auth`),
//! close codes, the frame guard's verdict, and turning text frames into JSON objects of a
//! known `type`. A session actor owns a [`Connection`] and implements [`Socket`]; what it
//! does with its frames is its own business.
//!
//! A room session can also run inside a user stream (`/ws/` with `subscribe`): its connection
//! is then a [`Wire::Subscription`] that writes to the stream's outbox, puts the room's id in
//! every frame, and ends the subscription (`unsubscribed`) where a socket would close.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, SpawnHandle};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use room_chats_types::ErrorCode;
use room_chats_types::frames::ServerFrame;
use serde_json::Value;
use tokio::sync::mpsc;

use room_chats_core::auth::{Caller, TokenVerifier};
use room_chats_core::error::ApiError;
use room_chats_core::metrics::{KindLabels, Metrics};
use room_chats_types::RoomId;
use room_chats_types::stream::StreamFrame;

use crate::realtime::conn_id::ConnId;
use crate::realtime::frame_guard::{Verdict, Violation};
use crate::realtime::settings::RealtimeSettings;
use crate::realtime::writer::{self, Outgoing};

/// Close code for an expired token (application range).
const CLOSE_TOKEN_EXPIRED: u16 = 4001;

/// An actor that serves one WebSocket through a [`Connection`].
pub(crate) trait Socket: Actor<Context = actix::Context<Self>> {
    /// The actor's connection.
    fn connection(&mut self) -> &mut Connection;

    /// A text frame that is a JSON object whose `type` is one the socket knows.
    /// `reference` is its `client_id`, if it has one, for error frames.
    fn on_json(
        &mut self,
        kind: &str,
        value: Value,
        reference: Option<String>,
        ctx: &mut Self::Context,
    );
}

/// What a connection is made of.
pub(crate) struct ConnectionParts {
    /// This connection's id on the node.
    pub(crate) id: ConnId,
    /// The authenticated caller.
    pub(crate) caller: Caller,
    /// What the frame guard refused, if anything.
    pub(crate) verdict: Arc<Verdict>,
    /// Limits and timings.
    pub(crate) settings: Arc<RealtimeSettings>,
    /// Verifies refreshed tokens.
    pub(crate) verifier: Arc<TokenVerifier>,
    /// The frame types this kind of socket accepts.
    pub(crate) known_types: &'static [&'static str],
    /// The node's metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// The kind of socket for metrics: `chat` or `stream` (a subscription is counted as
    /// `subscription` whatever this says).
    pub(crate) kind: &'static str,
}

/// A room subscription of a user stream ended.
#[derive(Debug, Clone, Copy, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct SubscriptionEnded {
    /// The room.
    pub(crate) room_id: RoomId,
    /// The room session's id, so a later subscription to the room is not mistaken for it.
    pub(crate) conn: ConnId,
    /// The client stopped reading: the whole stream must go, as a socket would.
    pub(crate) slow_consumer: bool,
}

/// Where a connection's frames go.
enum Wire {
    /// Its own WebSocket, written by its writer task.
    Socket { writer: tokio::task::JoinHandle<()> },
    /// One room of a user stream: the stream's outbox, each frame with the room's id.
    Subscription {
        room_id: RoomId,
        stream: actix::Recipient<SubscriptionEnded>,
    },
}

/// See the module docs.
pub(crate) struct Connection {
    pub(crate) id: ConnId,
    pub(crate) caller: Caller,
    settings: Arc<RealtimeSettings>,
    verifier: Arc<TokenVerifier>,
    verdict: Arc<Verdict>,
    known_types: &'static [&'static str],
    metrics: Arc<Metrics>,
    /// The label this connection is counted under.
    kind: KindLabels,
    outbox: mpsc::Sender<Outgoing>,
    wire: Wire,
    opened: Instant,
    last_heard: Instant,
    expiry: Option<SpawnHandle>,
    closing: bool,
}

impl Connection {
    /// The connection, with its writer task spawned on the WebSocket.
    pub(crate) fn new(parts: ConnectionParts, ws: actix_ws::Session) -> Self {
        let (outbox, queue) = mpsc::channel(parts.settings.outbox.max(8));
        let delivery_lag = parts.metrics.delivery_lag.clone();
        let writer = actix_web::rt::spawn(writer::run(ws, queue, delivery_lag));
        Self::on_wire(parts, outbox, Wire::Socket { writer })
    }

    /// The connection of a room subscribed on a user stream: it writes to the stream's
    /// `outbox` and tells `stream` when it ends.
    pub(crate) fn subscription(
        parts: ConnectionParts,
        outbox: mpsc::Sender<Outgoing>,
        room_id: RoomId,
        stream: actix::Recipient<SubscriptionEnded>,
    ) -> Self {
        Self::on_wire(parts, outbox, Wire::Subscription { room_id, stream })
    }

    fn on_wire(parts: ConnectionParts, outbox: mpsc::Sender<Outgoing>, wire: Wire) -> Self {
        let kind = KindLabels {
            kind: match wire {
                Wire::Socket { .. } => parts.kind,
                Wire::Subscription { .. } => "subscription",
            },
        };
        parts.metrics.connections.get_or_create(&kind).inc();
        Self {
            id: parts.id,
            caller: parts.caller,
            settings: parts.settings,
            verifier: parts.verifier,
            verdict: parts.verdict,
            known_types: parts.known_types,
            metrics: parts.metrics,
            kind,
            outbox,
            wire,
            opened: Instant::now(),
            last_heard: Instant::now(),
            expiry: None,
            closing: false,
        }
    }

    /// Whether this is a room subscribed on a user stream (which counts as no connection of
    /// its own).
    pub(crate) fn is_subscription(&self) -> bool {
        matches!(self.wire, Wire::Subscription { .. })
    }

    /// Frames the outbox can take before the client counts as too slow.
    pub(crate) fn outbox_room(&self) -> usize {
        self.outbox.capacity()
    }

    /// The queue to the writer, for the subscriptions of a user stream.
    pub(crate) fn outbox(&self) -> mpsc::Sender<Outgoing> {
        self.outbox.clone()
    }

    /// Starts the heartbeat and the token's expiry timer (a subscription's stream runs them).
    pub(crate) fn start<A: Socket>(&mut self, ctx: &mut actix::Context<A>) {
        if self.is_subscription() {
            return;
        }
        let settings = Arc::clone(&self.settings);
        ctx.run_interval(settings.heartbeat, move |actor: &mut A, ctx| {
            let connection = actor.connection();
            if connection.last_heard.elapsed() > settings.client_timeout {
                tracing::info!(
                    conn = connection.id,
                    "client silent too long; disconnecting"
                );
                connection.close(CloseCode::Away, "no heartbeat", ctx);
                return;
            }
            connection.queue(Outgoing::Ping, ctx);
        });
        self.schedule_expiry(ctx);
    }

    /// Queues a write; a client that does not read fast enough is dropped.
    pub(crate) fn queue<A: Socket>(&mut self, outgoing: Outgoing, ctx: &mut actix::Context<A>) {
        if self.closing {
            return;
        }
        match self.outbox.try_send(outgoing) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Holding more would grow without bound, and a close frame could not get
                // through either: drop the connection.
                tracing::info!(conn = self.id, user = %self.caller.user_id, "slow consumer disconnected");
                self.drop_slow_consumer(ctx);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    /// Drops a client that stopped reading, without a close frame (it could not get through):
    /// a socket's writer stops at once; a subscription tells its stream, which goes too.
    pub(crate) fn drop_slow_consumer<A: Socket>(&mut self, ctx: &mut actix::Context<A>) {
        self.closing = true;
        self.metrics
            .slow_consumer_drops
            .get_or_create(&self.kind)
            .inc();
        match &self.wire {
            Wire::Socket { writer } => writer.abort(),
            Wire::Subscription { room_id, stream } => stream.do_send(SubscriptionEnded {
                room_id: *room_id,
                conn: self.id,
                slow_consumer: true,
            }),
        }
        ctx.stop();
    }

    /// Queues a frame already serialized.
    pub(crate) fn send_text<A: Socket>(&mut self, text: ByteString, ctx: &mut actix::Context<A>) {
        let text = self.on_this_wire(text);
        self.queue(Outgoing::Text(text), ctx);
    }

    /// Queues the `message` frame of a message committed at `committed_at`, delivered live
    /// (its delivery lag is measured when it is written).
    pub(crate) fn send_message<A: Socket>(
        &mut self,
        text: ByteString,
        committed_at: DateTime<Utc>,
        ctx: &mut actix::Context<A>,
    ) {
        let text = self.on_this_wire(text);
        self.queue(Outgoing::Message { text, committed_at }, ctx);
    }

    /// A frame as this wire sends it (with its room's id on a subscription).
    fn on_this_wire(&self, text: ByteString) -> ByteString {
        match &self.wire {
            Wire::Socket { .. } => text,
            Wire::Subscription { room_id, .. } => with_room_id(&text, *room_id),
        }
    }

    /// Queues a frame (a room socket's [`ServerFrame`], or a stream's).
    pub(crate) fn send_frame<A: Socket>(
        &mut self,
        frame: &impl serde::Serialize,
        ctx: &mut actix::Context<A>,
    ) {
        match serde_json::to_string(frame) {
            Ok(text) => self.send_text(text.into(), ctx),
            Err(error) => tracing::error!(%error, "frame not serializable"),
        }
    }

    /// Queues an `error` frame answering the frame `reference` names.
    pub(crate) fn send_error<A: Socket>(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        reference: Option<String>,
        ctx: &mut actix::Context<A>,
    ) {
        self.metrics.refused(code, "ws");
        let frame = ServerFrame::Error {
            code,
            message: message.into(),
            reference,
            retry_after: None,
        };
        self.send_frame(&frame, ctx);
    }

    /// Answers a use case's failure as REST would (one table of codes, messages and retry
    /// hints), logging what callers are not shown.
    pub(crate) fn send_api_error<A: Socket>(
        &mut self,
        error: &ApiError,
        reference: Option<String>,
        ctx: &mut actix::Context<A>,
    ) {
        error.log();
        self.metrics.refused(error.code(), "ws");
        self.send_frame(&error.frame(reference), ctx);
    }

    /// Sends a close frame and stops; nothing is sent after it. A subscription ends with an
    /// `unsubscribed` frame of the same code and reason instead; its stream goes on.
    pub(crate) fn close<A: Socket>(
        &mut self,
        code: CloseCode,
        description: &str,
        ctx: &mut actix::Context<A>,
    ) {
        if let Wire::Subscription { room_id, stream } = &self.wire {
            let (room_id, stream) = (*room_id, stream.clone());
            let frame = StreamFrame::Unsubscribed {
                room_id,
                code: u16::from(code),
                reason: description.to_owned(),
            };
            match serde_json::to_string(&frame) {
                Ok(text) => self.queue(Outgoing::Text(text.into()), ctx),
                Err(error) => tracing::error!(%error, "frame not serializable"),
            }
            stream.do_send(SubscriptionEnded {
                room_id,
                conn: self.id,
                slow_consumer: false,
            });
        } else {
            self.queue(
                Outgoing::Close(CloseReason {
                    code,
                    description: Some(description.to_owned()),
                }),
                ctx,
            );
        }
        self.closing = true;
        ctx.stop();
    }

    /// The `auth` frame: replaces the caller's token by a fresh one of the same user and role.
    pub(crate) fn refresh<A: Socket>(&mut self, token: &str, ctx: &mut actix::Context<A>) {
        match self.verifier.verify(token) {
            Ok(refreshed)
                if refreshed.user_id == self.caller.user_id
                    && refreshed.role == self.caller.role =>
            {
                // Still the session its opening request started.
                let request_id = self.caller.request_id.take();
                self.caller = Caller {
                    request_id,
                    ..refreshed
                };
                self.schedule_expiry(ctx);
            }
            Ok(_) => self.send_error(
                ErrorCode::Forbidden,
                "the token is for another user or role",
                None,
                ctx,
            ),
            Err(_) => self.send_error(ErrorCode::Unauthorized, "the token was refused", None, ctx),
        }
    }

    /// Closes with 4001 when the caller's token expires, unless `auth` refreshes it first.
    fn schedule_expiry<A: Socket>(&mut self, ctx: &mut actix::Context<A>) {
        if let Some(timer) = self.expiry.take() {
            ctx.cancel_future(timer);
        }
        let now = chrono::Utc::now().timestamp();
        let left = Duration::from_secs(u64::try_from(self.caller.expires_at - now).unwrap_or(0));
        self.expiry = Some(ctx.run_later(left, |actor: &mut A, ctx| {
            let connection = actor.connection();
            connection.send_error(
                ErrorCode::Unauthorized,
                "the token expired; reconnect with a new one",
                None,
                ctx,
            );
            connection.close(CloseCode::Other(CLOSE_TOKEN_EXPIRED), "token expired", ctx);
        }));
    }

    /// A text frame as a JSON object of a known `type`: its type, the object and its
    /// `client_id`; anything else is answered with an `error` frame here.
    fn parse<A: Socket>(
        &mut self,
        text: &str,
        ctx: &mut actix::Context<A>,
    ) -> Option<(String, Value, Option<String>)> {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => {
                let message = format!("malformed JSON: {error}");
                self.send_error(ErrorCode::BadRequest, message, None, ctx);
                return None;
            }
        };
        let reference = value
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(kind) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
            let message = "a frame is a JSON object with a string `type`";
            self.send_error(ErrorCode::BadRequest, message, reference, ctx);
            return None;
        };
        if !self.known_types.contains(&kind.as_str()) {
            let message = format!("unknown frame type `{kind}`");
            self.send_error(ErrorCode::UnknownType, message, reference, ctx);
            return None;
        }
        Some((kind, value, reference))
    }

    /// The transport's refusal of a frame: over the size limit or with reserved bits (seen by
    /// the frame guard), not UTF-8, a broken protocol, or a peer gone without a close.
    fn on_protocol_error<A: Socket>(&mut self, error: &ProtocolError, ctx: &mut actix::Context<A>) {
        let limit = self.settings.max_frame_bytes;
        match (self.verdict.violation(), error) {
            (Some(Violation::TooLarge), _) | (None, ProtocolError::Overflow) => {
                self.close(CloseCode::Size, &format!("message over {limit} bytes"), ctx);
            }
            (Some(Violation::ReservedBits), _) => {
                self.close(CloseCode::Protocol, "reserved bits set", ctx);
            }
            (None, ProtocolError::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                self.close(CloseCode::Invalid, "text frame is not valid UTF-8", ctx);
            }
            // The peer went away without a close frame.
            (None, ProtocolError::Io(_)) => {
                self.closing = true;
                ctx.stop();
            }
            (None, other) => {
                tracing::info!(error = %other, conn = self.id, "protocol violation");
                self.close(CloseCode::Protocol, "protocol error", ctx);
            }
        }
    }
}

/// Handles one item of the socket's stream: text frames of a known type go to the actor,
/// everything else is the connection's.
pub(crate) fn receive<A: Socket>(
    actor: &mut A,
    item: Result<AggregatedMessage, ProtocolError>,
    ctx: &mut actix::Context<A>,
) {
    let connection = actor.connection();
    let metrics = Arc::clone(&connection.metrics);
    let conn = connection.id;
    let handled = crate::panic_guard::contain(&metrics, conn, || handle_item(actor, item, ctx));
    if handled.is_none() {
        let connection = actor.connection();
        connection.send_error(ErrorCode::Internal, "internal error", None, ctx);
        connection.close(CloseCode::Error, "internal error", ctx);
    }
}

fn handle_item<A: Socket>(
    actor: &mut A,
    item: Result<AggregatedMessage, ProtocolError>,
    ctx: &mut actix::Context<A>,
) {
    let connection = actor.connection();
    connection.last_heard = Instant::now();
    match item {
        Ok(AggregatedMessage::Text(text)) => {
            if let Some((kind, value, reference)) = connection.parse(&text, ctx) {
                actor.on_json(&kind, value, reference, ctx);
            }
        }
        Ok(AggregatedMessage::Binary(_)) => connection.send_error(
            ErrorCode::BadRequest,
            "binary frames are not supported; send JSON text frames",
            None,
            ctx,
        ),
        Ok(AggregatedMessage::Ping(bytes)) => connection.queue(Outgoing::Pong(bytes), ctx),
        Ok(AggregatedMessage::Pong(_)) => {}
        Ok(AggregatedMessage::Close(reason)) => {
            // Echo the client's close, as RFC 6455 asks.
            let code = reason.map_or(CloseCode::Normal, |reason| reason.code);
            connection.close(code, "", ctx);
        }
        Err(error) => connection.on_protocol_error(&error, ctx),
    }
}

impl Drop for Connection {
    /// Every way a connection ends (close, error, slow consumer, shutdown) drops it here.
    fn drop(&mut self) {
        self.metrics.connections.get_or_create(&self.kind).dec();
        let lived_ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        match self.wire {
            Wire::Socket { .. } => {
                tracing::info!(
                    conn = self.id,
                    kind = self.kind.kind,
                    lived_ms,
                    "websocket closed"
                );
            }
            Wire::Subscription { room_id, .. } => {
                tracing::debug!(
                    conn = self.id,
                    room = room_id,
                    lived_ms,
                    "subscription ended"
                );
            }
        }
    }
}

/// `text` (a JSON object) with `"room_id"` as its first member: frames of a room subscribed on
/// a user stream say which room they belong to. Shared frames are serialized once for every
/// session, so the id is spliced in rather than serialized again.
pub(crate) fn with_room_id(text: &str, room_id: RoomId) -> ByteString {
    let rest = text.strip_prefix('{').unwrap_or(text);
    let separator = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!("{{\"room_id\":{room_id}{separator}{rest}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_id_leads_every_frame_of_a_subscription() {
        let tagged = with_room_id(r#"{"type":"pong"}"#, 7);
        assert_eq!(&*tagged, r#"{"room_id":7,"type":"pong"}"#);
        let value: serde_json::Value = serde_json::from_str(&tagged).unwrap_or_default();
        assert_eq!(value["room_id"], 7);
        assert_eq!(&*with_room_id("{}", 3), r#"{"room_id":3}"#);
    }
}
