//! Redis pub/sub between nodes.
//!
//! Publishing goes through a deadpool-redis pool, pipelined by one publisher task so a burst
//! costs one round trip. Receiving uses one dedicated connection per node (never a pooled
//! one: SUBSCRIBE poisons a connection), owned by a subscriber task that keeps the node
//! subscribed to exactly the topics it wants (the rooms it has sessions in, the inbox), and
//! reconnects with backoff.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use deadpool_redis::{Manager, Pool, Runtime};
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{BoxFuture, Broker, BrokerError, BrokerEvent, BrokerStats, RoomId, Topic};

/// Most publications waiting for the publisher task before new ones are dropped.
const PUBLISH_QUEUE: usize = 16_384;
/// Most publications sent in one pipeline.
const PUBLISH_BATCH: usize = 512;
/// Presence counters expire when untouched this long, so a crashed node's users do not stay
/// online forever.
const PRESENCE_TTL_SECS: i64 = 24 * 3600;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://…`, or `rediss://…` for TLS (managed Redis).
    pub url: String,
    /// PEM certificates of the authority that signed a `rediss://` server's certificate,
    /// when it is not one the system trusts (a private CA); `None` trusts the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Prefix of every channel and key, so several deployments (or tests) share one Redis.
    pub prefix: String,
    /// Publishing connections.
    pub pool_size: usize,
}

/// What the publisher task is asked to do.
enum Outgoing {
    /// Publish a payload to a topic's channel.
    Publish(Topic, Bytes),
    /// Everything queued before this was sent (or failed): say so.
    Flushed(oneshot::Sender<()>),
}

/// A node's Redis broker. Create it inside a Tokio runtime: it spawns its tasks there.
pub struct RedisBroker {
    pool: Pool,
    prefix: String,
    outbox: mpsc::Sender<Outgoing>,
    wanted: Arc<Mutex<HashSet<Topic>>>,
    changed: Arc<Notify>,
    /// Whether the subscriber connection is up and subscribed to the node's rooms.
    subscribed: Arc<AtomicBool>,
    /// Set by [`Broker::close`]: publications are refused from then on.
    closed: AtomicBool,
    /// Publications the publisher task could not send.
    lost: Arc<AtomicU64>,
    /// Publications refused at once.
    refused: AtomicU64,
}

