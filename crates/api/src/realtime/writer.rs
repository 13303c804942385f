//! The one task that writes to a connection. Frames go out in the order the session queued
//! them (spawning a future per frame reorders them); the queue is bounded by the session.

use std::time::Duration;

use actix_ws::{CloseReason, Session};
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::mpsc;

/// A write the session asks for.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A JSON frame.
    Text(ByteString),
    /// A heartbeat ping.
    Ping,
    /// The answer to a client's ping.
    Pong(Bytes),
    /// The last frame: close with this reason.
    Close(CloseReason),
}

/// How long one write may take before the peer is considered stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes until the queue closes, a close frame is sent, or the peer stops reading.
pub(crate) async fn run(mut session: Session, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(outgoing) = queue.recv().await {
        let written = match outgoing {
            Outgoing::Text(text) => tokio::time::timeout(WRITE_TIMEOUT, session.text(text)).await,
            Outgoing::Ping => tokio::time::timeout(WRITE_TIMEOUT, session.ping(b"")).await,
            Outgoing::Pong(bytes) => {
                tokio::time::timeout(WRITE_TIMEOUT, session.pong(&bytes)).await
            }
            Outgoing::Close(reason) => {
                // close() can wait forever on a peer that stopped reading.
                let _ = tokio::time::timeout(WRITE_TIMEOUT, session.close(Some(reason))).await;
                return;
            }
        };
        if !matches!(written, Ok(Ok(()))) {
            return;
        }
    }
}
