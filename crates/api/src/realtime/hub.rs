//! The node's map of rooms to live sessions, and its link to the other nodes.
//!
//! The hub routes room events: it hands each event to the local sessions of its room
//! (serialized once, shared by all of them) and publishes it through the broker for the other
//! nodes. Ordering, gap filling and de-duplication are the sessions' job. What the broker
//! brings for the inbox it passes to the node's [`Inbox`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix::prelude::SendError;
use actix::{Message, Recipient};
use bytestring::ByteString;
use room_chats_broker::{Broker, BrokerError, BrokerEvent, Bytes, Topic};
use room_chats_types::frames::{RoomEnvelope, RoomEvent, ServerFrame};
use room_chats_types::{MessageDto, RoomId, Seq};
use tokio::sync::mpsc;

use room_chats_core::chat::{Announcement, Listener};
use room_chats_core::metrics::Metrics;

pub use crate::realtime::conn_id::ConnId;
use crate::realtime::inbox::Inbox;

/// A room event made ready for sessions: parsed once, serialized once.
#[derive(Debug)]
pub enum PreparedEvent {
    /// A stored message.
    Message {
        /// The message, for ordering and acks.
        message: MessageDto,
        /// Its `message` frame as sent to clients.
        text: ByteString,
    },
    /// A durable event (room change, edit, delete): a frame with its place in the room's
    /// timeline, delivered in seq order.
    Entry {
        /// Its seq.
        seq: Seq,
        /// Its `room` frame as sent to clients.
        text: ByteString,
        /// It is about an internal note: a customer's session skips its seq without a frame.
        staff_only: bool,
    },
    /// A frame every session forwards as is.
    Frame {
        /// The frame as sent to clients.
        text: ByteString,
    },
    /// The room's order moved to `customer_id`: other clients' sessions lose access.
    CustomerChanged {
        /// The order's new customer.
        customer_id: String,
    },
}

impl PreparedEvent {
    /// The timeline seq the event holds, if it is a timeline entry.
    fn seq(&self) -> Option<Seq> {
        match self {
            Self::Message { message, .. } => Some(message.seq),
            Self::Entry { seq, .. } => Some(*seq),
            Self::Frame { .. } | Self::CustomerChanged { .. } => None,
        }
    }

    fn new(event: RoomEvent) -> Self {
        let serialized = |frame: &ServerFrame| -> ByteString {
            serde_json::to_string(frame).unwrap_or_default().into()
        };
        match event {
            RoomEvent::Message { message } => Self::Message {
                text: serialized(&ServerFrame::Message {
                    message: message.clone(),
                }),
                message,
            },
            RoomEvent::Frame { frame } => match frame.timeline_seq() {
                Some(seq) => Self::Entry {
                    seq,
                    text: serialized(&frame),
                    staff_only: frame.staff_only(),
                },
                None => Self::Frame {
                    text: serialized(&frame),
                },
            },
            RoomEvent::CustomerChanged { customer_id } => Self::CustomerChanged { customer_id },
        }
    }
}

/// What the hub tells a session.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum ToSession {
    /// Something happened in the session's room.
    Event(Arc<PreparedEvent>),
    /// Events may have been lost (the broker reconnected, or another node could not publish
    /// to the room): catch up from the database.
    CatchUp,
    /// The room's stored timeline reaches this seq and the node has not delivered it for a
    /// while: a session that is not there yet catches up from the database.
    CatchUpTo(Seq),
    /// The node is shutting down: finish in-flight work, then close with 1012.
    Shutdown,
    /// The session's mailbox overflowed: it missed events and gets no more; it closes so the
    /// client resumes with `since`.
    Lagged,
}

/// A connection refused by the per-user limit.
#[derive(Debug, thiserror::Error)]
#[error("too many connections for this user")]
pub struct TooManyConnections;

/// A session as the hub knows it.
struct SessionLink {
    recipient: Recipient<ToSession>,
    /// Its mailbox overflowed; it was told once and gets nothing more.
    lagging: bool,
}

