//! Request ids, end to end: each request carries the caller's `X-Request-Id` when it is a
//! sensible one, or a fresh id; the id is in the request's log span, on every response (as
//! `X-Request-Id`) and in every error body, so a user's report, the proxy's log and ours meet.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The header, in both directions.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a client; a longer one is replaced.
const MAX_LEN: usize = 128;

tokio::task_local! {
    /// The id of the request being handled on this task, for error bodies.
    static CURRENT: String;
}

/// A request's id, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The id of the request this task is handling, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The caller's id if it is 1 to 128 visible ASCII characters of the kinds ids are made of
/// (letters, digits, `-_.:/+=@`), else a fresh one: no spaces, quotes or control characters
/// reach the logs from here.
fn chosen(offered: Option<&HeaderValue>) -> String {
    offered
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_LEN
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&byte))
        })
        .map_or_else(fresh, str::to_owned)
}

/// 128 random bits as 32 hex digits.
fn fresh() -> String {
    let mut random = [0_u8; 16];
    if getrandom::fill(&mut random).is_err() {
        // No randomness: a time-based id still tells requests apart in the logs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        return format!("{nanos:032x}");
    }
    random.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The middleware: outermost, so every answer — CORS preflights, 404s, errors of extractors
/// and handlers — carries the id, and error bodies are made while it is known.
pub async fn assign(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = chosen(request.headers().get(&HEADER));
    request.extensions_mut().insert(RequestId(id.clone()));
    // Handlers and extractors render their errors into responses inside this scope, so their
    // bodies get the id. (An `Err` from a middleware is rendered by the server later, without
    // it; none of ours answers that way.)
    let mut response = CURRENT
        .scope(id.clone(), next.call(request))
        .await?
        .map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use super::*;

    fn offered(id: &str) -> String {
        chosen(Some(&HeaderValue::from_str(id).expect("a header value")))
    }

    #[test]
    fn sensible_ids_are_kept_and_others_replaced() {
        assert_eq!(offered("3f1c2b7e-0d4a-4d55"), "3f1c2b7e-0d4a-4d55");
        let amazon = "Root=1-67891233-abcdef012345678912345678";
        assert_eq!(offered(amazon), amazon);
        let long = "x".repeat(129);
        for bad in ["", "has space", "quote\"", "semi;colon", long.as_str()] {
            let replaced = offered(bad);
            assert_ne!(replaced, bad);
            assert_eq!(replaced.len(), 32, "{replaced}");
        }
        assert_ne!(chosen(None), chosen(None));
    }
}
