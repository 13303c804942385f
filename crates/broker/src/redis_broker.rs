//! Redis pub/sub between nodes.
//!
//! Publishing goes through a deadpool-redis pool, pipelined by one publisher task so a burst
//! costs one round trip. Receiving uses one dedicated connection per node (never a pooled
//! one: SUBSCRIBE poisons a connection), owned by a subscriber task that keeps the node
//! subscribed to exactly the topics it wants (the rooms it has sessions in, the inbox), and
//! reconnects with backoff.
//!
//! Neither side trusts TCP to say when Redis is gone. A network that drops packets without a
//! reset (a cloud network's state flush, a stalled balancer) leaves a half-open connection
//! that errs only when the kernel's retransmissions give up, minutes later; a frozen Redis
//! does the same. So every exchange has a deadline: the subscription answers a PING every
//! [`KEEPALIVE_EVERY`] within [`ANSWER_WITHIN`] or is dropped and made again (and the node's
//! rooms catch up from the database once it is back); a publication that is not answered in
//! time counts as lost, and its topics are told to catch up ([`BrokerEvent::Resync`]) as soon
//! as Redis answers again — retried every [`RESYNC_RETRY`] until it does, whether or not
//! anything more is published.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use deadpool_redis::{Manager, Pool, Runtime};
use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{BoxFuture, Broker, BrokerError, BrokerEvent, BrokerStats, RoomId, Topic};

