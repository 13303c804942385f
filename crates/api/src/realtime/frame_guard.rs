//! Refuses oversized WebSocket frames from their header, before their payload is buffered.
//!
//! actix-http checks `max_frame_size` only once a whole frame sits in its buffer, so a client
//! declaring a 1 GiB frame could make the server buffer all of it. This stream sits between
//! the socket and the WebSocket codec, reads each frame header as it passes, and ends the
//! stream with an error as soon as a header announces more than the limit.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;

/// Where the guard is in the byte stream.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Collecting a frame header: `have` of its bytes seen so far.
    Header { have: usize },
    /// Skipping `remaining` payload bytes of an accepted frame.
    Payload { remaining: u64 },
}

/// Wraps a request payload; see the module docs.
pub struct FrameGuard<S> {
    inner: S,
    state: State,
    header: [u8; 14],
    limit: u64,
    tripped: Arc<AtomicBool>,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`; `tripped` is set when a frame over `limit` bytes was refused.
    pub fn new(inner: S, limit: usize, tripped: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            state: State::Header { have: 0 },
            header: [0; 14],
            limit: limit as u64,
            tripped,
        }
    }

    /// Follows `chunk` through the frame structure; false when a frame is over the limit.
    fn inspect(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            match self.state {
                State::Payload { remaining } => {
                    let skip = remaining.min(chunk.len() as u64);
                    chunk = &chunk[skip as usize..];
                    let remaining = remaining - skip;
                    self.state = if remaining == 0 {
                        State::Header { have: 0 }
                    } else {
                        State::Payload { remaining }
                    };
                }
                State::Header { have } => {
                    self.header[have] = chunk[0];
                    chunk = &chunk[1..];
                    let have = have + 1;
                    match header_length(&self.header[..have]) {
                        Some(needed) if needed == have => {
                            let length = payload_length(&self.header[..have]);
                            if length > self.limit {
                                return false;
                            }
                            self.state = if length == 0 {
                                State::Header { have: 0 }
                            } else {
                                State::Payload { remaining: length }
                            };
                        }
                        _ => self.state = State::Header { have },
                    }
                }
            }
        }
        true
    }
}

/// Total header length once the first two bytes are known.
fn header_length(header: &[u8]) -> Option<usize> {
    let second = *header.get(1)?;
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    Some(2 + extended + mask)
}

/// The payload length announced by a complete header.
fn payload_length(header: &[u8]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => u64::from_be_bytes([
            header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9],
        ]),
        short => u64::from(short),
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.tripped.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.inspect(&chunk) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    self.tripped.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use futures_util::stream;

    use super::*;

    fn frame_header(length: u64) -> Vec<u8> {
        let mut header = vec![0x81];
        match length {
            0..=125 => header.push(0x80 | length as u8),
            126..=0xffff => {
                header.push(0x80 | 126);
                header.extend_from_slice(&(length as u16).to_be_bytes());
            }
            _ => {
                header.push(0x80 | 127);
                header.extend_from_slice(&length.to_be_bytes());
            }
        }
        header.extend_from_slice(&[1, 2, 3, 4]);
        header
    }

    async fn guard_over(
        chunks: Vec<Vec<u8>>,
        limit: usize,
    ) -> (Vec<Result<Bytes, PayloadError>>, bool) {
        let tripped = Arc::new(AtomicBool::new(false));
        let source = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
        let guard = FrameGuard::new(source, limit, Arc::clone(&tripped));
        let items = guard.collect::<Vec<_>>().await;
        (items, tripped.load(Ordering::Relaxed))
    }

    #[actix_web::test]
    async fn frames_within_the_limit_pass_even_split_across_chunks() {
        let mut bytes = frame_header(300);
        bytes.extend(vec![b'x'; 300]);
        bytes.extend(frame_header(5));
        bytes.extend(b"hello");
        let chunks: Vec<Vec<u8>> = bytes.chunks(7).map(<[u8]>::to_vec).collect();
        let (items, tripped) = guard_over(chunks, 1024).await;
        assert!(!tripped);
        assert!(items.iter().all(Result::is_ok));
    }

    #[actix_web::test]
    async fn an_oversized_header_is_refused_before_its_payload() {
        let mut first = frame_header(5);
        first.extend(b"hello");
        let oversized = frame_header(64 * 1024 * 1024);
        let (items, tripped) = guard_over(vec![first, oversized, vec![b'x'; 4096]], 65536).await;
        assert!(tripped);
        assert_eq!(items.len(), 2, "the stream ends at the oversized header");
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(PayloadError::Overflow)));
    }
}
