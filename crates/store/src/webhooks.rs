//! Webhook endpoints, and the outbox's delivering side.
//!
//! A queue is one (endpoint, room): its events go out in outbox order. A dispatcher's round
//! ([`settle_and_lease`]) records what became of the queues it sent (handing their leases
//! back), leases due queues and reads the first events of each; then it sends them. Only one
//! node holds a queue's lease, so dispatchers on several nodes share the work without sending
//! an event twice or out of order; a lease whose node died runs out and is taken over, and
//! that node's unfinished events are sent again (at-least-once).
//!
//! The bookkeeping commits asynchronously on Postgres (`synchronous_commit = off`): a crash
//! can forget the last few milliseconds of it, which only means an event is sent again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use room_chats_types::{DeadLetterDto, DeadLetterPage, WebhookEndpointDto, WebhookEventType};

use crate::connection::{commit_asynchronously, write_transaction};
use crate::outbox::format_types;
use crate::rows::Spelled;
use crate::rows::{OrNone, SpelledList, StoredJson};
use crate::schema::{webhook_endpoints, webhook_leases, webhook_outbox};
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

/// An endpoint to create.
#[derive(Debug, Clone, Copy)]
pub struct NewEndpoint<'a> {
    /// Receiver URL (checked by the caller).
    pub url: &'a str,
    /// Signing secret.
    pub secret: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Types it takes; empty: all.
    pub event_types: &'a [WebhookEventType],
}

/// Changes to an endpoint; `None` keeps the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct EndpointChange<'a> {
    /// New URL.
    pub url: Option<&'a str>,
    /// New free text.
    pub description: Option<&'a str>,
    /// New types.
    pub event_types: Option<&'a [WebhookEventType]>,
    /// Enable (clearing the reason it was disabled) or disable.
    pub enabled: Option<bool>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointRow {
    id: i64,
    url: String,
    secret: String,
    description: String,
    /// Read strictly: an endpoint that names a type this build does not know fails the read.
    #[diesel(deserialize_as = SpelledList<WebhookEventType>)]
    event_types: Vec<WebhookEventType>,
    enabled: bool,
    disabled_reason: Option<String>,
    #[diesel(deserialize_as = StoredTime)]
    created_at: DateTime<Utc>,
}

impl EndpointRow {
    fn into_dto(self, counts: QueueCounts) -> WebhookEndpointDto {
        WebhookEndpointDto {
            id: self.id,
            url: self.url,
            description: self.description,
            event_types: self.event_types,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            secret: self.secret,
            pending: counts.pending,
            dead: counts.dead,
            created_at: self.created_at,
        }
    }
}

/// An endpoint's waiting and dead events.
#[derive(Debug, Clone, Copy, Default)]
struct QueueCounts {
    pending: i64,
    dead: i64,
}

/// Creates an endpoint unless `max_endpoints` exist already.
pub fn create_endpoint(
    conn: &mut DbConnection,
    new: NewEndpoint<'_>,
    max_endpoints: i64,
) -> Result<WebhookEndpointDto, StoreError> {
    write_transaction(conn, |conn| {
        let existing: i64 = webhook_endpoints::table.count().get_result(conn)?;
        if existing >= max_endpoints {
            return Err(StoreError::Conflict(
                "the maximum number of webhook endpoints exist",
            ));
        }
        let now = now_micros();
        let id: i64 = diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::url.eq(new.url),
                webhook_endpoints::secret.eq(new.secret),
                webhook_endpoints::description.eq(new.description),
                webhook_endpoints::event_types.eq(format_types(new.event_types)),
                webhook_endpoints::enabled.eq(true),
                webhook_endpoints::created_at.eq(now),
                webhook_endpoints::updated_at.eq(now),
            ))
            .returning(webhook_endpoints::id)
            .get_result(conn)?;
        let row: EndpointRow = webhook_endpoints::table
            .find(id)
            .select(EndpointRow::as_select())
            .first(conn)?;
        Ok(row.into_dto(QueueCounts::default()))
    })
}

