//! The node's webhook dispatcher: leases due queues, delivers their events in order, records
//! the outcome. The Web Push sender runs beside it. Runs on its own thread and runtime, so deliveries never compete with request
//! handling for an executor, and a slow receiver never blocks anything but its own queues.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use room_chats_store::Database;
use room_chats_store::webhooks::{
    self, Delivery, EndpointTarget, Failure, LeaseRequest, Leased, Queue, Settlement,
};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinSet;

use room_chats_core::chat::{Announcement, Listener};
use room_chats_core::metrics::Metrics;
use room_chats_core::push::PushSettings;
use room_chats_core::webhooks::WebhookSettings;
use room_chats_core::webhooks::schedule::jitter_unit;

use crate::webhook_sender::guarded_client;
use crate::webhook_sender::{Attempt, Sender};

/// Most events of one queue sent under one lease.
const EVENTS_PER_LEASE: i64 = 50;

/// How long to wait before trying the database again after it failed.
const DATABASE_RETRY: Duration = Duration::from_secs(1);

/// Shortest time between two rounds while most deliveries are still in flight: under load,
/// queues finish one by one, and a round for each would cost a transaction per queue.
const ROUND_GAP: Duration = Duration::from_millis(5);

/// How often leases that ran out with nobody to take them over are deleted.
const LEASE_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Starts and stops the node's dispatcher; also the announcement listener that wakes it when
/// this node committed events.
pub struct WebhookDispatch {
    wake: Arc<Notify>,
    push_wake: Arc<Notify>,
    stop: watch::Sender<Stop>,
    stopped: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl WebhookDispatch {
    /// Starts the dispatcher of node `owner` on a thread of its own, with the Web Push
    /// sender beside it (when `push` has a VAPID key).
    pub fn start(
        db: Database,
        settings: WebhookSettings,
        push: PushSettings,
        owner: String,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, std::io::Error> {
        let wake = Arc::new(Notify::new());
        let push_wake = Arc::new(Notify::new());
        let push_client = guarded_client(settings.timeout, push.allow_private_urls)
            .map_err(std::io::Error::other)?;
        let pushes = crate::push_sender::run(
            db.clone(),
            push_client,
            push,
            Arc::clone(&push_wake),
            Arc::clone(&metrics),
        );
        let (stop, stopping) = watch::channel(Stop::Run);
        let (done, stopped) = oneshot::channel();
        let sender = Sender::new(&settings).map_err(std::io::Error::other)?;
        let dispatcher = Dispatcher {
            db,
            sender,
            settings,
            owner,
            wake: Arc::clone(&wake),
            metrics,
            delivered: Delivered::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("webhooks".to_owned())
            .spawn(move || {
                runtime.spawn(pushes);
                runtime.block_on(dispatcher.run(stopping));
                // Dropping the runtime cancels deliveries still in flight (after `crash`).
                drop(runtime);
                let _ = done.send(());
            })?;
        Ok(Arc::new(Self {
            wake,
            push_wake,
            stop,
            stopped: std::sync::Mutex::new(Some(stopped)),
        }))
    }

    /// Looks for due events and pushes now rather than at the next poll (a notification was
    /// recorded).
    pub fn wake(&self) {
        self.wake.notify_one();
        self.push_wake.notify_one();
    }

    /// Stops claiming, lets deliveries in flight finish (at most `grace`), records them and
    /// hands this node's leases back so other nodes take over at once.
    pub async fn stop(&self, grace: Duration) {
        let _ = self.stop.send(Stop::Graceful);
        self.stopped(grace).await;
    }

    /// Stops at once as if the process died: deliveries in flight are cut off, nothing is
    /// recorded and no lease is handed back (tests of what other nodes do then).
    pub async fn crash(&self) {
        self.signal_crash();
        self.stopped(Duration::from_secs(5)).await;
    }

    /// Tells the dispatcher to stop as [`Self::crash`] does, without waiting for it.
    pub fn signal_crash(&self) {
        let _ = self.stop.send(Stop::Crash);
    }

    async fn stopped(&self, grace: Duration) {
        let stopped = self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(stopped) = stopped {
            let _ = tokio::time::timeout(grace, stopped).await;
        }
    }
}

/// What the dispatcher is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    Graceful,
    Crash,
}

/// Events this node committed are due at once: wake the dispatcher rather than wait for its
/// next poll. (Other nodes' events are found by polling, or by their own dispatchers.)
impl Listener for WebhookDispatch {
    fn hear(&self, announcement: Announcement<'_>) {
        match announcement {
            Announcement::MessageStored(_)
            | Announcement::RoomEvent { .. }
            | Announcement::RoomOpened { .. } => self.wake.notify_one(),
            Announcement::ReadMoved { .. } | Announcement::CustomerChanged { .. } => {}
        }
    }
}

struct Dispatcher {
    db: Database,
    sender: Sender,
    settings: WebhookSettings,
    owner: String,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// Events delivered since the last round, told by the delivery tasks as each one is, so
    /// they are recorded within a round gap rather than when their queue's run (up to
    /// [`EVENTS_PER_LEASE`] events) ends: a node that dies mid-run sends again only what was
    /// in flight or delivered in the last moments.
    delivered: Delivered,
}

/// The ids delivery tasks have delivered and the dispatcher has not yet taken.
#[derive(Default)]
struct Delivered {
    ids: std::sync::Mutex<Vec<i64>>,
    told: Notify,
}

impl Delivered {
    fn push(&self, id: i64) {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id);
        self.told.notify_one();
    }

    fn take(&self) -> Vec<i64> {
        std::mem::take(
            &mut *self
                .ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// What became of one leased queue (its deliveries were told one by one).
struct QueueOutcome {
    queue: Queue,
    failed: Option<Failure>,
    disable: Option<String>,
}

impl Dispatcher {
    async fn run(self, mut stopping: watch::Receiver<Stop>) {
        let this = Arc::new(self);
        let mut in_flight: JoinSet<QueueOutcome> = JoinSet::new();
        let mut unsettled = Settlement::default();
        // Whether due queues may be waiting: set by wakes, polls and finished queues.
        let mut look = true;
        let mut last_round: Option<Instant> = None;
        let mut last_purge = Instant::now();
        loop {
            match *stopping.borrow() {
                Stop::Run => {}
                Stop::Graceful => break,
                Stop::Crash => return,
            }
            let free = this.settings.concurrency.saturating_sub(in_flight.len());
            let since_round = last_round.map_or(ROUND_GAP, |at| at.elapsed());
            unsettled.delivered.extend(this.delivered.take());
            // Wait for a few queues to finish, or a moment, before a round while most are
            // in flight; with few in flight, go at once (low latency at low load). Deliveries
            // alone are recorded at most once a round gap: one transaction per event would
            // cost more than the events.
            let mostly_free = free * 4 >= this.settings.concurrency;
            let want_queues = look && free > 0;
            let only_deliveries = !want_queues && unsettled.release.is_empty();
            let want_round = want_queues || !unsettled.is_empty();
            let round_due =
                want_round && ((mostly_free && !only_deliveries) || since_round >= ROUND_GAP);
            let mut wait = this.settings.poll_interval;
            if round_due {
                let queues = if want_queues { free } else { 0 };
                let purge = last_purge.elapsed() >= LEASE_PURGE_INTERVAL;
                last_round = Some(Instant::now());
                match this.round(&unsettled, queues, purge, &mut in_flight).await {
                    Ok(leased) => {
                        // Recorded: a queue's lease went back with its outcome, so it may be
                        // leased again.
                        unsettled = Settlement::default();
                        look = queues > 0 && leased == queues;
                        if purge {
                            last_purge = Instant::now();
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "webhook dispatch: cannot record or lease");
                        wait = DATABASE_RETRY;
                    }
                }
            } else if want_round {
                wait = ROUND_GAP.saturating_sub(since_round);
            }
            tokio::select! {
                changed = stopping.changed() => {
                    // The handle is gone without a word (the node failed to start): stop
                    // rather than spin on a closed channel.
                    if changed.is_err() {
                        return;
                    }
                }
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    absorb(&mut unsettled, done);
                    // Record every queue that finished meanwhile in the same round.
                    while let Some(done) = in_flight.try_join_next() {
                        absorb(&mut unsettled, done);
                    }
                    look = true;
                }
                () = this.wake.notified() => look = true,
                () = this.delivered.told.notified() => {}
                () = tokio::time::sleep(wait) => look = true,
            }
        }
        this.finish(in_flight, unsettled).await;
    }

    /// One round: records `settlement`, leases up to `queues` due queues and starts a
    /// delivery task for each; answers how many it leased. On error nothing was recorded.
    async fn round(
        self: &Arc<Self>,
        settlement: &Settlement,
        queues: usize,
        purge_expired: bool,
        in_flight: &mut JoinSet<QueueOutcome>,
    ) -> Result<usize, room_chats_store::StoreError> {
        let leased_at = Instant::now();
        let lease = self.settings.lease;
        let request = LeaseRequest {
            queues: i64::try_from(queues).unwrap_or(i64::MAX),
            events_per_queue: EVENTS_PER_LEASE,
            lease_until: chrono::Utc::now().timestamp_micros()
                + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2),
            purge_expired,
        };
        let owner = self.owner.clone();
        let settlement = settlement.clone();
        let Leased {
            queues,
            deliveries,
            targets,
        } = self
            .db
            .run(move |conn| webhooks::settle_and_lease(conn, &owner, &settlement, request))
            .await?;
        let leased = queues.len();
        let mut runs: HashMap<Queue, Vec<Delivery>> = queues
            .into_iter()
            .map(|queue| (queue, Vec::new()))
            .collect();
        for delivery in deliveries {
            if let Some(run) = runs.get_mut(&delivery.queue()) {
                run.push(delivery);
            }
        }
        // Sends must end while the lease holds, or another node could take the queue over
        // while this one still sends.
        let send_until = leased_at + lease.saturating_sub(self.settings.timeout);
        for (queue, run) in runs {
            let target = targets.get(&queue.endpoint_id).cloned();
            let this = Arc::clone(self);
            in_flight.spawn(async move { this.deliver_run(queue, target, run, send_until).await });
        }
        Ok(leased)
    }

    /// Sends a queue's events in order until one fails.
    async fn deliver_run(
        &self,
        queue: Queue,
        target: Option<EndpointTarget>,
        run: Vec<Delivery>,
        send_until: Instant,
    ) -> QueueOutcome {
        let mut outcome = QueueOutcome {
            queue,
            failed: None,
            disable: None,
        };
        // Deleted or disabled since it was leased: nothing to send.
        let Some(target) = target.filter(|target| target.enabled) else {
            return outcome;
        };
        for delivery in run {
            if Instant::now() >= send_until {
                break;
            }
            match self.sender.send(&target, &delivery).await {
                Attempt::Delivered => {
                    Metrics::result(&self.metrics.webhook_deliveries, "delivered");
                    if let Some(committed_at) =
                        chrono::DateTime::from_timestamp_micros(delivery.created_at)
                    {
                        Metrics::since(&self.metrics.webhook_lag, committed_at);
                    }
                    self.delivered.push(delivery.id);
                }
                Attempt::Gone => {
                    Metrics::result(&self.metrics.webhook_deliveries, "gone");
                    tracing::warn!(
                        endpoint_id = queue.endpoint_id,
                        "webhook receiver answered 410 Gone; endpoint disabled"
                    );
                    outcome.disable = Some("the receiver answered 410 Gone".to_owned());
                    break;
                }
                Attempt::Failed { status, error } => {
                    tracing::info!(
                        endpoint_id = queue.endpoint_id,
                        event_id = %delivery.event_id,
                        attempts = delivery.attempts + 1,
                        status,
                        %error,
                        "webhook delivery failed"
                    );
                    let failure = self.failure(&delivery, status, error);
                    let result = if failure.dead { "dead" } else { "failed" };
                    Metrics::result(&self.metrics.webhook_deliveries, result);
                    outcome.failed = Some(failure);
                    break;
                }
            }
        }
        outcome
    }

    /// What a failed attempt of `delivery` leads to under the retry schedule.
    fn failure(&self, delivery: &Delivery, status: Option<i32>, error: String) -> Failure {
        let now = chrono::Utc::now().timestamp_micros();
        let attempts = delivery.attempts + 1;
        let first_failed_at = delivery.first_failed_at.unwrap_or(now);
        let since_first = Duration::from_micros(u64::try_from(now - first_failed_at).unwrap_or(0));
        let retry = self.settings.retry;
        let delay = retry.delay(attempts, jitter_unit());
        let dead = retry.exhausted(since_first);
        if dead {
            tracing::warn!(
                event_id = %delivery.event_id,
                endpoint_id = delivery.endpoint_id,
                attempts,
                "webhook event gave up after its retry period; it is a dead letter"
            );
        }
        Failure {
            id: delivery.id,
            attempts,
            first_failed_at,
            next_attempt_at: now + i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 2),
            status,
            error,
            dead,
        }
    }

    /// Waits for deliveries in flight (the caller bounds how long), records them and gives
    /// every lease of this node back.
    async fn finish(&self, mut in_flight: JoinSet<QueueOutcome>, mut unsettled: Settlement) {
        while let Some(done) = in_flight.join_next().await {
            absorb(&mut unsettled, done);
        }
        unsettled.delivered.extend(self.delivered.take());
        if !unsettled.is_empty() {
            let owner = self.owner.clone();
            let request = LeaseRequest {
                queues: 0,
                events_per_queue: 0,
                lease_until: 0,
                purge_expired: false,
            };
            if let Err(error) = self
                .db
                .run(move |conn| webhooks::settle_and_lease(conn, &owner, &unsettled, request))
                .await
            {
                tracing::warn!(%error, "webhook dispatch: last deliveries not recorded; they go again");
            }
        }
        let owner = self.owner.clone();
        if let Err(error) = self
            .db
            .run(move |conn| webhooks::release_leases(conn, &owner))
            .await
        {
            tracing::warn!(%error, "webhook dispatch: leases not handed back; they run out");
        }
    }
}

/// Adds a finished queue's outcome to what is to be recorded.
fn absorb(settlement: &mut Settlement, done: Result<QueueOutcome, tokio::task::JoinError>) {
    let Ok(outcome) = done else {
        // A panicked delivery task: its lease runs out and the events go again.
        tracing::error!("webhook delivery task failed");
        return;
    };
    settlement.failed.extend(outcome.failed);
    if let Some(reason) = outcome.disable {
        settlement.disable.push((outcome.queue.endpoint_id, reason));
    }
    settlement.release.push(outcome.queue);
}