/// Most publications waiting for the publisher task before new ones are dropped.
const PUBLISH_QUEUE: usize = 16_384;
/// Most publications sent in one pipeline.
const PUBLISH_BATCH: usize = 512;
/// Presence counters expire when untouched this long, so a crashed node's users do not stay
/// online forever.
const PRESENCE_TTL_SECS: i64 = 24 * 3600;
/// How often the subscription is asked whether it is alive.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);
/// How long any exchange with Redis may go unanswered before the connection counts as dead:
/// a keepalive, a (un)subscription, a publication, a connection being opened. Far above a
/// healthy round trip (~0.2 ms here), far below TCP's own minutes. A dead subscription is
/// found within `KEEPALIVE_EVERY` + `ANSWER_WITHIN`.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often a node that lost publications tries to tell their topics to catch up.
const RESYNC_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

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
    /// Whether the subscription is up, and when it last answered its keepalive.
    liveness: Arc<Liveness>,
    /// Set by [`Broker::close`]: publications are refused from then on.
    closed: AtomicBool,
    /// Publications the publisher task could not send.
    lost: Arc<AtomicU64>,
    /// Publications refused at once.
    refused: AtomicU64,
    /// Topics of publications refused at once (the queue was full): the publisher tells them
    /// to catch up, as it does for those it failed to send.
    refused_topics: Arc<Mutex<HashSet<Topic>>>,
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
        let liveness = Arc::new(Liveness::default());
        let lost = Arc::new(AtomicU64::new(0));
        let refused_topics = Arc::new(Mutex::new(HashSet::new()));
        tokio::spawn(run_publisher(
            pool.clone(),
            settings.prefix.clone(),
            queue,
            Arc::clone(&lost),
            Arc::clone(&refused_topics),
        ));
        tokio::spawn(run_subscriber(Subscriber {
            client,
            prefix: settings.prefix.clone(),
            wanted: Arc::clone(&wanted),
            changed: Arc::clone(&changed),
            events,
            liveness: Arc::clone(&liveness),
        }));
        Ok(Self {
            pool,
            prefix: settings.prefix.clone(),
            outbox,
            wanted,
            changed,
            liveness,
            closed: AtomicBool::new(false),
            lost,
            refused: AtomicU64::new(0),
            refused_topics,
        })
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, BrokerError> {
        in_time(self.pool.get())
            .await
            .map_err(BrokerError::Unavailable)?
            .map_err(unavailable)
    }

    /// Adds `delta` to the counter `field` of the hash `key` and returns the new count; a
    /// counter at zero is removed, and the hash expires when untouched for a day, so a crashed
    /// node's counts do not stay forever.
    async fn count(&self, key: &str, field: &str, delta: i64) -> Result<i64, BrokerError> {
        let mut conn = self.connection().await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hincr(key, field, delta)
            .expire(key, PRESENCE_TTL_SECS)
            .ignore();
        let counted = pipe.query_async(&mut conn);
        let (count,): (i64,) = in_time(counted)
            .await
            .map_err(BrokerError::Unavailable)?
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
                self.refused_topics
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(topic);
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
            let mut hkeys = redis::cmd("HKEYS");
            hkeys.arg(&key);
            let users = hkeys.query_async(&mut conn);
            in_time(users)
                .await
                .map_err(BrokerError::Unavailable)?
                .map_err(unavailable)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(async move {
            self.liveness.confirmed()?;
            let mut conn = self.connection().await?;
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut conn);
            in_time(ping)
                .await
                .map_err(|unanswered| {
                    BrokerError::Unavailable(format!("publishing connection {unanswered}"))
                })?
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
            connected: self.liveness.confirmed().is_ok(),
            refused_publications: self.refused.load(Ordering::Acquire),
            lost_publications: self.lost.load(Ordering::Acquire),
            subscription_losses: self.liveness.losses.load(Ordering::Acquire),
        }
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// Sends queued publications, as many per round trip as are waiting. Topics whose
/// publications could not be sent (or were refused, the queue being full) are remembered, and
/// every node is told to make them up from
/// the database ([`BrokerEvent::Resync`]) with the next pipeline that goes through — or on
/// their own, every [`RESYNC_RETRY`], when nothing more is published.
async fn run_publisher(
    pool: Pool,
    prefix: String,
    mut queue: mpsc::Receiver<Outgoing>,
    lost: Arc<AtomicU64>,
    refused_topics: Arc<Mutex<HashSet<Topic>>>,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    let mut unannounced: HashSet<Topic> = HashSet::new();
    // Since when publishing fails, for one log line when it starts and one when it ends.
    let mut failing_since: Option<Instant> = None;
    loop {
        unannounced.extend(
            refused_topics
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drain(),
        );
        // With topics to resync, a quiet moment is a time to try again rather than to wait.
        let closed = if unannounced.is_empty() {
            queue.recv_many(&mut batch, PUBLISH_BATCH).await == 0
        } else {
            let received =
                tokio::time::timeout(RESYNC_RETRY, queue.recv_many(&mut batch, PUBLISH_BATCH));
            matches!(received.await, Ok(0))
        };
        if closed {
            return;
        }
        let mut pipe = redis::pipe();
        let mut flushed = Vec::new();
        let mut topics = HashSet::new();
        for outgoing in batch.drain(..) {
            match outgoing {
                Outgoing::Publish(topic, payload) => {
                    pipe.publish(channel(&prefix, topic), payload.as_ref())
                        .ignore();
                    topics.insert(topic);
                }
                Outgoing::Flushed(reply) => flushed.push(reply),
            }
        }
        let publications = pipe.cmd_iter().count();
        // After the publications they missed, so a receiver that catches up sees them too.
        for topic in &unannounced {
            pipe.publish(channel(&prefix, *topic), RESYNC.as_slice())
                .ignore();
        }
        if pipe.cmd_iter().count() == 0 {
            answer(flushed);
            continue;
        }
        match send_with_one_retry(&pool, &pipe).await {
            Ok(()) => {
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        failed_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                        resynced_topics = unannounced.len(),
                        "redis publishing is back; the rooms it missed were told to catch up"
                    );
                }
                unannounced.clear();
            }
            Err(error) => {
                if failing_since.is_none() {
                    failing_since = Some(Instant::now());
                    tracing::warn!(
                        %error,
                        "redis publish failed; other nodes' sessions will catch up from the \
                         database once redis answers"
                    );
                }
                lost.fetch_add(
                    u64::try_from(publications).unwrap_or(u64::MAX),
                    Ordering::AcqRel,
                );
                unannounced.extend(topics);
            }
        }
        answer(flushed);
    }
}