/// Every endpoint, oldest first.
pub fn list_endpoints(conn: &mut DbConnection) -> Result<Vec<WebhookEndpointDto>, StoreError> {
    let rows: Vec<EndpointRow> = webhook_endpoints::table
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .load(conn)?;
    let mut counts = queue_counts(conn, None)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let count = counts.remove(&row.id).unwrap_or_default();
            row.into_dto(count)
        })
        .collect())
}

/// One endpoint.
pub fn find_endpoint(
    conn: &mut DbConnection,
    endpoint_id: i64,
) -> Result<Option<WebhookEndpointDto>, StoreError> {
    let row: Option<EndpointRow> = webhook_endpoints::table
        .find(endpoint_id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let count = queue_counts(conn, Some(endpoint_id))?
        .remove(&endpoint_id)
        .unwrap_or_default();
    Ok(Some(row.into_dto(count)))
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    endpoint_id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
}

/// Pending and dead events per endpoint (of one endpoint when `only` names it).
fn queue_counts(
    conn: &mut DbConnection,
    only: Option<i64>,
) -> Result<HashMap<i64, QueueCounts>, StoreError> {
    const COUNTS_SQL: &str = "SELECT endpoint_id, COUNT(*) AS total, COUNT(dead_at) AS dead \
        FROM webhook_outbox WHERE $1 IS NULL OR endpoint_id = $1 GROUP BY endpoint_id";
    let rows: Vec<CountRow> = raw_sql!(conn, COUNTS_SQL, load, Nullable<BigInt> => only)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let counts = QueueCounts {
                pending: row.total - row.dead,
                dead: row.dead,
            };
            (row.endpoint_id, counts)
        })
        .collect())
}

/// Changes an endpoint; `NotFound` when there is none.
pub fn update_endpoint(
    conn: &mut DbConnection,
    endpoint_id: i64,
    change: EndpointChange<'_>,
) -> Result<WebhookEndpointDto, StoreError> {
    write_transaction(conn, |conn| {
        let target = webhook_endpoints::table.find(endpoint_id);
        let updated = diesel::update(target)
            .set(webhook_endpoints::updated_at.eq(now_micros()))
            .execute(conn)?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(url) = change.url {
            diesel::update(target)
                .set(webhook_endpoints::url.eq(url))
                .execute(conn)?;
        }
        if let Some(description) = change.description {
            diesel::update(target)
                .set(webhook_endpoints::description.eq(description))
                .execute(conn)?;
        }
        if let Some(types) = change.event_types {
            diesel::update(target)
                .set(webhook_endpoints::event_types.eq(format_types(types)))
                .execute(conn)?;
        }
        if let Some(enabled) = change.enabled {
            diesel::update(target)
                .set((
                    webhook_endpoints::enabled.eq(enabled),
                    webhook_endpoints::disabled_reason.eq(None::<String>),
                ))
                .execute(conn)?;
        }
        find_endpoint(conn, endpoint_id)?.ok_or(StoreError::NotFound)
    })
}

/// Deletes an endpoint and every event queued for it; `NotFound` when there is none.
pub fn delete_endpoint(conn: &mut DbConnection, endpoint_id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(webhook_outbox::table.filter(webhook_outbox::endpoint_id.eq(endpoint_id)))
            .execute(conn)?;
        let deleted = diesel::delete(webhook_endpoints::table.find(endpoint_id)).execute(conn)?;
        match deleted {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    })
}