impl RedisBroker {
    /// Connects lazily: this succeeds while Redis is down, and the tasks keep retrying.
    pub fn start(
        settings: &RedisSettings,
        events: mpsc::Sender<BrokerEvent>,
    ) -> Result<Self, BrokerError> {
        let client = open_client(settings)?;
        // From the client's connection info, which holds its TLS roots (deadpool's own
        // configuration cannot carry them).
        let manager = Manager::new(client.get_connection_info().clone()).map_err(unavailable)?;
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(unavailable)?;
        let (outbox, queue) = mpsc::channel(PUBLISH_QUEUE);
        let wanted = Arc::new(Mutex::new(HashSet::new()));
        let changed = Arc::new(Notify::new());
        let subscribed = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicU64::new(0));
        tokio::spawn(run_publisher(
            pool.clone(),
            settings.prefix.clone(),
            queue,
            Arc::clone(&lost),
        ));
        tokio::spawn(run_subscriber(Subscriber {
            client,
            prefix: settings.prefix.clone(),
            wanted: Arc::clone(&wanted),
            changed: Arc::clone(&changed),
            events,
            subscribed: Arc::clone(&subscribed),
        }));
        Ok(Self {
            pool,
            prefix: settings.prefix.clone(),
            outbox,
            wanted,
            changed,
            subscribed,
            closed: AtomicBool::new(false),
            lost,
            refused: AtomicU64::new(0),
        })
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, BrokerError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// Adds `delta` to the counter `field` of the hash `key` and returns the new count; a
    /// counter at zero is removed, and the hash expires when untouched for a day, so a crashed
    /// node's counts do not stay forever.
    async fn count(&self, key: &str, field: &str, delta: i64) -> Result<i64, BrokerError> {
        let mut conn = self.connection().await?;
        let (count,): (i64,) = redis::pipe()
            .atomic()
            .hincr(key, field, delta)
            .expire(key, PRESENCE_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if count <= 0 {
            let _: Result<(), _> = redis::cmd("HDEL")
                .arg(key)
                .arg(field)
                .query_async(&mut conn)
                .await;
        }
        Ok(count.max(0))
    }

    fn set_wanted(&self, topic: Topic, want: bool) {
        let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = if want {
            wanted.insert(topic)
        } else {
            wanted.remove(&topic)
        };
        drop(wanted);
        if changed {
            self.changed.notify_one();
        }
    }
}

/// The client of `settings.url`, trusting `settings.ca_pem` for TLS when given.
fn open_client(settings: &RedisSettings) -> Result<redis::Client, BrokerError> {
    let invalid = |error: redis::RedisError| {
        BrokerError::Unavailable(format!("invalid REDIS_URL or REDIS_CA_FILE: {error}"))
    };
    match &settings.ca_pem {
        Some(pem) => redis::Client::build_with_tls(
            settings.url.as_str(),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        )
        .map_err(invalid),
        None => redis::Client::open(settings.url.as_str()).map_err(invalid),
    }
}

fn unavailable(error: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(error.to_string())
}

fn channel(prefix: &str, topic: Topic) -> String {
    match topic {
        Topic::Room(room) => format!("{prefix}room:{room}"),
        Topic::Inbox => format!("{prefix}inbox"),
    }
}

fn topic_of(prefix: &str, channel: &str) -> Option<Topic> {
    let name = channel.strip_prefix(prefix)?;
    if name == "inbox" {
        return Some(Topic::Inbox);
    }
    name.strip_prefix("room:")?.parse().ok().map(Topic::Room)
}

impl Broker for RedisBroker {
    fn publish(&self, topic: Topic, payload: Bytes) -> Result<(), BrokerError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(BrokerError::Closed);
        }
        self.outbox
            .try_send(Outgoing::Publish(topic, payload))
            .inspect_err(|_| {
                self.refused.fetch_add(1, Ordering::AcqRel);
            })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => BrokerError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => {
                    BrokerError::Unavailable("publisher task stopped".to_owned())
                }
            })
    }

    fn subscribe(&self, topic: Topic) {
        self.set_wanted(topic, true);
    }

    fn unsubscribe(&self, topic: Topic) {
        self.set_wanted(topic, false);
    }

    fn presence(
        &self,
        room: RoomId,
        user: &str,
        delta: i64,
    ) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let key = format!("{}presence:{room}", self.prefix);
        let user = user.to_owned();
        Box::pin(async move { self.count(&key, &user, delta).await })
    }

    fn online(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let key = format!("{}online", self.prefix);
        let user = user.to_owned();
        Box::pin(async move { self.count(&key, &user, delta).await })
    }

    fn streams(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let key = format!("{}streams", self.prefix);
        let user = user.to_owned();
        Box::pin(async move { self.count(&key, &user, delta).await })
    }

    fn online_users(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        let key = format!("{}online", self.prefix);
        Box::pin(async move {
            let mut conn = self.connection().await?;
            redis::cmd("HKEYS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(async move {
            if !self.subscribed.load(Ordering::Acquire) {
                return Err(BrokerError::Unavailable(
                    "not subscribed: other nodes' events cannot arrive".to_owned(),
                ));
            }
            let mut conn = self.connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
                .map_err(unavailable)
        })
    }

    fn close(&self, limit: Duration) -> BoxFuture<'_, ()> {
        self.closed.store(true, Ordering::Release);
        Box::pin(async move {
            let (flushed, done) = oneshot::channel();
            let flush = async {
                if self.outbox.send(Outgoing::Flushed(flushed)).await.is_ok() {
                    let _ = done.await;
                }
            };
            if tokio::time::timeout(limit, flush).await.is_err() {
                tracing::warn!("redis publications still queued at shutdown were dropped");
            }
        })
    }

    fn stats(&self) -> BrokerStats {
        BrokerStats {
            connected: self.subscribed.load(Ordering::Acquire),
            refused_publications: self.refused.load(Ordering::Acquire),
            lost_publications: self.lost.load(Ordering::Acquire),
        }
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// Sends queued publications, as many per round trip as are waiting.
async fn run_publisher(
    pool: Pool,
    prefix: String,
    mut queue: mpsc::Receiver<Outgoing>,
    lost: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut flushed = Vec::new();
        for outgoing in batch.drain(..) {
            match outgoing {
                Outgoing::Publish(topic, payload) => {
                    pipe.publish(channel(&prefix, topic), payload.as_ref())
                        .ignore();
                }
                Outgoing::Flushed(reply) => flushed.push(reply),
            }
        }
        let publications = pipe.cmd_iter().count();
        if publications == 0 {
            answer(flushed);
            continue;
        }
        // A pooled connection may have died since its last use (Redis restarted, or it was
        // opened on an HTTP worker's runtime that has stopped, as at shutdown): the pool
        // replaces it when it fails its recycling check, so one more try usually goes out.
        let mut sent = send(&pool, &pipe).await;
        if let Err(error) = &sent {
            tracing::debug!(%error, "redis publish failed; retrying on another connection");
            sent = send(&pool, &pipe).await;
        }
        if let Err(error) = sent {
            // Receivers catch up from the database when their subscription reconnects.
            tracing::warn!(%error, "redis publish failed; dropped a batch of room events");
            lost.fetch_add(
                u64::try_from(publications).unwrap_or(u64::MAX),
                Ordering::AcqRel,
            );
        }
        answer(flushed);
    }
}

