//! Configuration: one typed tree, read from flags or the environment (flags win), with
//! defaults that make `room-chats` run with no configuration at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use room_chats_api::realtime::{AllowedOrigins, RealtimeSettings};
use room_chats_broker::RedisSettings;
use room_chats_core::attachments::{AttachmentSettings, DEFAULT_TYPES, StorageLocation};
use room_chats_core::auth::MAX_LEEWAY_SECS;
use room_chats_core::exports::DEFAULT_LINK_TTL;
use room_chats_core::push::{self, PushSettings, Vapid};
use room_chats_core::retention::ConversationPolicy;
use room_chats_core::sla::{BusinessHours, ResponseTargets};
use room_chats_core::webhooks::{RetrySchedule, WebhookSettings};
use room_chats_core::{Limits, VerifierSettings};
use room_chats_store::batch::DEFAULT_SEND_QUEUE_BUDGET;
use room_chats_store::search;
use room_chats_store::{DatabaseUrl, PoolSettings};
use room_chats_workers::{
    AutoCloseSettings, NotificationSettings, ResponseClockSettings, RetentionSettings,
};
use secrecy::{ExposeSecret, SecretString};

pub use crate::config_error::ConfigError;
use crate::dev_secret;

/// Where data lives: all that `token` needs to find the development secret.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseArgs {
    /// Directory of the embedded database and the generated development secrets (JWT, VAPID).
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for production; unset: an embedded SQLite file in DATA_DIR.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
}

impl DatabaseArgs {
    /// The database location: `DATABASE_URL`, or the embedded file under `DATA_DIR`.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.database_url {
            Some(url) => DatabaseUrl::parse(url.expose_secret()).map_err(ConfigError::Invalid),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("room-chats.db"))),
        }
    }

    fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }
}

/// The database and how this node uses it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct StorageArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Most database connections per node.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,
    /// Threads that store message batches, each one transaction at a time. Rooms are split
    /// between them by id, so they never wait for each other's room locks and each room's
    /// messages are announced in commit order. The embedded SQLite database uses one (it
    /// has a single writer).
    #[arg(long, env = "DB_WRITER_THREADS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub db_writer_threads: u32,
    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "DB_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub db_timeout_secs: u64,
    /// Milliseconds a message may wait in this node's write queue. Past that the node is at
    /// capacity: new sends are refused at once (`overloaded`, retryable) instead of queued,
    /// so accepted messages keep their latency and throughput stays at its peak.
    #[arg(long, env = "SEND_QUEUE_BUDGET_MS", default_value_t = DEFAULT_SEND_QUEUE_BUDGET.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub send_queue_budget_ms: u64,
    /// Seconds start-up keeps retrying a database that is not reachable yet (containers often
    /// start before their database) before giving up.
    #[arg(long, env = "DB_STARTUP_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub db_startup_timeout_secs: u64,
    /// The Postgres text search configuration messages are indexed and searched with:
    /// `simple` finds words as written in any language; `english`, `german`, … also find
    /// other forms of a word (stemming) in that language. Changing it re-indexes every message
    /// in the background. The embedded database supports `simple` only.
    #[arg(long, env = "SEARCH_LANGUAGE", default_value = search::DEFAULT_LANGUAGE)]
    pub search_language: String,
}

impl StorageArgs {
    /// The database location: `DATABASE_URL`, or the embedded file under `DATA_DIR`.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        self.database.database_url()
    }

    /// Pool settings.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_size: self.db_pool_size,
            acquire_timeout: Duration::from_secs(self.db_timeout_secs),
        }
    }

    /// How long a message may wait in the write queue before new sends are refused.
    pub fn send_queue_budget(&self) -> Duration {
        Duration::from_millis(self.send_queue_budget_ms)
    }

    /// How long start-up retries an unreachable database.
    pub fn startup_timeout(&self) -> Duration {
        Duration::from_secs(self.db_startup_timeout_secs)
    }
}

/// Accepted token signature algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "verbatim")]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `JWT_SECRET`.
    HS256,
    /// RSA with the public key in `JWT_PUBLIC_KEY`.
    RS256,
    /// ECDSA P-256 with the public key in `JWT_PUBLIC_KEY`.
    ES256,
    /// Ed25519 with the public key in `JWT_PUBLIC_KEY`.
    EdDSA,
}