/// `NotFound` unless the endpoint exists.
fn require_endpoint(conn: &mut DbConnection, endpoint_id: i64) -> Result<(), StoreError> {
    let exists: i64 = webhook_endpoints::table
        .find(endpoint_id)
        .count()
        .get_result(conn)?;
    match exists {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// An endpoint's dead letters with an id above `after`, oldest first, at most `limit`;
/// `NotFound` when there is no such endpoint.
pub fn dead_letters(
    conn: &mut DbConnection,
    endpoint_id: i64,
    after: i64,
    limit: i64,
) -> Result<DeadLetterPage, StoreError> {
    type DeadRow = (
        i64,
        i64,
        String,
        Spelled<WebhookEventType>,
        i64,
        Option<i32>,
        Option<String>,
        StoredTime,
        OrNone<StoredTime>,
        StoredJson<serde_json::Value>,
    );
    require_endpoint(conn, endpoint_id)?;
    let rows: Vec<DeadRow> = webhook_outbox::table
        .filter(webhook_outbox::endpoint_id.eq(endpoint_id))
        .filter(webhook_outbox::dead_at.is_not_null())
        .filter(webhook_outbox::id.gt(after))
        .order(webhook_outbox::id)
        .limit(limit + 1)
        .select((
            webhook_outbox::id,
            webhook_outbox::room_id,
            webhook_outbox::event_id,
            webhook_outbox::event_type,
            webhook_outbox::attempts,
            webhook_outbox::last_status,
            webhook_outbox::last_error,
            webhook_outbox::created_at,
            webhook_outbox::dead_at,
            webhook_outbox::body,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    let items: Vec<DeadLetterDto> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|row| DeadLetterDto {
            id: row.0,
            room_id: row.1,
            event_id: row.2,
            kind: row.3.0,
            attempts: row.4,
            last_status: row.5,
            last_error: row.6,
            created_at: row.7.0,
            dead_at: row.8.0.map_or(row.7.0, DateTime::from),
            event: row.9.0,
        })
        .collect();
    let next_after = if more {
        items.last().map(|item| item.id)
    } else {
        None
    };
    Ok(DeadLetterPage { items, next_after })
}

/// Deletes up to `batch` of the dead letters that died before `before` (micros), oldest
/// first; how many (fewer than `batch`: none is left). Rows are taken `FOR UPDATE SKIP LOCKED`
/// on Postgres, so nodes purging at once take different ones.
pub fn purge_dead_letters(
    conn: &mut DbConnection,
    before: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let query = webhook_outbox::table
            .filter(webhook_outbox::dead_at.lt(before))
            .order(webhook_outbox::id)
            .select(webhook_outbox::id)
            .limit(batch);
        let ids: Vec<i64> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        Ok(
            diesel::delete(webhook_outbox::table.filter(webhook_outbox::id.eq_any(&ids)))
                .execute(conn)?,
        )
    })
}

/// Puts an endpoint's dead letters (those of `ids`, or all) back in their queues, to be
/// delivered as soon as possible with a fresh retry period. Answers how many.
pub fn replay_dead_letters(
    conn: &mut DbConnection,
    endpoint_id: i64,
    ids: Option<&[i64]>,
) -> Result<i64, StoreError> {
    write_transaction(conn, |conn| {
        require_endpoint(conn, endpoint_id)?;
        let mut dead = webhook_outbox::table
            .filter(webhook_outbox::endpoint_id.eq(endpoint_id))
            .filter(webhook_outbox::dead_at.is_not_null())
            .into_boxed();
        if let Some(ids) = ids {
            dead = dead.filter(webhook_outbox::id.eq_any(ids.to_vec()));
        }
        let dead_ids: Vec<i64> = dead.select(webhook_outbox::id).load(conn)?;
        let replayed =
            diesel::update(webhook_outbox::table.filter(webhook_outbox::id.eq_any(&dead_ids)))
                .set((
                    webhook_outbox::dead_at.eq(None::<i64>),
                    webhook_outbox::attempts.eq(0),
                    webhook_outbox::first_failed_at.eq(None::<i64>),
                    webhook_outbox::next_attempt_at.eq(now_micros()),
                ))
                .execute(conn)?;
        Ok(replayed as i64)
    })
}

/// The key of the queue of `endpoint_id`'s events about `room_id`.
pub fn queue_key(endpoint_id: i64, room_id: i64) -> String {
    format!("{endpoint_id}:{room_id}")
}

/// A queue leased to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Queue {
    /// The endpoint.
    pub endpoint_id: i64,
    /// The room.
    pub room_id: i64,
}

impl Queue {
    /// Its lease key.
    pub fn key(self) -> String {
        queue_key(self.endpoint_id, self.room_id)
    }
}

#[derive(QueryableByName)]
struct QueueRow {
    #[diesel(sql_type = BigInt)]
    endpoint_id: i64,
    #[diesel(sql_type = BigInt)]
    room_id: i64,
}

