//! `POST /chat/{room_id}/close` and `/reopen`: admins end or resume a conversation.

use actix_web::{HttpResponse, post, web};
use room_chats_store::rooms;
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{ErrorBody, RoomDto, RoomStatus};

use crate::access::{require_admin, visible_room};
use crate::auth::Caller;
use crate::error::ApiError;
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
    caller: Caller,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
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
    caller: Caller,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, caller, room_id.into_inner(), RoomStatus::Open).await
}

async fn set_status(
    state: &AppState,
    caller: Caller,
    room_id: i64,
    status: RoomStatus,
) -> Result<HttpResponse, ApiError> {
    // Visibility first: a client learns nothing from a 403 about a room it cannot see.
    let room = visible_room(state, &caller, room_id).await?;
    require_admin(&caller)?;
    let previous = room.status;
    let room = state
        .db
        .run(move |conn| rooms::set_room_status(conn, room.id, status, &caller.user_id))
        .await?;
    if previous != status {
        let event = match status {
            RoomStatus::Closed => RoomChange::Closed,
            RoomStatus::Open => RoomChange::Reopened,
        };
        let frame = ServerFrame::Room {
            event,
            room: room.clone(),
            user_id: None,
        };
        state.hub.publish_frame(room.id, frame, None);
    }
    Ok(HttpResponse::Ok().json(room))
}
