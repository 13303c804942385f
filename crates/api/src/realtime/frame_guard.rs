//! Refuses oversized and malformed WebSocket frames from their header, before their payload is
//! buffered.
//!
//! actix-http checks `max_frame_size` only once a whole frame sits in its buffer, so a client
//! declaring a 1 GiB frame could make the server buffer all of it; fragments of one message
//! were summed only after buffering too, and past the limit the connection dropped without a
//! close frame; and a frame with a reserved bit set surfaced as an I/O error indistinguishable
//! from invalid UTF-8 (1007, where RFC 6455 §5.2 wants 1002). This stream sits between the
//! socket and the WebSocket codec, reads each frame header as it passes, and ends the stream
//! as soon as a header announces more than the limit (alone or added to the fragments of its
//! message before it) or sets a reserved bit, leaving the session the reason in a
//! [`Verdict`] so it closes with the right code.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
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

/// Why the guard ended the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A frame, or the fragments of one message together, over the limit (close 1009).
    TooLarge,
    /// A frame with RSV1, RSV2 or RSV3 set: no extension was negotiated (close 1002).
    ReservedBits,
}

/// The guard's finding, shared with the session that reads the stream.
#[derive(Debug, Default)]
pub struct Verdict(AtomicU8);

impl Verdict {
    /// What the guard refused, if anything.
    pub fn violation(&self) -> Option<Violation> {
        match self.0.load(Ordering::Acquire) {
            1 => Some(Violation::TooLarge),
            2 => Some(Violation::ReservedBits),
            _ => None,
        }
    }

    fn set(&self, violation: Violation) {
        let code = match violation {
            Violation::TooLarge => 1,
            Violation::ReservedBits => 2,
        };
        self.0.store(code, Ordering::Release);
    }
}

/// Opcodes that start a data message (text, binary); 0 continues one.
const CONTINUATION: u8 = 0x0;
const FIRST_CONTROL_OPCODE: u8 = 0x8;
const RESERVED_BITS: u8 = 0x70;
const FIN: u8 = 0x80;

/// Wraps a request payload; see the module docs.
pub struct FrameGuard<S> {
    inner: S,
    state: State,
    header: [u8; 14],
    limit: u64,
    /// Payload bytes of the data message being received, over its fragments so far.
    message_bytes: u64,
    verdict: Arc<Verdict>,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`; `verdict` tells why, once the guard refused something.
    pub fn new(inner: S, limit: usize, verdict: Arc<Verdict>) -> Self {
        Self {
            inner,
            state: State::Header { have: 0 },
            header: [0; 14],
            limit: limit as u64,
            message_bytes: 0,
            verdict,
        }
    }

    /// Checks a complete frame header.
    fn check_header(&mut self, header_len: usize) -> Result<u64, Violation> {
        let first = self.header[0];
        if first & RESERVED_BITS != 0 {
            return Err(Violation::ReservedBits);
        }
        let length = payload_length(&self.header[..header_len]);
        if length > self.limit {
            return Err(Violation::TooLarge);
        }
        let opcode = first & 0x0f;
        // Control frames may come between fragments and belong to no message.
        if opcode < FIRST_CONTROL_OPCODE {
            self.message_bytes = if opcode == CONTINUATION {
                self.message_bytes.saturating_add(length)
            } else {
                length
            };
            if self.message_bytes > self.limit {
                return Err(Violation::TooLarge);
            }
            if first & FIN != 0 {
                self.message_bytes = 0;
            }
        }
        Ok(length)
    }

    /// Follows `chunk` through the frame structure; the violation that ends the stream.
    fn inspect(&mut self, mut chunk: &[u8]) -> Result<(), Violation> {
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
                            let length = self.check_header(have)?;
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
        Ok(())
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
        if self.verdict.violation().is_some() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => match self.inspect(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(violation) => {
                    self.verdict.set(violation);
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            },
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
    ) -> (Vec<Result<Bytes, PayloadError>>, Option<Violation>) {
        let verdict = Arc::new(Verdict::default());
        let source = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
        let guard = FrameGuard::new(source, limit, Arc::clone(&verdict));
        let items = guard.collect::<Vec<_>>().await;
        (items, verdict.violation())
    }

    /// A header with the given first byte (FIN, RSV, opcode) and a short payload length.
    fn header_with(first: u8, length: u8) -> Vec<u8> {
        vec![first, 0x80 | length, 1, 2, 3, 4]
    }

    #[actix_web::test]
    async fn fragments_are_summed_per_message() {
        // Three 40-byte fragments of one text message, with a ping between them: 120 > 100.
        let mut bytes = header_with(0x01, 40);
        bytes.extend([b'x'; 40]);
        bytes.extend(header_with(0x89, 0));
        bytes.extend(header_with(0x00, 40));
        bytes.extend([b'x'; 40]);
        let mut last = header_with(0x80, 40);
        last.extend([b'x'; 40]);
        let (items, violation) = guard_over(vec![bytes.clone(), last.clone()], 100).await;
        assert_eq!(violation, Some(Violation::TooLarge));
        assert!(matches!(items.last(), Some(Err(PayloadError::Overflow))));
        // The same fragments within a larger limit pass, and the count starts again after FIN.
        let (items, violation) = guard_over(vec![bytes, last.clone(), last], 130).await;
        assert_eq!(violation, None, "{items:?}");
    }

    #[actix_web::test]
    async fn reserved_bits_are_refused() {
        let mut bytes = header_with(0x81 | 0x40, 2);
        bytes.extend(b"hi");
        let (_, violation) = guard_over(vec![bytes], 100).await;
        assert_eq!(violation, Some(Violation::ReservedBits));
    }

    #[actix_web::test]
    async fn frames_within_the_limit_pass_even_split_across_chunks() {
        let mut bytes = frame_header(300);
        bytes.extend(vec![b'x'; 300]);
        bytes.extend(frame_header(5));
        bytes.extend(b"hello");
        let chunks: Vec<Vec<u8>> = bytes.chunks(7).map(<[u8]>::to_vec).collect();
        let (items, violation) = guard_over(chunks, 1024).await;
        assert_eq!(violation, None);
        assert!(items.iter().all(Result::is_ok));
    }

    #[actix_web::test]
    async fn an_oversized_header_is_refused_before_its_payload() {
        let mut first = frame_header(5);
        first.extend(b"hello");
        let oversized = frame_header(64 * 1024 * 1024);
        let (items, violation) = guard_over(vec![first, oversized, vec![b'x'; 4096]], 65536).await;
        assert_eq!(violation, Some(Violation::TooLarge));
        assert_eq!(items.len(), 2, "the stream ends at the oversized header");
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(PayloadError::Overflow)));
    }
}