/// Queues whose first event is due and nobody holds, oldest first.
const DUE_QUEUES_SQL: &str = "\
    SELECT o.endpoint_id, o.room_id FROM ( \
        SELECT MIN(id) AS id FROM webhook_outbox WHERE dead_at IS NULL \
        GROUP BY endpoint_id, room_id \
    ) AS h \
    JOIN webhook_outbox AS o ON o.id = h.id \
    JOIN webhook_endpoints AS e ON e.id = o.endpoint_id \
    WHERE e.enabled AND o.next_attempt_at <= $1 \
      AND NOT EXISTS ( \
        SELECT 1 FROM webhook_leases AS l \
        WHERE l.queue = o.endpoint_id || ':' || o.room_id AND l.lease_until > $1 \
      ) \
    ORDER BY o.id LIMIT $2";

/// Leases to `owner` until `lease_until` (microseconds) up to `limit` queues whose first
/// event is due, taking over leases that ran out; answers the queues it got. A queue another
/// node holds, or won in a race, is not among them.
fn lease_due_queues(
    conn: &mut DbConnection,
    owner: &str,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Queue>, StoreError> {
    let now = now_micros();
    let due: Vec<QueueRow> = raw_sql!(conn, DUE_QUEUES_SQL, load, BigInt => now, BigInt => limit)?;
    let queues: Vec<Queue> = due
        .into_iter()
        .map(|row| Queue {
            endpoint_id: row.endpoint_id,
            room_id: row.room_id,
        })
        .collect();
    if queues.is_empty() {
        return Ok(queues);
    }
    // A lease that ran out is taken over in the same statement (its node died); a live one,
    // perhaps won by another node since the read above, stays.
    let keys: Vec<String> = queues.iter().map(|queue| queue.key()).collect();
    let won: HashSet<String> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(
            "INSERT INTO webhook_leases (queue, owner, lease_until) \
             SELECT q.queue, $2, $3 FROM unnest($1::text[]) AS q(queue) \
             ON CONFLICT (queue) DO UPDATE \
             SET owner = excluded.owner, lease_until = excluded.lease_until \
             WHERE webhook_leases.lease_until <= $4 \
             RETURNING queue",
        )
        .bind::<Array<Text>, _>(&keys)
        .bind::<Text, _>(owner)
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .load::<LeaseKey>(pg)?
        .into_iter()
        .map(|row| row.queue)
        .collect(),
        DbConnection::Sqlite(sqlite) => {
            let mut won = HashSet::new();
            for key in keys {
                let leased = diesel::sql_query(
                    "INSERT INTO webhook_leases (queue, owner, lease_until) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (queue) DO UPDATE \
                     SET owner = excluded.owner, lease_until = excluded.lease_until \
                     WHERE webhook_leases.lease_until <= ?4",
                )
                .bind::<Text, _>(&key)
                .bind::<Text, _>(owner)
                .bind::<BigInt, _>(lease_until)
                .bind::<BigInt, _>(now)
                .execute(sqlite)?;
                if leased == 1 {
                    won.insert(key);
                }
            }
            won
        }
    };
    Ok(queues
        .into_iter()
        .filter(|queue| won.contains(&queue.key()))
        .collect())
}

#[derive(QueryableByName)]
struct LeaseKey {
    #[diesel(sql_type = Text)]
    queue: String,
}

/// What a lease round asks for.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRequest {
    /// Most queues to lease (0: only record the settlement).
    pub queues: i64,
    /// Most events of each queue to read.
    pub events_per_queue: i64,
    /// Until when the leases hold (microseconds).
    pub lease_until: i64,
    /// Also delete leases that ran out long ago and that nobody took over (their queues are
    /// empty): housekeeping, needed now and then only.
    pub purge_expired: bool,
}

/// What a lease round got: the queues now held, their first events in delivery order, and
/// where to send them (endpoints deleted since are absent).
#[derive(Debug, Default)]
pub struct Leased {
    /// Queues leased to the caller.
    pub queues: Vec<Queue>,
    /// Their first events, in delivery order per queue.
    pub deliveries: Vec<Delivery>,
    /// Their endpoints, by id.
    pub targets: HashMap<i64, EndpointTarget>,
}

