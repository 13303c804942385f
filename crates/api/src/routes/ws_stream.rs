//! `GET /ws/`: the per-user stream's handshake. Refusals (400, 401, 403, 422, 429) are
//! ordinary JSON errors answered before the upgrade, or inside the protocol for a client that
//! asked for `room-chats.v1`, as for the room socket.

use std::sync::Arc;

use actix::{Actor, AsyncContext};
use actix_web::{HttpRequest, HttpResponse, get, web};
use room_chats_types::{AssignedFilter, ErrorBody, Role, RoomStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use room_chats_core::access::require_chat_role;
use room_chats_core::auth::{Caller, TokenVerifier};

use super::ws_chat::{Upgrade, check_upgrade, upgrade};
use super::ws_refusal;

use room_chats_core::error::ApiError;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::realtime::inbox::StreamFilter;
use crate::realtime::stream::{StreamServices, StreamStart, UserStream};
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Query of the stream's handshake. (No `Debug`: it may hold a token.)
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Catch up: the `cursor` of the last inbox frame (or `stream_ready`) received. Without
    /// it, `stream_ready` says `reload`.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Only rooms with this status (as `GET /chat/`).
    pub status: Option<RoomStatus>,
    /// Admins only: `me` for rooms assigned to the caller, `none` for unassigned rooms.
    pub assigned: Option<AssignedFilter>,
    /// The token, for clients that can set neither a header nor a subprotocol. Never logged.
    #[expect(
        dead_code,
        reason = "read by the Caller extractor; declared for the OpenAPI document"
    )]
    pub token: Option<String>,
}

/// Opens the caller's stream (WebSocket protocol v1, see docs/REALTIME.md): an inbox of every
/// room the caller may see (clients: their orders'; admins: all, narrowed by `status` and
/// `assigned`), live. The token comes, and refusals are told, as for `/ws/chat/{room_id}/`.
#[utoipa::path(
    tag = "realtime",
    params(StreamQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; the first frame is `stream_ready`"),
        (status = 400, body = ErrorBody, description = "Not a WebSocket handshake, or one over HTTP/1.0 (`bad_request`)"),
        (status = 403, body = ErrorBody, description = "Browser origin not allowed, or a service token (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A malformed `cursor`, or `assigned` from a client (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "Too many connections of this user (`rate_limited`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/ws")]
pub async fn connect_stream(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
    caller: Result<Authenticated, HttpError>,
    query: Result<web::Query<StreamQuery>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let opened = async {
        let (caller, query) = (caller?, query?);
        open(&request, body, state, verifier, caller, query.into_inner())
            .await
            .map_err(actix_web::Error::from)
    };
    ws_refusal::readable(&request, opened.await).await
}

/// Opens the stream of an authenticated caller.
async fn open(
    request: &HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
    Authenticated(caller): Authenticated,
    query: StreamQuery,
) -> Result<HttpResponse, HttpError> {
    let settings = Arc::clone(&state.realtime);
    check_upgrade(request, &settings)?;
    require_chat_role(&caller)?;
    let (filter, cursor) = check_query(&caller, query)?;
    let Upgrade {
        conn,
        response,
        ws,
        stream,
        verdict,
    } = upgrade(request, body, &state, &caller).await?;
    let services = StreamServices {
        chat: state.chat.clone(),
        hub: Arc::clone(&state.hub),
        inbox: Arc::clone(&state.inbox),
        verifier: verifier.into_inner(),
        settings,
    };
    tracing::info!(conn, user = %caller.user_id, "stream opened");
    let start = StreamStart {
        conn,
        caller,
        filter,
        cursor,
        verdict,
    };
    UserStream::create(|ctx| {
        // The inbox never queues more than this for a stream (see `Inbox::deliver`).
        ctx.set_mailbox_capacity(services.settings.outbox);
        ctx.add_stream(stream);
        UserStream::new(start, services, ws)
    });
    Ok(response)
}

/// The stream's filters and cursor, or why they are refused.
fn check_query(
    caller: &Caller,
    query: StreamQuery,
) -> Result<(StreamFilter, Option<i64>), ApiError> {
    if query.assigned.is_some() && caller.role != Role::Admin {
        return Err(ApiError::Validation(
            "the assigned filter is for admins".to_owned(),
        ));
    }
    let cursor = match query.cursor {
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|cursor| *cursor >= 0)
                .ok_or_else(|| {
                    ApiError::Validation(
                        "cursor must be a cursor this service sent (digits)".to_owned(),
                    )
                })?,
        ),
        None => None,
    };
    let filter = StreamFilter {
        status: query.status,
        assigned: query.assigned,
    };
    Ok((filter, cursor))
}
