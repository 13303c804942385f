//! Test harness: each test gets its own service on 127.0.0.1:0 and its own database — a fresh
//! Postgres schema, or a fresh SQLite file — so tests run in parallel without touching each
//! other. Postgres must be running: a missing server fails the test with a clear message.

pub mod blackhole;
mod node_thread;
mod postgres_turns;
pub mod receiver;
pub mod redis;
pub mod s3;
pub mod tokens;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use awc::Client;
use diesel::{Connection, PgConnection, RunQueryDsl};
use jsonwebtoken::{Algorithm, DecodingKey};
use node_thread::{NodeThread, start_node_thread};
use postgres_turns::PostgresTurn;
use room_chats::{ServiceConfig, ServiceControl};
use room_chats_api::realtime::RealtimeSettings;
use room_chats_broker::RedisSettings;
use room_chats_core::attachments::{AttachmentSettings, StorageLocation};
use room_chats_core::push::PushSettings;
use room_chats_core::webhooks::WebhookSettings;
use room_chats_core::{Limits, VerifierSettings};
use room_chats_store::{DatabaseUrl, PoolSettings};
use room_chats_types::{ErrorBody, ErrorCode, MessageDto, MessagePage};
use room_chats_workers::{
    AutoCloseSettings, NotificationSettings, ResponseClockSettings, RetentionSettings,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use tokens::Tokens;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// How the service under test verifies tokens.
pub enum KeySetup {
    Hs256 {
        issuer: Option<String>,
        audience: Option<String>,
    },
    Rs256,
}

/// The Postgres server tests use: `TEST_DATABASE_URL`, default the local trust-auth server.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A running service with its own database, dropped with the test.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when not on `addr`.
    pub metrics_addr: Option<SocketAddr>,
    pub tokens: Tokens,
    pub limits: Limits,
    pub control: ServiceControl,
    /// Dropped before the database: the node closes its connections first.
    node: Option<NodeThread>,
    database: TestDatabase,
    /// The node's attachment directory when the test named no store.
    _files: Option<tempfile::TempDir>,
}

enum TestDatabase {
    Postgres {
        schema: String,
        _turn: PostgresTurn,
    },
    Sqlite {
        _dir: tempfile::TempDir,
    },
    /// A peer node using another node's Postgres schema.
    Shared {
        _turn: PostgresTurn,
    },
}

fn schema_url(schema: &str) -> String {
    schema_url_with(schema, &[])
}

/// [`schema_url`] with more of Postgres' settings (`name`, `value`) for each connection.
fn schema_url_with(schema: &str, settings: &[(&str, &str)]) -> String {
    let admin_url = postgres_admin_url();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let more: String = settings
        .iter()
        .map(|(name, value)| format!("%20-c{name}%3D{value}"))
        .collect();
    // The application name tells each node's connections apart in `pg_stat_activity`.
    format!(
        "{admin_url}{separator}options=-csearch_path%3D{schema}{more}&application_name={schema}"
    )
}

static NEXT_SCHEMA: AtomicU32 = AtomicU32::new(0);

