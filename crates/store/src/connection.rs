//! Connections and the pool: one code path over Postgres (production) and an embedded SQLite
//! file (the zero-configuration default).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::Semaphore;

use crate::StoreError;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Held while migrating Postgres, so nodes starting together do not race each other.
const MIGRATION_LOCK_KEY: i64 = 0x726f_6f6d_6368_6174; // "roomchat"

/// A connection to either backend. Store functions take `&mut DbConnection` and work on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production.
    Postgres(PgConnection),
    /// Embedded default.
    Sqlite(SqliteConnection),
}

/// Where the data lives, chosen by the URL's scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// An SQLite database file.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Parses `DATABASE_URL`. Unknown schemes are refused rather than guessed at, so a typo such
    /// as `postgress://` fails at start-up instead of creating a stray SQLite file.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Self::sqlite_path(path);
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Self::sqlite_path(path);
        }
        Err(
            "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// \
             (leave it unset for the embedded database)"
                .to_owned(),
        )
    }

    fn sqlite_path(path: &str) -> Result<Self, String> {
        if path.is_empty() {
            return Err("sqlite:// URL needs a file path".to_owned());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// A description safe for logs: host, port and database name, never credentials or
    /// connection options.
    pub fn redacted(&self) -> String {
        match self {
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or("", |(_, rest)| rest);
                let location = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                let location = location.split('?').next().unwrap_or_default();
                format!("postgres://{location}")
            }
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a caller waits for a free connection before the call fails as unavailable.
    pub acquire_timeout: Duration,
}

/// A pooled connection, whether it was found dead, and the last connection loss it was
/// checked against.
///
/// When the server drops connections (`pg_terminate_backend`, a restart, a failover) they
/// usually all go at once. The first call to meet a dead one fails; it bumps the pool's loss
/// count, and every other connection is pinged on its next checkout instead of failing a
/// call of its own. So an outage costs one failed call per node, not one per connection.
/// (Diesel does mark a connection broken when libpq reports it lost; the ping makes that
/// independent of how the connection died.)
struct PooledDb {
    conn: DbConnection,
    lost: bool,
    checked_at_loss: u64,
}

/// Opens connections of the right variant. Diesel's own manager would call
/// `DbConnection::establish`, which tries every backend in turn and hides the real
/// Postgres error behind "invalid connection url".
struct Manager {
    url: DatabaseUrl,
    /// Connections found dead so far (see [`PooledDb`]).
    losses: Arc<AtomicU64>,
}

impl ManageConnection for Manager {
    type Connection = PooledDb;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledDb, Self::Error> {
        let checked_at_loss = self.losses.load(Ordering::Acquire);
        open(&self.url).map(|conn| PooledDb {
            conn,
            lost: false,
            checked_at_loss,
        })
    }

    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), Self::Error> {
        pooled.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        pooled.lost || pooled.conn.is_broken()
    }
}

/// The pool's own reports of connections it failed to open in the background. Whoever waits
/// for a connection reports the failure (a 503, a start-up retry line, readiness), so these
/// would only repeat it — twice per attempt, in libpq's multi-line words.
#[derive(Debug)]
struct QuietPoolErrors;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for QuietPoolErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(%error, "the pool could not open a connection");
    }
}

