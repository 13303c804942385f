//! Fan-out of room events between the nodes of a room-chats cluster.
//!
//! The broker carries opaque payloads (serialized room events) from the node where something
//! happened to every other node with a session in that room. It is deliberately *not* the
//! source of truth: delivery is at most once and best effort. Nodes deliver to their own
//! sessions directly, publish for the others, and whatever the broker loses is filled from
//! the database, told by the broker itself:
//! - a node whose subscription was lost (a Redis restart, or a connection gone silent, found
//!   by a keepalive) gets [`BrokerEvent::Reconnected`] when it is back: every local session
//!   catches up from storage;
//! - a node that could not publish remembers the topics it failed, and once the broker answers
//!   again tells every node [`BrokerEvent::Resync`] for each: their sessions of that topic
//!   catch up from storage, even if nothing more is ever said there;
//! - a session that sees a gap in a room's seqs fills it from storage.
//!
//! This is the only crate that knows Redis.

mod in_process;
mod redis_broker;

use std::future::Future;
use std::pin::Pin;

pub use bytes::Bytes;
pub use in_process::{InProcessBroker, InProcessBus};
pub use redis_broker::{RedisBroker, RedisSettings};

/// A room id (the broker needs nothing else of the domain).
pub type RoomId = i64;

/// What a payload is about, and so which nodes receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// One room's events: received by the nodes with a session in the room.
    Room(RoomId),
    /// The cluster's inbox: which rooms changed, for the per-user streams of every node.
    Inbox,
}

/// What a node receives from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerEvent {
    /// Another node (or, with Redis, possibly this one) published `payload` to `topic`.
    Published {
        /// What it is about.
        topic: Topic,
        /// The payload as published.
        payload: Bytes,
    },
    /// The broker connection was (re)established: anything published meanwhile may be lost,
    /// so every local session must catch up from the database.
    Reconnected,
    /// A node could not publish some of `topic`'s events (the broker was unreachable from it):
    /// the sessions of that topic must catch up from the database.
    Resync {
        /// The topic whose publications were lost.
        topic: Topic,
    },
}

/// The broker failed; callers log it and carry on (the database is the source of truth).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker cannot be reached.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// Too many publications are waiting; this one was dropped.
    #[error("broker publish queue is full")]
    Overloaded,
    /// The node is shutting down and has flushed its last publications.
    #[error("broker closed for shutdown")]
    Closed,
}

/// The broker's health at one moment, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerStats {
    /// Whether the node receives other nodes' publications now.
    pub connected: bool,
    /// Publications [`Broker::publish`] refused at once (queue full, broker unreachable),
    /// since start; refusals after [`Broker::close`] are not counted.
    pub refused_publications: u64,
    /// Publications accepted by [`Broker::publish`] that could not be sent (the broker failed
    /// while sending them), since start. Their topics are told to catch up
    /// ([`BrokerEvent::Resync`]) once the broker answers again.
    pub lost_publications: u64,
    /// Times the subscription was found lost (closed, or silent past the keepalive), since
    /// start.
    pub subscription_losses: u64,
}

/// A boxed future, so the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Moves room events between nodes.
///
/// Guarantee: at most once, in no particular order across publishers, best effort — and never
/// silently: a payload the broker could not carry is made up for from the database. Each
/// (re)connection is announced with [`BrokerEvent::Reconnected`], and a topic whose
/// publications were dropped with [`BrokerEvent::Resync`] once the broker answers, so receivers
/// catch up from the database. A node receives a topic's payloads only between
/// [`Broker::subscribe`] and [`Broker::unsubscribe`].
pub trait Broker: Send + Sync + 'static {
    /// Publishes to the other nodes subscribed to `topic`. Never blocks: a full queue or an
    /// unreachable broker is reported and the payload dropped.
    fn publish(&self, topic: Topic, payload: Bytes) -> Result<(), BrokerError>;

    /// Starts receiving `topic`'s payloads (e.g. the first local session of a room joined).
    fn subscribe(&self, topic: Topic);

    /// Stops receiving `topic`'s payloads (e.g. the last local session of a room left).
    fn unsubscribe(&self, topic: Topic);

    /// Adds `delta` (+1 or -1) to the number of connections `user` has to `room` across all
    /// nodes and returns the new total, so presence changes are announced once per cluster.
    fn presence(
        &self,
        room: RoomId,
        user: &str,
        delta: i64,
    ) -> BoxFuture<'_, Result<i64, BrokerError>>;

    /// Adds `delta` (+1 or -1) to the number of nodes where `user` has a connection and
    /// returns the new total, so that a user coming online or going offline anywhere in the
    /// cluster is announced once.
    fn online(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>>;

    /// Adds `delta` (+1 or -1) to the number of user streams (`/ws/`) `user` has open across
    /// all nodes and returns the new total (`delta` 0 reads it): a user with a stream sees
    /// every room's news, so is not notified of them.
    fn streams(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>>;

    /// The users with a connection on some node.
    fn online_users(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>>;

    /// Checks that the node both reaches the broker and is subscribed to it, i.e. that it
    /// can publish and receive other nodes' events live (for readiness probes): the
    /// subscription must have answered its keepalive within the last few seconds.
    fn check(&self) -> BoxFuture<'_, Result<(), BrokerError>>;

    /// Sends what is queued for publishing and refuses further publications (shutdown).
    /// Waits at most `limit`.
    fn close(&self, limit: std::time::Duration) -> BoxFuture<'_, ()>;

    /// The broker's health now, without a round trip (for metrics scrapes).
    fn stats(&self) -> BrokerStats;

    /// A short name for logs and probes: `in-process` or `redis`.
    fn kind(&self) -> &'static str;
}