/// Records what happened to the queues the caller held (handing their leases back), then
/// leases more, in one asynchronously committed transaction: one round trip and one commit
/// of bookkeeping per dispatcher round.
pub fn settle_and_lease(
    conn: &mut DbConnection,
    owner: &str,
    settlement: &Settlement,
    request: LeaseRequest,
) -> Result<Leased, StoreError> {
    write_transaction(conn, |conn| {
        commit_asynchronously(conn)?;
        record_settlement(conn, owner, settlement)?;
        if request.purge_expired {
            diesel::delete(
                webhook_leases::table.filter(webhook_leases::lease_until.le(now_micros())),
            )
            .execute(conn)?;
        }
        if request.queues <= 0 {
            return Ok(Leased::default());
        }
        let queues = lease_due_queues(conn, owner, request.lease_until, request.queues)?;
        let deliveries = queued_deliveries(conn, &queues, request.events_per_queue)?;
        let mut endpoint_ids: Vec<i64> = queues.iter().map(|queue| queue.endpoint_id).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let targets = endpoint_targets(conn, &endpoint_ids)?;
        Ok(Leased {
            queues,
            deliveries,
            targets,
        })
    })
}

/// An event to deliver to an endpoint.
#[derive(Debug, Clone, QueryableByName)]
pub struct Delivery {
    /// Outbox row id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The endpoint.
    #[diesel(sql_type = BigInt)]
    pub endpoint_id: i64,
    /// The room.
    #[diesel(sql_type = BigInt)]
    pub room_id: i64,
    /// `webhook-id`.
    #[diesel(sql_type = Text)]
    pub event_id: String,
    /// The exact body.
    #[diesel(sql_type = Text)]
    pub body: String,
    /// Attempts so far.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    /// When the first failed attempt was (microseconds).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub first_failed_at: Option<i64>,
    /// When the event was recorded (microseconds).
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
}

impl Delivery {
    /// Its queue.
    pub fn queue(&self) -> Queue {
        Queue {
            endpoint_id: self.endpoint_id,
            room_id: self.room_id,
        }
    }
}

/// The first `per_queue` events of each of `queues`, in delivery order per queue.
fn queued_deliveries(
    conn: &mut DbConnection,
    queues: &[Queue],
    per_queue: i64,
) -> Result<Vec<Delivery>, StoreError> {
    if queues.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(
            "SELECT d.id, d.endpoint_id, d.room_id, d.event_id, d.body, d.attempts, \
                    d.first_failed_at, d.created_at \
             FROM unnest($1::bigint[], $2::bigint[]) AS q(endpoint_id, room_id) \
             CROSS JOIN LATERAL ( \
                 SELECT * FROM webhook_outbox AS o \
                 WHERE o.endpoint_id = q.endpoint_id AND o.room_id = q.room_id \
                   AND o.dead_at IS NULL \
                 ORDER BY o.id LIMIT $3 \
             ) AS d ORDER BY d.id",
        )
        .bind::<Array<BigInt>, _>(queues.iter().map(|q| q.endpoint_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(queues.iter().map(|q| q.room_id).collect::<Vec<_>>())
        .bind::<BigInt, _>(per_queue)
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => {
            let keys: Vec<(i64, i64)> = queues.iter().map(|q| (q.endpoint_id, q.room_id)).collect();
            let keys = serde_json::to_string(&keys)
                .map_err(|error| StoreError::Task(format!("queue keys: {error}")))?;
            diesel::sql_query(
                "SELECT id, endpoint_id, room_id, event_id, body, attempts, first_failed_at, \
                        created_at FROM ( \
                     SELECT o.*, row_number() OVER ( \
                         PARTITION BY o.endpoint_id, o.room_id ORDER BY o.id) AS place \
                     FROM json_each(?1) AS k CROSS JOIN webhook_outbox AS o \
                     ON o.endpoint_id = k.value ->> 0 AND o.room_id = k.value ->> 1 \
                     WHERE o.dead_at IS NULL \
                 ) WHERE place <= ?2 ORDER BY id",
            )
            .bind::<Text, _>(keys)
            .bind::<BigInt, _>(per_queue)
            .load(sqlite)?
        }
    };
    Ok(rows)
}

/// Where and how to deliver to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    /// Receiver URL.
    pub url: String,
    /// Signing secret.
    pub secret: String,
    /// Whether it still takes deliveries.
    pub enabled: bool,
}

