//! `GET` and `PUT /chat/{room_id}/retention`: a room's own retention and legal hold (admins).

use actix_web::{HttpResponse, get, put, web};
use room_chats_types::{ErrorBody, RoomRetentionBody, RoomRetentionDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// The room's retention: its own setting, its legal hold, the members whose hold keeps it,
/// what applies, and how far its history was purged (docs/DATA-PROTECTION.md).
#[utoipa::path(
    tag = "data protection",
    params(("room_id" = i64, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomRetentionDto, description = "The room's retention"),
        (status = 403, body = ErrorBody, description = "Only admins (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}/retention")]
pub async fn room_retention(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let retention = state
        .retention
        .room_retention(&caller, room_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(retention))
}

/// Replaces the room's own retention (`history_days`, `null` for the global policy) and its
/// legal hold: while held, nothing of the room is purged. Each change is recorded in the
/// audit trail (`room_retention_changed`, `legal_hold_placed`, `legal_hold_lifted`).
#[utoipa::path(
    tag = "data protection",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body = RoomRetentionBody,
    responses(
        (status = 200, body = RoomRetentionDto, description = "The room's retention now"),
        (status = 403, body = ErrorBody, description = "Only admins (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room (`not_found`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "`history_days` outside 1–36,500, a `hold_reason` without `legal_hold` or breaking its rules, or a field missing or of the wrong type (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/chat/{room_id}/retention")]
pub async fn set_room_retention(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<RoomRetentionBody>,
) -> Result<HttpResponse, HttpError> {
    let retention = state
        .retention
        .set_room_retention(&caller, room_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(retention))
}
