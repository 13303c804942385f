//! `GET /ws/chat/{room_id}`: the WebSocket handshake. Every refusal (401, 403, 404, 422, 429)
//! is an ordinary JSON error answered before the upgrade — or, for a client that asked for the
//! `room-chats.v1` subprotocol (a browser, which cannot read the JSON), an `error` frame and a
//! close with 4000 + the status's last two digits ([`ws_refusal`](super::ws_refusal)).

use std::sync::Arc;

use actix::{Actor, AsyncContext};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::{Version, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use actix_ws::AggregatedMessageStream;
use bytes::Bytes;
use futures_util::Stream;
use room_chats_types::ErrorBody;
use room_chats_types::frames::SUBPROTOCOL;
use serde::Deserialize;
use utoipa::IntoParams;

use room_chats_core::auth::{Caller, TokenVerifier};

use room_chats_core::error::ApiError;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::realtime::RealtimeSettings;
use crate::realtime::conn_id::ConnId;
use crate::realtime::frame_guard::{FrameGuard, Verdict};
use crate::realtime::session::{ChatSession, SessionServices, SessionStart};
use crate::routes::{CommonErrors, ws_refusal};
use crate::state::AppState;

/// Query of the WebSocket handshake. (No `Debug`: it may hold a token.)
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectQuery {
    /// Resume: send every message after this seq instead of the recent history.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// How many recent messages the `history` frame carries without `since` (default
    /// `HISTORY_PAGE_DEFAULT`, 50; at most `HISTORY_PAGE_MAX`, 200).
    #[param(minimum = 0, maximum = 200)]
    pub history: Option<i64>,
    /// The token, for clients that can set neither a header nor a subprotocol. Never logged.
    #[expect(
        dead_code,
        reason = "read by the Caller extractor; declared for the OpenAPI document"
    )]
    pub token: Option<String>,
}

