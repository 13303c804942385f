//! Web Push subscriptions, and the pushes owed to them.
//!
//! A fired notification writes one push per subscription of its member in its own
//! transaction ([`record`]); any node's push sender leases due pushes ([`claim`]), sends them
//! and records the outcome ([`finish`]). A subscription the push service no longer knows
//! (404, 410) is removed with what it still owed.

use diesel::prelude::*;
use room_chats_types::PushSubscriptionDto;

use crate::connection::write_transaction;
use crate::schema::{push_outbox, push_subscriptions};
use crate::time::{StoredTime, now_micros, to_datetime};
use crate::{DbConnection, StoreError};

/// A subscription to store (keys checked by the caller).
#[derive(Debug, Clone, Copy)]
pub struct NewSubscription<'a> {
    /// Its owner.
    pub user_id: &'a str,
    /// The push service URL.
    pub endpoint: &'a str,
    /// The browser's public key (base64url).
    pub p256dh: &'a str,
    /// The authentication secret (base64url).
    pub auth: &'a str,
}

/// Stores a subscription for its user. Registering an endpoint again (a browser renewing its
/// keys, or another user signing in on it) replaces it. Past `per_user` subscriptions, the
/// user's oldest go.
pub fn subscribe(
    conn: &mut DbConnection,
    new: NewSubscription<'_>,
    per_user: i64,
) -> Result<PushSubscriptionDto, StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(
            push_subscriptions::table.filter(push_subscriptions::endpoint.eq(new.endpoint)),
        )
        .execute(conn)?;
        let now = now_micros();
        let id: i64 = diesel::insert_into(push_subscriptions::table)
            .values((
                push_subscriptions::user_id.eq(new.user_id),
                push_subscriptions::endpoint.eq(new.endpoint),
                push_subscriptions::p256dh.eq(new.p256dh),
                push_subscriptions::auth.eq(new.auth),
                push_subscriptions::created_at.eq(now),
            ))
            .returning(push_subscriptions::id)
            .get_result(conn)?;
        let kept: Vec<i64> = push_subscriptions::table
            .filter(push_subscriptions::user_id.eq(new.user_id))
            .order(push_subscriptions::id.desc())
            .limit(per_user)
            .select(push_subscriptions::id)
            .load(conn)?;
        let dropped: Vec<i64> = push_subscriptions::table
            .filter(push_subscriptions::user_id.eq(new.user_id))
            .filter(push_subscriptions::id.ne_all(&kept))
            .select(push_subscriptions::id)
            .load(conn)?;
        remove(conn, &dropped)?;
        Ok(PushSubscriptionDto {
            id,
            endpoint: new.endpoint.to_owned(),
            created_at: to_datetime(now)?,
        })
    })
}

/// The user's subscriptions, oldest first.
pub fn subscriptions(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<PushSubscriptionDto>, StoreError> {
    let rows: Vec<(i64, String, StoredTime)> = push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user_id))
        .order(push_subscriptions::id)
        .select((
            push_subscriptions::id,
            push_subscriptions::endpoint,
            push_subscriptions::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, endpoint, created_at)| PushSubscriptionDto {
            id,
            endpoint,
            created_at: created_at.0,
        })
        .collect())
}

/// Removes one of the user's subscriptions; `NotFound` when the user has no such one.
pub fn unsubscribe(conn: &mut DbConnection, user_id: &str, id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let owned: i64 = push_subscriptions::table
            .filter(push_subscriptions::id.eq(id))
            .filter(push_subscriptions::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if owned == 0 {
            return Err(StoreError::NotFound);
        }
        remove(conn, &[id])
    })
}

/// Removes subscriptions and what they still owed (SQLite keeps foreign keys, but this does
/// not rely on cascades).
fn remove(conn: &mut DbConnection, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::delete(push_outbox::table.filter(push_outbox::subscription_id.eq_any(ids)))
        .execute(conn)?;
    diesel::delete(push_subscriptions::table.filter(push_subscriptions::id.eq_any(ids)))
        .execute(conn)?;
    Ok(())
}