#[derive(Default)]
struct HubState {
    rooms: HashMap<RoomId, HashMap<ConnId, SessionLink>>,
    /// The highest seq handed to each room's sessions through the hub (live events, this
    /// node's and the broker's), for the sweep that finds what the broker lost.
    delivered: HashMap<RoomId, Seq>,
    connections_per_user: HashMap<String, usize>,
    shutting_down: bool,
}

/// See the module docs.
pub struct Hub {
    node: String,
    broker: Arc<dyn Broker>,
    inbox: Arc<Inbox>,
    /// Users whose first connection on this node opened (+1) or last one closed (-1), and
    /// user streams opened or closed, in order, for the cluster's counts.
    online: mpsc::Sender<(String, i64, Counted)>,
    max_connections_per_user: usize,
    next_conn: AtomicU64,
    state: Mutex<HubState>,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// Creates the hub and the task that feeds it (and `inbox`) what the broker receives.
    pub fn start(
        node: String,
        broker: Arc<dyn Broker>,
        events: mpsc::Receiver<BrokerEvent>,
        max_connections_per_user: usize,
        inbox: Arc<Inbox>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let (online, changes) = mpsc::channel(ONLINE_QUEUE);
        tokio::spawn(count_online(
            Arc::clone(&broker),
            Arc::clone(&inbox),
            changes,
        ));
        let hub = Arc::new(Self {
            node,
            broker,
            inbox,
            online,
            max_connections_per_user,
            next_conn: AtomicU64::new(1),
            state: Mutex::new(HubState::default()),
            metrics,
        });
        tokio::spawn(pump(Arc::downgrade(&hub), events));
        hub
    }

    /// The node's broker.
    pub fn broker(&self) -> &dyn Broker {
        self.broker.as_ref()
    }

