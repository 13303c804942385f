//! The ordering gate of one room session: every timeline entry — a message from the hub, the
//! sender's own message coming back, a room event, what a gap fill read — passes here, and
//! goes out exactly once, in seq order, as a `message`, the sender's `ack` or its `room` frame.
//!
//! Pure: it says what to write and whether a gap waits; the session (an actor) writes the
//! frames, runs the grace timer and reads gaps through the chat's timeline use case.

use std::collections::{BTreeMap, HashMap};

use bytestring::ByteString;
use chrono::{DateTime, Utc};
use room_chats_types::frames::ServerFrame;
use room_chats_types::{MessageDto, Seq};

use room_chats_core::chat::Sent;

use crate::realtime::timeline::{Arrival, Entry};

/// Most early entries the gate holds; past it the gap is read at once.
pub(crate) const MAX_HELD: usize = 256;

/// One frame to write, in order.
#[derive(Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "the session keeps one Vec of these between deliveries: a bigger element costs no \
              allocation, a boxed frame would cost one per ack"
)]
pub(crate) enum Passed {
    /// A message serialized once for every session (the hub's shared frame).
    Shared {
        text: ByteString,
        committed_at: DateTime<Utc>,
    },
    /// A room event's frame, as stored.
    Event(ByteString),
    /// A frame of this session's own (a message read back, an `ack`).
    Frame(ServerFrame),
}

/// Whether entries wait for the seqs before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// Nothing waits.
    None,
    /// Early entries wait; the seqs before them usually follow within milliseconds (another
    /// node's message on its way through the broker): read them after a grace.
    Wait,
    /// Too many wait: read the missing seqs now.
    FillNow,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct OrderingGate {
    /// The caller, whose own messages may come back as acks.
    user_id: String,
    /// The highest seq the client has.
    last_seq: Seq,
    /// This connection's sends whose store has not answered yet, by `client_id` (a count: a
    /// client may retry a `client_id` before the first answer).
    in_flight: HashMap<String, u32>,
    /// Entries that came before the seqs preceding them, by seq.
    held: BTreeMap<Seq, Arrival>,
    /// Acks owed when the room's stream reaches a seq: sends whose store answered (new, or a
    /// retry of a stored message) before this connection was given the message.
    ack_on_delivery: HashMap<Seq, Vec<String>>,
}

impl OrderingGate {
    /// A gate for `user_id`'s session that has delivered nothing yet.
    pub(crate) fn new(user_id: String) -> Self {
        Self {
            user_id,
            last_seq: 0,
            in_flight: HashMap::new(),
            held: BTreeMap::new(),
            ack_on_delivery: HashMap::new(),
        }
    }

    /// The highest seq the client has.
    pub(crate) fn last_seq(&self) -> Seq {
        self.last_seq
    }

    /// The client has everything up to `seq` (what the session opened with).
    pub(crate) fn start_after(&mut self, seq: Seq) {
        self.last_seq = seq;
    }

    /// Whether nothing is in flight, owed or held: a restarting node may close the session
    /// without leaving a stored message unacked.
    pub(crate) fn settled(&self) -> bool {
        self.in_flight.is_empty() && self.ack_on_delivery.is_empty() && self.held.is_empty()
    }

    /// The seqs missing before the first held entry, `(after, up_to]`, if one is held.
    pub(crate) fn missing(&self) -> Option<(Seq, Seq)> {
        let first_held = *self.held.keys().next()?;
        Some((self.last_seq, first_held - 1))
    }

    /// A send of `client_id` was queued; the number of this connection's sends in flight.
    pub(crate) fn sending(&mut self, client_id: &str) -> u32 {
        *self.in_flight.entry(client_id.to_owned()).or_default() += 1;
        self.in_flight.values().sum()
    }

    /// The store answered `client_id`'s send with `sent`: its ack goes out now (a retry of a
    /// message the client has), when the room's stream brings it (not delivered yet), or
    /// went out already (delivered while in flight).
    pub(crate) fn stored(&mut self, client_id: String, sent: Sent, out: &mut Vec<Passed>) -> Gap {
        self.landed(&client_id);
        match sent {
            Sent::New(message) | Sent::Replayed(message) if message.seq > self.last_seq => {
                self.ack_on_delivery
                    .entry(message.seq)
                    .or_default()
                    .push(client_id);
                self.waiting()
            }
            Sent::New(_) => self.waiting(),
            Sent::Replayed(message) => {
                self.admit(Arrival::message(message, None, Some(client_id)), out)
            }
        }
    }

    /// The store refused `client_id`'s send: it is no longer in flight.
    pub(crate) fn refused(&mut self, client_id: &str) {
        self.landed(client_id);
    }

