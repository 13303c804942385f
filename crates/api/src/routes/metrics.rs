//! `GET /metrics`: the node's Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use room_chats_types::ErrorBody;

use crate::error::ApiError;
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
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let exposition = state
        .exposition
        .as_ref()
        .ok_or(ApiError::NotFound("metrics (served on METRICS_BIND)"))?;
    crate::metrics::respond(exposition)
}
