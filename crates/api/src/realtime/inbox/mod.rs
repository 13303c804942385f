//! The node's inbox: it hears every durable change at the announce point, gathers what each
//! room saw for one coalescing window, publishes that to the other nodes, and tells every
//! per-user stream of this node (`/ws/`) what changed, with each room's state read from the
//! database once per update for all of them.
//!
//! Coalescing bounds an inbox's traffic by the rooms that changed, not the messages sent: a
//! busy room costs each stream one frame per window. Room changes (closing, access) do not
//! wait for the window. Updates reach the streams through one task, in the order they were
//! gathered, so a room's state never goes back.

mod touch;
mod view;
pub(crate) mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix::prelude::SendError;
use actix::{Message, Recipient};
use room_chats_broker::{Broker, BrokerError, Bytes, Topic};
use tokio::sync::{Notify, mpsc};

use room_chats_core::chat::{Announcement, InboxRooms, Listener};

use crate::realtime::conn_id::ConnId;
pub(crate) use touch::{InboxBatch, Window};
pub(crate) use view::{InboxNews, InboxUpdate, InboxView, StreamFilter};

/// Batches waiting for the fan-out task; past it, streams are told to catch up instead.
const FANOUT_QUEUE: usize = 256;

/// What the inbox tells a stream.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub(crate) enum ToStream {
    /// Rooms changed.
    Update(Arc<InboxUpdate>),
    /// Updates may have been lost (the broker reconnected, the fan-out queue overflowed):
    /// catch up from the database.
    CatchUp,
    /// The node is shutting down: close with 1012.
    Shutdown,
    /// The stream's mailbox overflowed; it gets nothing more and closes so the client
    /// reconnects with its cursor.
    Lagged,
}

/// A stream as the inbox knows it.
struct StreamLink {
    recipient: Recipient<ToStream>,
    lagging: bool,
}

#[derive(Default)]
struct Streams {
    links: HashMap<ConnId, StreamLink>,
    shutting_down: bool,
}

/// See the module docs.
pub struct Inbox {
    node: String,
    broker: Arc<dyn Broker>,
    window: Duration,
    gathered: Mutex<touch::Gathered>,
    /// Something was gathered: a window starts.
    dirty: Notify,
    /// A room change was gathered: the window ends now.
    urgent: Notify,
    fanout: mpsc::Sender<Window>,
    streams: Mutex<Streams>,
}

impl Inbox {
    /// Starts the inbox's tasks and subscribes the node to the other nodes' batches.
    pub fn start(
        node: String,
        broker: Arc<dyn Broker>,
        rooms: InboxRooms,
        window: Duration,
    ) -> Arc<Self> {
        let (fanout, batches) = mpsc::channel(FANOUT_QUEUE);
        let inbox = Arc::new(Self {
            node,
            broker,
            window,
            gathered: Mutex::new(touch::Gathered::default()),
            dirty: Notify::new(),
            urgent: Notify::new(),
            fanout,
            streams: Mutex::new(Streams::default()),
        });
        inbox.broker.subscribe(Topic::Inbox);
        tokio::spawn(run_windows(Arc::downgrade(&inbox)));
        tokio::spawn(run_fanout(Arc::downgrade(&inbox), rooms, batches));
        inbox
    }