    fn landed(&mut self, client_id: &str) {
        if let Some(count) = self.in_flight.get_mut(client_id) {
            *count -= 1;
            if *count == 0 {
                self.in_flight.remove(client_id);
            }
        }
    }

    /// Passes `arrival` on if it is next (with whatever held entries follow it), drops what
    /// the client has (but for an owed ack), and holds what comes early.
    pub(crate) fn admit(&mut self, arrival: Arrival, out: &mut Vec<Passed>) -> Gap {
        if arrival.seq > self.last_seq + 1 {
            return self.hold(arrival);
        }
        self.pass(arrival, out);
        self.release(out)
    }

    /// Passes on the held entries that are next, if any.
    pub(crate) fn release(&mut self, out: &mut Vec<Passed>) -> Gap {
        while let Some(next) = self.take_next_held() {
            self.pass(next, out);
        }
        self.waiting()
    }

    /// Whether entries wait (the grace before a gap is read runs).
    fn waiting(&self) -> Gap {
        if self.held.is_empty() {
            Gap::None
        } else {
            Gap::Wait
        }
    }

    fn take_next_held(&mut self) -> Option<Arrival> {
        let entry = self.held.first_entry()?;
        (*entry.key() <= self.last_seq + 1).then(|| entry.remove())
    }

    fn hold(&mut self, arrival: Arrival) -> Gap {
        let seq = arrival.seq;
        if let Some(held) = self.held.get_mut(&seq) {
            // The same message twice (broker and store answer): keep its ack.
            if let (
                Entry::Message { prepared, .. },
                Entry::Message {
                    prepared: also_prepared,
                    as_ack,
                    ..
                },
            ) = (&mut held.entry, arrival.entry)
            {
                if let Some(client_id) = as_ack {
                    self.ack_on_delivery.entry(seq).or_default().push(client_id);
                }
                *prepared = prepared.take().or(also_prepared);
            }
        } else {
            self.held.insert(seq, arrival);
        }
        if self.held.len() > MAX_HELD {
            Gap::FillNow
        } else {
            Gap::Wait
        }
    }

    fn pass(&mut self, arrival: Arrival, out: &mut Vec<Passed>) {
        match arrival.entry {
            Entry::Message {
                message,
                prepared,
                as_ack,
            } => self.pass_message(message, prepared, as_ack, out),
            Entry::Event { text } => {
                if arrival.seq > self.last_seq {
                    self.last_seq = arrival.seq;
                    out.push(Passed::Event(text));
                }
            }
            Entry::Hidden => self.last_seq = self.last_seq.max(arrival.seq),
        }
    }

    fn pass_message(
        &mut self,
        message: MessageDto,
        prepared: Option<ByteString>,
        as_ack: Option<String>,
        out: &mut Vec<Passed>,
    ) {
        let seq = message.seq;
        if seq <= self.last_seq {
            if let Some(client_id) = as_ack {
                out.push(Passed::Frame(ServerFrame::Ack { client_id, message }));
            }
            return;
        }
        self.last_seq = seq;
        let mut acks = self.ack_on_delivery.remove(&seq).unwrap_or_default();
        acks.extend(as_ack);
        if acks.is_empty() && self.is_own_in_flight(&message) {
            // Its store has not answered yet; that answer will find it delivered.
            acks.extend(message.client_id.clone());
        }
        match (acks.pop(), prepared) {
            (None, Some(text)) => out.push(Passed::Shared {
                text,
                committed_at: message.created_at,
            }),
            (None, None) => out.push(Passed::Frame(ServerFrame::Message { message })),
            (Some(last), _) => {
                // More than one ack for one message: retries of a client_id in flight at once.
                for client_id in acks {
                    let message = message.clone();
                    out.push(Passed::Frame(ServerFrame::Ack { client_id, message }));
                }
                out.push(Passed::Frame(ServerFrame::Ack {
                    client_id: last,
                    message,
                }));
            }
        }
    }

