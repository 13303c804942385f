//! The node's map of rooms to live sessions, and its link to the other nodes.
//!
//! The hub routes nothing but room events: it hands each event to the local sessions of its
//! room (serialized once, shared by all of them) and publishes it through the broker for the
//! other nodes. Ordering, gap filling and de-duplication are the sessions' job.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix::{Message, Recipient};
use bytestring::ByteString;
use room_chats_broker::{Broker, BrokerEvent, Bytes};
use room_chats_types::frames::{RoomEnvelope, RoomEvent, ServerFrame};
use room_chats_types::{MessageDto, RoomId};
use tokio::sync::mpsc;

/// Identifies one connection on this node.
pub type ConnId = u64;

/// A room event made ready for sessions: parsed once, serialized once.
#[derive(Debug)]
pub struct PreparedEvent {
    /// The message itself, for messages.
    pub message: Option<MessageDto>,
    /// The frame as sent to clients.
    pub text: ByteString,
}

impl PreparedEvent {
    fn new(event: RoomEvent) -> Self {
        let (frame, message) = match event {
            RoomEvent::Message { message } => {
                let kept = message.clone();
                (ServerFrame::Message { message }, Some(kept))
            }
            RoomEvent::Frame { frame } => (frame, None),
        };
        let text = serde_json::to_string(&frame).unwrap_or_default().into();
        Self { message, text }
    }
}

/// What the hub tells a session.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum ToSession {
    /// Something happened in the session's room.
    Event(Arc<PreparedEvent>),
    /// Events may have been lost (the broker reconnected): catch up from the database.
    CatchUp,
    /// The node is shutting down: finish in-flight work, then close with 1012.
    Shutdown,
}

/// A connection refused by the per-user limit.
#[derive(Debug, thiserror::Error)]
#[error("too many connections for this user")]
pub struct TooManyConnections;

#[derive(Default)]
struct HubState {
    rooms: HashMap<RoomId, HashMap<ConnId, Recipient<ToSession>>>,
    connections_per_user: HashMap<String, usize>,
    shutting_down: bool,
}

/// See the module docs.
pub struct Hub {
    node: String,
    broker: Arc<dyn Broker>,
    max_connections_per_user: usize,
    next_conn: AtomicU64,
    state: Mutex<HubState>,
}

impl Hub {
    /// Creates the hub and the task that feeds it what the broker receives.
    pub fn start(
        node: String,
        broker: Arc<dyn Broker>,
        events: mpsc::Receiver<BrokerEvent>,
        max_connections_per_user: usize,
    ) -> Arc<Self> {
        let hub = Arc::new(Self {
            node,
            broker,
            max_connections_per_user,
            next_conn: AtomicU64::new(1),
            state: Mutex::new(HubState::default()),
        });
        tokio::spawn(pump(Arc::downgrade(&hub), events));
        hub
    }

    /// The node's broker.
    pub fn broker(&self) -> &dyn Broker {
        self.broker.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every update leaves the maps consistent, so a panic elsewhere cannot corrupt them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection of `user`; refuses it past the per-user limit.
    pub fn open_connection(&self, user: &str) -> Result<ConnId, TooManyConnections> {
        let mut state = self.lock();
        let count = state
            .connections_per_user
            .entry(user.to_owned())
            .or_default();
        if *count >= self.max_connections_per_user {
            return Err(TooManyConnections);
        }
        *count += 1;
        Ok(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Forgets a connection counted by [`Hub::open_connection`].
    pub fn close_connection(&self, user: &str) {
        let mut state = self.lock();
        if let Some(count) = state.connections_per_user.get_mut(user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.connections_per_user.remove(user);
            }
        }
    }

    /// Adds a session to its room; the node subscribes to the room on its first session.
    pub fn join(&self, room: RoomId, conn: ConnId, session: Recipient<ToSession>) {
        let mut state = self.lock();
        if state.shutting_down {
            session.do_send(ToSession::Shutdown);
        }
        let sessions = state.rooms.entry(room).or_default();
        if sessions.is_empty() {
            self.broker.subscribe(room);
        }
        sessions.insert(conn, session);
    }

    /// Removes a session; the node unsubscribes from the room after its last session.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        let mut state = self.lock();
        if let Some(sessions) = state.rooms.get_mut(&room) {
            sessions.remove(&conn);
            if sessions.is_empty() {
                state.rooms.remove(&room);
                self.broker.unsubscribe(room);
            }
        }
    }

    /// Announces `event` to the room: every local session but `except`, and the other nodes.
    pub fn publish(&self, room: RoomId, event: RoomEvent, except: Option<ConnId>) {
        let envelope = RoomEnvelope {
            room_id: room,
            node: self.node.clone(),
            event,
        };
        match serde_json::to_vec(&envelope) {
            Ok(payload) => {
                if let Err(error) = self.broker.publish(room, Bytes::from(payload)) {
                    // Other nodes fill the gap from the database on their next event.
                    tracing::warn!(%error, room, "room event not published to other nodes");
                }
            }
            Err(error) => tracing::error!(%error, "room event not serializable"),
        }
        self.deliver(room, &Arc::new(PreparedEvent::new(envelope.event)), except);
    }

    /// A message was stored: tell the room, its sender's session included (which turns it
    /// into the sender's `ack`, in the room's order).
    pub fn publish_message(&self, message: MessageDto) {
        let room = message.room_id;
        self.publish(room, RoomEvent::Message { message }, None);
    }

    /// A frame every session forwards as is (read, typing, presence, room changes).
    pub fn publish_frame(&self, room: RoomId, frame: ServerFrame, except: Option<ConnId>) {
        self.publish(room, RoomEvent::Frame { frame }, except);
    }

    fn deliver(&self, room: RoomId, event: &Arc<PreparedEvent>, except: Option<ConnId>) {
        let state = self.lock();
        if let Some(sessions) = state.rooms.get(&room) {
            for (conn, session) in sessions {
                if Some(*conn) != except {
                    session.do_send(ToSession::Event(Arc::clone(event)));
                }
            }
        }
    }

    fn broadcast(&self, message: &ToSession) {
        for session in self.lock().rooms.values().flat_map(HashMap::values) {
            session.do_send(message.clone());
        }
    }

    fn receive(&self, event: BrokerEvent) {
        match event {
            BrokerEvent::Published { room, payload } => {
                match serde_json::from_slice::<RoomEnvelope>(&payload) {
                    // Redis echoes a node's own publications back to it.
                    Ok(envelope) if envelope.node == self.node => {}
                    Ok(envelope) if envelope.room_id == room => {
                        self.deliver(room, &Arc::new(PreparedEvent::new(envelope.event)), None);
                    }
                    Ok(_) => tracing::warn!(room, "room event published on another room's channel"),
                    Err(error) => {
                        tracing::warn!(%error, room, "unreadable room event from the broker")
                    }
                }
            }
            BrokerEvent::Reconnected => self.broadcast(&ToSession::CatchUp),
        }
    }

    /// Asks every session to close with 1012 once its in-flight work is done; sessions that
    /// join later are told at once.
    pub fn shutdown(&self) {
        self.lock().shutting_down = true;
        self.broadcast(&ToSession::Shutdown);
    }

    /// Live sessions on this node.
    pub fn session_count(&self) -> usize {
        self.lock().rooms.values().map(HashMap::len).sum()
    }
}

async fn pump(hub: std::sync::Weak<Hub>, mut events: mpsc::Receiver<BrokerEvent>) {
    while let Some(event) = events.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        hub.receive(event);
    }
}
