//! `POST /orders/{order_id}/events`: the main platform says what happened to an order.

use actix_web::{HttpResponse, post, web};
use room_chats_types::schema::ExternalId;
use room_chats_types::{ErrorBody, OrderEventBody, OrderEventDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Records what happened to an order (`paid`, `shipped`, `delivered`, `cancelled`,
/// `returned`). The order keeps it as its status; its room, if the customer opened one, shows
/// it to both sides as an `order_event` entry of the timeline (live and on resume) and sends
/// the `order.event` webhook. Only `service` and `admin` tokens may call it. A retry with the
/// same `event_id` records nothing new.
#[utoipa::path(
    tag = "orders",
    params(("order_id" = ExternalId, Path, description = "The main platform's order id")),
    request_body = OrderEventBody,
    responses(
        (status = 201, body = OrderEventDto, description = "The event was recorded"),
        (status = 200, body = OrderEventDto, description = "A retry of an `event_id`: the event as first recorded"),
        (status = 403, body = ErrorBody, description = "Clients may not report order events (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such order (`not_found`): register it with `PUT /orders/{order_id}` first"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "An unknown `status` (the message lists the allowed ones), or a field that breaks its rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/orders/{order_id}/events")]
pub async fn record_order_event(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    order_id: web::Path<String>,
    body: JsonBody<OrderEventBody>,
) -> Result<HttpResponse, HttpError> {
    let (event, new) = state
        .chat
        .record_order_event(&caller, order_id.into_inner(), body.into_inner())
        .await?;
    Ok(if new {
        HttpResponse::Created().json(event)
    } else {
        HttpResponse::Ok().json(event)
    })
}
