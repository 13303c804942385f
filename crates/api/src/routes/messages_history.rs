//! `GET /chat/{room_id}/messages`: pages of history by seq.

use actix_web::{HttpResponse, get, web};
use room_chats_types::{ErrorBody, MessagePage, MessageQuery};

use room_chats_core::chat::HistoryRequest;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Messages before or after a seq (or between two), oldest first. With neither bound: the
/// newest page.
#[utoipa::path(
    tag = "messages",
    params(("room_id" = i64, Path, description = "Room id"), MessageQuery),
    responses(
        (status = 200, body = MessagePage, description = "A page of messages, oldest first"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 422, body = ErrorBody, description = "A negative bound or a `limit` out of range (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, HttpError> {
    let request = HistoryRequest::parse(&query, &state.limits)?;
    let room = state
        .chat
        .visible_room(&caller, room_id.into_inner())
        .await?;
    let page = state.chat.history(&room, request).await?;
    Ok(HttpResponse::Ok().json(page))
}
