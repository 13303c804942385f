//! Error codes and the error body shared by REST answers and (later) WebSocket `error` frames.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stable, machine-readable error code. Clients branch on this, never on the message text,
/// so a variant's spelling is part of the public contract and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be parsed (malformed JSON, wrong types, bad query string).
    BadRequest,
    /// The request parsed but a field breaks a rule (length, range, format).
    ValidationFailed,
    /// A WebSocket frame has a `type` this protocol does not know.
    UnknownType,
    /// Message content is empty, too long or holds forbidden characters.
    InvalidContent,
    /// The body is larger than the configured limit.
    TooLarge,
    /// An uploaded file's type (read from its bytes) is not among the allowed ones.
    UnsupportedType,
    /// The `Range` asked for lies outside the file.
    RangeNotSatisfiable,
    /// The request body stopped arriving: nothing came for the configured time.
    RequestTimeout,
    /// Missing, malformed, expired or otherwise unacceptable credentials.
    Unauthorized,
    /// The caller may see the resource but its role may not take this action.
    Forbidden,
    /// No such resource, or one the caller may not see (the two are indistinguishable).
    NotFound,
    /// The HTTP method is not supported on this path.
    MethodNotAllowed,
    /// The room is closed: it can be read but not written to.
    RoomClosed,
    /// The request conflicts with the current state of the resource.
    Conflict,
    /// Too many requests; retry later.
    RateLimited,
    /// The node is at capacity: the message was refused, not queued; retry shortly with the
    /// same `client_id`.
    Overloaded,
    /// A dependency (database, broker) is unavailable; retry later.
    Unavailable,
    /// An unexpected failure on our side; details are in the server log, never in the body.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::ValidationFailed => "validation_failed",
            Self::UnknownType => "unknown_type",
            Self::InvalidContent => "invalid_content",
            Self::TooLarge => "too_large",
            Self::UnsupportedType => "unsupported_type",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::RequestTimeout => "request_timeout",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RoomClosed => "room_closed",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and a human-readable explanation of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Explanation for humans; may change between versions.
    #[schema(example = "room not found")]
    pub message: String,
    /// The request's id (its `X-Request-Id`, or one the service made): quote it when
    /// reporting a problem. Absent over WebSockets, whose logs carry a connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "3f1c2b7e0d4a4d559d0e1c0a2b3c4d5e")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// The same body, naming the request it answers.
    #[must_use]
    pub fn for_request(mut self, request_id: Option<String>) -> Self {
        self.error.request_id = request_id;
        self
    }

    /// Builds an error body.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
                request_id: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_the_serialized_code() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::ValidationFailed,
            ErrorCode::UnknownType,
            ErrorCode::InvalidContent,
            ErrorCode::TooLarge,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::RoomClosed,
            ErrorCode::Conflict,
            ErrorCode::RateLimited,
            ErrorCode::Overloaded,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
        }
    }
}
