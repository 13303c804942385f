//! Request bodies that end. Two things actix-http does not do for us:
//!
//! - **A body that stops arriving is answered.** Past the request head (which actix times out
//!   itself), a client can hold a connection and a handler for ever by sending nothing more
//!   (slowloris). Every body here is read through [`IdleTimeout`]: when nothing comes for
//!   `REQUEST_BODY_TIMEOUT_SECS`, the reader gets a time-out error, which the handlers answer
//!   408 `request_timeout`.
//! - **A connection whose body was not read to its end is closed after the answer.** When a
//!   handler answers early (401 before the body, 413 at the upload limit, 408), actix drops the
//!   unread body and, for a chunked one, goes on reading ("draining") it for as long as the
//!   client sends — or, from an idle client, for ever, though the answer says
//!   `Connection: close`. Keeping the body alive until the answer has been written makes actix
//!   close the connection instead (after a short linger that lets the client read it).
//!
//! WebSocket handshakes are left alone: their body is the socket's frames, idle by nature.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use room_chats_core::Limits;
use room_chats_core::error::ApiError;

use crate::state::AppState;

/// The middleware; see the module docs.
pub async fn guard(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<HeldUntilSent<impl MessageBody>>, Error> {
    let idle = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.limits.body_idle_timeout);
    let payload = request.take_payload();
    let (Some(idle), false) = (
        idle,
        request.head().upgrade() || matches!(payload, Payload::None),
    ) else {
        request.set_payload(payload);
        let response = next.call(request).await?;
        return Ok(response.map_body(|_, body| HeldUntilSent { body, held: None }));
    };
    let held = Rc::new(RefCell::new(payload));
    let reader = IdleTimeout {
        payload: Rc::clone(&held),
        idle,
        deadline: Box::pin(tokio::time::sleep(idle)),
        armed: false,
        timed_out: false,
    };
    request.set_payload(Payload::from(
        Box::pin(reader) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let response = next.call(request).await?;
    Ok(response.map_body(|_, body| HeldUntilSent {
        body,
        held: Some(held),
    }))
}

/// The answer to a body that stopped arriving (408), when `error` is the one [`IdleTimeout`]
/// gives for it.
pub fn refusal(error: &PayloadError, request: &HttpRequest) -> Option<ApiError> {
    let PayloadError::Io(io) = error else {
        return None;
    };
    if io.kind() != std::io::ErrorKind::TimedOut {
        return None;
    }
    let idle = request
        .app_data::<web::Data<AppState>>()
        .map_or(Limits::DEFAULT.body_idle_timeout, |state| {
            state.limits.body_idle_timeout
        });
    Some(ApiError::RequestTimeout(idle))
}

/// The request's body, failing with [`std::io::ErrorKind::TimedOut`] once it has sent nothing
/// for `idle` while being read.
struct IdleTimeout {
    payload: Rc<RefCell<Payload>>,
    idle: Duration,
    /// One timer per request, reset each time the body goes quiet.
    deadline: Pin<Box<Sleep>>,
    /// Whether `deadline` runs: from the first wait for bytes since the last ones came. Time
    /// the handler spends elsewhere (the upload bandwidth budget) is not the client's.
    armed: bool,
    timed_out: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.timed_out {
            return Poll::Ready(None);
        }
        let polled = self.payload.borrow_mut().poll_next_unpin(cx);
        match polled {
            Poll::Pending => {
                if !self.armed {
                    let at = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(at);
                    self.armed = true;
                }
                if self.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.timed_out = true;
                let seconds = self.idle.as_secs();
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the request body sent nothing for {seconds} s"),
                )))))
            }
            ready => {
                self.armed = false;
                ready
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps the request's body alive until it has been written; see the
    /// module docs.
    pub struct HeldUntilSent<B> {
        #[pin]
        body: B,
        held: Option<Rc<RefCell<Payload>>>,
    }
}

impl<B: MessageBody> MessageBody for HeldUntilSent<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().body.poll_next(cx)
    }
}
