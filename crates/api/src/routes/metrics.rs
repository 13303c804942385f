//! `GET /metrics`: the node's Prometheus metrics.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use room_chats_core::error::ApiError;
use room_chats_core::metrics::{CONTENT_TYPE, Exposition};
use room_chats_types::ErrorBody;

use crate::error::HttpError;
use crate::state::AppState;

/// Prometheus metrics of this node, in the OpenMetrics text format (families listed in
/// docs/OPERATIONS.md). Not found when `METRICS_BIND` serves them on another address.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, content_type = "application/openmetrics-text", body = String, description = "The metrics"),
        (status = 404, body = ErrorBody, description = "Metrics are served on `METRICS_BIND` (`not_found`)")
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let exposition = state
        .exposition
        .as_ref()
        .ok_or(ApiError::NotFound("metrics (served on METRICS_BIND)"))?;
    respond(exposition)
}

/// The answer to a scrape, on the service's address or on `METRICS_BIND`.
pub fn respond(exposition: &Exposition) -> Result<HttpResponse, HttpError> {
    let text = exposition
        .render()
        .map_err(|error| ApiError::Internal(format!("metrics not encodable: {error}")))?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
