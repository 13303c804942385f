//! `POST /chat/order/{order_id}/chat`: open an order's chat.

use actix_web::{HttpResponse, post, web};
use room_chats_types::{ErrorBody, RoomDto};

use room_chats_types::schema::ExternalId;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Returns the order's room, creating it on first use (201) or returning the existing one
/// (200). The caller becomes a member. A client may open only the chat of its own order; an
/// order it does not own answers 404 exactly like an unknown one.
#[utoipa::path(
    tag = "rooms",
    params(("order_id" = ExternalId, Path, description = "The main platform's order id")),
    responses(
        (status = 201, body = RoomDto, description = "The room was created"),
        (status = 200, body = RoomDto, description = "The room already existed"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such order, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/order/{order_id}/chat")]
pub async fn create_or_get_room(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    order_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (room, created) = state.chat.open_room(&caller, order_id.into_inner()).await?;
    Ok(if created {
        HttpResponse::Created().json(room)
    } else {
        HttpResponse::Ok().json(room)
    })
}
