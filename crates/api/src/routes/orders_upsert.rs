//! `PUT /orders/{order_id}`: the main platform registers or updates an order.

use actix_web::{HttpResponse, put, web};
use room_chats_types::{ErrorBody, OrderDto, UpsertOrderBody};

use room_chats_types::schema::ExternalId;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Creates or updates an order. Only `service` and `admin` tokens may call it. When the
/// customer changes, the previous customer loses access to the order's chat.
#[utoipa::path(
    tag = "orders",
    params(("order_id" = ExternalId, Path, description = "The main platform's order id")),
    request_body = UpsertOrderBody,
    responses(
        (status = 201, body = OrderDto, description = "The order was created"),
        (status = 200, body = OrderDto, description = "The order was updated"),
        (status = 403, body = ErrorBody, description = "Clients may not manage orders (`forbidden`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "An id breaks the rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/orders/{order_id}")]
pub async fn upsert_order(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    order_id: web::Path<String>,
    body: JsonBody<UpsertOrderBody>,
) -> Result<HttpResponse, HttpError> {
    let (order, created) = state
        .chat
        .upsert_order(&caller, order_id.into_inner(), body.into_inner())
        .await?;
    Ok(if created {
        HttpResponse::Created().json(order)
    } else {
        HttpResponse::Ok().json(order)
    })
}
