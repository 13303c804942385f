//! `POST /chat/{room_id}/rating`: the customer rates a closed conversation.

use actix_web::{HttpResponse, post, web};
use room_chats_types::{ErrorBody, RatingBody, RoomDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// The room's customer rates the closed room, once: `score` 1 to 5 and an optional `comment`.
/// The rating becomes the room's `rating`, a `rated` event of its timeline (both sides see it)
/// and the `room.rated` webhook.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body = RatingBody,
    responses(
        (status = 201, body = RoomDto, description = "The room, with its rating"),
        (status = 403, body = ErrorBody, description = "Only the room's customer rates it (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The room is open, or was rated already (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "`score` not 1 to 5, or a `comment` that breaks the rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/rating")]
pub async fn rate_room(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<RatingBody>,
) -> Result<HttpResponse, HttpError> {
    let room = state
        .chat
        .visible_room(&caller, room_id.into_inner())
        .await?;
    let rated = state.chat.rate_room(&room, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(rated))
}