/// Opens one connection of the URL's backend.
fn open(url: &DatabaseUrl) -> Result<DbConnection, diesel::r2d2::Error> {
    match url {
        DatabaseUrl::Postgres(url) => PgConnection::establish(url)
            .map(DbConnection::Postgres)
            .map_err(|error| match error {
                // libpq's messages run over several lines ("…failed: Connection refused\n\t
                // Is the server running…"): one line in logs and error texts.
                diesel::ConnectionError::BadConnection(text) => {
                    diesel::ConnectionError::BadConnection(
                        text.split_whitespace().collect::<Vec<_>>().join(" "),
                    )
                }
                other => other,
            })
            .map_err(diesel::r2d2::Error::ConnectionError),
        DatabaseUrl::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                .map_err(diesel::r2d2::Error::ConnectionError)?;
            // Without a busy timeout, concurrent writers fail with "database is locked"
            // instead of waiting their turn. (WAL is set once, in `Database::connect`.)
            // `synchronous = FULL` syncs the WAL at every commit, so an acked message survives
            // a power loss as on Postgres; `NORMAL` would lose the last commits. Batching makes
            // that one sync per batch (hot-rooms held 15,000 msg/s either way).
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = FULL;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
            crate::search::sqlite_functions::register(&mut conn)
                .map_err(diesel::r2d2::Error::QueryError)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// The database: a pool plus the means to use it without blocking the async executor.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    /// One permit per pooled connection: callers beyond that wait here, on the async
    /// executor, instead of each parking a blocking thread on the pool (a join storm had
    /// 170 such threads), and the wait counts against `acquire_timeout` as documented; it
    /// used to be unbounded while the task sat in the blocking pool's queue.
    permits: Arc<Semaphore>,
    /// Connections found dead so far (see [`PooledDb`]).
    losses: Arc<AtomicU64>,
    /// What the pool's users went through, for metrics.
    usage: Arc<PoolUsage>,
    single_writer: bool,
}

/// Counts kept by the pool for [`Database::stats`].
#[derive(Debug, Default)]
struct PoolUsage {
    /// Callers waiting for a connection now.
    waiting: AtomicUsize,
    /// Callers that gave up waiting (`acquire_timeout`) so far.
    timeouts: AtomicU64,
}

/// The pool's state at one moment (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// Connections open now.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Callers waiting for a connection now.
    pub waiting: usize,
    /// Callers that gave up waiting for a connection since start.
    pub timeouts: u64,
}

impl Database {
    /// Creates the pool. Connections open lazily, so this succeeds while the database is down;
    /// [`Database::migrate`] or [`Database::ping`] tell whether it is reachable.
    pub fn connect(url: DatabaseUrl, settings: &PoolSettings) -> Result<Self, StoreError> {
        let single_writer = matches!(url, DatabaseUrl::Sqlite(_));
        if let DatabaseUrl::Sqlite(path) = &url {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|error| {
                    StoreError::Unavailable(format!("cannot create {}: {error}", dir.display()))
                })?;
            }
            // WAL lets readers run beside the writer. The mode is stored in the file, and
            // switching needs the database to itself, so it happens once, before the pool
            // opens connections.
            SqliteConnection::establish(&path.to_string_lossy())
                .map_err(|error| StoreError::Unavailable(error.to_string()))?
                .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
        }
        let losses = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            // No ping per checkout (a round trip on every call): a call that fails on a dead
            // connection marks it (see `PooledDb`) and the pool discards it on return, so
            // after an outage each dead connection fails one call and is gone (tested in
            // tests/outage.rs).
            .test_on_check_out(false)
            .error_handler(Box::new(QuietPoolErrors))
            .build_unchecked(Manager {
                url,
                losses: Arc::clone(&losses),
            });
        Ok(Self {
            losses,
            usage: Arc::default(),
            permits: Arc::new(Semaphore::new(pool.max_size() as usize)),
            pool,
            single_writer,
        })
    }

    /// Whether the database admits one writing transaction at a time (SQLite): a second
    /// writer would only wait in SQLite's sleeping busy handler.
    pub fn single_writer(&self) -> bool {
        self.single_writer
    }

    /// Runs `work` on a pooled connection in the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.usage.waiting.fetch_add(1, Ordering::AcqRel);
        let permit = tokio::time::timeout(
            self.pool.connection_timeout(),
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await;
        self.usage.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit
            .map_err(|_| {
                self.usage.timeouts.fetch_add(1, Ordering::AcqRel);
                StoreError::Unavailable("no database connection became free".to_owned())
            })?
            .map_err(|error| StoreError::Task(error.to_string()))?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            db.run_blocking(work)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    /// Runs `work` on a pooled connection on the calling thread (for dedicated threads that
    /// may block).
    pub fn run_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    {
        let mut pooled = self.checkout()?;
        let outcome = work(&mut pooled.conn);
        if matches!(&outcome, Err(error) if error.is_unavailable()) && pooled.conn.ping().is_err() {
            pooled.lost = true;
            self.losses.fetch_add(1, Ordering::AcqRel);
        }
        outcome
    }

    /// A pooled connection that is not known to be dead: after a connection loss, each one
    /// is pinged once before it is used again, and dead ones are replaced.
    fn checkout(&self) -> Result<PooledConnection<Manager>, StoreError> {
        let losses = self.losses.load(Ordering::Acquire);
        for _ in 0..=self.pool.max_size() {
            let mut pooled = self.pool.get().inspect_err(|_| {
                self.usage.timeouts.fetch_add(1, Ordering::AcqRel);
            })?;
            if pooled.checked_at_loss == losses {
                return Ok(pooled);
            }
            pooled.checked_at_loss = losses;
            if pooled.conn.ping().is_ok() {
                return Ok(pooled);
            }
            // Discarded when dropped here; the pool opens a fresh one.
            pooled.lost = true;
        }
        Err(StoreError::Unavailable(
            "no live database connection in the pool".to_owned(),
        ))
    }

    /// The pool's state now.
    pub fn stats(&self) -> PoolStats {
        let state = self.pool.state();
        PoolStats {
            max_size: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
            waiting: self.usage.waiting.load(Ordering::Acquire),
            timeouts: self.usage.timeouts.load(Ordering::Acquire),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| conn.ping().map_err(StoreError::from)).await
    }

    /// Applies pending migrations and returns the names of those applied.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.run(run_migrations).await
    }
}

