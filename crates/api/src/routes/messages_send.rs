//! `POST /chat/{room_id}/messages`: send a message over HTTP.

use actix_web::{HttpResponse, post, web};
use room_chats_types::{ErrorBody, MessageDto, SendMessageBody};

use room_chats_core::chat::{MessageDraft, Sent};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Stores a message with the room's next seq. The sender is the token's `sub`, whatever the
/// body says. Sending again with the same `client_id` returns the original message (200)
/// instead of storing a second one.
#[utoipa::path(
    tag = "messages",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body = SendMessageBody,
    responses(
        (status = 201, body = MessageDto, description = "Stored"),
        (status = 200, body = MessageDto, description = "A retry: the message first stored with this `client_id`"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The room is closed (`room_closed`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "Empty, too long or control characters (`invalid_content`), or a bad `client_id` (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "The user's send budget (shared with its WebSockets) is spent (`rate_limited`); `Retry-After` says when to retry",
            headers(("Retry-After" = u64, description = "Seconds until a send is accepted again"))),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/messages")]
pub async fn send_message(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<SendMessageBody>,
) -> Result<HttpResponse, HttpError> {
    let SendMessageBody {
        content,
        client_id,
        attachment_ids,
        note,
    } = body.into_inner();
    let draft = MessageDraft {
        content,
        client_id,
        attachment_ids,
        note,
    };
    let room = state
        .chat
        .visible_room(&caller, room_id.into_inner())
        .await?;
    let stored = state.chat.send_message(&room, draft).await?;
    Ok(match stored {
        // The writer announced it to the room's live connections.
        Sent::New(message) => HttpResponse::Created().json(message),
        Sent::Replayed(message) => HttpResponse::Ok().json(message),
    })
}