    /// The node's metrics, for the sessions it serves.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
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
        if *count == 1 {
            self.note_online(user, 1);
        }
        Ok(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    fn note_online(&self, user: &str, delta: i64) {
        if let Err(error) = self
            .online
            .try_send((user.to_owned(), delta, Counted::Online))
        {
            tracing::warn!(%error, "user presence change dropped");
        }
    }

    /// Counts a user stream of `user` opening (+1) or closing (-1) in the cluster, in order
    /// with the user's other changes (so a stream that closes at once cannot be counted
    /// down before it was counted up).
    pub fn note_stream(&self, user: &str, delta: i64) {
        if let Err(error) = self
            .online
            .try_send((user.to_owned(), delta, Counted::Stream))
        {
            tracing::warn!(%error, "user stream count change dropped");
        }
    }

    /// An id for a session that is not a connection of its own (a room subscribed on a user
    /// stream).
    pub fn next_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets a connection counted by [`Hub::open_connection`].
    pub fn close_connection(&self, user: &str) {
        let mut state = self.lock();
        if let Some(count) = state.connections_per_user.get_mut(user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.connections_per_user.remove(user);
                self.note_online(user, -1);
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
            self.broker.subscribe(Topic::Room(room));
        }
        sessions.insert(
            conn,
            SessionLink {
                recipient: session,
                lagging: false,
            },
        );
    }

    /// Removes a session; the node unsubscribes from the room after its last session.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        let mut state = self.lock();
        if let Some(sessions) = state.rooms.get_mut(&room) {
            sessions.remove(&conn);
            if sessions.is_empty() {
                state.rooms.remove(&room);
                state.delivered.remove(&room);
                self.broker.unsubscribe(Topic::Room(room));
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
            Ok(payload) => match self.broker.publish(Topic::Room(room), Bytes::from(payload)) {
                Ok(()) => {}
                // The node is going away; other nodes' sessions catch up from the database.
                Err(BrokerError::Closed) => {
                    tracing::debug!(room, "room event after the broker closed for shutdown");
                }
                // Counted by the broker, which tells the room's other nodes to catch up from the
                // database once it can; one line per event would flood the log of a node whose
                // publishing queue is full.
                Err(error) => {
                    tracing::debug!(%error, room, "room event not published to other nodes");
                }
            },
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

    /// The room's order now belongs to `customer_id`: every other client's session of the
    /// room, on every node, ends.
    pub fn publish_customer(&self, room: RoomId, customer_id: String) {
        self.publish(room, RoomEvent::CustomerChanged { customer_id }, None);
    }

    /// Hands the event to the room's sessions without ever queueing more than a session's
    /// mailbox holds: a session that is that far behind (stalled on the database, say) is
    /// told once that it lagged and gets nothing more, so memory stays bounded whatever
    /// arrives meanwhile.
    fn deliver(&self, room: RoomId, event: &Arc<PreparedEvent>, except: Option<ConnId>) {
        let mut state = self.lock();
        if !state.rooms.contains_key(&room) {
            return;
        }
        if let Some(seq) = event.seq() {
            let delivered = state.delivered.entry(room).or_default();
            *delivered = (*delivered).max(seq);
        }
        let Some(sessions) = state.rooms.get_mut(&room) else {
            return;
        };
        for (conn, session) in sessions.iter_mut() {
            if Some(*conn) == except || session.lagging {
                continue;
            }
            match session
                .recipient
                .try_send(ToSession::Event(Arc::clone(event)))
            {
                Ok(()) | Err(SendError::Closed(_)) => {}
                Err(SendError::Full(_)) => {
                    tracing::info!(conn, room, "session mailbox full; dropping it as lagging");
                    session.lagging = true;
                    // One control message past the bound, once per session.
                    session.recipient.do_send(ToSession::Lagged);
                }
            }
        }
    }

    /// Control messages (one each per session) go past the mailbox bound.
    fn broadcast(&self, message: &ToSession) {
        for session in self.lock().rooms.values().flat_map(HashMap::values) {
            session.recipient.do_send(message.clone());
        }
    }

    /// How this node's envelopes for `room` begin (`RoomEnvelope` serializes its fields in
    /// declaration order); a test keeps the two in step.
    fn own_prefix(&self, room: RoomId) -> String {
        format!(
            r#"{{"room_id":{room},"node":{}"#,
            serde_json::Value::from(self.node.as_str())
        )
    }

    fn receive(&self, event: BrokerEvent) {
        match event {
            BrokerEvent::Published {
                topic: Topic::Inbox,
                payload,
            } => self.inbox.receive(&payload),
            BrokerEvent::Published {
                topic: Topic::Room(room),
                payload,
            } => {
                // Redis echoes a node's own publications back to it: recognised by the bytes
                // this node writes first, so they are not parsed only to be dropped.
                if payload.starts_with(self.own_prefix(room).as_bytes()) {
                    return;
                }
                match serde_json::from_slice::<RoomEnvelope>(&payload) {
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
            BrokerEvent::Reconnected => {
                self.metrics.broker_reconnects.inc();
                self.broadcast(&ToSession::CatchUp);
                self.inbox.catch_up();
            }
            BrokerEvent::Resync {
                topic: Topic::Room(room),
            } => self.tell_room(room, &ToSession::CatchUp),
            BrokerEvent::Resync {
                topic: Topic::Inbox,
            } => self.inbox.catch_up(),
        }
    }

    /// The rooms with sessions on this node, and the highest seq delivered live to each
    /// (`None`: none since the first session joined).
    pub(crate) fn delivered_heads(&self) -> Vec<(RoomId, Option<Seq>)> {
        let state = self.lock();
        state
            .rooms
            .keys()
            .map(|room| (*room, state.delivered.get(room).copied()))
            .collect()
    }

    /// The stored timeline of `room` reaches `seq`, which the node never delivered live: its
    /// sessions that are not there yet catch up from the database.
    pub(crate) fn catch_up_to(&self, room: RoomId, seq: Seq) {
        {
            let mut state = self.lock();
            if !state.rooms.contains_key(&room) {
                return;
            }
            let delivered = state.delivered.entry(room).or_default();
            *delivered = (*delivered).max(seq);
        }
        self.tell_room(room, &ToSession::CatchUpTo(seq));
    }

    /// A control message to every session of `room` on this node.
    fn tell_room(&self, room: RoomId, message: &ToSession) {
        if let Some(sessions) = self.lock().rooms.get(&room) {
            for session in sessions.values() {
                session.recipient.do_send(message.clone());
            }
        }
    }

    /// Asks every session to close with 1012 once its in-flight work is done; sessions that
    /// join later are told at once.
    pub fn shutdown(&self) {
        self.lock().shutting_down = true;
        self.broadcast(&ToSession::Shutdown);
        self.inbox.shutdown();
    }

    /// Live sessions and streams on this node.
    pub fn session_count(&self) -> usize {
        let sessions: usize = self.lock().rooms.values().map(HashMap::len).sum();
        sessions + self.inbox.stream_count()
    }
}

/// What a change of [`Hub::online`] counts.
#[derive(Debug, Clone, Copy)]
enum Counted {
    /// Nodes where the user has a connection.
    Online,
    /// User streams the user has open.
    Stream,
}

/// Presence changes waiting for the broker before new ones are dropped.
const ONLINE_QUEUE: usize = 4096;

/// Counts, one change at a time (so a quick reconnect cannot overtake its own disconnect),
/// on how many nodes each user is connected, and announces a user coming online or going
/// offline in the cluster to every user stream.
async fn count_online(
    broker: Arc<dyn Broker>,
    inbox: Arc<Inbox>,
    mut changes: mpsc::Receiver<(String, i64, Counted)>,
) {
    while let Some((user, delta, counted)) = changes.recv().await {
        if let Counted::Stream = counted {
            if let Err(error) = broker.streams(&user, delta).await {
                tracing::warn!(%error, "user stream not counted");
            }
            continue;
        }
        match broker.online(&user, delta).await {
            Ok(1) if delta > 0 => inbox.user_presence(&user, true),
            Ok(0) if delta < 0 => inbox.user_presence(&user, false),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "user presence not counted"),
        }
    }
}

async fn pump(hub: std::sync::Weak<Hub>, mut events: mpsc::Receiver<BrokerEvent>) {
    while let Some(event) = events.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        hub.receive(event);
    }
}

/// The room's live sessions, on every node, hear every durable change (`chat::announce`).
impl Listener for Hub {
    fn hear(&self, announcement: Announcement<'_>) {
        match announcement {
            Announcement::MessageStored(message) => self.publish_message(message.clone()),
            Announcement::ReadMoved {
                room_id,
                user_id,
                up_to,
            } => {
                let frame = ServerFrame::Read {
                    user_id: user_id.to_owned(),
                    up_to,
                };
                self.publish_frame(room_id, frame, None);
            }
            Announcement::RoomEvent { room_id, frame } => {
                self.publish_frame(room_id, frame.clone(), None);
            }
            Announcement::CustomerChanged {
                room_id,
                customer_id,
                ..
            } => self.publish_customer(room_id, customer_id.to_owned()),
            // Nobody can have a session in a room that did not exist.
            Announcement::RoomOpened { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};
    use room_chats_broker::{InProcessBroker, InProcessBus};
    use room_chats_core::chat::InboxRooms;
    use room_chats_store::{Database, DatabaseUrl, PoolSettings, StoreError};
    use tokio::sync::oneshot;

    use super::*;

    const MAILBOX: usize = 8;

    /// An inbox on a throwaway embedded database (the hub only hands it broker payloads);
    /// the directory goes with the test.
    fn test_inbox(
        broker: &Arc<InProcessBroker>,
    ) -> Result<(Arc<Inbox>, tempfile::TempDir), StoreError> {
        let dir =
            tempfile::tempdir().map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let url = DatabaseUrl::Sqlite(dir.path().join("chat.db"));
        let settings = PoolSettings {
            max_size: 1,
            acquire_timeout: std::time::Duration::from_secs(1),
        };
        let db = Database::connect(url, &settings)?;
        let inbox = Inbox::start(
            "node".to_owned(),
            Arc::clone(broker) as Arc<dyn Broker>,
            InboxRooms::new(db),
            std::time::Duration::from_millis(10),
        );
        Ok((inbox, dir))
    }

    /// A session stuck (as on a slow database call) until `release` fires.
    struct Stalled {
        release: Option<oneshot::Receiver<()>>,
        events: Arc<AtomicUsize>,
        lagged: Option<oneshot::Sender<usize>>,
    }

    impl Actor for Stalled {
        type Context = Context<Self>;

        fn started(&mut self, ctx: &mut Self::Context) {
            if let Some(release) = self.release.take() {
                ctx.wait(
                    async move { drop(release.await) }
                        .into_actor(self)
                        .map(|(), _, _| ()),
                );
            }
        }
    }

    impl Handler<ToSession> for Stalled {
        type Result = ();

        fn handle(&mut self, message: ToSession, _: &mut Self::Context) {
            match message {
                ToSession::Event(_) => {
                    self.events.fetch_add(1, Ordering::Relaxed);
                }
                ToSession::Lagged => {
                    if let Some(lagged) = self.lagged.take() {
                        let _ = lagged.send(self.events.load(Ordering::Relaxed));
                    }
                }
                ToSession::CatchUp | ToSession::CatchUpTo(_) | ToSession::Shutdown => {}
            }
        }
    }

    #[actix_web::test]
    async fn a_stalled_session_is_never_queued_more_than_its_mailbox() -> Result<(), StoreError> {
        let (events_in, events) = mpsc::channel(16);
        let broker = Arc::new(InProcessBus::new().attach(events_in));
        let (inbox, _dir) = test_inbox(&broker)?;
        let hub = Hub::start("node".to_owned(), broker, events, 10, inbox, Arc::default());
        let (release, stall) = oneshot::channel();
        let (lagged, told) = oneshot::channel();
        let delivered = Arc::new(AtomicUsize::new(0));
        let session = Stalled::create(|ctx| {
            ctx.set_mailbox_capacity(MAILBOX);
            Stalled {
                release: Some(stall),
                events: Arc::clone(&delivered),
                lagged: Some(lagged),
            }
        });
        hub.join(7, 1, session.recipient());
        for n in 0..10_000 {
            let frame = ServerFrame::Typing {
                user_id: format!("u{n}"),
                typing: true,
            };
            hub.publish_frame(7, frame, None);
        }
        let _ = release.send(());
        let before_lag = tokio::time::timeout(std::time::Duration::from_secs(10), told)
            .await
            .map_or(usize::MAX, |told| told.unwrap_or(usize::MAX));
        assert!(
            before_lag <= MAILBOX + 1,
            "{before_lag} events were queued for a mailbox of {MAILBOX} (MAX: never told)"
        );
        Ok(())
    }

    #[actix_web::test]
    async fn own_envelopes_start_with_the_prefix_the_hub_skips() -> Result<(), StoreError> {
        let (events_in, events) = mpsc::channel(1);
        let broker = Arc::new(InProcessBus::new().attach(events_in));
        let (inbox, _dir) = test_inbox(&broker)?;
        let hub = Hub::start(
            "node-\"a\"".to_owned(),
            broker,
            events,
            10,
            inbox,
            Arc::default(),
        );
        let envelope = RoomEnvelope {
            room_id: 42,
            node: "node-\"a\"".to_owned(),
            event: RoomEvent::CustomerChanged {
                customer_id: "u1".to_owned(),
            },
        };
        let payload = serde_json::to_string(&envelope).unwrap_or_default();
        assert!(payload.starts_with(&hub.own_prefix(42)), "{payload}");
        assert!(
            !payload.starts_with(&hub.own_prefix(4)),
            "another room's prefix"
        );
        Ok(())
    }
}