/// `sql` with each of `names` (`{from}`, say; each may appear several times) written as the
/// backend's numbered placeholder of its position: `$1`, `$2`… on Postgres, `?1`, `?2`… on
/// SQLite. For raw statements that bind the same value in several places.
pub(crate) fn numbered_placeholders(conn: &DbConnection, sql: &str, names: &[&str]) -> String {
    let sigil = match conn {
        DbConnection::Postgres(_) => '$',
        DbConnection::Sqlite(_) => '?',
    };
    names
        .iter()
        .enumerate()
        .fold(sql.to_owned(), |sql, (at, name)| {
            sql.replace(name, &format!("{sigil}{}", at + 1))
        })
}

/// Runs `work` in a transaction that takes the write lock with its first statement.
///
/// SQLite starts transactions deferred: one that reads first and writes later cannot wait for
/// the lock when another writer got in between, and fails at once with "database is locked".
/// `BEGIN IMMEDIATE` makes such a transaction wait its turn (up to the busy timeout). Postgres
/// locks rows as it goes and needs nothing special.
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    // Inside a write transaction already (an action and its audit entry): a savepoint, and
    // the outer transaction commits both.
    if AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let DbConnection::Sqlite(sqlite) = conn else {
        return outcome;
    };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one worth reporting; a failed rollback marks the
            // connection broken and the pool replaces it.
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            Err(error)
        }
    }
}

/// Makes the current transaction commit without waiting for its WAL flush (Postgres; SQLite
/// has no such switch and the embedded default is one process anyway). For bookkeeping whose
/// loss in a crash only means work done again (a webhook or a notification sent once more).
pub(crate) fn commit_asynchronously(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::RunQueryDsl::execute(diesel::sql_query("SET LOCAL synchronous_commit TO OFF"), pg)?;
    }
    Ok(())
}

fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let migration_error =
        |error: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(error.to_string());
    let applied = match conn {
        DbConnection::Postgres(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(migration_error);
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result?
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(migration_error)?,
    };
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_picks_the_backend() {
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("data/x.db")))
        );
        assert!(DatabaseUrl::parse("postgress://h/db").is_err());
        assert!(DatabaseUrl::parse("data.db").is_err());
    }

    #[test]
    fn redaction_hides_credentials() {
        let url = DatabaseUrl::Postgres(
            "postgres://user:s3cret@db.internal:5432/chat?sslmode=require".into(),
        );
        assert_eq!(url.redacted(), "postgres://db.internal:5432/chat");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
