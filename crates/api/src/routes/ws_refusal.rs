//! Refused WebSocket handshakes a browser can read. A browser's `WebSocket` sees a refused
//! upgrade only as close code 1006, whatever the JSON said. A client that asks for the
//! `room-chats.v1` subprotocol (every browser client does, to pass its token) is therefore
//! refused inside the protocol: the upgrade is accepted, one `error` frame says why, and the
//! socket closes at once with 4000 + the status's last two digits (4001 unauthorized, 4003
//! forbidden, 4004 not found, 4022 validation, 4029 too many connections; 1013 when a
//! dependency is down, 1011 on an internal error). Other clients get the HTTP answer as
//! before.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason};
use room_chats_types::ErrorCode;
use room_chats_types::frames::{SUBPROTOCOL, ServerFrame};

use crate::error::HttpError;
use crate::state::AppState;

/// Answers `opened`, or its refusal inside the protocol when the client can only read that.
pub async fn readable(
    request: &HttpRequest,
    opened: Result<HttpResponse, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let refused = match opened {
        Ok(response) => return Ok(response),
        Err(refused) => refused,
    };
    if !asks_for_subprotocol(request) {
        return Err(refused);
    }
    // The refused request's body is gone (or never read); the refusal needs none.
    let Ok(no_body) = web::Payload::from_request(request, &mut Payload::None).await else {
        return Err(refused);
    };
    let Ok((response, mut session, _frames)) =
        actix_ws::handle_with_protocols(request, no_body, &[SUBPROTOCOL])
    else {
        // Not a WebSocket handshake after all: the HTTP answer stands.
        return Err(refused);
    };
    if let (Some(state), Some(api)) = (
        request.app_data::<web::Data<AppState>>(),
        HttpError::carried_by(&refused),
    ) {
        state.metrics.refused(api.code(), "ws");
    }
    let (frame, close) = in_protocol(&refused);
    actix_web::rt::spawn(async move {
        if let Ok(text) = serde_json::to_string(&frame) {
            let _ = session.text(text).await;
        }
        let _ = session.close(Some(close)).await;
    });
    Ok(response)
}

/// Whether `Sec-WebSocket-Protocol` offers `room-chats.v1`.
fn asks_for_subprotocol(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|offered| offered.trim() == SUBPROTOCOL)
}

/// The `error` frame and the close of a refusal.
fn in_protocol(refused: &actix_web::Error) -> (ServerFrame, CloseReason) {
    let status = refused.as_response_error().status_code();
    let frame = match HttpError::carried_by(refused) {
        Some(api) => api.frame(None),
        // Not ours (actix's own refusals): the status says enough.
        None => ServerFrame::Error {
            code: if status.is_server_error() {
                ErrorCode::Internal
            } else {
                ErrorCode::BadRequest
            },
            message: status
                .canonical_reason()
                .unwrap_or("refused")
                .to_ascii_lowercase(),
            reference: None,
            retry_after: None,
        },
    };
    let code = match status.as_u16() {
        status @ 400..=499 => CloseCode::Other(3600 + status),
        503 => CloseCode::Again,
        _ => CloseCode::Error,
    };
    let description = match &frame {
        ServerFrame::Error { code, .. } => code.as_str().to_owned(),
        _ => String::new(),
    };
    (
        frame,
        CloseReason {
            code,
            description: Some(description),
        },
    )
}

#[cfg(test)]
mod tests {
    use room_chats_core::error::ApiError;

    use super::*;

    #[test]
    fn refusals_close_with_4000_plus_their_status() {
        let cases = [
            (ApiError::Unauthorized("expired"), 4001, "unauthorized"),
            (ApiError::Forbidden("origin"), 4003, "forbidden"),
            (ApiError::NotFound("room"), 4004, "not_found"),
            (
                ApiError::Validation("since".into()),
                4022,
                "validation_failed",
            ),
        ];
        for (error, code, name) in cases {
            let (frame, close) = in_protocol(&HttpError::from(error).into());
            assert_eq!(u16::from(close.code), code);
            assert_eq!(close.description.as_deref(), Some(name));
            assert!(matches!(frame, ServerFrame::Error { .. }));
        }
        let (_, close) = in_protocol(&HttpError::from(ApiError::Unavailable("db".into())).into());
        assert_eq!(close.code, CloseCode::Again);
    }
}