/// Options of a test node beyond the defaults.
pub struct NodeOptions {
    pub keys: KeySetup,
    pub acquire_timeout: std::time::Duration,
    pub pool_size: u32,
    pub realtime: RealtimeSettings,
    pub limits: Limits,
    pub redis: Option<RedisSettings>,
    pub send_queue_budget: std::time::Duration,
    pub webhooks: WebhookSettings,
    pub notifications: NotificationSettings,
    /// Rooms that close themselves.
    pub auto_close: AutoCloseSettings,
    pub response_clocks: ResponseClockSettings,
    /// How long data is kept.
    pub retention: RetentionSettings,
    /// How long an export's download link works.
    pub export_link_ttl: std::time::Duration,
    pub push: PushSettings,
    pub attachments: AttachmentSettings,
    /// Where attachments go; `None`: a temporary directory of the node's own.
    pub storage: Option<StorageLocation>,
    /// Where `/metrics` is served instead of the node's address.
    pub metrics_bind: Option<SocketAddr>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        // Tests send in tight loops; the rate limit has its own test with its own settings.
        let limits = Limits {
            messages_per_sec: 100_000,
            message_burst: 100_000,
            ..Limits::default()
        };
        Self {
            keys: KeySetup::Hs256 {
                issuer: None,
                audience: None,
            },
            acquire_timeout: std::time::Duration::from_secs(10),
            pool_size: 4,
            realtime: RealtimeSettings::default(),
            limits,
            redis: None,
            send_queue_budget: room_chats_store::batch::DEFAULT_SEND_QUEUE_BUDGET,
            // Receivers in tests listen on 127.0.0.1.
            webhooks: WebhookSettings {
                allow_private_urls: true,
                ..WebhookSettings::DEFAULT
            },
            notifications: NotificationSettings::DEFAULT,
            auto_close: AutoCloseSettings::DEFAULT,
            response_clocks: ResponseClockSettings::DEFAULT,
            retention: RetentionSettings::DEFAULT,
            export_link_ttl: room_chats_core::exports::DEFAULT_LINK_TTL,
            push: PushSettings::OFF,
            attachments: AttachmentSettings::default(),
            storage: None,
            metrics_bind: None,
        }
    }
}

