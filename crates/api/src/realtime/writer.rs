//! The one task that writes to a connection. Frames go out in the order the session queued
//! them (spawning a future per frame reorders them); the queue is bounded by the session.

use std::time::Duration;

use actix_ws::{CloseReason, Session};
use bytes::Bytes;
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::mpsc;

use room_chats_core::metrics::Metrics;

/// A write the session asks for.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A JSON frame.
    Text(ByteString),
    /// The `message` frame of a message delivered live, committed at `committed_at`.
    Message {
        /// The frame.
        text: ByteString,
        /// The message's `created_at`.
        committed_at: DateTime<Utc>,
    },
    /// A heartbeat ping.
    Ping,
    /// The answer to a client's ping.
    Pong(Bytes),
    /// The last frame: close with this reason.
    Close(CloseReason),
}

/// How long one write may take before the peer is considered stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes until the queue closes, a close frame is sent, or the peer stops reading. The time
/// from each live message's commit to its frame written goes into `delivery_lag`.
pub(crate) async fn run(
    mut session: Session,
    mut queue: mpsc::Receiver<Outgoing>,
    delivery_lag: Histogram,
) {
    while let Some(outgoing) = queue.recv().await {
        let written = match outgoing {
            Outgoing::Text(text) => tokio::time::timeout(WRITE_TIMEOUT, session.text(text)).await,
            Outgoing::Message { text, committed_at } => {
                let written = tokio::time::timeout(WRITE_TIMEOUT, session.text(text)).await;
                Metrics::since(&delivery_lag, committed_at);
                written
            }
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