/// Opens the room's live connection (WebSocket protocol v1, see docs/REALTIME.md). The token
/// comes as `Authorization: Bearer`, as a `bearer.<jwt>` entry of `Sec-WebSocket-Protocol`
/// beside `room-chats.v1` (which the server selects), or as `?token=`. A client that offers
/// `room-chats.v1` is refused inside the protocol instead of with the answers below: the
/// upgrade succeeds, an `error` frame follows, then a close with 4000 + the status's last
/// two digits (4001, 4003, 4004, 4022, 4029).
#[utoipa::path(
    tag = "realtime",
    params(("room_id" = i64, Path, description = "Room id"), ConnectQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; the first frame is `ready`"),
        (status = 400, body = ErrorBody, description = "Not a WebSocket handshake, or one over HTTP/1.0 (`bad_request`)"),
        (status = 403, body = ErrorBody, description = "Browser origin not allowed, or a service token (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 422, body = ErrorBody, description = "`since` or `history` out of range (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "Too many connections of this user (`rate_limited`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/ws/chat/{room_id}")]
pub async fn connect(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
    caller: Result<Authenticated, HttpError>,
    room_id: Result<web::Path<i64>, actix_web::Error>,
    query: Result<web::Query<ConnectQuery>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let opened = async {
        let (caller, room_id, query) = (caller?, room_id?, query?);
        open(
            &request,
            body,
            state,
            verifier,
            caller,
            room_id.into_inner(),
            query.into_inner(),
        )
        .await
        .map_err(actix_web::Error::from)
    };
    ws_refusal::readable(&request, opened.await).await
}

/// Opens the room's session for an authenticated caller.
async fn open(
    request: &HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
    Authenticated(caller): Authenticated,
    room_id: i64,
    query: ConnectQuery,
) -> Result<HttpResponse, HttpError> {
    let settings = Arc::clone(&state.realtime);
    check_upgrade(request, &settings)?;
    let ConnectQuery { since, history, .. } = query;
    let join = state
        .chat
        .join_room(&caller, room_id, since, history, settings.history_rules())
        .await?;
    let Upgrade {
        conn,
        response,
        ws,
        stream,
        verdict,
    } = upgrade(request, body, &state, &caller).await?;
    let services = SessionServices {
        chat: state.chat.clone(),
        hub: Arc::clone(&state.hub),
        verifier: verifier.into_inner(),
        settings,
    };
    tracing::info!(conn, room = room_id, user = %caller.user_id, "websocket opened");
    let start = SessionStart {
        conn,
        join,
        verdict,
    };
    ChatSession::create(|ctx| {
        // The hub never queues more than this for a session (see `Hub::deliver`).
        ctx.set_mailbox_capacity(services.settings.outbox);
        ctx.add_stream(stream);
        ChatSession::new(start, services, ws)
    });
    Ok(response)
}

/// A WebSocket upgrade that was accepted and counted.
pub(crate) struct Upgrade {
    /// The connection's id, counted against the user's limit (its session uncounts it).
    pub(crate) conn: ConnId,
    /// The `101 Switching Protocols` answer.
    pub(crate) response: HttpResponse,
    /// The socket to write to.
    pub(crate) ws: actix_ws::Session,
    /// The socket's frames, limited in size and with continuations put together.
    pub(crate) stream: AggregatedMessageStream,
    /// What the frame guard refuses later.
    pub(crate) verdict: Arc<Verdict>,
}

/// Upgrades an authorized handshake: the frame guard, the per-user connection count (taken
/// only once nothing else can refuse the connection before its actor starts), the
/// subprotocol, and the frame limits.
pub(crate) async fn upgrade(
    request: &HttpRequest,
    body: web::Payload,
    state: &AppState,
    caller: &Caller,
) -> Result<Upgrade, ApiError> {
    let max_frame_bytes = state.realtime.max_frame_bytes;
    let verdict = Arc::new(Verdict::default());
    let payload = guarded_payload(request, body, max_frame_bytes, &verdict).await?;
    let conn = state
        .hub
        .open_connection(&caller.user_id)
        .map_err(|_| ApiError::RateLimited {
            message: "too many open connections for this user",
            retry_after: None,
        })?;
    let (response, ws, stream) =
        match actix_ws::handle_with_protocols(request, payload, &[SUBPROTOCOL]) {
            Ok(parts) => parts,
            Err(error) => {
                state.hub.close_connection(&caller.user_id);
                return Err(ApiError::BadRequest(format!(
                    "not a WebSocket handshake: {error}"
                )));
            }
        };
    let stream = stream
        .max_frame_size(max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(max_frame_bytes);
    Ok(Upgrade {
        conn,
        response,
        ws,
        stream,
        verdict,
    })
}

/// Refuses what no WebSocket of this service accepts: HTTP/1.0 and an origin not allowed.
pub(crate) fn check_upgrade(
    request: &HttpRequest,
    settings: &RealtimeSettings,
) -> Result<(), ApiError> {
    if request.version() < Version::HTTP_11 {
        return Err(ApiError::BadRequest(
            "a WebSocket handshake needs HTTP/1.1 or later (RFC 6455 section 4.1)".to_owned(),
        ));
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    let own_host = request.connection_info().host().to_owned();
    if !settings.allowed_origins.allows(origin, &own_host) {
        return Err(ApiError::Forbidden("this origin may not connect"));
    }
    Ok(())
}

/// The request body behind the frame guard, which refuses oversized frames from their
/// headers before actix-http buffers them.
async fn guarded_payload(
    request: &HttpRequest,
    body: web::Payload,
    max_frame_bytes: usize,
    verdict: &Arc<Verdict>,
) -> Result<web::Payload, ApiError> {
    let guarded = FrameGuard::new(body.into_inner(), max_frame_bytes, Arc::clone(verdict));
    let boxed: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(guarded);
    web::Payload::from_request(request, &mut Payload::from(boxed))
        .await
        .map_err(|error| ApiError::BadRequest(error.to_string()))
}