impl TestApp {
    /// A service on `backend` with HS256 tokens and default limits.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(
            backend,
            KeySetup::Hs256 {
                issuer: None,
                audience: None,
            },
        )
        .await
    }

    /// A service on `backend` with the given token setup.
    pub async fn start_with(backend: Backend, keys: KeySetup) -> Self {
        Self::start_node(
            backend,
            NodeOptions {
                keys,
                ..NodeOptions::default()
            },
        )
        .await
    }

    /// A service on `backend` with the given options and a database of its own.
    pub async fn start_node(backend: Backend, options: NodeOptions) -> Self {
        let (database, url) = match backend {
            Backend::Postgres => {
                let turn = PostgresTurn::take();
                let schema = format!(
                    "test_{}_{}",
                    std::process::id(),
                    NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed)
                );
                let admin_url = postgres_admin_url();
                let mut conn = PgConnection::establish(&admin_url).unwrap_or_else(|error| {
                    panic!("Postgres must be running at {admin_url} for the tests: {error}")
                });
                diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; "))
                    .execute(&mut conn)
                    .expect("drop stale schema");
                diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .expect("create test schema");
                let url = schema_url(&schema);
                (
                    TestDatabase::Postgres {
                        schema,
                        _turn: turn,
                    },
                    DatabaseUrl::Postgres(url),
                )
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("chat.db");
                (
                    TestDatabase::Sqlite { _dir: dir },
                    DatabaseUrl::Sqlite(path),
                )
            }
        };
        let tokens = match &options.keys {
            KeySetup::Hs256 { issuer, audience } => Tokens::hs256(issuer.clone(), audience.clone()),
            KeySetup::Rs256 => Tokens::rs256(),
        };
        Self::launch(database, url, tokens, options).await
    }

    /// Another node sharing this node's Postgres schema and token key (a cluster member).
    pub async fn start_peer(&self, options: NodeOptions) -> Self {
        self.start_peer_as(None, options).await
    }

    /// A peer that logs in to Postgres as `role` (a superuser role the test created), so the
    /// test can lock it out to simulate a database outage for that node alone.
    pub async fn start_peer_as(&self, role: Option<&str>, options: NodeOptions) -> Self {
        let TestDatabase::Postgres { schema, .. } = &self.database else {
            panic!("peers share a Postgres schema");
        };
        let mut url = schema_url(schema);
        if let Some(role) = role {
            url = url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
        }
        let tokens = self.tokens.clone();
        Self::launch(
            TestDatabase::Shared {
                _turn: PostgresTurn::take(),
            },
            DatabaseUrl::Postgres(url),
            tokens,
            options,
        )
        .await
    }

    async fn launch(
        database: TestDatabase,
        url: DatabaseUrl,
        tokens: Tokens,
        options: NodeOptions,
    ) -> Self {
        let verifier = match options.keys {
            KeySetup::Hs256 { issuer, audience } => VerifierSettings {
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(tokens.secret().as_bytes()),
                issuer,
                audience,
                leeway_secs: 0,
                role_claim: "role".to_owned(),
            },
            KeySetup::Rs256 => VerifierSettings {
                algorithm: Algorithm::RS256,
                key: DecodingKey::from_rsa_pem(tokens::RSA_PUBLIC_PEM.as_bytes())
                    .expect("test RSA key"),
                issuer: None,
                audience: None,
                leeway_secs: 0,
                role_claim: "role".to_owned(),
            },
        };
        let limits = options.limits;
        let (storage, files) = match options.storage {
            Some(location) => (location, None),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                (StorageLocation::Directory(dir.path().to_owned()), Some(dir))
            }
        };
        let (running, node) = start_node_thread(ServiceConfig {
            bind: "127.0.0.1:0".parse().expect("address"),
            metrics_bind: options.metrics_bind,
            workers: Some(2),
            shutdown_timeout_secs: 5,
            handle_signals: false,
            realtime: options.realtime,
            redis: options.redis,
            database: url,
            writer_threads: 2,
            send_queue_budget: options.send_queue_budget,
            database_startup_timeout: std::time::Duration::from_secs(10),
            search_language: room_chats_store::search::DEFAULT_LANGUAGE.to_owned(),
            pool: PoolSettings {
                max_size: options.pool_size,
                acquire_timeout: options.acquire_timeout,
            },
            verifier,
            limits: limits.clone(),
            webhooks: options.webhooks,
            notifications: options.notifications,
            auto_close: options.auto_close,
            response_clocks: options.response_clocks.clone(),
            retention: options.retention,
            export_link_ttl: options.export_link_ttl,
            push: options.push,
            attachments: options.attachments,
            storage,
        })
        .await;
        Self {
            addr: running.addr,
            metrics_addr: running.metrics_addr,
            tokens,
            limits,
            control: running.control,
            node: Some(node),
            database,
            _files: files,
        }
    }

    /// A direct connection to this node's Postgres schema, for tests that act on the
    /// database behind the service's back.
    pub fn postgres(&self) -> diesel::PgConnection {
        use diesel::Connection;
        let TestDatabase::Postgres { schema, .. } = &self.database else {
            panic!("not a Postgres test node");
        };
        diesel::PgConnection::establish(&schema_url(schema)).expect("schema connection")
    }

    /// The backend this node runs on.
    pub fn backend(&self) -> Backend {
        match self.database {
            TestDatabase::Sqlite { .. } => Backend::Sqlite,
            TestDatabase::Postgres { .. } | TestDatabase::Shared { .. } => Backend::Postgres,
        }
    }

    /// A pool of one connection to this node's database (either backend), for tests that run
    /// a store or worker function themselves.
    pub fn database(&self) -> room_chats_store::Database {
        self.database_with(&[])
    }

    /// [`Self::database`] whose connections start with these Postgres settings (`name`,
    /// `value`; ignored on SQLite): to show what the store's statements do under a server
    /// configured otherwise.
    pub fn database_with(&self, settings: &[(&str, &str)]) -> room_chats_store::Database {
        let url = match &self.database {
            TestDatabase::Postgres { schema, .. } => {
                DatabaseUrl::Postgres(schema_url_with(schema, settings))
            }
            TestDatabase::Sqlite { _dir: dir } => DatabaseUrl::Sqlite(dir.path().join("chat.db")),
            TestDatabase::Shared { .. } => panic!("ask the node that owns the schema"),
        };
        let settings = PoolSettings {
            max_size: 1,
            acquire_timeout: std::time::Duration::from_secs(10),
        };
        room_chats_store::Database::connect(url, &settings).expect("a pool")
    }

    /// Runs `sql` on this node's database behind the service's back, on either backend.
    pub fn execute_sql(&self, sql: &str) {
        match self.backend() {
            Backend::Postgres => {
                use diesel::RunQueryDsl;
                diesel::sql_query(sql)
                    .execute(&mut self.postgres())
                    .expect("statement");
            }
            Backend::Sqlite => self.sqlite_execute(sql),
        }
    }

    /// The tables of this node's database (either backend) with a row whose text holds
    /// `needle` anywhere — every column, every table, the search index's own included.
    pub fn tables_containing(&self, needle: &str) -> Vec<String> {
        use diesel::RunQueryDsl;
        use diesel::sql_types::{BigInt, Text};
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = Text)]
            name: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let pattern = format!("%{needle}%");
        let bytes = needle.to_owned();
        let mut found = Vec::new();
        match &self.database {
            TestDatabase::Sqlite { _dir: dir } => {
                use diesel::Connection;
                let path = dir.path().join("chat.db");
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .expect("SQLite connection");
                let tables: Vec<Name> =
                    diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'")
                        .load(&mut conn)
                        .expect("tables");
                for table in tables {
                    let columns: Vec<Name> = diesel::sql_query(format!(
                        "SELECT name FROM pragma_table_info('{}')",
                        table.name
                    ))
                    .load(&mut conn)
                    .expect("columns");
                    let tests: Vec<String> = columns
                        .iter()
                        // Byte by byte: the search index's segments are blobs with NULs.
                        .map(|column| {
                            format!(
                                "instr(CAST(\"{}\" AS BLOB), CAST(? AS BLOB)) > 0",
                                column.name
                            )
                        })
                        .collect();
                    if tests.is_empty() {
                        continue;
                    }
                    let mut query = diesel::sql_query(format!(
                        "SELECT count(*) AS n FROM \"{}\" WHERE {}",
                        table.name,
                        tests.join(" OR ")
                    ))
                    .into_boxed();
                    for _ in &columns {
                        query = query.bind::<Text, _>(bytes.clone());
                    }
                    let count: Count = query.get_result(&mut conn).expect("count");
                    if count.n > 0 {
                        found.push(table.name);
                    }
                }
            }
            TestDatabase::Postgres { .. } | TestDatabase::Shared { .. } => {
                let mut conn = self.postgres();
                let tables: Vec<Name> = diesel::sql_query(
                    "SELECT table_name AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .load(&mut conn)
                .expect("tables");
                for table in tables {
                    let count: Count = diesel::sql_query(format!(
                        "SELECT count(*) AS n FROM \"{}\" AS t WHERE t::text LIKE $1",
                        table.name
                    ))
                    .bind::<Text, _>(&pattern)
                    .get_result(&mut conn)
                    .expect("count");
                    if count.n > 0 {
                        found.push(table.name);
                    }
                }
            }
        }
        found
    }

    /// Runs `sql` on this node's SQLite database behind the service's back.
    pub fn sqlite_execute(&self, sql: &str) {
        use diesel::Connection;
        let TestDatabase::Sqlite { _dir: dir } = &self.database else {
            panic!("not a SQLite test node");
        };
        let path = dir.path().join("chat.db");
        let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
            .expect("SQLite connection");
        // The service writes meanwhile (its webhook dispatcher, at least): take the write
        // lock up front, as the service does, waiting for it rather than failing to upgrade
        // a read.
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE; {sql}; COMMIT;"
        ))
        .expect("SQLite statement");
    }

    /// Returns once some query of this node's Postgres waits on a lock of `table` (held by the
    /// test): the event that a request reached the database and is stuck there. Each check
    /// blocks this thread for a moment; the service runs on its own threads.
    pub async fn lock_waited_on(&self, table: &str) {
        let mut watcher = self.postgres();
        let query = format!(
            "SELECT pid FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND query LIKE '%{table}%'"
        );
        while diesel::sql_query(&query)
            .execute(&mut watcher)
            .expect("pg_stat_activity")
            == 0
        {
            tokio::task::yield_now().await;
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An HTTP client.
    pub fn client(&self) -> Client {
        Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish()
    }

    /// Sends a request with an optional bearer token and JSON body; returns status, headers
    /// and the parsed JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client().request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response = match body {
            Some(body) => request.send_json(&body).await,
            None => request.send().await,
        }
        .expect("request reaches the service");
        let bytes = response.body().limit(16 * 1024 * 1024).await.expect("body");
        Response::new(
            response.status().as_u16(),
            response.headers().clone(),
            if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
            },
        )
    }

    /// Sends raw bytes as a body with the given content type.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut response = self
            .client()
            .request(method, self.url(path))
            .bearer_auth(token)
            .content_type(content_type)
            .send_body(body)
            .await
            .expect("request reaches the service");
        let bytes = response.body().limit(16 * 1024 * 1024).await.expect("body");
        Response::new(
            response.status().as_u16(),
            response.headers().clone(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Registers an order for `customer` with a service token.
    pub async fn order(&self, order_id: &str, customer: &str) {
        let service = self.tokens.service();
        let response = self
            .call(
                "PUT",
                &format!("/orders/{order_id}"),
                Some(&service),
                Some(serde_json::json!({ "customer_id": customer })),
            )
            .await;
        assert!(
            response.status == 201 || response.status == 200,
            "order upsert: {response:?}"
        );
    }

    /// Registers an order for `customer` and opens its room as the customer; returns the room id.
    pub async fn room(&self, order_id: &str, customer: &str) -> i64 {
        self.order(order_id, customer).await;
        let token = self.tokens.client(customer);
        let response = self
            .call(
                "POST",
                &format!("/chat/order/{order_id}/chat/"),
                Some(&token),
                None,
            )
            .await;
        assert!(
            response.status == 201 || response.status == 200,
            "{response:?}"
        );
        response.json["id"].as_i64().expect("room id")
    }

    /// `GET /chat/{room_id}` as an admin: the room detail's JSON.
    pub async fn room_detail(&self, room_id: i64) -> Value {
        let detail = self
            .call(
                "GET",
                &format!("/chat/{room_id}"),
                Some(&self.tokens.admin("ops")),
                None,
            )
            .await;
        assert_eq!(detail.status, 200, "{detail:?}");
        detail.json
    }

    /// The room's stored messages (up to 200, oldest first) as `token` sees them.
    pub async fn history(&self, room_id: i64, token: &str) -> Vec<MessageDto> {
        let response = self
            .call(
                "GET",
                &format!("/chat/{room_id}/messages?limit=200"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(response.status, 200, "{response:?}");
        response.typed::<MessagePage>().items
    }

    /// Sends a message and asserts it was stored.
    pub async fn send(&self, room_id: i64, token: &str, content: &str) -> MessageDto {
        let response = self
            .call(
                "POST",
                &format!("/chat/{room_id}/messages"),
                Some(token),
                Some(serde_json::json!({ "content": content })),
            )
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        response.typed()
    }

    /// Closes a room as `token` (staff) and asserts it was closed; the room as answered.
    pub async fn close(&self, room_id: i64, token: &str) -> Response {
        let response = self
            .call("POST", &format!("/chat/{room_id}/close"), Some(token), None)
            .await;
        assert_eq!(response.status, 200, "{response:?}");
        response
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let panics = self.control.panics();
        // Not awaited: stopping at once; the node's thread then ends all it runs.
        self.control.abort();
        drop(self.node.take());
        if let TestDatabase::Postgres { schema, .. } = &self.database
            && let Ok(mut conn) = PgConnection::establish(&postgres_admin_url())
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn);
        }
        // No input may reach a panic: a test whose node caught one fails, even when the
        // client's side looked fine (a 500 or a close it did not check).
        if panics > 0 && !std::thread::panicking() {
            panic!("{panics} handler(s) of the node under test panicked; see the log above");
        }
    }
}

/// What a call returned.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub json: Value,
}

