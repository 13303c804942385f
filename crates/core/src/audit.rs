//! The audit trail (issue 29): the record of what staff and the platform did that changed or
//! revealed data, and its list for admins. The use cases that do such things record them in
//! the transaction of the change, through [`entry`]; this module lists and purges them.

use std::time::Duration;

use room_chats_store::Database;
use room_chats_store::audit::{self as store, AuditFilter, AuditRecord};
use room_chats_types::{AuditAction, AuditPage, AuditQuery};

use crate::access::require_admin;
use crate::auth::Caller;
use crate::chat::check_field;
use crate::error::ApiError;
use crate::purge;

/// Entries per page when the query does not say (the schema says so too).
const PAGE_DEFAULT: i64 = 50;
/// Most entries per page (the schema says so too).
const PAGE_MAX: i64 = 200;

/// The entry recording that `caller` did `action`; the use case names what it acted on.
pub(crate) fn entry(caller: &Caller, action: AuditAction) -> AuditRecord {
    AuditRecord {
        actor_id: caller.user_id.clone(),
        actor_role: caller.role,
        action,
        room_id: None,
        user_id: None,
        message_id: None,
        webhook_endpoint_id: None,
        request_id: caller.request_id.clone(),
    }
}

/// The audit trail's use cases: its list for admins, and its retention.
#[derive(Clone)]
pub struct AuditTrail {
    db: Database,
}

impl AuditTrail {
    /// The trail kept in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Deletes the entries older than `age`, a short transaction at a time; how many.
    pub async fn purge_older_than(&self, age: Duration) -> Result<usize, ApiError> {
        purge::purge_older_than(&self.db, age, store::purge_before).await
    }

    /// A page of the entries `query` asks for, newest first (admins).
    pub async fn list(&self, caller: &Caller, query: AuditQuery) -> Result<AuditPage, ApiError> {
        require_admin(caller)?;
        let limit = query.limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(ApiError::Validation(format!(
                "limit must be between 1 and {PAGE_MAX}"
            )));
        }
        for (field, id) in [("actor_id", &query.actor_id), ("user_id", &query.user_id)] {
            if let Some(id) = id {
                check_field(field, id)?;
            }
        }
        if query.room_id.is_some_and(|room_id| room_id < 1) {
            return Err(ApiError::Validation("room_id must be positive".to_owned()));
        }
        if query.cursor.is_some_and(|cursor| cursor < 1) {
            return Err(ApiError::Validation("cursor must be positive".to_owned()));
        }
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from >= to
        {
            return Err(ApiError::Validation("from must be before to".to_owned()));
        }
        let filter = AuditFilter {
            action: query.action,
            actor_id: query.actor_id,
            room_id: query.room_id,
            user_id: query.user_id,
            from: query.from.map(|at| at.timestamp_micros()),
            to: query.to.map(|at| at.timestamp_micros()),
            before_id: query.cursor,
        };
        let items = self
            .db
            .run(move |conn| store::list(conn, &filter, limit))
            .await?;
        let next_cursor = match items.last() {
            Some(last) if items.len() as i64 == limit => Some(last.id),
            _ => None,
        };
        Ok(AuditPage { items, next_cursor })
    }
}
