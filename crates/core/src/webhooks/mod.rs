//! Webhooks to the main platform: the endpoint use cases (the admin REST API adapts them),
//! their settings, retry schedule, signature and URL guard. The dispatcher that delivers the
//! transactional outbox ([`room_chats_store::webhooks`]) is a worker (room-chats-workers).

pub mod schedule;
pub mod signature;
pub mod url_guard;

use std::time::Duration;

use room_chats_store::Database;
use room_chats_store::audit::{AuditRecord, recorded};
use room_chats_store::webhooks::{self as store, EndpointChange, NewEndpoint};
use room_chats_types::{
    AuditAction, CreateWebhookEndpointBody, DeadLetterPage, DeadLetterQuery, ReplayBody, ReplayDto,
    Role, UpdateWebhookEndpointBody, WebhookEndpointDto,
};

pub use schedule::RetrySchedule;

use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::webhooks::url_guard::check_endpoint_url;

/// Most endpoints a deployment may configure: each one multiplies the outbox rows of every
/// change.
pub const MAX_ENDPOINTS: i64 = 20;

/// Longest endpoint description, in characters.
const MAX_DESCRIPTION_CHARS: usize = room_chats_types::rules::MAX_DESCRIPTION_CHARS;

/// Most dead letters one replay may name.
const MAX_REPLAY_IDS: usize = 1_000;

/// Webhook delivery settings (`WEBHOOK_*`); [`WebhookSettings::DEFAULT`] holds the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whole-attempt timeout, connect included.
    pub timeout: Duration,
    /// When failed deliveries are tried again, and for how long.
    pub retry: RetrySchedule,
    /// How long a node holds a queue it leased; a dead node's queues wait this long.
    pub lease: Duration,
    /// Queues one node delivers at the same time.
    pub concurrency: usize,
    /// How often a node looks for due events it was not told about (other nodes' commits,
    /// retries coming due).
    pub poll_interval: Duration,
    /// Allow endpoint URLs on loopback, private and link-local addresses.
    pub allow_private_urls: bool,
}

impl WebhookSettings {
    /// The defaults, defined once.
    pub const DEFAULT: Self = Self {
        timeout: Duration::from_secs(10),
        retry: RetrySchedule {
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3_600),
            period: Duration::from_secs(24 * 3_600),
        },
        lease: Duration::from_secs(60),
        concurrency: 64,
        poll_interval: Duration::from_secs(1),
        allow_private_urls: false,
    };
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The endpoint use cases: managing receivers and their dead letters. Staff and the main
/// platform (roles `admin` and `service`) may; customers may not.
#[derive(Clone)]
pub struct Webhooks {
    db: Database,
    allow_private_urls: bool,
}

impl Webhooks {
    /// The use cases over `db`, checking URLs under `settings`.
    pub fn new(db: Database, settings: &WebhookSettings) -> Self {
        Self {
            db,
            allow_private_urls: settings.allow_private_urls,
        }
    }

    /// Creates an endpoint with a new signing secret.
    pub async fn create(
        &self,
        caller: &Caller,
        body: CreateWebhookEndpointBody,
    ) -> Result<WebhookEndpointDto, ApiError> {
        authorize(caller)?;
        let url = self.checked_url(&body.url)?;
        check_description(&body.description)?;
        let secret = signature::generate_secret()
            .map_err(|error| ApiError::Internal(format!("no randomness for a secret: {error}")))?;
        let record = audit::entry(caller, AuditAction::WebhookEndpointCreated);
        let endpoint = self
            .db
            .run(move |conn| {
                let new = NewEndpoint {
                    url: &url,
                    secret: &secret,
                    description: &body.description,
                    event_types: &body.event_types,
                };
                recorded(
                    conn,
                    |conn| store::create_endpoint(conn, new, MAX_ENDPOINTS),
                    |endpoint| {
                        Some(AuditRecord {
                            webhook_endpoint_id: Some(endpoint.id),
                            ..record
                        })
                    },
                )
            })
            .await?;
        tracing::info!(endpoint_id = endpoint.id, by = %caller.user_id, "webhook endpoint created");
        Ok(endpoint)
    }

