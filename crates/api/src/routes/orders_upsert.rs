//! `PUT /orders/{order_id}`: the main platform registers or updates an order.

use actix_web::{HttpResponse, put, web};
use room_chats_store::orders::{self, Upsert};
use room_chats_types::rules::check_id;
use room_chats_types::{ErrorBody, OrderDto, Role, UpsertOrderBody};

use room_chats_types::schema::ExternalId;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::CommonErrors;
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
    caller: Caller,
    order_id: web::Path<String>,
    body: web::Json<UpsertOrderBody>,
) -> Result<HttpResponse, ApiError> {
    if caller.role == Role::Client {
        return Err(ApiError::Forbidden(
            "only the platform or admins manage orders",
        ));
    }
    let order_id = order_id.into_inner();
    let UpsertOrderBody {
        customer_id,
        reference,
    } = body.into_inner();
    check_id(&order_id).map_err(|why| ApiError::Validation(format!("order_id {why}")))?;
    check_id(&customer_id).map_err(|why| ApiError::Validation(format!("customer_id {why}")))?;
    if let Some(reference) = &reference {
        check_id(reference).map_err(|why| ApiError::Validation(format!("reference {why}")))?;
    }
    let (order, upsert) = state
        .db
        .run(move |conn| orders::upsert_order(conn, &order_id, &customer_id, reference.as_deref()))
        .await?;
    Ok(match upsert {
        Upsert::Created => HttpResponse::Created().json(order),
        Upsert::Updated => HttpResponse::Ok().json(order),
        Upsert::CustomerChanged { room_id } => {
            // The previous customer's live connections end on every node; its sends were
            // refused by the store from the commit on.
            if let Some(room_id) = room_id {
                state
                    .hub
                    .publish_customer(room_id, order.customer_id.clone());
            }
            HttpResponse::Ok().json(order)
        }
    })
}