    /// Whether `message` is this user's and one of this connection's sends is waiting for
    /// its store under the same `client_id`.
    fn is_own_in_flight(&self, message: &MessageDto) -> bool {
        message.sender_id == self.user_id
            && message
                .client_id
                .as_ref()
                .is_some_and(|client_id| self.in_flight.contains_key(client_id))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use room_chats_types::Role;

    use super::*;

    fn message(seq: Seq, sender: &str, client_id: Option<&str>) -> MessageDto {
        MessageDto {
            id: seq,
            room_id: 1,
            seq,
            sender_id: sender.to_owned(),
            sender_role: Role::Client,
            content: format!("m{seq}"),
            client_id: client_id.map(str::to_owned),
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: None,
            deleted_by: None,
            attachments: Vec::new(),
            note: false,
        }
    }

    fn from_hub(seq: Seq, sender: &str, client_id: Option<&str>) -> Arrival {
        Arrival::message(message(seq, sender, client_id), None, None)
    }

    /// The seqs and kinds written: `m3` a message, `a3:k` an ack, `e3` an event.
    fn written(out: &[Passed]) -> Vec<String> {
        out.iter()
            .map(|outgoing| match outgoing {
                Passed::Frame(ServerFrame::Message { message }) => format!("m{}", message.seq),
                Passed::Frame(ServerFrame::Ack { client_id, message }) => {
                    format!("a{}:{client_id}", message.seq)
                }
                Passed::Event(text) => format!("e{text}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn entries_go_out_once_in_seq_order() {
        let mut gate = OrderingGate::new("me".to_owned());
        let mut out = Vec::new();
        assert_eq!(gate.admit(from_hub(2, "other", None), &mut out), Gap::Wait);
        assert_eq!(gate.missing(), Some((0, 1)));
        assert_eq!(
            gate.admit(Arrival::event(3, "3".into()), &mut out),
            Gap::Wait
        );
        assert!(out.is_empty(), "nothing passes before seq 1");
        assert_eq!(gate.admit(from_hub(1, "other", None), &mut out), Gap::None);
        // Again, as a gap fill would read it: the client has it already.
        assert_eq!(gate.admit(from_hub(2, "other", None), &mut out), Gap::None);
        assert_eq!(written(&out), ["m1", "m2", "e3"]);
        assert_eq!(gate.last_seq(), 3);
        assert!(gate.settled());
    }

    #[test]
    fn a_hidden_seq_passes_nothing_and_lets_the_entries_after_it_go() {
        let mut gate = OrderingGate::new("me".to_owned());
        let mut out = Vec::new();
        gate.admit(from_hub(1, "other", None), &mut out);
        assert_eq!(gate.admit(from_hub(3, "other", None), &mut out), Gap::Wait);
        // Seq 2 is a note, and the reader a customer: it takes its place, writes nothing.
        assert_eq!(gate.admit(Arrival::hidden(2), &mut out), Gap::None);
        // A gap fill that reads it again changes nothing.
        assert_eq!(gate.admit(Arrival::hidden(2), &mut out), Gap::None);
        assert_eq!(written(&out), ["m1", "m3"]);
        assert_eq!(gate.last_seq(), 3);
        assert!(gate.settled());
    }

    #[test]
    fn the_senders_own_message_is_its_ack_whichever_answer_comes_first() {
        let mut gate = OrderingGate::new("me".to_owned());
        let mut out = Vec::new();
        // The room's stream first: the store has not answered yet.
        assert_eq!(gate.sending("k1"), 1);
        gate.admit(from_hub(1, "me", Some("k1")), &mut out);
        gate.stored(
            "k1".to_owned(),
            Sent::New(message(1, "me", Some("k1"))),
            &mut out,
        );
        // The store first: the ack waits for the stream.
        gate.sending("k2");
        gate.stored(
            "k2".to_owned(),
            Sent::New(message(2, "me", Some("k2"))),
            &mut out,
        );
        assert!(!gate.settled(), "an ack is owed");
        gate.admit(from_hub(2, "me", Some("k2")), &mut out);
        // A retry of a message the client has: acked with the original at once.
        gate.sending("k1");
        gate.stored(
            "k1".to_owned(),
            Sent::Replayed(message(1, "me", Some("k1"))),
            &mut out,
        );
        assert_eq!(written(&out), ["a1:k1", "a2:k2", "a1:k1"]);
        assert!(gate.settled());
    }

    #[test]
    fn too_many_early_entries_are_read_at_once() {
        let mut gate = OrderingGate::new("me".to_owned());
        let mut out = Vec::new();
        let mut gap = Gap::None;
        for seq in 2..=(MAX_HELD as Seq + 2) {
            gap = gate.admit(from_hub(seq, "other", None), &mut out);
        }
        assert_eq!(gap, Gap::FillNow);
        assert_eq!(gate.missing(), Some((0, 1)));
        assert!(out.is_empty());
    }

    #[test]
    fn a_refused_send_is_no_longer_in_flight() {
        let mut gate = OrderingGate::new("me".to_owned());
        gate.sending("k1");
        assert!(!gate.settled());
        gate.refused("k1");
        assert!(gate.settled());
        // Its message, should another connection of the user send it, is a plain message.
        let mut out = Vec::new();
        gate.admit(from_hub(1, "me", Some("k1")), &mut out);
        assert_eq!(written(&out), ["m1"]);
    }
}