impl Response {
    /// An answer as the tests see it. Every error body must name the request it answers, as
    /// the `X-Request-Id` header does; the id (different for every request) is then taken out,
    /// so tests compare the rest.
    #[track_caller]
    pub fn new(status: u16, headers: actix_web::http::header::HeaderMap, mut json: Value) -> Self {
        if let Some(error) = json.get_mut("error").and_then(Value::as_object_mut)
            && error.contains_key("code")
        {
            let header = headers
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            let named = error.remove("request_id");
            assert!(
                !header.is_empty() && named.as_ref().and_then(Value::as_str) == Some(header),
                "error body names {named:?}, X-Request-Id is {header:?}"
            );
        }
        Self {
            status,
            headers,
            json,
        }
    }

    /// Asserts an error answer: status, code, and a body that is exactly the types crate's
    /// `ErrorBody` (no field it does not describe, none missing, a code it knows).
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let expected: ErrorCode = serde_json::from_value(Value::String(code.to_owned()))
            .unwrap_or_else(|_| panic!("{code:?} is not an error code of the API"));
        let body: ErrorBody = self.typed();
        assert_eq!(body.error.code, expected, "{self:?}");
        assert!(
            !body.error.message.is_empty(),
            "error message missing: {self:?}"
        );
    }

    /// The body as `T` of the types crate, strictly: decoding and encoding it again must give
    /// the same JSON, so a field the type does not describe, or one it lacks, fails the test.
    #[track_caller]
    pub fn typed<T: DeserializeOwned + Serialize>(&self) -> T {
        let decoded: T = serde_json::from_value(self.json.clone()).unwrap_or_else(|error| {
            panic!("not a {}: {error}: {self:?}", std::any::type_name::<T>())
        });
        let encoded = serde_json::to_value(&decoded).expect("encodable");
        assert_eq!(
            encoded,
            self.json,
            "the body is more or less than a {}",
            std::any::type_name::<T>()
        );
        decoded
    }
}

