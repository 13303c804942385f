//! `/webhooks/endpoints…`: the receivers of webhook events and their dead letters (roles
//! `admin` and `service`).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use room_chats_types::{
    CreateWebhookEndpointBody, DeadLetterPage, DeadLetterQuery, ErrorBody, ReplayBody, ReplayDto,
    UpdateWebhookEndpointBody, WebhookEndpointDto,
};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Registers a receiver. Its events start with the next change; each delivery is a POST of a
/// `WebhookEvent` (a schema of this document) signed per Standard Webhooks with the `secret` answered here (see
/// docs/NOTIFICATIONS.md).
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookEndpointBody,
    responses(
        (status = 201, body = WebhookEndpointDto, description = "Created, with its signing secret"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 409, body = ErrorBody, description = "The maximum number of endpoints (20) exist (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "A URL that is malformed, not http(s), carries credentials or points at an internal address; a description too long; an unknown event type (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/endpoints")]
pub async fn create_endpoint(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: JsonBody<CreateWebhookEndpointBody>,
) -> Result<HttpResponse, HttpError> {
    let endpoint = state.webhooks.create(&caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(endpoint))
}

/// Every receiver, with what waits for it.
#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, body = Vec<WebhookEndpointDto>, description = "The endpoints, oldest first"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/endpoints")]
pub async fn list_endpoints(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(state.webhooks.list(&caller).await?))
}

/// One receiver.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpointDto, description = "The endpoint"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such endpoint (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/endpoints/{endpoint_id}")]
pub async fn get_endpoint(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    endpoint_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let endpoint = state
        .webhooks
        .get(&caller, endpoint_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// Changes a receiver: its URL, description, types, or whether it is enabled (enabling one
/// the service disabled after a 410 delivers what queued before it was disabled).
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = i64, Path, description = "Endpoint id")),
    request_body = UpdateWebhookEndpointBody,
    responses(
        (status = 200, body = WebhookEndpointDto, description = "The endpoint after the change"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such endpoint (`not_found`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "A field breaks the rules of creation (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/webhooks/endpoints/{endpoint_id}")]
pub async fn update_endpoint(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    endpoint_id: web::Path<i64>,
    body: JsonBody<UpdateWebhookEndpointBody>,
) -> Result<HttpResponse, HttpError> {
    let endpoint = state
        .webhooks
        .update(&caller, endpoint_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// Deletes a receiver and every event queued for it.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such endpoint (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/webhooks/endpoints/{endpoint_id}")]
pub async fn delete_endpoint(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    endpoint_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    state
        .webhooks
        .delete(&caller, endpoint_id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Events that exhausted their retries (`WEBHOOK_RETRY_PERIOD_SECS` after their first failed
/// attempt), oldest first.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = i64, Path, description = "Endpoint id"), DeadLetterQuery),
    responses(
        (status = 200, body = DeadLetterPage, description = "A page of dead letters"),
        (status = 400, body = ErrorBody, description = "An unparsable query (`bad_request`)"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such endpoint (`not_found`)"),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–200 (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/endpoints/{endpoint_id}/dead-letters")]
pub async fn dead_letters(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    endpoint_id: web::Path<i64>,
    query: web::Query<DeadLetterQuery>,
) -> Result<HttpResponse, HttpError> {
    let page = state
        .webhooks
        .dead_letters(&caller, endpoint_id.into_inner(), query.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Puts dead letters (those named, or all of the endpoint's) back in their rooms' queues,
/// with a fresh retry period. They go out before newer events of their rooms.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = i64, Path, description = "Endpoint id")),
    request_body = ReplayBody,
    responses(
        (status = 200, body = ReplayDto, description = "How many were queued again"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service manage webhooks (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such endpoint (`not_found`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "More than 1,000 ids (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/endpoints/{endpoint_id}/dead-letters/replay")]
pub async fn replay_dead_letters(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    endpoint_id: web::Path<i64>,
    body: JsonBody<ReplayBody>,
) -> Result<HttpResponse, HttpError> {
    let replayed = state
        .webhooks
        .replay(&caller, endpoint_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(replayed))
}
