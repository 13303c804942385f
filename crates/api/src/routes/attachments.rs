//! `POST /chat/{room_id}/attachments` (upload, streamed) and `GET /attachments/{id}`
//! (download, with `Range`, or a redirect to the object store).

use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::http::header::{self, ContentDisposition, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, post, web};
use futures_util::StreamExt;
use room_chats_types::{AttachmentDto, ErrorBody};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use room_chats_core::attachments::{ByteRange, Download, Upload, content_disposition};
use room_chats_core::auth::Caller;
use room_chats_core::error::ApiError;

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::request_body;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Room for the multipart framing around the file (boundaries, part headers) and any small
/// fields beside it: a `multipart/form-data` body may be this much larger than the file limit.
const MULTIPART_FRAMING_BYTES: u64 = 16 * 1024;

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the form; the handler streams it part by part.
pub struct UploadForm {
    /// The file; its part's `filename` names it.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Query of a raw (non-multipart) upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for a raw body (a multipart part names its file itself).
    filename: Option<String>,
}

/// Uploads a file into the room, streamed: either `multipart/form-data` with one part named
/// `file` (what a browser's `FormData` sends), or the raw bytes as the body with any other
/// `Content-Type` and `?filename=`. The type is read from the file's first bytes and must be
/// allowed (`ATTACHMENT_TYPES`); the client's `Content-Type` is not trusted. Refused at once
/// when `Content-Length` says it is too large, and cut off the moment it passes the limit
/// otherwise; an upload that fails midway leaves nothing stored.
#[utoipa::path(
    tag = "attachments",
    params(("room_id" = i64, Path, description = "Room id"), UploadQuery),
    request_body(
        description = "The file, as a multipart form or as the raw body",
        content(
            (UploadForm = "multipart/form-data"),
            ("application/octet-stream"),
        ),
    ),
    responses(
        (status = 201, body = AttachmentDto, description = "Stored"),
        (status = 400, body = ErrorBody, description = "A multipart body without a `file` part, or a body that broke off (`bad_request`)"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 409, body = ErrorBody, description = "The room is closed (`room_closed`)"),
        (status = 413, body = ErrorBody, description = "Larger than `ATTACHMENT_MAX_BYTES`, or than what is left of the uploader's daily quota (`too_large`)"),
        (status = 415, body = ErrorBody, description = "The file's bytes are not of an allowed type (`unsupported_type`)"),
        (status = 422, body = ErrorBody, description = "An empty file (`validation_failed`)"),
        (status = 429, body = ErrorBody, description = "More uploads this minute than `ATTACHMENT_UPLOADS_PER_MINUTE` (`rate_limited`, with `Retry-After`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/chat/{room_id}/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    room_id: web::Path<i64>,
    query: web::Query<UploadQuery>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match store_upload(
        &state,
        &caller,
        room_id.into_inner(),
        query.into_inner(),
        &request,
        payload,
    )
    .await
    {
        Ok(attachment) => HttpResponse::Created().json(attachment),
        Err(error) => {
            // A refused upload's body may be partly unread: close the connection rather than
            // leave the client to send the rest into the next request's place.
            let mut response = HttpError::from(error).error_response();
            response
                .head_mut()
                .set_connection_type(ConnectionType::Close);
            response
        }
    }
}

async fn store_upload(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    query: UploadQuery,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<AttachmentDto, ApiError> {
    let declared_len = declared_length(request)?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let attachments = &state.attachments;
    let body_error = |error: PayloadError| match error {
        PayloadError::Overflow => file_too_large(attachments.max_bytes()),
        other => request_body::refusal(&other, request)
            .unwrap_or_else(|| ApiError::BadRequest(format!("the upload broke off: {other}"))),
    };
    if !is_multipart {
        let file = Upload {
            filename: query.filename.unwrap_or_default(),
            declared_len,
            body: Box::pin(
                attachments
                    .metered(payload)
                    .map(|chunk| chunk.map_err(body_error)),
            ),
        };
        return attachments.upload(caller, room_id, file).await;
    }
    // The whole form, file and framing and any other parts, within the file limit and the
    // allowance for the rest.
    let max_body = attachments.max_bytes() + MULTIPART_FRAMING_BYTES;
    if declared_len.is_some_and(|len| len > max_body) {
        return Err(file_too_large(attachments.max_bytes()));
    }
    let mut read = 0_u64;
    let body = attachments.metered(payload.map(move |chunk| {
        let chunk = chunk?;
        read += chunk.len() as u64;
        if read > max_body {
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    }));
    let mut form = Multipart::new(request.headers(), body);
    let form_error = |error: MultipartError| match error {
        MultipartError::Payload(error) => body_error(error),
        other => ApiError::BadRequest(format!("unreadable multipart body: {other}")),
    };
    let mut others_left = MULTIPART_FRAMING_BYTES;
    let field = loop {
        match form.next().await {
            Some(Ok(field)) if field.name() == Some("file") => break field,
            Some(Ok(mut other)) => {
                // Small fields an app adds beside the file are read past; nothing else may be
                // large.
                while let Some(chunk) = other.next().await {
                    let chunk = chunk.map_err(form_error)?;
                    others_left = others_left.checked_sub(chunk.len() as u64).ok_or_else(|| {
                        ApiError::FileTooLarge(format!(
                            "the form's parts other than `file` hold more than \
                                 {MULTIPART_FRAMING_BYTES} bytes; send the file alone"
                        ))
                    })?;
                }
            }
            Some(Err(error)) => return Err(form_error(error)),
            None => {
                return Err(ApiError::BadRequest(
                    "the multipart body has no part named file".to_owned(),
                ));
            }
        }
    };
    let filename = field
        .content_disposition()
        .and_then(ContentDisposition::get_filename)
        .unwrap_or_default()
        .to_owned();
    let file = Upload {
        filename,
        declared_len: None,
        body: field.map(|chunk| chunk.map_err(form_error)),
    };
    let stored = attachments.upload(caller, room_id, file).await?;
    read_form_end(&mut form).await;
    Ok(stored)
}

/// Reads what follows the file in its form (the closing boundary, a field an app put after
/// it), a little at most, so the connection can serve the next request. A form with more than
/// that after its file is left unread: its connection is closed after the answer.
async fn read_form_end(form: &mut Multipart) {
    let mut left = MULTIPART_FRAMING_BYTES;
    while let Some(Ok(mut part)) = form.next().await {
        while let Some(Ok(chunk)) = part.next().await {
            let Some(rest) = left.checked_sub(chunk.len() as u64) else {
                return;
            };
            left = rest;
        }
    }
}

fn file_too_large(max_bytes: u64) -> ApiError {
    ApiError::FileTooLarge(format!(
        "the file is larger than the limit of {max_bytes} bytes"
    ))
}

/// The request's `Content-Length`, if it gave a readable one.
fn declared_length(request: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest("Content-Length is not a number".to_owned()))
}

/// Downloads an attachment, for whoever can see its room (404 for anyone else, as for a
/// missing one). On local disk the bytes come from the service, with single-range `Range`
/// support (206); on S3 the answer is a redirect to a presigned URL valid for
/// `ATTACHMENT_URL_TTL_SECS`. Images are served inline, every other type as a download;
/// always with `X-Content-Type-Options: nosniff`.
#[utoipa::path(
    tag = "attachments",
    params(
        ("attachment_id" = i64, Path, description = "Attachment id"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=start-end`, `bytes=start-` or `bytes=-suffix`"),
    ),
    responses(
        (status = 200, description = "The whole file, as the type it was stored as (`content_type` of the attachment: `image/png`, `application/pdf`, `text/plain`, …)", content_type = "*/*", body = Vec<u8>),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "*/*", body = Vec<u8>),
        (status = 302, description = "On S3: `Location` is a presigned URL of the file"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such attachment, or one in a room the caller cannot see (`not_found`)"),
        (status = 409, body = ErrorBody, description = "A direct upload not completed yet (`conflict`)"),
        (status = 416, body = ErrorBody, description = "The range lies outside the file (`range_not_satisfiable`, with `Content-Range: bytes */size`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/attachments/{attachment_id}")]
pub async fn download(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    attachment_id: web::Path<i64>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let attachment_id = attachment_id.into_inner();
    let attachments = &state.attachments;
    let range = requested_range(&request);
    match attachments.download(&caller, attachment_id, range).await? {
        Download::Redirect(url) => Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, url.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Download::Bytes {
            attachment,
            range,
            body,
        } => {
            let size = u64::try_from(attachment.size).unwrap_or(0);
            let mut response = match &range {
                Some(range) => {
                    let mut partial = HttpResponse::PartialContent();
                    partial.insert_header((
                        header::CONTENT_RANGE,
                        format!("bytes {}-{}/{size}", range.start, range.end - 1),
                    ));
                    partial
                }
                None => HttpResponse::Ok(),
            };
            let length = range.map_or(size, |range| range.end - range.start);
            response
                .insert_header((header::CONTENT_TYPE, content_type_header(&attachment)))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    content_disposition(&attachment.filename, &attachment.content_type),
                ))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; sandbox",
                ))
                .insert_header((header::ACCEPT_RANGES, "bytes"))
                .insert_header((header::ETAG, format!("\"{}\"", attachment.sha256)))
                .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
                .no_chunking(length);
            Ok(response.streaming(body.map(|chunk| {
                chunk.map_err(|error| {
                    tracing::warn!(%error, "attachment read failed mid-download");
                    actix_web::error::ErrorInternalServerError("read failed")
                })
            })))
        }
    }
}

/// A small JPEG of an image attachment (at most 320 pixels on a side, turned upright), for
/// chat lists and message bubbles; offered when the attachment's `preview` is true. Made after
/// the upload, or at the first request for it.
#[utoipa::path(
    tag = "attachments",
    params(("attachment_id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The preview", content_type = "image/jpeg", body = Vec<u8>),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such attachment, one in a room the caller cannot see, or one without a preview: not an image, larger than 40 megapixels, or not decodable (`not_found`)"),
        (status = 409, body = ErrorBody, description = "A direct upload not completed yet (`conflict`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/attachments/{attachment_id}/preview")]
pub async fn preview(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    attachment_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    let (attachment, jpeg) = state
        .attachments
        .preview(&caller, attachment_id.into_inner())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/jpeg"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::ETAG, format!("\"preview-{}\"", attachment.sha256)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .body(jpeg))
}

/// The one byte range asked for; several ranges, or a header that does not parse, are
/// answered with the whole file (as RFC 9110 allows).
fn requested_range(request: &HttpRequest) -> Option<ByteRange> {
    let value = request.headers().get(header::RANGE)?.to_str().ok()?;
    let header::Range::Bytes(mut specs) = value.parse::<header::Range>().ok()? else {
        return None;
    };
    if specs.len() != 1 {
        return None;
    }
    Some(match specs.pop()? {
        header::ByteRangeSpec::FromTo(first, last) => ByteRange::FromTo(first, last),
        header::ByteRangeSpec::From(first) => ByteRange::From(first),
        header::ByteRangeSpec::Last(length) => ByteRange::Last(length),
    })
}

fn content_type_header(attachment: &AttachmentDto) -> HeaderValue {
    HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"))
}
