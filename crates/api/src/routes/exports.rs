//! `POST /users/{user_id}/exports`, `GET /exports/{export_id}` and its archive: a person's
//! data as one zip (docs/DATA-PROTECTION.md#export).

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use futures_util::StreamExt;
use room_chats_types::schema::ExternalId;
use room_chats_types::{ErrorBody, ExportDto};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Asks for an export of a person's data — their rooms, the messages and events they can see
/// there (never staff notes), their files, read markers, notification settings and push
/// subscriptions (without keys) — as one zip of NDJSON files. Written in the background
/// within seconds (poll `GET /exports/{export_id}`); `export.ready` goes to webhooks with the
/// link. The platform service, or the person themself; recorded in the audit trail.
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    responses(
        (status = 202, body = ExportDto, description = "Requested: `pending` until ready"),
        (status = 403, body = ErrorBody, description = "Neither the platform service nor the person (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A user id breaking the id rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/users/{user_id}/exports")]
pub async fn request_export(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let export = state.exports.request(&caller, user_id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(export))
}

/// Where an export stands; while ready, its `download_url`.
#[utoipa::path(
    tag = "data protection",
    params(("export_id" = i64, Path, description = "Export id")),
    responses(
        (status = 200, body = ExportDto, description = "The export"),
        (status = 404, body = ErrorBody, description = "No such export, or not the caller's (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/exports/{export_id}")]
pub async fn export_status(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    export_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let export = state
        .exports
        .status(&caller, export_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(export))
}

/// The download link's key.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchiveQuery {
    /// The key of the export's `download_url`: the link's only authorization.
    key: String,
}

/// The export's archive (`application/zip`). No bearer token: the link's `key` authorizes
/// it, until the export's `expires_at`.
#[utoipa::path(
    tag = "data protection",
    params(("export_id" = i64, Path, description = "Export id"), ArchiveQuery),
    responses(
        (status = 200, content_type = "application/zip", description = "The archive"),
        (status = 404, body = ErrorBody, description = "No such export, a key that is not its own, not ready yet, or the link expired (`not_found`)"),
        (status = 400, body = ErrorBody, description = "No `key` (`bad_request`)"),
        (status = 503, body = ErrorBody, description = "The store is unavailable; retry later (`unavailable`)"),
    ),
    security(())
)]
#[get("/exports/{export_id}/archive")]
pub async fn export_archive(
    state: web::Data<AppState>,
    export_id: web::Path<i64>,
    query: web::Query<ArchiveQuery>,
) -> Result<HttpResponse, HttpError> {
    let export_id = export_id.into_inner();
    let archive = state.exports.archive(export_id, &query.key).await?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, "application/zip"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"export-{export_id}.zip\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Some(size) = archive.size {
        response.no_chunking(size);
    }
    Ok(response.streaming(archive.body.map(|chunk| {
        chunk.map_err(|error| {
            tracing::warn!(%error, "export archive read failed mid-download");
            actix_web::error::ErrorInternalServerError("read failed")
        })
    })))
}