/// The targets of `endpoint_ids`, by id (deleted ones are absent).
fn endpoint_targets(
    conn: &mut DbConnection,
    endpoint_ids: &[i64],
) -> Result<HashMap<i64, EndpointTarget>, StoreError> {
    let rows: Vec<(i64, String, String, bool)> = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(endpoint_ids))
        .select((
            webhook_endpoints::id,
            webhook_endpoints::url,
            webhook_endpoints::secret,
            webhook_endpoints::enabled,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, url, secret, enabled)| {
            (
                id,
                EndpointTarget {
                    url,
                    secret,
                    enabled,
                },
            )
        })
        .collect())
}

/// A failed attempt, and what follows from it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Outbox row id.
    pub id: i64,
    /// Attempts made, this one included.
    pub attempts: i64,
    /// When the first failed attempt was (microseconds).
    pub first_failed_at: i64,
    /// When to try again (microseconds).
    pub next_attempt_at: i64,
    /// The receiver's status, if it answered.
    pub status: Option<i32>,
    /// What went wrong.
    pub error: String,
    /// Retries ran out: make it a dead letter.
    pub dead: bool,
}

/// What a dispatcher did with the queues it leased.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    /// Rows delivered: removed.
    pub delivered: Vec<i64>,
    /// Rows that failed.
    pub failed: Vec<Failure>,
    /// Endpoints to disable, and why (the receiver answered 410 Gone).
    pub disable: Vec<(i64, String)>,
    /// Queues whose lease goes back.
    pub release: Vec<Queue>,
}

impl Settlement {
    /// Whether there is nothing to record.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
            && self.failed.is_empty()
            && self.disable.is_empty()
            && self.release.is_empty()
    }
}

/// Records what happened to leased queues and gives their leases back.
fn record_settlement(
    conn: &mut DbConnection,
    owner: &str,
    settlement: &Settlement,
) -> Result<(), StoreError> {
    if !settlement.delivered.is_empty() {
        diesel::delete(
            webhook_outbox::table.filter(webhook_outbox::id.eq_any(&settlement.delivered)),
        )
        .execute(conn)?;
    }
    let now = now_micros();
    for failure in &settlement.failed {
        diesel::update(webhook_outbox::table.find(failure.id))
            .set((
                webhook_outbox::attempts.eq(failure.attempts),
                webhook_outbox::first_failed_at.eq(Some(failure.first_failed_at)),
                webhook_outbox::next_attempt_at.eq(failure.next_attempt_at),
                webhook_outbox::last_status.eq(failure.status),
                webhook_outbox::last_error.eq(Some(&failure.error)),
                webhook_outbox::dead_at.eq(failure.dead.then_some(now)),
            ))
            .execute(conn)?;
    }
    for (endpoint_id, reason) in &settlement.disable {
        diesel::update(webhook_endpoints::table.find(endpoint_id))
            .set((
                webhook_endpoints::enabled.eq(false),
                webhook_endpoints::disabled_reason.eq(Some(reason)),
                webhook_endpoints::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if !settlement.release.is_empty() {
        let keys: Vec<String> = settlement.release.iter().map(|queue| queue.key()).collect();
        diesel::delete(
            webhook_leases::table
                .filter(webhook_leases::owner.eq(owner))
                .filter(webhook_leases::queue.eq_any(keys)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Gives back every lease `owner` holds (a node shutting down).
pub fn release_leases(conn: &mut DbConnection, owner: &str) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(webhook_leases::table.filter(webhook_leases::owner.eq(owner)))
            .execute(conn)?,
    )
}

/// When the oldest event still waiting was recorded (microseconds), if any waits.
pub fn oldest_pending(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    Ok(webhook_outbox::table
        .filter(webhook_outbox::dead_at.is_null())
        .select(diesel::dsl::min(webhook_outbox::created_at))
        .first(conn)?)
}
