//! `GET`, `PUT` and `DELETE /users/{user_id}/legal-hold`: a legal hold on a person (admins and
//! the platform service): no room they are a member of is purged while it is set.

use actix_web::{HttpResponse, delete, get, put, web};
use room_chats_types::schema::ExternalId;
use room_chats_types::{ErrorBody, UserLegalHoldBody, UserLegalHoldDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// The legal hold on the person, if one is set.
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    responses(
        (status = 200, body = UserLegalHoldDto, description = "The hold"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No hold on this person (`not_found`)"),
        (status = 422, body = ErrorBody, description = "A user id breaking the id rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/users/{user_id}/legal-hold")]
pub async fn user_legal_hold(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let hold = state
        .retention
        .user_hold(&caller, user_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(hold))
}

/// Places a legal hold on the person (or changes its reason): no room they are a member of
/// is purged while it is set. Idempotent; recorded in the audit trail (`legal_hold_placed`).
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    request_body = UserLegalHoldBody,
    responses(
        (status = 200, body = UserLegalHoldDto, description = "The hold now"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service (`forbidden`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "A user id or reason breaking its rules, or a field of the wrong type (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/users/{user_id}/legal-hold")]
pub async fn place_user_legal_hold(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
    body: JsonBody<UserLegalHoldBody>,
) -> Result<HttpResponse, HttpError> {
    let hold = state
        .retention
        .place_user_hold(&caller, user_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(hold))
}

/// Lifts the legal hold on the person; recorded in the audit trail (`legal_hold_lifted`).
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    responses(
        (status = 204, description = "Lifted"),
        (status = 403, body = ErrorBody, description = "Only admins and the platform service (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No hold on this person (`not_found`)"),
        (status = 422, body = ErrorBody, description = "A user id breaking the id rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/users/{user_id}/legal-hold")]
pub async fn lift_user_legal_hold(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    state
        .retention
        .lift_user_hold(&caller, user_id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