    /// Every endpoint.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<WebhookEndpointDto>, ApiError> {
        authorize(caller)?;
        Ok(self.db.run(store::list_endpoints).await?)
    }

    /// One endpoint.
    pub async fn get(&self, caller: &Caller, id: i64) -> Result<WebhookEndpointDto, ApiError> {
        authorize(caller)?;
        self.db
            .run(move |conn| store::find_endpoint(conn, id))
            .await?
            .ok_or(ApiError::NotFound("webhook endpoint"))
    }

    /// Changes an endpoint.
    pub async fn update(
        &self,
        caller: &Caller,
        id: i64,
        body: UpdateWebhookEndpointBody,
    ) -> Result<WebhookEndpointDto, ApiError> {
        authorize(caller)?;
        let url = body
            .url
            .as_deref()
            .map(|url| self.checked_url(url))
            .transpose()?;
        if let Some(description) = &body.description {
            check_description(description)?;
        }
        let record = endpoint_entry(caller, AuditAction::WebhookEndpointUpdated, id);
        let endpoint = self
            .db
            .run(move |conn| {
                let change = EndpointChange {
                    url: url.as_deref(),
                    description: body.description.as_deref(),
                    event_types: body.event_types.as_deref(),
                    enabled: body.enabled,
                };
                recorded(
                    conn,
                    |conn| store::update_endpoint(conn, id, change),
                    |_| Some(record),
                )
            })
            .await
            .map_err(not_found)?;
        tracing::info!(endpoint_id = id, by = %caller.user_id, "webhook endpoint changed");
        Ok(endpoint)
    }

    /// Deletes an endpoint and what is queued for it.
    pub async fn delete(&self, caller: &Caller, id: i64) -> Result<(), ApiError> {
        authorize(caller)?;
        let record = endpoint_entry(caller, AuditAction::WebhookEndpointDeleted, id);
        self.db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::delete_endpoint(conn, id),
                    |_| Some(record),
                )
            })
            .await
            .map_err(not_found)?;
        tracing::info!(endpoint_id = id, by = %caller.user_id, "webhook endpoint deleted");
        Ok(())
    }

    /// A page of an endpoint's dead letters.
    pub async fn dead_letters(
        &self,
        caller: &Caller,
        id: i64,
        query: DeadLetterQuery,
    ) -> Result<DeadLetterPage, ApiError> {
        authorize(caller)?;
        let limit = query.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::Validation(
                "limit must be between 1 and 200".to_owned(),
            ));
        }
        let after = query.after.unwrap_or(0);
        self.db
            .run(move |conn| store::dead_letters(conn, id, after, limit))
            .await
            .map_err(not_found)
    }

    /// Deletes the dead letters that died longer than `age` ago (the retention sweep); how
    /// many.
    pub async fn purge_dead_letters_older_than(&self, age: Duration) -> Result<usize, ApiError> {
        crate::purge::purge_older_than(&self.db, age, store::purge_dead_letters).await
    }

    /// Puts dead letters back in their queues.
    pub async fn replay(
        &self,
        caller: &Caller,
        id: i64,
        body: ReplayBody,
    ) -> Result<ReplayDto, ApiError> {
        authorize(caller)?;
        if body
            .ids
            .as_ref()
            .is_some_and(|ids| ids.len() > MAX_REPLAY_IDS)
        {
            return Err(ApiError::Validation(format!(
                "ids may name at most {MAX_REPLAY_IDS} dead letters; omit it to replay all"
            )));
        }
        let record = endpoint_entry(caller, AuditAction::DeadLettersReplayed, id);
        let replayed = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::replay_dead_letters(conn, id, body.ids.as_deref()),
                    |_| Some(record),
                )
            })
            .await
            .map_err(not_found)?;
        tracing::info!(endpoint_id = id, replayed, by = %caller.user_id, "dead letters replayed");
        Ok(ReplayDto { replayed })
    }

    fn checked_url(&self, url: &str) -> Result<String, ApiError> {
        check_endpoint_url(url, self.allow_private_urls)
            .map(|url| url.to_string())
            .map_err(|refusal| ApiError::Validation(refusal.to_string()))
    }
}

/// The entry recording that `caller` did `action` to endpoint `id`.
fn endpoint_entry(caller: &Caller, action: AuditAction, id: i64) -> AuditRecord {
    AuditRecord {
        webhook_endpoint_id: Some(id),
        ..audit::entry(caller, action)
    }
}

/// Only staff and the main platform manage webhooks.
fn authorize(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Admin | Role::Service => Ok(()),
        Role::Client => Err(ApiError::Forbidden(
            "only admins and the platform service manage webhooks",
        )),
    }
}

fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::Validation(format!(
            "description is longer than {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if description.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "description must not contain control characters".to_owned(),
        ));
    }
    Ok(())
}

/// A missing endpoint reads as such, not as a generic resource.
fn not_found(error: room_chats_store::StoreError) -> ApiError {
    match error {
        room_chats_store::StoreError::NotFound => ApiError::NotFound("webhook endpoint"),
        other => other.into(),
    }
}
