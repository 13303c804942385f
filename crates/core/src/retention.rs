//! Retention of conversations (issue 29): the settings and legal holds that decide what may
//! go, and the purges of a room's old history and of closed rooms left idle.

use std::time::Duration;

use chrono::Utc;
use room_chats_store::audit::recorded;
use room_chats_store::retention::{
    self as store, HistoryPolicy, PurgeableRoom, RoomRetention, RoomRetentionSetting,
};
use room_chats_store::{Database, StoreError, search};
use room_chats_types::rules::check_hold_reason;
use room_chats_types::{
    AuditAction, MAX_RETENTION_DAYS, Role, RoomId, RoomRetentionBody, RoomRetentionDto,
    UserLegalHoldBody, UserLegalHoldDto,
};

use crate::access::require_admin;
use crate::audit::entry;
use crate::auth::Caller;
use crate::chat::check_field;
use crate::error::ApiError;
use crate::purge::{PURGE_BATCH, micros_ago, purge_older_than};

/// Room ids one read of the history purge looks at.
const ROOM_WINDOW: i64 = 1_000;
/// Closed rooms one transaction deletes at most (each with all it holds).
const ROOM_BATCH: i64 = 20;

/// How long conversations are kept (`HISTORY_RETENTION_DAYS`, `CLOSED_ROOM_RETENTION_DAYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConversationPolicy {
    /// A room's timeline entries older than this many days are purged, unless the room sets
    /// its own; `None`: kept for ever.
    pub history_days: Option<u32>,
    /// Closed rooms idle for this many days are deleted with everything in them; `None`: kept.
    pub closed_room_days: Option<u32>,
}

impl ConversationPolicy {
    /// A setting of `days` as an age.
    fn days(days: Option<u32>) -> Option<Duration> {
        days.map(|days| Duration::from_secs(u64::from(days) * 86_400))
    }
}

/// What one pass of the history purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryPurge {
    /// Rooms whose history shrank.
    pub rooms: usize,
    pub messages: usize,
    pub room_events: usize,
    pub attachments: usize,
    /// Queued webhook and push deliveries older than the global retention.
    pub deliveries: usize,
}

/// Retention settings, legal holds and the conversation purges.
#[derive(Clone)]
pub struct Retention {
    db: Database,
    policy: ConversationPolicy,
}

impl Retention {
    /// Retention of the conversations in `db` under `policy`.
    pub fn new(db: Database, policy: ConversationPolicy) -> Self {
        Self { db, policy }
    }

    /// The room's retention (admins).
    pub async fn room_retention(
        &self,
        caller: &Caller,
        room_id: RoomId,
    ) -> Result<RoomRetentionDto, ApiError> {
        require_admin(caller)?;
        let retention = self
            .db
            .run(move |conn| store::room_retention(conn, room_id))
            .await
            .map_err(room_error)?;
        Ok(self.dto(room_id, retention))
    }

