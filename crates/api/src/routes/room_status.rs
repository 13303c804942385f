//! `POST /chat/{room_id}/close` and `/reopen`: admins end or resume a conversation.

use actix_web::{HttpResponse, post, web};
use room_chats_types::{ErrorBody, RoomDto, RoomStatus};

use room_chats_core::auth::Caller;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Closes a room: it stays readable, new messages are refused with `room_closed`. Closing a
/// closed room changes nothing.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomDto, description = "The room, now closed"),
        (status = 403, body = ErrorBody, description = "Only admins may close rooms (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/close")]
pub async fn close_room(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    set_status(&state, caller, room_id.into_inner(), RoomStatus::Closed).await
}

/// Reopens a closed room. Reopening an open room changes nothing.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomDto, description = "The room, now open"),
        (status = 403, body = ErrorBody, description = "Only admins may reopen rooms (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/reopen")]
pub async fn reopen_room(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    set_status(&state, caller, room_id.into_inner(), RoomStatus::Open).await
}

async fn set_status(
    state: &AppState,
    caller: Caller,
    room_id: i64,
    status: RoomStatus,
) -> Result<HttpResponse, HttpError> {
    let room = state.chat.visible_room(&caller, room_id).await?;
    let room = state.chat.set_room_status(&room, status).await?;
    Ok(HttpResponse::Ok().json(room))
}
