//! The one error type of the use cases, shared by both transports: its code, the message
//! callers see and its retry hint are defined here; the HTTP status and headers are mapped
//! once in the api crate, the WebSocket `error` frame by [`ApiError::frame`].
//!
//! Policy: 4xx answers tell the caller what it did wrong, in words safe to show. 503 means a
//! dependency is down and the same request may succeed later. Anything else is a logged 500
//! with a generic body: causes (SQL, stack traces, file paths) never reach the wire.

use room_chats_store::StoreError;
use room_chats_types::frames::ServerFrame;
use room_chats_types::rules::RuleViolation;
use room_chats_types::{ErrorBody, ErrorCode};

use crate::retry_after::RetryAfter;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be parsed.
    #[error("{0}")]
    BadRequest(String),
    /// A field breaks a rule.
    #[error("{0}")]
    Validation(String),
    /// Message content breaks a rule.
    #[error("content {0}")]
    InvalidContent(RuleViolation),
    /// The body is over the size limit.
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    /// An upload larger than the file limit, or than what is left of the uploader's quota.
    #[error("{0}")]
    FileTooLarge(String),
    #[error("{0}")]
    UnsupportedType(String),
    #[error("the range lies outside the file of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// The body stopped arriving.
    #[error("the request body stopped arriving: nothing came for {} s", .0.as_secs())]
    RequestTimeout(std::time::Duration),
    /// Credentials missing or unacceptable. The reason is for the log only: callers always see
    /// the same message, so probing tokens teaches them nothing.
    #[error("authentication failed: {0}")]
    Unauthorized(&'static str),
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such thing, or one the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists but does not answer this method; carries the methods it does answer.
    #[error("this path answers {}", .0.join(", "))]
    MethodNotAllowed(Vec<&'static str>),
    /// The room is closed.
    #[error("the room is closed")]
    RoomClosed,
    /// The request contradicts existing data.
    #[error("{0}")]
    Conflict(&'static str),
    /// The caller exceeded a limit; retry later (after `retry_after`, when known).
    #[error("{message}")]
    RateLimited {
        /// What was exceeded.
        message: &'static str,
        /// When a retry would be accepted, if the limit knows.
        retry_after: Option<RetryAfter>,
    },
    /// The node's message writer is at capacity; retry after the given time.
    #[error("the service is at capacity; the message was not stored, retry shortly")]
    Overloaded {
        /// A hint for when to retry.
        retry_after: RetryAfter,
    },
    /// A dependency is down; the cause is logged, not sent.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a broken dependency; the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::InvalidContent(_) => ErrorCode::InvalidContent,
            Self::TooLarge(_) | Self::FileTooLarge(_) => ErrorCode::TooLarge,
            Self::UnsupportedType(_) => ErrorCode::UnsupportedType,
            Self::RangeNotSatisfiable { .. } => ErrorCode::RangeNotSatisfiable,
            Self::RequestTimeout(_) => ErrorCode::RequestTimeout,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::RoomClosed => ErrorCode::RoomClosed,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Overloaded { .. } => ErrorCode::Overloaded,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message callers see.
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthorized(_) => "missing, invalid or expired bearer token".to_owned(),
            Self::Unavailable(_) => "a dependency is unavailable; retry later".to_owned(),
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), self.public_message())
    }

    /// When a retry would be accepted, for errors that know.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::Overloaded { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Logs the causes callers are not shown: every transport calls this once per answer.
    pub fn log(&self) {
        match self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            Self::Unauthorized(reason) => tracing::info!(reason, "authentication refused"),
            _ => {}
        }
    }

    /// The same error as a WebSocket `error` frame answering the frame `reference` names:
    /// REST and the socket share one table of codes, messages and retry hints.
    pub fn frame(&self, reference: Option<String>) -> ServerFrame {
        ServerFrame::Error {
            code: self.code(),
            message: self.public_message(),
            reference,
            retry_after: self.retry_after().map(RetryAfter::secs),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("resource"),
            // A client whose order moved sees the room as everyone else who may not see it.
            StoreError::NoAccess => Self::NotFound("room"),
            StoreError::RoomClosed => Self::RoomClosed,
            StoreError::Overloaded { waited } => Self::Overloaded {
                retry_after: RetryAfter(waited),
            },
            StoreError::Conflict(why) => Self::Conflict(why),
            StoreError::Invalid(why) => Self::Validation(why.to_owned()),
            StoreError::Forbidden(why) => Self::Forbidden(why),
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            other @ (StoreError::Migration(_)
            | StoreError::Setting(_)
            | StoreError::Query(_)
            | StoreError::Unreadable(_)
            | StoreError::Task(_)) => Self::Internal(other.to_string()),
        }
    }
}
