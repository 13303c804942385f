//! `PATCH` and `DELETE /chat/{room_id}/messages/{message_id}`: edit or delete a message, and
//! `GET …/revisions`: the words its changes replaced, for admins.

use actix_web::{HttpResponse, delete, get, patch, web};
use room_chats_types::{EditMessageBody, ErrorBody, MessageDto, RevisionDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Edits one of the caller's messages, within `EDIT_WINDOW_SECS` of sending it, while the room
/// is open. Everyone in the room gets a `message_edited` frame; the words it replaced are
/// kept as a revision for admins. A retry with the same `client_id`, or the same words again,
/// changes nothing and answers the message as it is.
#[utoipa::path(
    tag = "messages",
    params(
        ("room_id" = i64, Path, description = "Room id"),
        ("message_id" = i64, Path, description = "Message id"),
    ),
    request_body = EditMessageBody,
    responses(
        (status = 200, body = MessageDto, description = "The message after the edit"),
        (status = 403, body = ErrorBody, description = "Not the caller's message, or a service token (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room or message, or not the caller's room (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The room is closed (`room_closed`), or the message is deleted or past its edit window (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "Empty, too long or control characters (`invalid_content`), or a bad `client_id` (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "The user's send budget is spent (`rate_limited`)",
            headers(("Retry-After" = u64, description = "Seconds until a change is accepted again"))),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/chat/{room_id}/messages/{message_id}")]
pub async fn edit_message(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(i64, i64)>,
    body: JsonBody<EditMessageBody>,
) -> Result<HttpResponse, HttpError> {
    let (room_id, message_id) = path.into_inner();
    let room = state.chat.visible_room(&caller, room_id).await?;
    let EditMessageBody { content, client_id } = body.into_inner();
    let message = state
        .chat
        .edit_message(&room, message_id, content, client_id)
        .await?;
    Ok(HttpResponse::Ok().json(message))
}

/// Deletes a message: the caller's own, or — as an admin — any message of a room it can see
/// (moderation), closed rooms included. The message stays in the timeline as a tombstone
/// (empty `content`, `deleted_at`, `deleted_by`); everyone in the room gets a
/// `message_deleted` frame, and admins keep the deleted words as a revision. Deleting a
/// deleted message changes nothing.
#[utoipa::path(
    tag = "messages",
    params(
        ("room_id" = i64, Path, description = "Room id"),
        ("message_id" = i64, Path, description = "Message id"),
    ),
    responses(
        (status = 200, body = MessageDto, description = "The tombstone"),
        (status = 403, body = ErrorBody, description = "A client deleting another's message, or a service token (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room or message, or not the caller's room (`not_found`)"),
        (status = 429, body = ErrorBody, description = "The user's send budget is spent (`rate_limited`)",
            headers(("Retry-After" = u64, description = "Seconds until a change is accepted again"))),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/chat/{room_id}/messages/{message_id}")]
pub async fn delete_message(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, HttpError> {
    let (room_id, message_id) = path.into_inner();
    let room = state.chat.visible_room(&caller, room_id).await?;
    let tombstone = state.chat.delete_message(&room, message_id, None).await?;
    Ok(HttpResponse::Ok().json(tombstone))
}

/// The words every edit and the delete of a message replaced, oldest first, with who changed
/// it and when. Admins only.
#[utoipa::path(
    tag = "messages",
    params(
        ("room_id" = i64, Path, description = "Room id"),
        ("message_id" = i64, Path, description = "Message id"),
    ),
    responses(
        (status = 200, body = Vec<RevisionDto>, description = "The revisions, oldest first (empty if never changed)"),
        (status = 403, body = ErrorBody, description = "Only admins may read revisions (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room or message, or not the caller's room (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}/messages/{message_id}/revisions")]
pub async fn message_revisions(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, HttpError> {
    let (room_id, message_id) = path.into_inner();
    let room = state.chat.visible_room(&caller, room_id).await?;
    let revisions = state.chat.message_revisions(&room, message_id).await?;
    Ok(HttpResponse::Ok().json(revisions))
}
