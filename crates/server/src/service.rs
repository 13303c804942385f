//! Starting the service: database, migrations, HTTP server.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use room_chats_api::{AppState, Limits, TokenVerifier, VerifierSettings};
use room_chats_store::{Database, DatabaseUrl, PoolSettings, StoreError};

/// Everything a running node needs, resolved from configuration.
pub struct ServiceConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// HTTP worker threads; `None` is one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight requests get on shutdown.
    pub shutdown_timeout_secs: u64,
    /// The database.
    pub database: DatabaseUrl,
    /// Database pool.
    pub pool: PoolSettings,
    /// Token verification.
    pub verifier: VerifierSettings,
    /// Request limits.
    pub limits: Limits,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database is unreachable or its schema could not be migrated.
    #[error("database: {0}")]
    Database(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A started node. Await `server` to run it until shutdown (SIGTERM/SIGINT are handled).
pub struct RunningService {
    /// The address actually bound.
    pub addr: SocketAddr,
    /// The server future.
    pub server: Server,
    /// Stops the server from elsewhere.
    pub handle: ServerHandle,
}

/// Opens the database, applies migrations and binds the listener.
pub async fn start(config: ServiceConfig) -> Result<RunningService, StartError> {
    let db = Database::connect(config.database.clone(), &config.pool)?;
    let applied = db.migrate().await?;
    tracing::info!(
        database = %config.database.redacted(),
        migrations_applied = applied.len(),
        "database ready"
    );
    let state = web::Data::new(AppState {
        db,
        limits: config.limits,
    });
    let verifier = web::Data::new(TokenVerifier::new(config.verifier));
    let spec = room_chats_api::openapi();
    let listener = TcpListener::bind(config.bind).map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let mut server =
        HttpServer::new(move || room_chats_api::app(state.clone(), verifier.clone(), spec.clone()))
            .shutdown_timeout(config.shutdown_timeout_secs);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    let server = server
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?
        .run();
    tracing::info!(%addr, "listening");
    Ok(RunningService {
        addr,
        handle: server.handle(),
        server,
    })
}
