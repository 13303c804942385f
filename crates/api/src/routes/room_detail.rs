//! `GET /chat/{room_id}`: everything a chat screen needs on open.

use actix_web::{HttpResponse, get, web};
use room_chats_types::{ErrorBody, RoomDetailDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// The room, its members, the caller's unread count and the newest messages.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomDetailDto, description = "The room with its members, unread count and newest messages"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}")]
pub async fn room_detail(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let detail = state
        .chat
        .room_detail(
            state
                .chat
                .visible_room(&caller, room_id.into_inner())
                .await?,
            state.limits.default_page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}
