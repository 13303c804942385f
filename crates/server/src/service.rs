//! Starting the service: database, migrations, broker, hub, HTTP server, and shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, web};
use room_chats_api::realtime::{Hub, Inbox, RealtimeSettings};
use room_chats_api::{AppState, HttpError};
use room_chats_broker::{Broker, BrokerError, InProcessBus, RedisBroker, RedisSettings};
use room_chats_core::attachments::{
    AttachmentSettings, AttachmentStore, Attachments, Storage, StorageError, StorageLocation,
};
use room_chats_core::audit::AuditTrail;
use room_chats_core::canned_replies::CannedReplies;
use room_chats_core::chat::{Announcement, Announcer, InboxRooms, Listener};
use room_chats_core::erasure::Erasures;
use room_chats_core::exports::Exports;
use room_chats_core::metrics::{Exposition, Metrics, TransportLabels};
use room_chats_core::push::{PushSettings, WebPush};
use room_chats_core::retention::Retention;
use room_chats_core::support_report::SupportReports;
use room_chats_core::webhooks::{WebhookSettings, Webhooks};
use room_chats_core::{ApiError, Chat, Limits, TokenVerifier, VerifierSettings};
use room_chats_store::batch::MessageWriter;
use room_chats_store::{Database, DatabaseUrl, PoolSettings, StoreError};
use room_chats_workers::auto_closer::{self, AutoCloseSettings};
use room_chats_workers::notifier::{self, NotificationSettings};
use room_chats_workers::response_clock_sweeper::{self, ResponseClockSettings};
use room_chats_workers::retention_sweeper::{self, RetentionSettings};
use room_chats_workers::{
    WebhookDispatch, attachment_collector, eraser, exporter, preview_maker, search_indexer,
    waiting_backfill,
};
use tokio::sync::mpsc;