async fn send(pool: &Pool, pipe: &redis::Pipeline) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|error| error.to_string())?;
    pipe.query_async::<()>(&mut conn)
        .await
        .map_err(|error| error.to_string())
}

/// Tells each waiting `close` that what was queued before it went out.
fn answer(flushed: Vec<oneshot::Sender<()>>) {
    for reply in flushed {
        // The closer may have given up waiting.
        let _ = reply.send(());
    }
}

struct Subscriber {
    client: redis::Client,
    prefix: String,
    wanted: Arc<Mutex<HashSet<Topic>>>,
    changed: Arc<Notify>,
    events: mpsc::Sender<BrokerEvent>,
    subscribed: Arc<AtomicBool>,
}

/// Keeps one subscription connection alive for the node's lifetime.
async fn run_subscriber(subscriber: Subscriber) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match subscriber.client.get_async_pubsub().await {
            Ok(pubsub) => {
                backoff = Duration::from_millis(50);
                let (mut sink, mut stream) = pubsub.split();
                let mut subscribed = HashSet::new();
                if let Err(error) = subscriber.reconcile(&mut sink, &mut subscribed).await {
                    tracing::warn!(%error, "redis subscribe failed");
                    continue;
                }
                subscriber.subscribed.store(true, Ordering::Release);
                tracing::info!(topics = subscribed.len(), "redis subscriber connected");
                if subscriber
                    .events
                    .send(BrokerEvent::Reconnected)
                    .await
                    .is_err()
                {
                    return;
                }
                loop {
                    tokio::select! {
                        message = stream.next() => {
                            let Some(message) = message else { break };
                            let Some(topic) = topic_of(&subscriber.prefix, message.get_channel_name()) else {
                                continue;
                            };
                            let event = BrokerEvent::Published {
                                topic,
                                payload: Bytes::copy_from_slice(message.get_payload_bytes()),
                            };
                            // Awaiting pushes back on Redis rather than dropping events.
                            if subscriber.events.send(event).await.is_err() {
                                return;
                            }
                        }
                        () = subscriber.changed.notified() => {
                            if let Err(error) = subscriber.reconcile(&mut sink, &mut subscribed).await {
                                tracing::warn!(%error, "redis subscribe failed");
                                break;
                            }
                        }
                    }
                }
                subscriber.subscribed.store(false, Ordering::Release);
                tracing::warn!("redis subscriber lost its connection; reconnecting");
            }
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "redis unreachable")
            }
        }
        if subscriber.events.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

impl Subscriber {
    /// Brings the connection's subscriptions in line with the topics the node wants.
    async fn reconcile(
        &self,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<Topic>,
    ) -> redis::RedisResult<()> {
        let wanted = self
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let add: Vec<String> = wanted
            .difference(subscribed)
            .map(|topic| channel(&self.prefix, *topic))
            .collect();
        let remove: Vec<String> = subscribed
            .difference(&wanted)
            .map(|topic| channel(&self.prefix, *topic))
            .collect();
        if !add.is_empty() {
            sink.subscribe(&add).await?;
        }
        if !remove.is_empty() {
            sink.unsubscribe(&remove).await?;
        }
        *subscribed = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip_under_the_prefix() {
        let name = channel("rc:test:", Topic::Room(42));
        assert_eq!(name, "rc:test:room:42");
        assert_eq!(topic_of("rc:test:", &name), Some(Topic::Room(42)));
        assert_eq!(topic_of("other:", &name), None);
        assert_eq!(topic_of("rc:test:", "rc:test:room:x"), None);
        let inbox = channel("rc:test:", Topic::Inbox);
        assert_eq!(topic_of("rc:test:", &inbox), Some(Topic::Inbox));
        assert_eq!(topic_of("rc:test:", "rc:test:inboxes"), None);
    }
}