    fn gathered(&self) -> MutexGuard<'_, touch::Gathered> {
        // Every update leaves it consistent (plain pushes), so a panic elsewhere cannot
        // corrupt it.
        self.gathered.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn streams(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a stream; it is told of every update from now on.
    pub(crate) fn join(&self, conn: ConnId, stream: Recipient<ToStream>) {
        let mut streams = self.streams();
        if streams.shutting_down {
            stream.do_send(ToStream::Shutdown);
        }
        streams.links.insert(
            conn,
            StreamLink {
                recipient: stream,
                lagging: false,
            },
        );
    }

    /// Removes a stream.
    pub(crate) fn leave(&self, conn: ConnId) {
        self.streams().links.remove(&conn);
    }

    /// Live streams on this node.
    pub fn stream_count(&self) -> usize {
        self.streams().links.len()
    }

    /// Asks every stream to close with 1012; streams that join later are told at once.
    pub fn shutdown(&self) {
        let mut streams = self.streams();
        streams.shutting_down = true;
        for link in streams.links.values() {
            link.recipient.do_send(ToStream::Shutdown);
        }
    }

    /// The broker reconnected: what other nodes published meanwhile is lost.
    pub fn catch_up(&self) {
        self.tell_all(&ToStream::CatchUp);
    }

    /// A batch another node published.
    pub fn receive(&self, payload: &[u8]) {
        match serde_json::from_slice::<InboxBatch>(payload) {
            Ok(batch) if batch.node == self.node => {}
            Ok(batch) => self.queue_fanout(batch.window),
            Err(error) => tracing::warn!(%error, "unreadable inbox batch from the broker"),
        }
    }

    /// Control messages (one each per stream) go past the mailbox bound.
    fn tell_all(&self, message: &ToStream) {
        for link in self.streams().links.values() {
            link.recipient.do_send(message.clone());
        }
    }

    /// Ends the window: publishes its touches and hands them to this node's streams.
    fn flush(&self) {
        let Some(window) = self.gathered().take() else {
            return;
        };
        let batch = InboxBatch {
            node: self.node.clone(),
            window,
        };
        match serde_json::to_vec(&batch) {
            Ok(payload) => match self.broker.publish(Topic::Inbox, Bytes::from(payload)) {
                Ok(()) | Err(BrokerError::Closed) => {}
                // Counted by the broker, which tells other nodes' streams to catch up once it can.
                Err(error) => tracing::debug!(%error, "inbox batch not published to other nodes"),
            },
            Err(error) => tracing::error!(%error, "inbox batch not serializable"),
        }
        self.queue_fanout(batch.window);
    }

    /// A user came online (`true`) or went offline in the cluster: news for admins' streams.
    pub(crate) fn user_presence(&self, user_id: &str, online: bool) {
        self.gathered().add_presence(user_id, online);
        self.dirty.notify_one();
    }

    fn queue_fanout(&self, window: Window) {
        if self.streams().links.is_empty() {
            return;
        }
        if let Err(error) = self.fanout.try_send(window) {
            tracing::warn!(%error, "inbox fan-out queue full; streams catch up from the database");
            self.catch_up();
        }
    }

    /// Hands an update to every stream without queueing more than a stream's mailbox holds
    /// (see `Hub::deliver`).
    fn deliver(&self, update: &Arc<InboxUpdate>) {
        let mut streams = self.streams();
        for (conn, link) in &mut streams.links {
            if link.lagging {
                continue;
            }
            match link
                .recipient
                .try_send(ToStream::Update(Arc::clone(update)))
            {
                Ok(()) | Err(SendError::Closed(_)) => {}
                Err(SendError::Full(_)) => {
                    tracing::info!(conn, "stream mailbox full; dropping it as lagging");
                    link.lagging = true;
                    link.recipient.do_send(ToStream::Lagged);
                }
            }
        }
    }
}

/// Every durable change is inbox news.
impl Listener for Inbox {
    fn hear(&self, announcement: Announcement<'_>) {
        let urgent = self.gathered().add(announcement);
        self.dirty.notify_one();
        if urgent {
            self.urgent.notify_one();
        }
    }
}

/// Opens a window on the first touch and flushes it after the coalescing window, or at once
/// for a room change.
async fn run_windows(inbox: std::sync::Weak<Inbox>) {
    while let Some(strong) = inbox.upgrade() {
        // Woken at least every second, so the task ends soon after the inbox does.
        let dirty = tokio::time::timeout(Duration::from_secs(1), strong.dirty.notified());
        if dirty.await.is_ok() {
            let _ = tokio::time::timeout(strong.window, strong.urgent.notified()).await;
            strong.flush();
        }
    }
}

/// Reads the touched rooms once per update and tells every stream, one update at a time so a
/// room's state never goes back. Batches that queued meanwhile are merged into one update.
async fn run_fanout(
    inbox: std::sync::Weak<Inbox>,
    rooms: InboxRooms,
    mut batches: mpsc::Receiver<Window>,
) {
    let mut waiting = Vec::new();
    while batches.recv_many(&mut waiting, FANOUT_QUEUE).await > 0 {
        let Window {
            rooms: touches,
            presence,
        } = touch::merge(waiting.drain(..));
        let room_ids: Vec<i64> = touches.iter().map(|touch| touch.room_id).collect();
        let read_at = chrono::Utc::now().timestamp_micros();
        let loaded = rooms.snapshots(room_ids).await;
        let Some(inbox) = inbox.upgrade() else { return };
        match loaded {
            Ok(rooms) => {
                let rendered = rooms
                    .iter()
                    .filter_map(|room| Some((room.room.id, wire::RenderedRoom::new(room)?)))
                    .collect();
                let update = InboxUpdate {
                    touches,
                    rooms: rooms.into_iter().map(|room| (room.room.id, room)).collect(),
                    rendered,
                    presence,
                    read_at,
                };
                inbox.deliver(&Arc::new(update));
            }
            Err(error) => {
                tracing::warn!(%error, "inbox rooms not readable; streams catch up later");
                inbox.catch_up();
            }
        }
    }
}

/// How long a stream's cursor may be behind a change that committed before it: transactions
/// commit a little after the time they record, and a window holds changes before they are
/// announced. A catch-up reads this far back; frames are upserts, so a repeat is harmless.
pub(crate) const CURSOR_SLACK_MICROS: i64 = 10_000_000;