/// Room events from the broker waiting for the hub.
const BROKER_QUEUE: usize = 65_536;
/// How long after start-up the broker has to connect before a warning is logged (readiness
/// says 503 until it connects), and shutdown waits for queued publications to go out.
const BROKER_START_LIMIT: Duration = Duration::from_secs(3);
const BROKER_FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// Everything a running node needs, resolved from configuration.
pub struct ServiceConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Where to serve `/metrics` instead of on `bind`, if anywhere else.
    pub metrics_bind: Option<SocketAddr>,
    /// HTTP worker threads; `None` is one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight requests and closing WebSockets get on shutdown.
    pub shutdown_timeout_secs: u64,
    /// Whether SIGTERM/SIGINT shut the node down (the binary: yes; tests: no).
    pub handle_signals: bool,
    /// The database.
    pub database: DatabaseUrl,
    /// Database pool.
    pub pool: PoolSettings,
    /// How long start-up retries a database that is not reachable yet.
    pub database_startup_timeout: Duration,
    /// The text search configuration of the message index (`SEARCH_LANGUAGE`).
    pub search_language: String,
    /// Threads storing message batches (each holds one database connection while it writes).
    pub writer_threads: usize,
    /// How long a message may wait for its batch before new sends are refused as overloaded.
    pub send_queue_budget: Duration,
    /// Token verification.
    pub verifier: VerifierSettings,
    /// Request limits.
    pub limits: Limits,
    /// WebSocket limits and timings.
    pub realtime: RealtimeSettings,
    /// Redis for a cluster; `None` is the in-process broker of a single node.
    pub redis: Option<RedisSettings>,
    /// Webhook delivery.
    pub webhooks: WebhookSettings,
    /// When members who are away are notified.
    pub notifications: NotificationSettings,
    /// Rooms that close themselves.
    pub auto_close: AutoCloseSettings,
    /// Response-time targets and the sweep.
    pub response_clocks: ResponseClockSettings,
    /// How long data is kept.
    pub retention: RetentionSettings,
    /// How long an export's download link works (`EXPORT_TTL_HOURS`).
    pub export_link_ttl: Duration,
    /// Web Push.
    pub push: PushSettings,
    /// Attachment limits.
    pub attachments: AttachmentSettings,
    /// Where attachments are stored.
    pub storage: StorageLocation,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database is unreachable or its schema could not be migrated.
    #[error("database {url:?}: {cause}{}", hint(cause))]
    Database {
        /// Where it was looked for (without credentials).
        url: DatabaseUrl,
        /// Why it failed.
        cause: StoreError,
    },
    /// The broker settings are unusable.
    #[error("broker: {0}")]
    Broker(#[from] BrokerError),
    /// The attachment store is misconfigured or its directory cannot be made.
    #[error("attachment storage: {0}")]
    Storage(#[from] StorageError),
    /// The webhook dispatcher could not start (no thread, no TLS roots).
    #[error("webhook dispatcher: {0}")]
    Webhooks(std::io::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A started node. Await `server` to run it until [`ServiceControl::shutdown`] or a signal.
pub struct RunningService {
    /// The address actually bound.
    pub addr: SocketAddr,
    /// The address `/metrics` is served on when not on `addr`.
    pub metrics_addr: Option<SocketAddr>,
    /// The server future.
    pub server: Server,
    /// Stops the node.
    pub control: ServiceControl,
}

/// Stops a running node.
#[derive(Clone)]
pub struct ServiceControl {
    hub: Arc<Hub>,
    webhooks: Arc<WebhookDispatch>,
    metrics: Arc<Metrics>,
    server: ServerHandle,
    metrics_server: Option<ServerHandle>,
    grace: Duration,
}

impl ServiceControl {
    /// Handlers of this node that panicked so far (each answered 500 or closed 1011).
    pub fn panics(&self) -> u64 {
        ["http", "ws"]
            .into_iter()
            .map(|transport| {
                self.metrics
                    .panics
                    .get_or_create(&TransportLabels { transport })
                    .get()
            })
            .sum()
    }

    /// Shuts the node down as SIGTERM does: closes every WebSocket with 1012 once its
    /// in-flight send is acked, waits for them to go (at most the grace period), then stops
    /// HTTP gracefully.
    pub async fn shutdown(&self) {
        tracing::info!(sessions = self.hub.session_count(), "shutting down");
        self.hub.shutdown();
        let deadline = tokio::time::Instant::now() + self.grace;
        while self.hub.session_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.server.stop(true).await;
        if let Some(metrics) = &self.metrics_server {
            metrics.stop(true).await;
        }
    }

    /// Sends the broker what is still queued and closes it; call once HTTP has stopped, so
    /// the last presence and room events of closing sessions reach the other nodes.
    pub async fn finish(&self) {
        self.hub.broker().close(BROKER_FLUSH_LIMIT).await;
        self.webhooks.stop(self.grace).await;
    }

    /// Stops serving at once, without waiting for anything; the webhook dispatcher drops
    /// what it was sending without recording it or handing its leases back, as if the process
    /// died.
    pub fn abort(&self) {
        drop(self.server.stop(false));
        if let Some(metrics) = &self.metrics_server {
            drop(metrics.stop(false));
        }
        self.webhooks.signal_crash();
    }

    /// [`Self::abort`], returning once the webhook dispatcher has stopped.
    pub async fn crash(&self) {
        self.abort();
        self.webhooks.crash().await;
    }
}

/// What an operator can do about a database start-up error, if it is a common one.
fn hint(cause: &StoreError) -> &'static str {
    let text = cause.to_string();
    if text.contains("does not exist") && text.contains("database") {
        "\n  the server answers but has no such database: create it first, e.g. \
         `createdb -h HOST -U USER NAME` or `CREATE DATABASE name;` in psql"
    } else if text.contains("Connection refused") || text.contains("could not connect") {
        "\n  nothing answers at that address: is Postgres running, and is DATABASE_URL's host \
         and port right? (DB_STARTUP_TIMEOUT_SECS sets how long start-up retries)"
    } else if text.contains("password authentication failed") {
        "\n  check the user and password in DATABASE_URL"
    } else {
        ""
    }
}

/// Applies migrations, retrying with backoff while the database is unreachable (a container
/// often starts before its database) until `limit` has passed.
async fn migrate_when_reachable(
    db: &Database,
    url: &DatabaseUrl,
    limit: Duration,
) -> Result<Vec<String>, StartError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut backoff = Duration::from_millis(250);
    loop {
        match db.migrate().await {
            Ok(applied) => return Ok(applied),
            Err(cause) if cause.is_unavailable() && tokio::time::Instant::now() < deadline => {
                tracing::warn!(
                    database = %url.redacted(),
                    error = %cause,
                    retry_in_ms = backoff.as_millis() as u64,
                    "database not reachable yet; retrying"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(cause) => {
                return Err(StartError::Database {
                    url: url.clone(),
                    cause,
                });
            }
        }
    }
}

/// Opens the database, applies migrations, connects the broker and binds the listener.
pub async fn start(config: ServiceConfig) -> Result<RunningService, StartError> {
    let storage = Storage::open(&config.storage)?;
    tracing::info!(store = storage.description(), "attachments");
    let db = open_database(&config).await?;
    let metrics = Arc::new(Metrics::default());
    let (events_in, events) = mpsc::channel(BROKER_QUEUE);
    let broker: Arc<dyn Broker> = match &config.redis {
        Some(redis) => Arc::new(RedisBroker::start(redis, events_in)?),
        None => Arc::new(InProcessBus::new().attach(events_in)),
    };
    // In the background: a node serves its own rooms without the broker, so start-up does
    // not wait for it.
    actix_web::rt::spawn(report_broker(Arc::clone(&broker)));
    let node = node_id();
    let inbox = Inbox::start(
        node.clone(),
        Arc::clone(&broker),
        InboxRooms::new(db.clone()),
        config.realtime.inbox_window,
    );
    if config.push.vapid.is_none() {
        tracing::info!("Web Push off: no VAPID_PRIVATE_KEY");
    }
    let webhooks = WebhookDispatch::start(
        db.clone(),
        config.webhooks,
        config.push.clone(),
        node.clone(),
        Arc::clone(&metrics),
    )
    .map_err(StartError::Webhooks)?;
    notifier::start(
        db.clone(),
        Arc::clone(&broker),
        config.notifications,
        Arc::clone(&webhooks),
    );
    let exposition = Arc::new(Exposition::new(&metrics, db.clone(), Arc::clone(&broker)));
    let hub = Hub::start(
        node.clone(),
        broker,
        events,
        config.realtime.max_connections_per_user,
        Arc::clone(&inbox),
        Arc::clone(&metrics),
    );
    let (files, preview_requests) =
        AttachmentStore::new(db.clone(), storage, config.attachments.clone());
    attachment_collector::start(files.clone());
    search_indexer::start(db.clone());
    waiting_backfill::start(db.clone());
    preview_maker::start(files.clone(), preview_requests);
    let chat = chat_core(
        &config,
        db.clone(),
        files.clone(),
        Arc::clone(&metrics),
        vec![
            Arc::clone(&hub) as _,
            Arc::clone(&inbox) as _,
            Arc::clone(&webhooks) as _,
        ],
    );
    room_chats_api::realtime::sweep::start(&hub, chat.clone(), config.realtime.timeline_sweep);
    auto_closer::start(chat.clone(), config.auto_close);
    response_clock_sweeper::start(
        chat.clone(),
        config.response_clocks.clone(),
        metrics.clone(),
    );
    let audit = AuditTrail::new(db.clone());
    let endpoints = Webhooks::new(db.clone(), &config.webhooks);
    let retention = Retention::new(db.clone(), config.retention.conversations);
    let kept = retention_sweeper::Kept {
        audit: audit.clone(),
        webhooks: endpoints.clone(),
        conversations: retention.clone(),
    };
    retention_sweeper::start(kept, config.retention, metrics.clone());
    let erasures = Erasures::new(db.clone());
    eraser::start(erasures.clone());
    let exports = Exports::new(files.clone(), config.export_link_ttl);
    exporter::start(exports.clone());
    let attachments = Attachments::new(files);
    let metrics_server = match config.metrics_bind {
        Some(bind) => Some(serve_metrics(bind, Arc::clone(&exposition))?),
        None => None,
    };
    let state = web::Data::new(AppState {
        attachments,
        chat,
        webhooks: endpoints,
        canned: CannedReplies::new(db.clone(), config.limits.max_content_chars),
        reports: SupportReports::new(db.clone()),
        audit,
        retention,
        erasures,
        exports,
        push: WebPush::new(db, config.push.clone()),
        limits: config.limits,
        hub: Arc::clone(&hub),
        inbox,
        realtime: Arc::new(config.realtime),
        exposition: metrics_server.is_none().then_some(exposition),
        metrics,
    });
    let verifier = web::Data::new(TokenVerifier::new(config.verifier));
    let http = HttpSettings {
        bind: config.bind,
        workers: config.workers,
        shutdown_timeout_secs: config.shutdown_timeout_secs,
    };
    let node_metrics = Arc::clone(&state.metrics);
    let (addr, server) = serve(&http, state, verifier)?;
    let metrics_addr = metrics_server.as_ref().map(|(addr, _)| *addr);
    let control = ServiceControl {
        hub,
        webhooks,
        metrics: node_metrics,
        metrics_server: metrics_server.map(|(_, handle)| handle),
        server: server.handle(),
        grace: Duration::from_secs(config.shutdown_timeout_secs),
    };
    if config.handle_signals {
        let on_signal = control.clone();
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            on_signal.shutdown().await;
        });
    }
    tracing::info!(%addr, "listening");
    Ok(RunningService {
        addr,
        metrics_addr,
        server,
        control,
    })
}

/// Connects the pool and applies the migrations, waiting for a database that is not up yet.
async fn open_database(config: &ServiceConfig) -> Result<Database, StartError> {
    let db = Database::connect(config.database.clone(), &config.pool).map_err(|cause| {
        StartError::Database {
            url: config.database.clone(),
            cause,
        }
    })?;
    let applied =
        migrate_when_reachable(&db, &config.database, config.database_startup_timeout).await?;
    search_indexer::use_language(&db, &config.search_language)
        .await
        .map_err(|cause| StartError::Database {
            url: config.database.clone(),
            cause,
        })?;
    tracing::info!(
        database = %config.database.redacted(),
        migrations_applied = applied.len(),
        search_language = %config.search_language,
        "database ready"
    );
    Ok(db)
}

/// The use cases, with the message writer, all announcing through one point whose listeners
/// are the hub (it tells every node's room sessions), the inbox (every node's streams) and the
/// webhook dispatcher (woken to deliver what the change put in the outbox).
fn chat_core(
    config: &ServiceConfig,
    db: Database,
    files: AttachmentStore,
    metrics: Arc<Metrics>,
    listeners: Vec<Arc<dyn Listener>>,
) -> Chat {
    let announcer = Announcer::new(listeners);
    let writer_announcer = announcer.clone();
    let writer = MessageWriter::start(
        db.clone(),
        config.writer_threads,
        config.send_queue_budget,
        Arc::new(move |message| {
            writer_announcer.announce(Announcement::MessageStored(message));
        }),
        Arc::new(move |batch| metrics.observe_batch(batch)),
    );
    Chat::new(db, writer, announcer, files, &config.limits)
}

/// Where and how the HTTP server runs.
struct HttpSettings {
    bind: SocketAddr,
    workers: Option<usize>,
    shutdown_timeout_secs: u64,
}

/// Binds the listener and starts the HTTP server on it.
fn serve(
    config: &HttpSettings,
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
) -> Result<(SocketAddr, Server), StartError> {
    let bind_error = |source| StartError::Bind {
        addr: config.bind,
        source,
    };
    let listener = listen(config.bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let spec = room_chats_api::openapi();
    let mut server =
        HttpServer::new(move || room_chats_api::app(state.clone(), verifier.clone(), spec.clone()))
            .disable_signals()
            // Chat frames are small and latency-bound: without this, a frame to a receiver
            // that is not itself sending waits for Nagle to meet the client's delayed ACK
            // (~40 ms on Linux). actix-web leaves the OS default unless told.
            .tcp_nodelay(true)
            .shutdown_timeout(config.shutdown_timeout_secs);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    Ok((addr, server.listen(listener).map_err(bind_error)?.run()))
}

/// Serves `/metrics` alone on `bind` (`METRICS_BIND`), so it can stay off the public
/// address; one worker is plenty for a scraper. Answers the address bound and the running
/// server's handle.
fn serve_metrics(
    bind: SocketAddr,
    exposition: Arc<Exposition>,
) -> Result<(SocketAddr, ServerHandle), StartError> {
    let bind_error = |source| StartError::Bind { addr: bind, source };
    let listener = listen(bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let exposition = web::Data::from(exposition);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(exposition.clone())
            .route(
                "/metrics",
                web::get().to(|exposition: web::Data<Exposition>| async move {
                    room_chats_api::metrics_response(&exposition)
                }),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::from(ApiError::NotFound(
                    "endpoint (only /metrics is here)",
                )))
            }))
    })
    .disable_signals()
    .workers(1)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    tracing::info!(%addr, "metrics listening");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok((addr, handle))
}

