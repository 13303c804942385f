//! `POST` and `GET /users/{user_id}/erasure`: the platform erases a person
//! (docs/DATA-PROTECTION.md#erasure).

use actix_web::{HttpResponse, get, post, web};
use room_chats_types::schema::ExternalId;
use room_chats_types::{ErasureDto, ErrorBody};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Erases a person: their display name becomes a pseudonym, the words and files of every
/// message they wrote (and of every replaced version, stored frame and queued delivery that
/// carried them) are removed, their push subscriptions, read markers and mute settings
/// forgotten; rooms and seqs stay. Runs in the background within seconds (poll `GET`);
/// `user.erased` is sent to webhooks when done. Asking again is harmless. The platform
/// service only; recorded in the audit trail (`erasure_requested`).
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    responses(
        (status = 202, body = ErasureDto, description = "Requested: `running` until done"),
        (status = 403, body = ErrorBody, description = "Only the platform service (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A user id breaking the id rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/users/{user_id}/erasure")]
pub async fn request_erasure(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let erasure = state
        .erasures
        .request(&caller, user_id.into_inner())
        .await?;
    Ok(HttpResponse::Accepted().json(erasure))
}

/// Where the person's erasure stands.
#[utoipa::path(
    tag = "data protection",
    params(("user_id" = ExternalId, Path, description = "The person's user id (the `sub` of their tokens)")),
    responses(
        (status = 200, body = ErasureDto, description = "The erasure: `running` or `done`"),
        (status = 403, body = ErrorBody, description = "Only the platform service and admins (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No erasure of this person was requested (`not_found`)"),
        (status = 422, body = ErrorBody, description = "A user id breaking the id rules (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/users/{user_id}/erasure")]
pub async fn erasure_status(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let erasure = state.erasures.status(&caller, user_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(erasure))
}
