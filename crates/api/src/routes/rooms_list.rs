//! `GET /chat`: the rooms the caller may see.

use actix_web::{HttpResponse, get, web};
use room_chats_types::{ErrorBody, RoomListQuery, RoomPage};

use room_chats_core::chat::RoomListRequest;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Lists rooms, newest activity first: a client's own, or every room for admins. Each
/// carries its last message and the caller's unread count. Page with `cursor`.
#[utoipa::path(
    tag = "rooms",
    params(RoomListQuery),
    responses(
        (status = 200, body = RoomPage, description = "A page of rooms, newest activity first"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A filter or `limit` is out of range (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat")]
pub async fn list_rooms(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<RoomListQuery>,
) -> Result<HttpResponse, HttpError> {
    let request = RoomListRequest::parse(query.into_inner())?;
    let page = state.chat.room_page(&caller, request).await?;
    Ok(HttpResponse::Ok().json(page))
}
