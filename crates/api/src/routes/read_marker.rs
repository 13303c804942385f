//! `POST /chat/{room_id}/read`: move the caller's read marker.

use actix_web::{HttpResponse, post, web};
use room_chats_types::{ErrorBody, ReadMarkerBody, ReadMarkerDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Marks messages up to `up_to` (default: all) as read by the caller. The marker only moves
/// forward and stops at the newest message.
#[utoipa::path(
    tag = "messages",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body(content = ReadMarkerBody, description = "May be empty: `{}` marks everything read"),
    responses(
        (status = 200, body = ReadMarkerDto, description = "The read marker after the move"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 422, body = ErrorBody, description = "`up_to` is negative (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<ReadMarkerBody>,
) -> Result<HttpResponse, HttpError> {
    let room = state
        .chat
        .visible_room(&caller, room_id.into_inner())
        .await?;
    let marker = state.chat.mark_read(&room, body.into_inner().up_to).await?;
    Ok(HttpResponse::Ok().json(marker))
}