impl JwtAlgorithm {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// How tokens are verified (and, for development, minted).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Tokens (JWT)")]
pub struct JwtArgs {
    /// Shared HS256 secret (at least 32 bytes). Unset with an embedded database: a random
    /// secret is created in DATA_DIR on first start.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// A file holding the HS256 secret instead (a Docker or Kubernetes secret); surrounding
    /// whitespace is ignored.
    #[arg(long, env = "JWT_SECRET_FILE", conflicts_with = "jwt_secret")]
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM file with the public key for RS256, ES256 or EdDSA.
    #[arg(long, env = "JWT_PUBLIC_KEY", conflicts_with_all = ["jwt_secret", "jwt_secret_file"])]
    pub jwt_public_key: Option<PathBuf>,
    /// The one accepted algorithm; never taken from the token.
    #[arg(long, env = "JWT_ALGORITHM", value_enum, ignore_case = true, default_value_t = JwtAlgorithm::HS256)]
    pub jwt_algorithm: JwtAlgorithm,
    /// Required `iss` claim, when set.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, when set.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Allowed clock skew for `exp` and `nbf`, in seconds (at most 30).
    #[arg(long, env = "JWT_LEEWAY_SECS", default_value_t = 5)]
    pub jwt_leeway_secs: u64,
    /// The claim that holds the role (client, admin, service).
    #[arg(long, env = "JWT_ROLE_CLAIM", default_value = "role")]
    pub jwt_role_claim: String,
}

/// The smallest accepted HS256 secret: shorter ones can be brute-forced offline.
const MIN_SECRET_BYTES: usize = 32;

impl JwtArgs {
    /// The HS256 secret: configured (`JWT_SECRET`, or read from `JWT_SECRET_FILE`), or the
    /// development secret of the embedded default.
    fn secret(&self, storage: &DatabaseArgs) -> Result<SecretString, ConfigError> {
        let (secret, origin) = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(secret), _) => (secret.clone(), "JWT_SECRET".to_owned()),
            (None, Some(file)) => {
                let read = std::fs::read_to_string(file).map_err(|error| {
                    ConfigError::Invalid(format!("JWT_SECRET_FILE {}: {error}", file.display()))
                })?;
                let origin = format!("the secret in JWT_SECRET_FILE {}", file.display());
                (SecretString::from(read.trim().to_owned()), origin)
            }
            (None, None) if storage.is_embedded() => {
                return dev_secret::load_or_create(&storage.data_dir);
            }
            (None, None) => {
                return Err(ConfigError::Invalid(
                    "JWT_SECRET or JWT_PUBLIC_KEY is required when DATABASE_URL is set".to_owned(),
                ));
            }
        };
        if secret.expose_secret().len() < MIN_SECRET_BYTES {
            return Err(ConfigError::Invalid(format!(
                "{origin} must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        Ok(secret)
    }

    /// Settings of the token verifier.
    pub fn verifier(&self, storage: &DatabaseArgs) -> Result<VerifierSettings, ConfigError> {
        if self.jwt_leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::Invalid(format!(
                "JWT_LEEWAY_SECS must be at most {MAX_LEEWAY_SECS}"
            )));
        }
        let key = match (&self.jwt_public_key, self.jwt_algorithm) {
            (None, JwtAlgorithm::HS256) => {
                DecodingKey::from_secret(self.secret(storage)?.expose_secret().as_bytes())
            }
            (None, _) => {
                return Err(ConfigError::Invalid(
                    "JWT_ALGORITHM other than HS256 needs JWT_PUBLIC_KEY".to_owned(),
                ));
            }
            (Some(_), JwtAlgorithm::HS256) => {
                return Err(ConfigError::Invalid(
                    "JWT_PUBLIC_KEY needs JWT_ALGORITHM=RS256, ES256 or EdDSA".to_owned(),
                ));
            }
            (Some(path), algorithm) => public_key(path, algorithm)?,
        };
        Ok(VerifierSettings {
            algorithm: self.jwt_algorithm.algorithm(),
            key,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway_secs: self.jwt_leeway_secs,
            role_claim: self.jwt_role_claim.clone(),
        })
    }

    /// The key that signs development tokens (`room-chats token`): HS256 only, since this
    /// service never holds a private key. The embedded default's secret must exist already
    /// (a server ran in `DATA_DIR`) unless `create` says to make it.
    pub fn signing_key(
        &self,
        storage: &DatabaseArgs,
        create: bool,
    ) -> Result<EncodingKey, ConfigError> {
        if self.jwt_public_key.is_some() {
            return Err(ConfigError::Invalid(
                "tokens can only be minted with an HS256 secret; this node is configured with \
                 a public key, so tokens come from the key holder"
                    .to_owned(),
            ));
        }
        let configured = self.jwt_secret.is_some() || self.jwt_secret_file.is_some();
        let secret = if configured || !storage.is_embedded() || create {
            self.secret(storage)?
        } else {
            dev_secret::load(&storage.data_dir)?.ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "there is no development secret in {}: run this where the server runs (or \
                     set DATA_DIR to its data directory), set JWT_SECRET as the server has it, or \
                     pass --create-secret to make one for a server that will start here",
                    storage.data_dir.display()
                ))
            })?
        };
        Ok(EncodingKey::from_secret(secret.expose_secret().as_bytes()))
    }
}

