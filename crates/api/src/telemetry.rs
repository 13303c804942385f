//! The request span. The default span of tracing-actix-web records the full target, query
//! string included, and `?token=` would put bearer tokens in the logs: ours records the path
//! only.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use crate::request_id::RequestId;

/// One span per request with method, path, matched route, request id and status.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            route = request.match_pattern().unwrap_or_default(),
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), "request failed");
            } else {
                tracing::info!(status = status.as_u16(), "request done");
            }
        });
    }
}
