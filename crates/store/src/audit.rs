//! The audit trail's rows (issue 29): what staff and the platform did that changed or revealed
//! data. An entry is written in the transaction of the action it records ([`recorded`]), so
//! an action that committed has its entry and one that failed has none. Entries name what was
//! acted on, never the words of a message.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use room_chats_types::{AuditAction, AuditEntryDto, Role};

use crate::connection::write_transaction;
use crate::rows::Spelled;
use crate::schema::audit_entries;
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

/// One action to record; see [`AuditEntryDto`] for the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub actor_id: String,
    pub actor_role: Role,
    pub action: AuditAction,
    pub room_id: Option<i64>,
    pub user_id: Option<String>,
    pub message_id: Option<i64>,
    pub webhook_endpoint_id: Option<i64>,
    pub request_id: Option<String>,
}

/// Runs `action` and records the entries `entries` makes of its outcome — none when the
/// action changed and revealed nothing — in one write transaction (the action's own
/// transaction inside it becomes a savepoint).
pub fn recorded<T, Entries: IntoIterator<Item = AuditRecord>>(
    conn: &mut DbConnection,
    action: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    entries: impl FnOnce(&T) -> Entries,
) -> Result<T, StoreError> {
    write_transaction(conn, |conn| {
        let outcome = action(conn)?;
        for entry in entries(&outcome) {
            record(conn, &entry)?;
        }
        Ok(outcome)
    })
}

/// Writes one entry, stamped now.
fn record(conn: &mut DbConnection, entry: &AuditRecord) -> Result<(), StoreError> {
    diesel::insert_into(audit_entries::table)
        .values((
            audit_entries::at.eq(now_micros()),
            audit_entries::actor_id.eq(&entry.actor_id),
            audit_entries::actor_role.eq(entry.actor_role.as_str()),
            audit_entries::action.eq(entry.action.as_str()),
            audit_entries::room_id.eq(entry.room_id),
            audit_entries::user_id.eq(entry.user_id.as_deref()),
            audit_entries::message_id.eq(entry.message_id),
            audit_entries::webhook_endpoint_id.eq(entry.webhook_endpoint_id),
            audit_entries::request_id.eq(entry.request_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which entries a page of the list holds: every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub actor_id: Option<String>,
    pub room_id: Option<i64>,
    pub user_id: Option<String>,
    /// Entries at or after this time (micros).
    pub from: Option<i64>,
    /// Entries before this time (micros).
    pub to: Option<i64>,
    /// Entries with an id below this one: the previous page's last.
    pub before_id: Option<i64>,
}

#[derive(Debug, Queryable)]
struct AuditRow {
    id: i64,
    at: StoredTime,
    actor_id: String,
    actor_role: Spelled<Role>,
    action: Spelled<AuditAction>,
    room_id: Option<i64>,
    user_id: Option<String>,
    message_id: Option<i64>,
    webhook_endpoint_id: Option<i64>,
    request_id: Option<String>,
}

impl From<AuditRow> for AuditEntryDto {
    fn from(row: AuditRow) -> Self {
        let at: DateTime<Utc> = row.at.into();
        Self {
            id: row.id,
            at,
            actor_id: row.actor_id,
            actor_role: row.actor_role.0,
            action: row.action.0,
            room_id: row.room_id,
            user_id: row.user_id,
            message_id: row.message_id,
            webhook_endpoint_id: row.webhook_endpoint_id,
            request_id: row.request_id,
        }
    }
}

/// Up to `limit` entries `filter` keeps, newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntryDto>, StoreError> {
    let mut query = audit_entries::table
        .select((
            audit_entries::id,
            audit_entries::at,
            audit_entries::actor_id,
            audit_entries::actor_role,
            audit_entries::action,
            audit_entries::room_id,
            audit_entries::user_id,
            audit_entries::message_id,
            audit_entries::webhook_endpoint_id,
            audit_entries::request_id,
        ))
        .order(audit_entries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(action) = filter.action {
        query = query.filter(audit_entries::action.eq(action.as_str()));
    }
    if let Some(actor_id) = &filter.actor_id {
        query = query.filter(audit_entries::actor_id.eq(actor_id.clone()));
    }
    if let Some(room_id) = filter.room_id {
        query = query.filter(audit_entries::room_id.eq(room_id));
    }
    if let Some(user_id) = &filter.user_id {
        query = query.filter(audit_entries::user_id.eq(user_id.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_entries::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_entries::at.lt(to));
    }
    if let Some(before_id) = filter.before_id {
        query = query.filter(audit_entries::id.lt(before_id));
    }
    let rows: Vec<AuditRow> = query.load(conn)?;
    Ok(rows.into_iter().map(AuditEntryDto::from).collect())
}

/// Deletes up to `batch` of the oldest entries recorded before `before` (micros); how many it
/// deleted (fewer than `batch`: none is left). On Postgres the rows are taken `FOR UPDATE SKIP
/// LOCKED`, so nodes purging at once take different ones.
pub fn purge_before(conn: &mut DbConnection, before: i64, batch: i64) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let query = audit_entries::table
            .filter(audit_entries::at.lt(before))
            .order(audit_entries::id)
            .select(audit_entries::id)
            .limit(batch);
        let ids: Vec<i64> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        Ok(
            diesel::delete(audit_entries::table.filter(audit_entries::id.eq_any(&ids)))
                .execute(conn)?,
        )
    })
}
