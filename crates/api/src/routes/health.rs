//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use room_chats_types::{ErrorCode, ErrorDetail};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// A dependency that does not answer within this long counts as down: a probe must answer
/// before the balancer's own timeout.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The state of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyState {
    /// It answers.
    Ok,
    /// It does not answer (or, for the broker, the node is not subscribed to it).
    Down,
}

/// Readiness answer: the node's state and each dependency's.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessDto {
    /// `ok` when every dependency is, else `degraded`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The database.
    pub database: DependencyState,
    /// The broker between nodes: `ok` when the node can both publish to it and receive other
    /// nodes' events (the in-process broker of a single node always is).
    pub broker: DependencyState,
    /// With 503: the usual error object (`unavailable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// Whether `check` succeeds within [`CHECK_TIMEOUT`]; a failure is logged with `name`.
async fn probe<E: std::fmt::Display>(
    name: &str,
    check: impl Future<Output = Result<(), E>>,
) -> DependencyState {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => DependencyState::Ok,
        Ok(Err(error)) => {
            tracing::warn!(%error, dependency = name, "readiness: dependency down");
            DependencyState::Down
        }
        Err(_) => {
            tracing::warn!(
                dependency = name,
                "readiness: dependency did not answer in time"
            );
            DependencyState::Down
        }
    }
}

/// Liveness: the process serves HTTP. Checks nothing else, so a database outage does not get
/// every node restarted.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = HealthDto, description = "The process serves HTTP"))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthDto { status: "ok" })
}

/// Readiness: the database answers, and the broker both answers and delivers other nodes'
/// events to this node. Load balancers send traffic only to ready nodes.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = ReadinessDto, description = "Every dependency answers"),
        (status = 503, body = ReadinessDto, description = "The database or the broker is down; `error.code` is `unavailable`")
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (database, broker) = futures_util::join!(
        probe("database", state.chat.check_database()),
        probe("broker", state.hub.broker().check()),
    );
    if database == DependencyState::Ok && broker == DependencyState::Ok {
        return HttpResponse::Ok().json(ReadinessDto {
            status: "ok",
            database,
            broker,
            error: None,
        });
    }
    let down: Vec<&str> = [("database", database), ("broker", broker)]
        .into_iter()
        .filter(|(_, dependency)| *dependency == DependencyState::Down)
        .map(|(name, _)| name)
        .collect();
    HttpResponse::ServiceUnavailable()
        .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
        .json(ReadinessDto {
            status: "degraded",
            database,
            broker,
            error: Some(ErrorDetail {
                code: ErrorCode::Unavailable,
                message: format!("{} unavailable", down.join(" and ")),
                request_id: crate::request_id::current(),
            }),
        })
}
