//! `PUT` and `DELETE /chat/{room_id}/admins/{user_id}`: assign admins to a room.

use actix_web::{HttpResponse, delete, put, web};
use room_chats_types::{ErrorBody, MemberDto};

use room_chats_types::schema::ExternalId;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Assigns an admin to the room (several may be). Answers the room's members.
#[utoipa::path(
    tag = "rooms",
    params(
        ("room_id" = i64, Path, description = "Room id"),
        ("user_id" = ExternalId, Path, description = "The admin's user id"),
    ),
    responses(
        (status = 200, body = Vec<MemberDto>, description = "The members after the change"),
        (status = 403, body = ErrorBody, description = "Only admins may assign (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The user is the room's customer (`conflict`)"),
        (status = 422, body = ErrorBody, description = "The user id breaks the rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/chat/{room_id}/admins/{user_id}")]
pub async fn assign_admin(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, HttpError> {
    let (room_id, user_id) = path.into_inner();
    let room = state.chat.visible_room(&caller, room_id).await?;
    let members = state.chat.assign_admin(&room, user_id).await?;
    Ok(HttpResponse::Ok().json(members))
}

/// Removes an admin's assignment (its read marker stays). Idempotent.
#[utoipa::path(
    tag = "rooms",
    params(
        ("room_id" = i64, Path, description = "Room id"),
        ("user_id" = ExternalId, Path, description = "The admin's user id"),
    ),
    responses(
        (status = 204, description = "The admin is not assigned (any more)"),
        (status = 403, body = ErrorBody, description = "Only admins may unassign (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room (`not_found`)"),
        (status = 422, body = ErrorBody, description = "The user id breaks the rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/chat/{room_id}/admins/{user_id}")]
pub async fn unassign_admin(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, HttpError> {
    let (room_id, user_id) = path.into_inner();
    let room = state.chat.visible_room(&caller, room_id).await?;
    state.chat.unassign_admin(&room, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