/// Sends `pipe`, once more on another connection if the first fails: a pooled connection
/// may have died since its last use (Redis restarted, or it was opened on an HTTP worker's
/// runtime that has stopped, as at shutdown) and the pool replaces it.
async fn send_with_one_retry(pool: &Pool, pipe: &redis::Pipeline) -> Result<(), String> {
    let first = send(pool, pipe).await;
    if let Err(error) = &first {
        tracing::debug!(%error, "redis publish failed; retrying on another connection");
        return send(pool, pipe).await;
    }
    first
}

/// Sends `pipe` on a pooled connection, answered within [`ANSWER_WITHIN`].
async fn send(pool: &Pool, pipe: &redis::Pipeline) -> Result<(), String> {
    let mut conn = in_time(pool.get())
        .await?
        .map_err(|error| error.to_string())?;
    match in_time(pipe.query_async::<()>(&mut conn)).await {
        Ok(sent) => sent.map_err(|error| error.to_string()),
        Err(unanswered) => {
            // Half-open, or Redis frozen: out of the pool, so the next exchange opens a
            // connection that works once the path heals instead of waiting on this one.
            drop(deadpool_redis::Connection::take(conn));
            Err(unanswered)
        }
    }
}

/// `work`'s outcome if it ends within [`ANSWER_WITHIN`].
async fn in_time<T>(work: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(ANSWER_WITHIN, work)
        .await
        .map_err(|_| format!("unanswered for {} ms", ANSWER_WITHIN.as_millis()))
}

/// Tells each waiting `close` that what was queued before it went out.
fn answer(flushed: Vec<oneshot::Sender<()>>) {
    for reply in flushed {
        // The closer may have given up waiting.
        let _ = reply.send(());
    }
}

/// The payload that stands for "catch up": an empty one, which no room event is.
const RESYNC: [u8; 0] = [];

/// Whether the subscription is up, and when it last proved it.
#[derive(Default)]
struct Liveness {
    /// Whether the subscriber holds a subscribed connection.
    up: AtomicBool,
    /// When it last answered (a keepalive, or its subscription), in ms since `epoch`.
    answered_ms: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
    /// Times it was found lost.
    losses: AtomicU64,
}

