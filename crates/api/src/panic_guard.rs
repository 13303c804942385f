//! Panics made visible. A panic in a handler is a bug: no input may reach one. But if one
//! does, actix drops the connection without a word (the client sees an empty reply, a
//! WebSocket a close without a code), and the default hook prints a multi-line message outside
//! the structured log. Here a panic while handling a request becomes a 500 with the JSON error
//! body and its request id; one while handling a WebSocket frame becomes an `internal` error
//! frame and close 1011; both are counted (`panics_total{transport}`) and logged as errors.
//! The test suite fails any test whose node counted one.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use futures_util::FutureExt;

use room_chats_core::error::ApiError;
use room_chats_core::metrics::{Metrics, TransportLabels};

use crate::request_id::RequestId;
use crate::state::AppState;

/// Logs every panic of the process as one structured error line (message, place, and the
/// request it happened in), instead of the default hook's text on stderr. Call once, early in
/// `main`; the tests keep the default hook, so their own failures read as usual.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|place| format!("{}:{}", place.file(), place.line()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::capture();
        tracing::error!(
            panic = %payload_text(info.payload()),
            %location,
            request_id = crate::request_id::current().unwrap_or_default(),
            thread = std::thread::current().name().unwrap_or_default(),
            backtrace = %backtrace,
            "panic"
        );
    }));
}

/// The middleware: answers a request whose handling panicked with a 500.
pub async fn catch(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // The request itself is moved into the handler (and cannot be cloned before routing), so
    // the answer to a panic is an error that carries what it needs: the request id.
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    match AssertUnwindSafe(next.call(request)).catch_unwind().await {
        Ok(answered) => answered,
        Err(panic) => {
            if let Some(state) = state {
                count(&state.metrics, "http");
            }
            Err(HandlerPanicked {
                cause: ApiError::Internal(format!(
                    "the handler panicked: {}",
                    payload_text(panic.as_ref())
                )),
                request_id,
            }
            .into())
        }
    }
}

/// A request whose handler panicked: answered by actix as a 500 with the API's error body,
/// the request id in it and in `X-Request-Id` (the middlewares that add it see only an error).
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
struct HandlerPanicked {
    cause: ApiError,
    request_id: Option<String>,
}

impl ResponseError for HandlerPanicked {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        self.cause.log();
        let mut response = HttpResponse::build(self.status_code());
        if let Some(value) = self
            .request_id
            .as_deref()
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            response.insert_header((crate::request_id::HEADER, value));
        }
        response.json(self.cause.body().for_request(self.request_id.clone()))
    }
}

/// Runs `handle` (the handling of one client frame); answers `None` if it panicked, after
/// counting and logging it. The caller then ends the connection: its state may be half-changed.
pub(crate) fn contain<R>(metrics: &Metrics, conn: u64, handle: impl FnOnce() -> R) -> Option<R> {
    match std::panic::catch_unwind(AssertUnwindSafe(handle)) {
        Ok(result) => Some(result),
        Err(panic) => {
            count(metrics, "ws");
            tracing::error!(
                conn,
                panic = %payload_text(panic.as_ref()),
                "a websocket frame's handler panicked; the connection is closed"
            );
            None
        }
    }
}

fn count(metrics: &Metrics, transport: &'static str) {
    metrics
        .panics
        .get_or_create(&TransportLabels { transport })
        .inc();
}

/// The text a panic was raised with (`panic!("…")`, `expect("…")`), when it is text.
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

#[cfg(test)]
mod tests {
    use actix_web::test as web_test;
    use actix_web::{App, HttpResponse, web};

    use super::*;

    async fn panicking() -> HttpResponse {
        panic!("a bug reached by some input");
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_with_the_error_body() {
        let app = web_test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(catch))
                .wrap(actix_web::middleware::from_fn(crate::request_id::assign))
                .route("/boom", web::get().to(panicking))
                .route("/fine", web::get().to(HttpResponse::NoContent)),
        )
        .await;
        let response = web_test::try_call_service(
            &app,
            web_test::TestRequest::get()
                .uri("/boom")
                .insert_header(("x-request-id", "req-42"))
                .to_request(),
        )
        .await
        .err()
        .map(|error| error.error_response());
        let Some(response) = response else {
            panic!("the panic came back as an answer, not as the error actix renders");
        };
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(
            response
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some("req-42")
        );
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["message"], "internal error");
        assert_eq!(body["error"]["request_id"], "req-42");
        // The same worker goes on answering.
        let response =
            web_test::call_service(&app, web_test::TestRequest::get().uri("/fine").to_request())
                .await;
        assert_eq!(response.status().as_u16(), 204);
    }

    #[test]
    fn a_panicking_frame_handler_is_counted_and_contained() {
        let metrics = Metrics::default();
        let contained = contain(&metrics, 7, || -> u8 { panic!("bug") });
        assert_eq!(contained, None);
        assert_eq!(contain(&metrics, 7, || 3), Some(3));
        let counted = metrics
            .panics
            .get_or_create(&TransportLabels { transport: "ws" })
            .get();
        assert_eq!(counted, 1);
    }
}