/// Whether `value` decodes as `T` of the types crate and encodes back to itself: nothing the
/// type does not describe, nothing it requires missing.
pub fn round_trips<T: DeserializeOwned + Serialize>(value: &Value) -> bool {
    serde_json::from_value::<T>(value.clone())
        .ok()
        .and_then(|decoded| serde_json::to_value(decoded).ok())
        .is_some_and(|encoded| &encoded == value)
}

/// Runs each named test function once per backend, as `postgres::NAME` and `sqlite::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    // Tests that start their own nodes: they get the backend.
    (backend: $($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
            )*
        }
    };
    // Tests that share a way of starting their node: `$start(backend)`.
    (start = $start:path; $($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($start($crate::support::Backend::Postgres).await).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($start($crate::support::Backend::Sqlite).await).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::TestApp::start($crate::support::Backend::Postgres).await).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::TestApp::start($crate::support::Backend::Sqlite).await).await;
                }
            )*
        }
    };
}

/// Error answers are checked against the types crate: a body with more or less than an
/// `ErrorBody`, or a code the API does not have, fails the test.
#[test]
fn error_bodies_the_types_crate_does_not_describe_fail_the_test() {
    let answer = |json: Value| Response {
        status: 404,
        headers: actix_web::http::header::HeaderMap::new(),
        json,
    };
    answer(serde_json::json!({ "error": { "code": "not_found", "message": "room not found" } }))
        .assert_error(404, "not_found");
    for (json, code) in [
        (
            serde_json::json!({ "error": { "code": "not_found", "message": "x" }, "extra": 1 }),
            "not_found",
        ),
        (
            serde_json::json!({ "error": { "code": "gone_fishing", "message": "x" } }),
            "not_found",
        ),
        (
            serde_json::json!({ "error": { "code": "not_found", "message": "x" } }),
            "not_founded",
        ),
        (
            serde_json::json!({ "error": { "code": "not_found" } }),
            "not_found",
        ),
    ] {
        let checked = std::panic::catch_unwind(|| answer(json.clone()).assert_error(404, code));
        assert!(checked.is_err(), "{json} as {code} passed");
    }
}