impl Liveness {
    fn now_ms(&self) -> u64 {
        let epoch = self.epoch.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The subscription answered just now.
    fn answered(&self) {
        self.answered_ms.store(self.now_ms(), Ordering::Release);
        self.up.store(true, Ordering::Release);
    }

    fn lost(&self) {
        self.up.store(false, Ordering::Release);
        self.losses.fetch_add(1, Ordering::AcqRel);
    }

    /// Ok when the subscription is up and answered within a keepalive round.
    fn confirmed(&self) -> Result<(), BrokerError> {
        if !self.up.load(Ordering::Acquire) {
            return Err(BrokerError::Unavailable(
                "not subscribed: other nodes' events cannot arrive".to_owned(),
            ));
        }
        let silent_ms = self
            .now_ms()
            .saturating_sub(self.answered_ms.load(Ordering::Acquire));
        let limit = KEEPALIVE_EVERY + ANSWER_WITHIN;
        if u128::from(silent_ms) > limit.as_millis() {
            return Err(BrokerError::Unavailable(format!(
                "the subscription has not answered for {silent_ms} ms"
            )));
        }
        Ok(())
    }
}

struct Subscriber {
    client: redis::Client,
    prefix: String,
    wanted: Arc<Mutex<HashSet<Topic>>>,
    changed: Arc<Notify>,
    events: mpsc::Sender<BrokerEvent>,
    liveness: Arc<Liveness>,
}

/// Why a subscription ended.
enum Ended {
    /// The node is going away (nobody takes its events).
    NodeGone,
    /// The connection is lost, for this reason.
    Lost(String),
}

/// Keeps one subscription connection alive for the node's lifetime.
async fn run_subscriber(subscriber: Subscriber) {
    let mut backoff = Duration::from_millis(50);
    // When the subscription was lost; `None` at start and while it is up.
    let mut lost_at: Option<Instant> = None;
    let mut said_unreachable = false;
    loop {
        match subscriber.open().await {
            Ok((mut sink, mut stream, subscribed)) => {
                backoff = Duration::from_millis(50);
                said_unreachable = false;
                subscriber.liveness.answered();
                match lost_at.take() {
                    Some(at) => tracing::info!(
                        deaf_ms = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX),
                        topics = subscribed.len(),
                        "redis subscription is back; this node's rooms catch up from the database"
                    ),
                    None => tracing::info!(topics = subscribed.len(), "redis subscriber connected"),
                }
                if subscriber
                    .events
                    .send(BrokerEvent::Reconnected)
                    .await
                    .is_err()
                {
                    return;
                }
                match subscriber.listen(&mut sink, &mut stream, subscribed).await {
                    Ended::NodeGone => return,
                    Ended::Lost(reason) => {
                        subscriber.liveness.lost();
                        lost_at = Some(Instant::now());
                        tracing::warn!(
                            %reason,
                            "redis subscription lost: other nodes' events do not arrive until it \
                             is back; reconnecting"
                        );
                    }
                }
            }
            Err(error) => {
                // Once per outage: the attempts themselves are routine until it ends.
                if said_unreachable {
                    tracing::debug!(%error, "redis still unreachable");
                } else {
                    said_unreachable = true;
                    tracing::warn!(%error, "redis unreachable; retrying every second at most");
                }
            }
        }
        if subscriber.events.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Subscriber {
    /// A new connection, subscribed to the topics the node wants, within [`ANSWER_WITHIN`]
    /// for each step (a blackholed address never answers a connection attempt either).
    async fn open(&self) -> Result<(PubSubSink, PubSubStream, HashSet<Topic>), String> {
        let pubsub = tokio::time::timeout(ANSWER_WITHIN, self.client.get_async_pubsub())
            .await
            .map_err(|_| format!("no connection within {} ms", ANSWER_WITHIN.as_millis()))?
            .map_err(|error| error.to_string())?;
        let (mut sink, stream) = pubsub.split();
        let mut subscribed = HashSet::new();
        self.reconcile_in_time(&mut sink, &mut subscribed).await?;
        Ok((sink, stream, subscribed))
    }

    /// Passes the subscription's messages on, follows the node's topics, and asks it every
    /// [`KEEPALIVE_EVERY`] whether it is alive; answers when it is lost.
    async fn listen(
        &self,
        sink: &mut PubSubSink,
        stream: &mut PubSubStream,
        mut subscribed: HashSet<Topic>,
    ) -> Ended {
        let mut keepalive = tokio::time::interval(KEEPALIVE_EVERY);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else {
                        return Ended::Lost("the connection closed".to_owned());
                    };
                    let Some(topic) = topic_of(&self.prefix, message.get_channel_name()) else {
                        continue;
                    };
                    let payload = message.get_payload_bytes();
                    let event = if payload == RESYNC.as_slice() {
                        BrokerEvent::Resync { topic }
                    } else {
                        BrokerEvent::Published {
                            topic,
                            payload: Bytes::copy_from_slice(payload),
                        }
                    };
                    // Awaiting pushes back on Redis rather than dropping events.
                    if self.events.send(event).await.is_err() {
                        return Ended::NodeGone;
                    }
                    self.liveness.answered();
                }
                () = self.changed.notified() => {
                    if let Err(error) = self.reconcile_in_time(sink, &mut subscribed).await {
                        return Ended::Lost(error);
                    }
                }
                _ = keepalive.tick() => {
                    match tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => self.liveness.answered(),
                        Ok(Err(error)) => return Ended::Lost(error.to_string()),
                        Err(_) => {
                            return Ended::Lost(format!(
                                "keepalive unanswered for {} ms",
                                ANSWER_WITHIN.as_millis()
                            ));
                        }
                    }
                }
            }
        }
    }

    /// [`Self::reconcile`], answered within [`ANSWER_WITHIN`].
    async fn reconcile_in_time(
        &self,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<Topic>,
    ) -> Result<(), String> {
        tokio::time::timeout(ANSWER_WITHIN, self.reconcile(sink, subscribed))
            .await
            .map_err(|_| {
                format!(
                    "subscribing unanswered for {} ms",
                    ANSWER_WITHIN.as_millis()
                )
            })?
            .map_err(|error| format!("subscribing failed: {error}"))
    }

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
