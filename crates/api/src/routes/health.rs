//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// Probe answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok` on a 200.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process serves HTTP. Checks nothing else, so a database outage does not get
/// every node restarted.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthDto)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthDto { status: "ok" })
}

/// Readiness: the database and the broker answer. Load balancers send traffic only to ready
/// nodes.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = HealthDto),
        (status = 503, body = room_chats_types::ErrorBody, description = "The database or the broker is unavailable (`unavailable`)")
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db
        .ping()
        .await
        .map_err(|error| ApiError::Unavailable(error.to_string()))?;
    Ok(HttpResponse::Ok().json(HealthDto { status: "ok" }))
}
