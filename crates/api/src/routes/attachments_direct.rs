//! `POST /chat/{room_id}/attachments/direct` (a presigned URL to put a file straight into the
//! object store) and `POST /attachments/{id}/complete` (check it now).

use actix_web::{HttpResponse, post, web};
use room_chats_types::{AttachmentDto, DirectUploadBody, DirectUploadDto, ErrorBody};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// Starts a direct upload (S3-compatible stores only): answers a presigned URL that accepts a
/// `PUT` of exactly `size` bytes of `content_type` until `expires_at`, so the bytes go from the
/// client to the store without passing through the service. The same checks as a streamed
/// upload apply first (the room, the type allowlist, the size limit, the rate and the quota).
/// Then send the `attachment_id` in a message: the service checks the object (its length,
/// its type read from its bytes, its hash) before the message is stored.
#[utoipa::path(
    tag = "attachments",
    params(("room_id" = i64, Path, description = "Room id")),
    request_body = DirectUploadBody,
    responses(
        (status = 201, body = DirectUploadDto, description = "Put the file to `url` with `headers`"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The room is closed (`room_closed`), or files are kept on the service's disk, where there are no direct uploads (`conflict`)"),
        (status = 413, body = ErrorBody, description = "Larger than `ATTACHMENT_MAX_BYTES`, or than what is left of the uploader's daily quota (`too_large`)"),
        (status = 415, body = ErrorBody, description = "The type is not allowed (`unsupported_type`)"),
        (status = 422, body = ErrorBody, description = "A size below 1, or an empty or overlong name or type (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "More uploads this minute than `ATTACHMENT_UPLOADS_PER_MINUTE` (`rate_limited`, with `Retry-After`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/attachments/direct")]
pub async fn start_direct_upload(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    body: JsonBody<DirectUploadBody>,
) -> Result<HttpResponse, HttpError> {
    let upload = state
        .attachments
        .start_direct_upload(&caller, room_id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(upload))
}

/// Checks the caller's direct upload now (its length, its type read from its bytes, its hash)
/// and answers its metadata, so a client can show it before sending; sending it in a message
/// does the same. A checked or streamed upload answers as it is.
#[utoipa::path(
    tag = "attachments",
    params(("attachment_id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, body = AttachmentDto, description = "Checked"),
        (status = 403, body = ErrorBody, description = "Not the caller's upload, or a service token (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such attachment, or one in a room the caller cannot see (`not_found`)"),
        (status = 409, body = ErrorBody, description = "Nothing was put to the upload URL yet (`conflict`)"),
        (status = 415, body = ErrorBody, description = "The bytes are not of the declared type (`unsupported_type`)"),
        (status = 422, body = ErrorBody, description = "The object is not the declared length (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/attachments/{attachment_id}/complete")]
pub async fn complete_direct_upload(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    attachment_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let attachment = state
        .attachments
        .complete(&caller, attachment_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(attachment))
}