/// Logs whether the broker comes up, giving a Redis subscription a little time to connect. A
/// node serves without it (same-node chat works; readiness answers 503 until it connects).
async fn report_broker(broker: Arc<dyn Broker>) {
    let connected = tokio::time::timeout(BROKER_START_LIMIT, async {
        while broker.check().await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    match connected {
        Ok(()) => tracing::info!(broker = broker.kind(), "broker ready"),
        Err(_) => tracing::warn!(
            broker = broker.kind(),
            "broker unreachable; serving this node's rooms, readiness answers 503 until it connects"
        ),
    }
}

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`).
const LISTEN_BACKLOG: i32 = 4096;

/// Binds the listener. `std::net::TcpListener::bind` listens with a backlog of 128: at 2,000
/// new connections a second, any pause of the accept loop longer than ~60 ms overflowed it
/// and clients waited for SYN retransmits (seconds) or gave up.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // A restarted node can bind while its old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Identifies this node in broker envelopes, so it can ignore its own publications.
fn node_id() -> String {
    let mut bytes = [0_u8; 8];
    // Without randomness, time and pid are still distinct enough between live nodes.
    if getrandom::fill(&mut bytes).is_err() {
        let seed = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            ^ i64::from(std::process::id());
        bytes = seed.to_le_bytes();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    _ = interrupt.recv() => tracing::info!("SIGINT received"),
                }
            }
            _ => {
                tracing::error!("cannot listen for signals; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