/// Owes `payload` to every subscription of `user_id`. Call inside the transaction that fires
/// the notification.
pub(crate) fn record(
    conn: &mut DbConnection,
    user_id: &str,
    room_id: i64,
    payload: &str,
) -> Result<usize, StoreError> {
    let subscriptions: Vec<i64> = push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user_id))
        .select(push_subscriptions::id)
        .load(conn)?;
    let now = now_micros();
    for subscription_id in &subscriptions {
        diesel::insert_into(push_outbox::table)
            .values((
                push_outbox::subscription_id.eq(subscription_id),
                push_outbox::room_id.eq(room_id),
                push_outbox::payload.eq(payload),
                push_outbox::created_at.eq(now),
                push_outbox::next_attempt_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(subscriptions.len())
}

/// A push to send.
#[derive(Debug, Clone, Queryable)]
pub struct PushJob {
    /// Outbox row.
    pub id: i64,
    /// The subscription.
    pub subscription_id: i64,
    /// The room (the push's `Topic`).
    pub room_id: i64,
    /// The cleartext payload.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was owed (microseconds).
    pub created_at: i64,
    /// The push service URL.
    pub endpoint: String,
    /// The browser's public key (base64url).
    pub p256dh: String,
    /// The authentication secret (base64url).
    pub auth: String,
}

/// Leases up to `limit` due pushes until `lease_until` (microseconds). A push another node
/// leased in the meantime is not among them.
pub fn claim(
    conn: &mut DbConnection,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<PushJob>, StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let due: Vec<i64> = push_outbox::table
            .filter(push_outbox::next_attempt_at.le(now))
            .filter(push_outbox::lease_until.le(now))
            .order(push_outbox::id)
            .limit(limit)
            .select(push_outbox::id)
            .load(conn)?;
        // The lease is re-checked row by row: of two nodes that read the same rows, the one
        // whose update comes second finds them leased and takes none.
        let leased: Vec<i64> = diesel::update(
            push_outbox::table
                .filter(push_outbox::id.eq_any(&due))
                .filter(push_outbox::lease_until.le(now)),
        )
        .set(push_outbox::lease_until.eq(lease_until))
        .returning(push_outbox::id)
        .get_results(conn)?;
        Ok(push_outbox::table
            .inner_join(push_subscriptions::table)
            .filter(push_outbox::id.eq_any(&leased))
            .order(push_outbox::id)
            .select((
                push_outbox::id,
                push_outbox::subscription_id,
                push_outbox::room_id,
                push_outbox::payload,
                push_outbox::attempts,
                push_outbox::created_at,
                push_subscriptions::endpoint,
                push_subscriptions::p256dh,
                push_subscriptions::auth,
            ))
            .load(conn)?)
    })
}

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Accepted by the push service, or given up: forgotten.
    Done,
    /// Try again at this time (microseconds).
    Retry {
        /// When.
        at: i64,
    },
    /// The push service no longer knows the subscription: remove it.
    Gone,
}

/// Records what became of leased pushes.
pub fn finish(
    conn: &mut DbConnection,
    outcomes: &[(PushJob, PushOutcome)],
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        for (job, outcome) in outcomes {
            match outcome {
                PushOutcome::Done => {
                    diesel::delete(push_outbox::table.find(job.id)).execute(conn)?;
                }
                PushOutcome::Retry { at } => {
                    diesel::update(push_outbox::table.find(job.id))
                        .set((
                            push_outbox::attempts.eq(job.attempts + 1),
                            push_outbox::next_attempt_at.eq(at),
                            push_outbox::lease_until.eq(0),
                        ))
                        .execute(conn)?;
                }
                PushOutcome::Gone => remove(conn, &[job.subscription_id])?,
            }
        }
        Ok(())
    })
}
