//! The plumbing of a WebSocket connection, the same for every kind of socket: the bounded
//! outbox and its writer task, the heartbeat, the token's expiry and its refresh (`auth`),
//! close codes, the frame guard's verdict, and turning text frames into JSON objects of a
//! known `type`. A session actor owns a [`Connection`] and implements [`Socket`]; what it
//! does with its frames is its own business.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, SpawnHandle};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use room_chats_types::ErrorCode;
use room_chats_types::frames::ServerFrame;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::auth::{Caller, TokenVerifier};
use crate::error::ApiError;
use crate::realtime::frame_guard::{Verdict, Violation};
use crate::realtime::hub::ConnId;
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
}

/// See the module docs.
pub(crate) struct Connection {
    pub(crate) id: ConnId,
    pub(crate) caller: Caller,
    settings: Arc<RealtimeSettings>,
    verifier: Arc<TokenVerifier>,
    verdict: Arc<Verdict>,
    known_types: &'static [&'static str],
    outbox: mpsc::Sender<Outgoing>,
    writer: tokio::task::JoinHandle<()>,
    last_heard: Instant,
    expiry: Option<SpawnHandle>,
    closing: bool,
}

impl Connection {
    /// The connection, with its writer task spawned on the WebSocket.
    pub(crate) fn new(parts: ConnectionParts, ws: actix_ws::Session) -> Self {
        let (outbox, queue) = mpsc::channel(parts.settings.outbox.max(8));
        let writer = actix_web::rt::spawn(writer::run(ws, queue));
        Self {
            id: parts.id,
            caller: parts.caller,
            settings: parts.settings,
            verifier: parts.verifier,
            verdict: parts.verdict,
            known_types: parts.known_types,
            outbox,
            writer,
            last_heard: Instant::now(),
            expiry: None,
            closing: false,
        }
    }

    /// Starts the heartbeat and the token's expiry timer.
    pub(crate) fn start<A: Socket>(&mut self, ctx: &mut actix::Context<A>) {
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
                self.closing = true;
                self.writer.abort();
                ctx.stop();
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    /// Queues a frame already serialized.
    pub(crate) fn send_text<A: Socket>(&mut self, text: ByteString, ctx: &mut actix::Context<A>) {
        self.queue(Outgoing::Text(text), ctx);
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
        self.send_frame(&error.frame(reference), ctx);
    }

    /// Sends a close frame and stops; nothing is sent after it.
    pub(crate) fn close<A: Socket>(
        &mut self,
        code: CloseCode,
        description: &str,
        ctx: &mut actix::Context<A>,
    ) {
        self.queue(
            Outgoing::Close(CloseReason {
                code,
                description: Some(description.to_owned()),
            }),
            ctx,
        );
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
                self.caller = refreshed;
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