fn public_key(path: &Path, algorithm: JwtAlgorithm) -> Result<DecodingKey, ConfigError> {
    let pem = std::fs::read(path).map_err(|source| ConfigError::File {
        setting: "JWT_PUBLIC_KEY",
        path: path.to_owned(),
        source,
    })?;
    let key = match algorithm {
        JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
        JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(&pem),
        JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        JwtAlgorithm::HS256 => return Err(ConfigError::Invalid("HS256 takes no key file".into())),
    };
    key.map_err(|error| {
        ConfigError::Invalid(format!(
            "JWT_PUBLIC_KEY {} is not a {algorithm:?} public key in PEM: {error}",
            path.display()
        ))
    })
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where a node listens unless `BIND` says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Address to serve `/metrics` on instead of `BIND` (e.g. `127.0.0.1:9100`, to keep it
    /// off the public address); unset serves it on `BIND`.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Seconds to let in-flight requests finish on SIGTERM/SIGINT.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout_secs: u64,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, ignore_case = true, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Longest message, in characters.
    #[arg(help_heading = "Limits", long, env = "MAX_CONTENT_CHARS", default_value_t = Limits::DEFAULT.max_content_chars as u32, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_content_chars: u32,
    /// Seconds after sending during which the sender may edit a message.
    #[arg(help_heading = "Limits", long, env = "EDIT_WINDOW_SECS", default_value_t = Limits::DEFAULT.edit_window_secs, value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub edit_window_secs: u64,
    /// Largest request body, in bytes.
    #[arg(help_heading = "Limits", long, env = "MAX_BODY_BYTES", default_value_t = Limits::DEFAULT.max_body_bytes as u32, value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub max_body_bytes: u32,
    /// Seconds a request body may send nothing before it is answered 408 and its connection
    /// closed.
    #[arg(help_heading = "Limits", long, env = "REQUEST_BODY_TIMEOUT_SECS", default_value_t = Limits::DEFAULT.body_idle_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub request_body_timeout_secs: u64,
    /// History page size when the caller names none.
    #[arg(help_heading = "Limits", long, env = "HISTORY_PAGE_DEFAULT", default_value_t = Limits::DEFAULT.default_page, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub history_page_default: i64,
    /// Largest history page a caller may ask for.
    #[arg(help_heading = "Limits", long, env = "HISTORY_PAGE_MAX", default_value_t = Limits::DEFAULT.max_page, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub history_page_max: i64,
    /// Sustained messages per second one user may send on this node, over REST and all its
    /// WebSockets together (`rate_limited` beyond).
    #[arg(help_heading = "Limits", long, env = "USER_MESSAGES_PER_SEC", default_value_t = Limits::DEFAULT.messages_per_sec, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub user_messages_per_sec: u32,
    /// Messages one user may send in a burst above that rate.
    #[arg(help_heading = "Limits", long, env = "USER_MESSAGE_BURST", default_value_t = Limits::DEFAULT.message_burst, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub user_message_burst: u32,
    /// Whether the words of a deleted message stay readable by admins in its revisions
    /// (`false`: a delete also erases them there; who changed what when is kept).
    #[arg(help_heading = "Limits", long, env = "KEEP_DELETED_CONTENT", default_value_t = Limits::DEFAULT.keep_deleted_content, action = clap::ArgAction::Set)]
    pub keep_deleted_content: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub realtime: RealtimeArgs,
    #[command(flatten)]
    pub jwt: JwtArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub attachments: AttachmentArgs,
    #[command(flatten)]
    pub auto_close: AutoCloseArgs,
    #[command(flatten)]
    pub response_targets: ResponseTargetArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// How long data is kept (docs/DATA-PROTECTION.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Data protection")]
pub struct RetentionArgs {
    /// Delete a room's messages (with their revisions and files) and room events older than
    /// this many days, unless the room sets its own retention or is held; 0: keep for ever.
    #[arg(long, env = "HISTORY_RETENTION_DAYS", default_value_t = whole_days(RetentionSettings::DEFAULT.conversations.history_days), value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub history_retention_days: u32,
    /// Delete closed rooms idle for more than this many days, with everything in them (their
    /// order too), unless held; 0: keep them for ever.
    #[arg(long, env = "CLOSED_ROOM_RETENTION_DAYS", default_value_t = whole_days(RetentionSettings::DEFAULT.conversations.closed_room_days), value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub closed_room_retention_days: u32,
    /// Delete audit trail entries older than this many days; 0: keep them for ever.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = days(RetentionSettings::DEFAULT.audit), value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub audit_retention_days: u64,
    /// Delete webhook dead letters that died more than this many days ago; 0: keep them for
    /// ever (they carry message words).
    #[arg(long, env = "DEAD_LETTER_RETENTION_DAYS", default_value_t = days(RetentionSettings::DEFAULT.dead_letters), value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub dead_letter_retention_days: u64,
    /// Hours an export's download link works; then the archive is deleted.
    #[arg(long, env = "EXPORT_TTL_HOURS", default_value_t = DEFAULT_LINK_TTL.as_secs() / 3_600, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub export_ttl_hours: u64,
    /// Seconds between two retention sweeps of a node (when a retention is set).
    #[arg(long, env = "RETENTION_SWEEP_SECS", default_value_t = RetentionSettings::DEFAULT.sweep_every.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub retention_sweep_secs: u64,
}

/// A retention of days, 0 for "kept for ever".
const fn whole_days(kept: Option<u32>) -> u32 {
    match kept {
        Some(days) => days,
        None => 0,
    }
}

/// A retention in whole days, 0 for "kept for ever".
const fn days(kept: Option<Duration>) -> u64 {
    match kept {
        Some(kept) => kept.as_secs() / 86_400,
        None => 0,
    }
}

impl RetentionArgs {
    /// How long an export's download link works.
    pub fn export_link_ttl(&self) -> Duration {
        Duration::from_secs(self.export_ttl_hours * 3_600)
    }

    /// The retention settings.
    pub fn settings(&self) -> RetentionSettings {
        let kept_for = |days: u64| (days > 0).then(|| Duration::from_secs(days * 86_400));
        let days = |days: u32| (days > 0).then_some(days);
        RetentionSettings {
            conversations: ConversationPolicy {
                history_days: days(self.history_retention_days),
                closed_room_days: days(self.closed_room_retention_days),
            },
            audit: kept_for(self.audit_retention_days),
            dead_letters: kept_for(self.dead_letter_retention_days),
            sweep_every: Duration::from_secs(self.retention_sweep_secs),
        }
    }
}

/// Response-time targets (docs/SUPPORT.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Support workflow")]
pub struct ResponseTargetArgs {
    /// Longest a customer's first message since the room opened (or reopened) may wait for a
    /// staff answer, in seconds (business seconds when `SLA_BUSINESS_HOURS` is set); 0: no
    /// target. A miss marks the room breached and sends `room.sla_breached`.
    #[arg(long, env = "SLA_FIRST_RESPONSE_SECS", default_value_t = seconds(ResponseClockSettings::DEFAULT.targets.first_response), value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub sla_first_response_secs: u64,
    /// The same for each later wait (the customer wrote again after staff answered); 0: no
    /// target.
    #[arg(long, env = "SLA_NEXT_RESPONSE_SECS", default_value_t = seconds(ResponseClockSettings::DEFAULT.targets.next_response), value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub sla_next_response_secs: u64,
    /// Count targets and waits only in these hours, e.g. `mon-fri 09:00-17:00; sat
    /// 10:00-14:00` (in `SLA_TIME_ZONE`); empty: around the clock.
    #[arg(long, env = "SLA_BUSINESS_HOURS", default_value = "")]
    pub sla_business_hours: String,
    /// The IANA time zone of `SLA_BUSINESS_HOURS` (daylight saving included).
    #[arg(long, env = "SLA_TIME_ZONE", default_value = "UTC")]
    pub sla_time_zone: String,
    /// Milliseconds between two response-time sweeps of a node: a breach is noticed within
    /// this of its deadline.
    #[arg(long, env = "SLA_SWEEP_MILLIS", default_value_t = ResponseClockSettings::DEFAULT.sweep_every.as_millis() as u64, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub sla_sweep_millis: u64,
}

/// A target in whole seconds, 0 for none.
const fn seconds(target: Option<Duration>) -> u64 {
    match target {
        Some(target) => target.as_secs(),
        None => 0,
    }
}

impl ResponseTargetArgs {
    /// The targets; an error names a malformed schedule or time zone.
    pub fn settings(&self) -> Result<ResponseClockSettings, ConfigError> {
        let target = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        let business_hours =
            match self.sla_business_hours.trim() {
                "" => None,
                schedule => Some(BusinessHours::parse(schedule, &self.sla_time_zone).map_err(
                    |error| ConfigError::Invalid(format!("SLA_BUSINESS_HOURS: {error}")),
                )?),
            };
        Ok(ResponseClockSettings {
            targets: ResponseTargets {
                first_response: target(self.sla_first_response_secs),
                next_response: target(self.sla_next_response_secs),
                business_hours,
            },
            sweep_every: Duration::from_millis(self.sla_sweep_millis),
        })
    }
}

/// Rooms that close themselves (docs/SUPPORT.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Support workflow")]
pub struct AutoCloseArgs {
    /// Close open rooms nobody wrote in for this many hours, when they wait for the customer
    /// or for no one (never when the customer waits for staff); 0: never. The customer's next
    /// message reopens such a room.
    #[arg(long, env = "AUTO_CLOSE_IDLE_HOURS", default_value_t = hours(AutoCloseSettings::DEFAULT.idle), value_parser = clap::value_parser!(u64).range(0..=8_760))]
    pub auto_close_idle_hours: u64,
    /// Close open rooms this many hours after their order was delivered or cancelled, when
    /// idle as long and not waiting for staff; 0: never.
    #[arg(long, env = "AUTO_CLOSE_AFTER_ORDER_HOURS", default_value_t = hours(AutoCloseSettings::DEFAULT.after_order), value_parser = clap::value_parser!(u64).range(0..=8_760))]
    pub auto_close_after_order_hours: u64,
    /// Seconds between two sweeps of a node for rooms to close (when a policy is on).
    #[arg(long, env = "AUTO_CLOSE_SWEEP_SECS", default_value_t = AutoCloseSettings::DEFAULT.sweep_every.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub auto_close_sweep_secs: u64,
}

/// A policy's idle time in whole hours, 0 for off.
const fn hours(idle: Option<Duration>) -> u64 {
    match idle {
        Some(idle) => idle.as_secs() / 3_600,
        None => 0,
    }
}

impl AutoCloseArgs {
    /// The policies.
    pub fn settings(&self) -> AutoCloseSettings {
        let policy = |hours: u64| (hours > 0).then(|| Duration::from_secs(hours * 3_600));
        AutoCloseSettings {
            idle: policy(self.auto_close_idle_hours),
            after_order: policy(self.auto_close_after_order_hours),
            sweep_every: Duration::from_secs(self.auto_close_sweep_secs),
        }
    }
}

/// Where attachments are stored, and their limits.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Attachments")]
pub struct AttachmentArgs {
    /// Where uploaded files go: `s3://bucket/prefix` (endpoint, region and credentials from
    /// `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`) or `file:///absolute/dir`. Unset: `DATA_DIR/attachments`.
    #[arg(long, env = "STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Largest file, in bytes (`too_large` beyond, cut off while streaming).
    #[arg(long, env = "ATTACHMENT_MAX_BYTES", default_value_t = AttachmentSettings::DEFAULT.max_bytes, value_parser = clap::value_parser!(u64).range(1..=5_368_709_120))]
    pub attachment_max_bytes: u64,
    /// Types files may have, as read from their first bytes (comma-separated MIME types).
    #[arg(long, env = "ATTACHMENT_TYPES", default_value = DEFAULT_TYPES)]
    pub attachment_types: String,
    /// Uploads one user may make per minute, all nodes together.
    #[arg(long, env = "ATTACHMENT_UPLOADS_PER_MINUTE", default_value_t = AttachmentSettings::DEFAULT.uploads_per_minute, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub attachment_uploads_per_minute: i64,
    /// Bytes per second all uploads streaming through this node may take together (0:
    /// unlimited).
    #[arg(long, env = "ATTACHMENT_UPLOAD_BYTES_PER_SEC", default_value_t = AttachmentSettings::DEFAULT.upload_bytes_per_sec)]
    pub attachment_upload_bytes_per_sec: u64,
    /// Bytes one user may upload per 24 hours, all nodes together.
    #[arg(long, env = "ATTACHMENT_DAILY_QUOTA_BYTES", default_value_t = AttachmentSettings::DEFAULT.daily_quota_bytes, value_parser = clap::value_parser!(u64).range(1..))]
    pub attachment_daily_quota_bytes: u64,
    /// Seconds a presigned URL holds (S3): a download, or a direct upload's PUT.
    #[arg(long, env = "ATTACHMENT_URL_TTL_SECS", default_value_t = AttachmentSettings::DEFAULT.url_ttl.as_secs(), value_parser = clap::value_parser!(u64).range(10..=604_800))]
    pub attachment_url_ttl_secs: u64,
    /// Seconds after which an upload never sent in a message is removed.
    #[arg(long, env = "ATTACHMENT_UNSENT_TTL_SECS", default_value_t = AttachmentSettings::DEFAULT.unsent_ttl.as_secs(), value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub attachment_unsent_ttl_secs: u64,
    /// Seconds after a message's delete at which its files are removed.
    #[arg(long, env = "ATTACHMENT_DELETED_RETENTION_SECS", default_value_t = AttachmentSettings::DEFAULT.deleted_retention.as_secs(), value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub attachment_deleted_retention_secs: u64,
}

impl AttachmentArgs {
    /// The limits.
    pub fn settings(&self) -> Result<AttachmentSettings, ConfigError> {
        let allowed_types = AttachmentSettings::parse_types(&self.attachment_types);
        if allowed_types.is_empty() {
            return Err(ConfigError::Invalid(
                "ATTACHMENT_TYPES must name at least one type".to_owned(),
            ));
        }
        Ok(AttachmentSettings {
            max_bytes: self.attachment_max_bytes,
            allowed_types,
            upload_bytes_per_sec: self.attachment_upload_bytes_per_sec,
            uploads_per_minute: self.attachment_uploads_per_minute,
            daily_quota_bytes: self.attachment_daily_quota_bytes,
            url_ttl: Duration::from_secs(self.attachment_url_ttl_secs),
            unsent_ttl: Duration::from_secs(self.attachment_unsent_ttl_secs),
            deleted_retention: Duration::from_secs(self.attachment_deleted_retention_secs),
            url_clock_margin: AttachmentSettings::DEFAULT.url_clock_margin,
            collect_every: AttachmentSettings::DEFAULT.collect_every,
        })
    }

    /// The store: `STORAGE_URL`, or a directory under `DATA_DIR`.
    pub fn storage(&self, storage: &DatabaseArgs) -> StorageLocation {
        match &self.storage_url {
            Some(url) if !url.trim().is_empty() => StorageLocation::Url {
                url: url.trim().to_owned(),
                s3_config: Vec::new(),
            },
            _ => StorageLocation::Directory(storage.data_dir.join("attachments")),
        }
    }
}

/// Webhook delivery (endpoints are managed over `/webhooks/endpoints`) and notifications.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookArgs {
    /// Seconds one delivery attempt may take, connecting included.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = WebhookSettings::DEFAULT.timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=120))]
    pub webhook_timeout_secs: u64,
    /// Milliseconds before the first retry of a failed delivery; each further failure doubles
    /// the delay (with jitter) up to `WEBHOOK_RETRY_MAX_DELAY_SECS`.
    #[arg(long, env = "WEBHOOK_RETRY_FIRST_DELAY_MS", default_value_t = WebhookSettings::DEFAULT.retry.first_delay.as_millis() as u64, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub webhook_retry_first_delay_ms: u64,
    /// Longest wait between two attempts, in seconds.
    #[arg(long, env = "WEBHOOK_RETRY_MAX_DELAY_SECS", default_value_t = WebhookSettings::DEFAULT.retry.max_delay.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_retry_max_delay_secs: u64,
    /// Seconds after its first failed attempt an event is still retried; then it is a dead
    /// letter (listable and replayable over the admin API).
    #[arg(long, env = "WEBHOOK_RETRY_PERIOD_SECS", default_value_t = WebhookSettings::DEFAULT.retry.period.as_secs(), value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub webhook_retry_period_secs: u64,
    /// Seconds a node holds the queues it delivers; a node that dies leaves them to the
    /// others after this long. At least twice `WEBHOOK_TIMEOUT_SECS`.
    #[arg(long, env = "WEBHOOK_LEASE_SECS", default_value_t = WebhookSettings::DEFAULT.lease.as_secs(), value_parser = clap::value_parser!(u64).range(2..=3_600))]
    pub webhook_lease_secs: u64,
    /// Rooms' queues one node delivers at the same time.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = WebhookSettings::DEFAULT.concurrency as u32, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub webhook_concurrency: u32,
    /// Milliseconds between looks for due events this node was not told about (other nodes'
    /// changes, retries coming due).
    #[arg(long, env = "WEBHOOK_POLL_MS", default_value_t = WebhookSettings::DEFAULT.poll_interval.as_millis() as u64, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub webhook_poll_ms: u64,
    /// Seconds a message stays unread, its member away (no room socket on it, no user
    /// stream), before the member is notified (`notification.due`).
    #[arg(long, env = "NOTIFY_DELAY_SECS", default_value_t = NotificationSettings::DEFAULT.delay.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub notify_delay_secs: u64,
    /// Web Push identity: a P-256 private key, 32 bytes in base64url (`npx web-push
    /// generate-vapid-keys` prints one). Unset: generated in DATA_DIR on the embedded default,
    /// Web Push off with DATABASE_URL.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<SecretString>,
    /// Who runs the server, for push services to reach (`mailto:` or `https://`).
    #[arg(long, env = "VAPID_SUBJECT", default_value = DEFAULT_VAPID_SUBJECT)]
    pub vapid_subject: String,
    /// Seconds a push service keeps a push for a browser that is offline (`TTL`), and how long
    /// the service retries one the push service did not take.
    #[arg(long, env = "PUSH_TTL_SECS", default_value_t = push::DEFAULT_TTL.as_secs(), value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub push_ttl_secs: u64,
    /// Allow endpoint URLs (webhook receivers, push services) on loopback, private and
    /// link-local addresses (refused by default: SSRF).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_URLS", default_value_t = WebhookSettings::DEFAULT.allow_private_urls, action = clap::ArgAction::Set)]
    pub webhook_allow_private_urls: bool,
}

/// `VAPID_SUBJECT` by default: set your own contact in production.
const DEFAULT_VAPID_SUBJECT: &str = "mailto:webpush@localhost";

impl WebhookArgs {
    /// Web Push: on with `VAPID_PRIVATE_KEY`, or with a generated key on the embedded default.
    pub fn push(&self, storage: &DatabaseArgs) -> Result<PushSettings, ConfigError> {
        let key = match &self.vapid_private_key {
            Some(key) => Some(key.clone()),
            None if storage.is_embedded() => {
                Some(dev_secret::load_or_create_vapid_key(&storage.data_dir)?)
            }
            None => None,
        };
        let vapid = key
            .map(|key| Vapid::from_base64url(key.expose_secret(), self.vapid_subject.clone()))
            .transpose()
            .map_err(ConfigError::Invalid)?;
        Ok(PushSettings {
            vapid: vapid.map(Arc::new),
            ttl: Duration::from_secs(self.push_ttl_secs),
            allow_private_urls: self.webhook_allow_private_urls,
        })
    }

    /// When members who are away are notified.
    pub fn notifications(&self) -> NotificationSettings {
        NotificationSettings {
            delay: Duration::from_secs(self.notify_delay_secs),
        }
    }

    /// The delivery settings.
    pub fn settings(&self) -> Result<WebhookSettings, ConfigError> {
        if self.webhook_lease_secs < 2 * self.webhook_timeout_secs {
            return Err(ConfigError::Invalid(
                "WEBHOOK_LEASE_SECS must be at least twice WEBHOOK_TIMEOUT_SECS".to_owned(),
            ));
        }
        Ok(WebhookSettings {
            timeout: Duration::from_secs(self.webhook_timeout_secs),
            retry: RetrySchedule {
                first_delay: Duration::from_millis(self.webhook_retry_first_delay_ms),
                max_delay: Duration::from_secs(self.webhook_retry_max_delay_secs),
                period: Duration::from_secs(self.webhook_retry_period_secs),
            },
            lease: Duration::from_secs(self.webhook_lease_secs),
            concurrency: self.webhook_concurrency as usize,
            poll_interval: Duration::from_millis(self.webhook_poll_ms),
            allow_private_urls: self.webhook_allow_private_urls,
        })
    }
}

/// The live half: WebSocket limits and the broker between nodes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "WebSocket, browsers and the cluster")]
pub struct RealtimeArgs {
    /// `redis://…` (or `rediss://…` for TLS) to run several nodes; unset: the in-process
    /// broker of a single node.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<SecretString>,
    /// PEM file of the certificate authority of a `rediss://` server that the system does
    /// not trust (a private CA); unset trusts the system's roots.
    #[arg(long, env = "REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis channel and key.
    #[arg(long, env = "REDIS_PREFIX", default_value = "room-chats:")]
    pub redis_prefix: String,
    /// Redis connections for publishing.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub redis_pool_size: u32,
    /// Browser origins allowed to call the API (CORS) and open WebSockets: a comma-separated
    /// list, or `*` for any. Empty allows no cross-origin browser calls (apps that send no
    /// Origin, and pages of the service's own origin, always pass).
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,
    /// Largest WebSocket frame or message, in bytes (larger closes with 1009).
    #[arg(long, env = "WS_MAX_FRAME_BYTES", default_value_t = RealtimeSettings::DEFAULT.max_frame_bytes as u32, value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub ws_max_frame_bytes: u32,
    /// Most open WebSockets of one user on one node.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_USER", default_value_t = RealtimeSettings::DEFAULT.max_connections_per_user as u32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ws_max_connections_per_user: u32,
    /// Seconds between two comparisons of the node's rooms with their stored timelines (what
    /// the broker never brought is caught up at the second).
    #[arg(long, env = "TIMELINE_SWEEP_SECS", default_value_t = RealtimeSettings::DEFAULT.timeline_sweep.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeline_sweep_secs: u64,
    /// Seconds between server pings.
    #[arg(long, env = "WS_HEARTBEAT_SECS", default_value_t = RealtimeSettings::DEFAULT.heartbeat.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_heartbeat_secs: u64,
    /// Seconds of silence after which a connection is closed.
    #[arg(long, env = "WS_CLIENT_TIMEOUT_SECS", default_value_t = RealtimeSettings::DEFAULT.client_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub ws_client_timeout_secs: u64,
    /// Frames queued for a slow client before it is disconnected.
    #[arg(long, env = "WS_OUTBOX_FRAMES", default_value_t = RealtimeSettings::DEFAULT.outbox as u32, value_parser = clap::value_parser!(u32).range(8..=1_000_000))]
    pub ws_outbox_frames: u32,
    /// Seconds after which `typing: true` expires without a refresh.
    #[arg(long, env = "WS_TYPING_TTL_SECS", default_value_t = RealtimeSettings::DEFAULT.typing_ttl.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300))]
    pub ws_typing_ttl_secs: u64,
    /// Milliseconds the inbox gathers a room's changes before telling the per-user streams
    /// (`/ws/`): one frame per room and window, however many messages it saw.
    #[arg(long, env = "INBOX_COALESCE_MS", default_value_t = RealtimeSettings::DEFAULT.inbox_window.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub inbox_coalesce_ms: u64,
    /// Most rooms one user stream (`/ws/`) may subscribe to at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = RealtimeSettings::DEFAULT.max_subscriptions, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_max_subscriptions: u32,
    /// Subscriptions one user stream may open per second, in bursts up to
    /// `WS_MAX_SUBSCRIPTIONS`.
    #[arg(long, env = "WS_SUBSCRIBES_PER_SEC", default_value_t = RealtimeSettings::DEFAULT.subscribes_per_sec, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_subscribes_per_sec: u32,
}

impl RealtimeArgs {
    /// The broker: Redis when `REDIS_URL` is set.
    pub fn redis(&self) -> Result<Option<RedisSettings>, ConfigError> {
        let Some(url) = &self.redis_url else {
            return Ok(None);
        };
        let ca_pem = match &self.redis_ca_file {
            Some(file) => Some(std::fs::read(file).map_err(|error| {
                ConfigError::Invalid(format!("REDIS_CA_FILE {}: {error}", file.display()))
            })?),
            None => None,
        };
        Ok(Some(RedisSettings {
            url: url.expose_secret().to_owned(),
            ca_pem,
            prefix: self.redis_prefix.clone(),
            pool_size: self.redis_pool_size as usize,
        }))
    }
}

impl ServeArgs {
    /// WebSocket limits and timings.
    pub fn realtime(&self) -> Result<RealtimeSettings, ConfigError> {
        let args = &self.realtime;
        Ok(RealtimeSettings {
            max_frame_bytes: args.ws_max_frame_bytes as usize,
            max_connections_per_user: args.ws_max_connections_per_user as usize,
            heartbeat: Duration::from_secs(args.ws_heartbeat_secs),
            client_timeout: Duration::from_secs(args.ws_client_timeout_secs),
            outbox: args.ws_outbox_frames as usize,
            history_default: self.history_page_default,
            history_max: self.history_page_max,
            typing_ttl: Duration::from_secs(args.ws_typing_ttl_secs),
            allowed_origins: AllowedOrigins::parse(&args.allowed_origins)
                .map_err(ConfigError::Invalid)?,
            inbox_window: Duration::from_millis(args.inbox_coalesce_ms),
            max_subscriptions: args.ws_max_subscriptions,
            subscribes_per_sec: args.ws_subscribes_per_sec,
            timeline_sweep: Duration::from_secs(args.timeline_sweep_secs),
        })
    }

    /// Request limits.
    pub fn limits(&self) -> Result<Limits, ConfigError> {
        if self.history_page_default > self.history_page_max {
            return Err(ConfigError::Invalid(
                "HISTORY_PAGE_DEFAULT must not exceed HISTORY_PAGE_MAX".to_owned(),
            ));
        }
        Ok(Limits {
            max_content_chars: self.max_content_chars as usize,
            max_body_bytes: self.max_body_bytes as usize,
            default_page: self.history_page_default,
            max_page: self.history_page_max,
            messages_per_sec: self.user_messages_per_sec,
            message_burst: self.user_message_burst,
            edit_window_secs: self.edit_window_secs,
            keep_deleted_content: self.keep_deleted_content,
            body_idle_timeout: std::time::Duration::from_secs(self.request_body_timeout_secs),
        })
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use clap::{Args, Command};

    use super::*;

    fn env_names() -> Vec<String> {
        ServeArgs::augment_args(Command::new("serve"))
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|name| name.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn env_example_lists_every_variable() {
        let example = include_str!("../../../.env.example");
        let names = env_names();
        assert!(names.len() > 10, "{names:?}");
        for name in names {
            assert!(
                example.contains(&format!("{name}=")),
                ".env.example lacks {name}"
            );
        }
    }

    #[test]
    fn readme_configuration_table_lists_every_variable() {
        let readme = include_str!("../../../README.md");
        for name in env_names() {
            assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");
        }
    }

    fn storage(database_url: Option<&str>) -> DatabaseArgs {
        DatabaseArgs {
            data_dir: PathBuf::from("/nonexistent"),
            database_url: database_url.map(|url| url.to_owned().into()),
        }
    }

    fn jwt() -> JwtArgs {
        JwtArgs {
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_public_key: None,
            jwt_algorithm: JwtAlgorithm::HS256,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway_secs: 5,
            jwt_role_claim: "role".to_owned(),
        }
    }

    #[test]
    fn production_database_requires_explicit_jwt_configuration() {
        let error = jwt()
            .verifier(&storage(Some("postgres://db/chat")))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("JWT_SECRET or JWT_PUBLIC_KEY is required when DATABASE_URL is set")
        );
    }

    #[test]
    fn weak_secrets_and_wide_leeway_are_refused() {
        let mut short = jwt();
        short.jwt_secret = Some("short".to_owned().into());
        assert!(short.verifier(&storage(None)).is_err());
        let mut lax = jwt();
        lax.jwt_secret = Some("x".repeat(32).into());
        lax.jwt_leeway_secs = 31;
        assert!(lax.verifier(&storage(None)).is_err());
        let mut mismatched = jwt();
        mismatched.jwt_algorithm = JwtAlgorithm::RS256;
        assert!(mismatched.verifier(&storage(None)).is_err());
    }

    #[test]
    fn the_secret_may_come_from_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("jwt-secret");
        let production = storage(Some("postgres://db/chat"));
        let mut from_file = jwt();
        from_file.jwt_secret_file = Some(file.clone());
        let missing = from_file.verifier(&production).err().map(|e| e.to_string());
        assert!(
            missing
                .as_deref()
                .is_some_and(|e| e.starts_with("JWT_SECRET_FILE")),
            "{missing:?}"
        );
        std::fs::write(&file, "too short\n").expect("write");
        assert!(from_file.verifier(&production).is_err());
        std::fs::write(&file, format!("{}\n", "s".repeat(32))).expect("write");
        assert!(from_file.verifier(&production).is_ok());
    }
}
