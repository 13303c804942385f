//! Who is calling: the bearer token of a request, found where clients may put it and verified
//! by the core's [`TokenVerifier`].

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use room_chats_core::auth::{Caller, TokenVerifier};
use room_chats_core::error::ApiError;
use room_chats_types::frames::BEARER_PROTOCOL_PREFIX;

use crate::error::HttpError;
use crate::request_id::RequestId;

/// Finds the token of a request: `Authorization: Bearer …` first, then a `bearer.<jwt>` entry
/// of `Sec-WebSocket-Protocol` (browsers cannot set headers on WebSockets), then `?token=`.
/// The query value is never logged (see `telemetry`).
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    let from_subprotocol = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|protocol| protocol.trim().strip_prefix(BEARER_PROTOCOL_PREFIX));
    if let Some(token) = from_subprotocol {
        return Some(token.to_owned());
    }
    web::Query::<TokenQuery>::from_query(request.query_string())
        .ok()
        .and_then(|query| query.into_inner().token)
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The caller of a request, verified from its bearer token: the extractor every handler that
/// needs a caller takes (`Authenticated(caller): Authenticated`).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = HttpError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(request).map(Self).map_err(HttpError::from))
    }
}

fn authenticate(request: &HttpRequest) -> Result<Caller, ApiError> {
    let verifier = request
        .app_data::<web::Data<TokenVerifier>>()
        .ok_or_else(|| ApiError::Internal("token verifier is not configured".to_owned()))?;
    let token = bearer_token(request).ok_or(ApiError::Unauthorized("no bearer token"))?;
    let mut caller = verifier.verify(&token)?;
    caller.request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    Ok(caller)
}
