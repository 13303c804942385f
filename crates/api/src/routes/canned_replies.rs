//! `/canned-replies…`: the admins' shared saved answers (role `admin`).

use actix_web::{HttpResponse, delete, get, post, put, web};
use room_chats_types::{CannedReplyBody, CannedReplyDto, ErrorBody};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Saves a reply for every admin to insert.
#[utoipa::path(
    tag = "canned replies",
    request_body = CannedReplyBody,
    responses(
        (status = 201, body = CannedReplyDto, description = "Saved"),
        (status = 403, body = ErrorBody, description = "Only admins keep canned replies (`forbidden`)"),
        (status = 409, body = ErrorBody, description = "Another reply has the shortcut, or the maximum number of replies (1,000) exist (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "A title or shortcut that breaks its rules (`validation_failed`); content that breaks a message's rules (`invalid_content`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/canned-replies")]
pub async fn create_reply(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: JsonBody<CannedReplyBody>,
) -> Result<HttpResponse, HttpError> {
    let reply = state.canned.create(&caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(reply))
}

/// Every saved reply, by title.
#[utoipa::path(
    tag = "canned replies",
    responses(
        (status = 200, body = Vec<CannedReplyDto>, description = "The replies, by title"),
        (status = 403, body = ErrorBody, description = "Only admins keep canned replies (`forbidden`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/canned-replies")]
pub async fn list_replies(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(state.canned.list(&caller).await?))
}

/// One saved reply.
#[utoipa::path(
    tag = "canned replies",
    params(("reply_id" = i64, Path, description = "Reply id")),
    responses(
        (status = 200, body = CannedReplyDto, description = "The reply"),
        (status = 403, body = ErrorBody, description = "Only admins keep canned replies (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such reply (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/canned-replies/{reply_id}")]
pub async fn get_reply(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    reply_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let reply = state.canned.get(&caller, reply_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(reply))
}

/// Replaces a reply: its title, text and shortcut (omitted or `null` removes the shortcut).
#[utoipa::path(
    tag = "canned replies",
    params(("reply_id" = i64, Path, description = "Reply id")),
    request_body = CannedReplyBody,
    responses(
        (status = 200, body = CannedReplyDto, description = "The reply as saved"),
        (status = 403, body = ErrorBody, description = "Only admins keep canned replies (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such reply (`not_found`)"),
        (status = 409, body = ErrorBody, description = "Another reply has the shortcut (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "A title or shortcut that breaks its rules (`validation_failed`); content that breaks a message's rules (`invalid_content`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[put("/canned-replies/{reply_id}")]
pub async fn replace_reply(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    reply_id: web::Path<i64>,
    body: JsonBody<CannedReplyBody>,
) -> Result<HttpResponse, HttpError> {
    let reply = state
        .canned
        .replace(&caller, reply_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(reply))
}

/// Deletes a reply.
#[utoipa::path(
    tag = "canned replies",
    params(("reply_id" = i64, Path, description = "Reply id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody, description = "Only admins keep canned replies (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such reply (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/canned-replies/{reply_id}")]
pub async fn delete_reply(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    reply_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    state.canned.delete(&caller, reply_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