    /// Replaces the room's own retention and legal hold (admins); recorded in the audit
    /// trail: a change of days, a hold placed (or its reason changed) or lifted.
    pub async fn set_room_retention(
        &self,
        caller: &Caller,
        room_id: RoomId,
        body: RoomRetentionBody,
    ) -> Result<RoomRetentionDto, ApiError> {
        require_admin(caller)?;
        if let Some(days) = body.history_days
            && !(1..=MAX_RETENTION_DAYS).contains(&days)
        {
            return Err(ApiError::Validation(format!(
                "history_days must be between 1 and {MAX_RETENTION_DAYS}, or null"
            )));
        }
        match (&body.hold_reason, body.legal_hold) {
            (Some(_), false) => {
                return Err(ApiError::Validation(
                    "hold_reason goes with legal_hold: true".to_owned(),
                ));
            }
            (Some(reason), true) => check_hold_reason(reason)
                .map_err(|why| ApiError::Validation(format!("hold_reason {why}")))?,
            (None, _) => {}
        }
        let setting = RoomRetentionSetting {
            history_days: body.history_days,
            legal_hold: body.legal_hold,
            hold_reason: body.hold_reason,
        };
        let caller = caller.clone();
        let (_, after) = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::set_room_retention(conn, room_id, &setting),
                    |(before, after)| room_entries(&caller, room_id, before, after),
                )
            })
            .await
            .map_err(room_error)?;
        Ok(self.dto(room_id, after))
    }

    /// The legal hold on a person (admins and the platform); `not_found` when none is set.
    pub async fn user_hold(
        &self,
        caller: &Caller,
        user_id: String,
    ) -> Result<UserLegalHoldDto, ApiError> {
        authorize_user_holds(caller)?;
        check_field("user_id", &user_id)?;
        self.db
            .run(move |conn| store::user_hold(conn, &user_id))
            .await?
            .ok_or(ApiError::NotFound("legal hold"))
    }

    /// Places a legal hold on a person, or changes its reason (admins and the platform):
    /// no room they are a member of is purged while it is set. Recorded in the audit trail.
    pub async fn place_user_hold(
        &self,
        caller: &Caller,
        user_id: String,
        body: UserLegalHoldBody,
    ) -> Result<UserLegalHoldDto, ApiError> {
        authorize_user_holds(caller)?;
        check_field("user_id", &user_id)?;
        if let Some(reason) = &body.reason {
            check_hold_reason(reason)
                .map_err(|why| ApiError::Validation(format!("reason {why}")))?;
        }
        let caller = caller.clone();
        let (_, hold) = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| {
                        store::place_user_hold(
                            conn,
                            &user_id,
                            body.reason.as_deref(),
                            &caller.user_id,
                        )
                    },
                    |(before, after)| {
                        let changed = before
                            .as_ref()
                            .is_none_or(|before| before.reason != after.reason);
                        changed.then(|| user_entry(&caller, AuditAction::LegalHoldPlaced, after))
                    },
                )
            })
            .await?;
        Ok(hold)
    }

    /// Lifts the legal hold on a person (admins and the platform); `not_found` when none is
    /// set. Recorded in the audit trail.
    pub async fn lift_user_hold(&self, caller: &Caller, user_id: String) -> Result<(), ApiError> {
        authorize_user_holds(caller)?;
        check_field("user_id", &user_id)?;
        let caller = caller.clone();
        let lifted = self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::lift_user_hold(conn, &user_id),
                    |lifted| {
                        lifted.then(|| {
                            let mut entry = entry(&caller, AuditAction::LegalHoldLifted);
                            entry.user_id = Some(user_id.clone());
                            entry
                        })
                    },
                )
            })
            .await?;
        if !lifted {
            return Err(ApiError::NotFound("legal hold"));
        }
        Ok(())
    }

    /// One pass of the history purge: walks every room, window by window, and purges the
    /// history older than each room's retention in transactions of at most a thousand
    /// entries; then the queued deliveries older than the global retention.
    pub async fn purge_history(&self) -> Result<HistoryPurge, ApiError> {
        let mut purged = HistoryPurge::default();
        let policy = HistoryPolicy {
            global_days: self.policy.history_days.map(i64::from),
            now: Utc::now().timestamp_micros(),
        };
        // Nothing to look for: no global retention and no room with one of its own.
        if policy.global_days.is_none() && !self.db.run(store::any_own_retention).await? {
            return Ok(purged);
        }
        let last = self.db.run(store::last_room_id).await?;
        let mut after = 0;
        while after < last {
            let rooms = self
                .db
                .run(move |conn| store::purgeable_rooms(conn, policy, after, ROOM_WINDOW))
                .await?;
            for room in rooms {
                self.purge_room(room, &mut purged).await?;
            }
            after += ROOM_WINDOW;
        }
        if let Some(age) = ConversationPolicy::days(self.policy.history_days) {
            purged.deliveries = purge_older_than(&self.db, age, store::purge_outbox_before).await?;
        }
        if purged.messages > 0 {
            self.db.run(search::compact).await?;
        }
        Ok(purged)
    }

    /// Purges the room's history up to its cutoff, a batch at a time.
    async fn purge_room(
        &self,
        room: PurgeableRoom,
        purged: &mut HistoryPurge,
    ) -> Result<(), ApiError> {
        let mut shrank = false;
        loop {
            let step = self
                .db
                .run(move |conn| store::purge_room_history(conn, room, PURGE_BATCH))
                .await?;
            if step.is_empty() {
                break;
            }
            shrank = true;
            purged.messages += step.messages;
            purged.room_events += step.room_events;
            purged.attachments += step.attachments;
        }
        purged.rooms += usize::from(shrank);
        Ok(())
    }

    /// Deletes the closed rooms idle for longer than `CLOSED_ROOM_RETENTION_DAYS`, held by
    /// nothing, with everything in them; how many.
    pub async fn purge_closed_rooms(&self) -> Result<usize, ApiError> {
        let Some(age) = ConversationPolicy::days(self.policy.closed_room_days) else {
            return Ok(0);
        };
        let before = micros_ago(age);
        let mut purged = 0;
        loop {
            let deleted = self
                .db
                .run(move |conn| store::purge_closed_rooms(conn, before, ROOM_BATCH))
                .await?;
            purged += deleted;
            if (deleted as i64) < ROOM_BATCH {
                if purged > 0 {
                    self.db.run(search::compact).await?;
                }
                return Ok(purged);
            }
        }
    }

    fn dto(&self, room_id: RoomId, retention: RoomRetention) -> RoomRetentionDto {
        let purgeable = !retention.legal_hold && retention.held_members.is_empty();
        let effective_history_days = retention
            .history_days
            .or(self.policy.history_days.map(i64::from));
        RoomRetentionDto {
            room_id,
            history_days: retention.history_days,
            legal_hold: retention.legal_hold,
            hold_reason: retention.hold_reason,
            held_members: retention.held_members,
            purgeable,
            effective_history_days,
            purged_through: retention.purged_through,
        }
    }
}

/// The audit entries of a change of a room's retention: its days, its hold.
fn room_entries(
    caller: &Caller,
    room_id: RoomId,
    before: &RoomRetention,
    after: &RoomRetention,
) -> Vec<room_chats_store::audit::AuditRecord> {
    let mut entries = Vec::new();
    let mut add = |action| {
        let mut entry = entry(caller, action);
        entry.room_id = Some(room_id);
        entries.push(entry);
    };
    if before.history_days != after.history_days {
        add(AuditAction::RoomRetentionChanged);
    }
    if after.legal_hold && (!before.legal_hold || before.hold_reason != after.hold_reason) {
        add(AuditAction::LegalHoldPlaced);
    }
    if before.legal_hold && !after.legal_hold {
        add(AuditAction::LegalHoldLifted);
    }
    entries
}

fn user_entry(
    caller: &Caller,
    action: AuditAction,
    hold: &UserLegalHoldDto,
) -> room_chats_store::audit::AuditRecord {
    let mut entry = entry(caller, action);
    entry.user_id = Some(hold.user_id.clone());
    entry
}

/// Holds on people are the platform's (a legal request reaches it first) and the admins'.
fn authorize_user_holds(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Admin | Role::Service => Ok(()),
        Role::Client => Err(ApiError::Forbidden(
            "only admins and the platform service manage legal holds",
        )),
    }
}

fn room_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound("room"),
        other => other.into(),
    }
}
