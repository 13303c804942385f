//! `GET` and `PUT /chat/{room_id}/notifications`: the caller mutes or unmutes a room.

use actix_web::{HttpResponse, get, put, web};
use room_chats_types::{ErrorBody, RoomNotificationsBody, RoomNotificationsDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// The caller's notification setting of the room.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomNotificationsDto, description = "Whether the caller muted the room"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}/notifications")]
pub async fn room_notifications(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let setting = state
        .chat
        .room_notifications(
            &state
                .chat
                .visible_room(&caller, room_id.into_inner())
                .await?,
        )
        .await?;
    Ok(HttpResponse::Ok().json(setting))
}

/// Mutes (`{"muted": true}`) or unmutes the room for the caller: no `notification.due`
/// webhook and no Web Push of its messages while muted. Idempotent.
#[utoipa::path(
    tag = "rooms",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body = RoomNotificationsBody,
    responses(
        (status = 200, body = RoomNotificationsDto, description = "The setting now"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "`muted` missing or not a boolean (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/chat/{room_id}/notifications")]
pub async fn set_room_notifications(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<RoomNotificationsBody>,
) -> Result<HttpResponse, HttpError> {
    let setting = state
        .chat
        .set_room_muted(
            &state
                .chat
                .visible_room(&caller, room_id.into_inner())
                .await?,
            body.muted,
        )
        .await?;
    Ok(HttpResponse::Ok().json(setting))
}
