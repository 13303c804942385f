//! Every error answer over HTTP: the core's [`ApiError`] mapped once to a status, its headers
//! and the JSON body of the one error table (the WebSocket `error` frame comes from the same
//! enum, see [`ApiError::frame`]).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use room_chats_core::error::ApiError;

/// An [`ApiError`] as an HTTP answer. Handlers return it; `?` converts any core error.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HttpError(#[from] pub ApiError);

impl HttpError {
    /// The API error an actix error carries, if it is one of ours (not one of actix's own
    /// refusals): what metrics count and what a refused WebSocket reports in its frame.
    pub fn carried_by(error: &actix_web::Error) -> Option<&ApiError> {
        error.as_error::<Self>().map(|error| &error.0)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::InvalidContent(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooLarge(_) | ApiError::FileTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RoomClosed | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let mut response = HttpResponse::build(self.status_code());
        match &self.0 {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::MethodNotAllowed(methods) => {
                response.insert_header((header::ALLOW, methods.join(", ")));
            }
            ApiError::RangeNotSatisfiable { size } => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            ApiError::RateLimited { .. } | ApiError::Overloaded { .. } => {
                if let Some(retry) = self.0.retry_after() {
                    response.insert_header((header::RETRY_AFTER, retry.header_secs()));
                }
            }
            _ => {}
        }
        response.json(self.0.body().for_request(crate::request_id::current()))
    }
}
