//! Erasure of a person (issue 29): the request, and the steps that carry it out.
//!
//! An erasure is a row of `erasures`, done once `finished_at` is set. Each call of
//! [`erase_step`] does the next piece of work in one short transaction — a name, a batch of
//! messages, a batch of stored frames or queued deliveries, … — and every piece is idempotent
//! (it changes only what still carries the person's words), so a crash mid-way loses nothing:
//! the next call, on any node, goes on. The erasure row is locked for the step, so two nodes
//! never work on one person at once.
//!
//! What stays: rooms, seqs and the shape of every message (a tombstone, as a delete leaves),
//! so the other side's history still pages and resumes; ids (the platform's pseudonymous
//! ones); audit entries, which hold no words.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use room_chats_types::{
    ERASED_NAME, ErasureDto, ErasureStatus, WebhookEventData, WebhookEventType,
};
use serde_json::Value;

use crate::connection::write_transaction;
use crate::exports;
use crate::outbox::{self, OutboxEvent, empty_data};
use crate::persons;
use crate::schema::{
    chat_rooms, erasures, message_revisions, messages, push_outbox, push_subscriptions,
    room_events, room_members, user_names, webhook_outbox,
};
use crate::search;
use crate::storage_deletions::{self, StoredKeys, object_keys};
use crate::time::{StoredTime, now_micros};
use crate::{DbConnection, StoreError};

type ErasureRow = (String, StoredTime, String, Option<StoredTime>);

fn dto((user_id, requested_at, requested_by, finished_at): ErasureRow) -> ErasureDto {
    let requested_at: DateTime<Utc> = requested_at.into();
    let finished_at: Option<DateTime<Utc>> = finished_at.map(Into::into);
    ErasureDto {
        user_id,
        status: match finished_at {
            Some(_) => ErasureStatus::Done,
            None => ErasureStatus::Running,
        },
        requested_at,
        requested_by,
        finished_at,
    }
}

/// The erasure of `user_id`, if one was ever requested.
pub fn status(conn: &mut DbConnection, user_id: &str) -> Result<Option<ErasureDto>, StoreError> {
    let row: Option<ErasureRow> = erasures::table
        .find(user_id)
        .select((
            erasures::user_id,
            erasures::requested_at,
            erasures::requested_by,
            erasures::finished_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(dto))
}

/// Requests the erasure of `user_id` (again, if it was done: a second run finds what was
/// written since, and is otherwise harmless). The erasure as it stands now: running.
pub fn request(
    conn: &mut DbConnection,
    user_id: &str,
    requested_by: &str,
) -> Result<ErasureDto, StoreError> {
    const UPSERT_SQL: &str = "INSERT INTO erasures (user_id, requested_at, requested_by) \
        VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET \
            requested_at = excluded.requested_at, requested_by = excluded.requested_by, \
            finished_at = NULL, events_after_room = 0, events_after_seq = 0, \
            deliveries_after = 0";
    write_transaction(conn, |conn| {
        raw_sql!(conn, UPSERT_SQL, execute,
            Text => user_id,
            BigInt => now_micros(),
            Text => requested_by,
        )?;
        status(conn, user_id)?.ok_or(StoreError::NotFound)
    })
}

/// Up to `limit` people whose erasure is still running, oldest request first.
pub fn running(conn: &mut DbConnection, limit: i64) -> Result<Vec<String>, StoreError> {
    Ok(erasures::table
        .filter(erasures::finished_at.is_null())
        .order(erasures::requested_at)
        .select(erasures::user_id)
        .limit(limit)
        .load(conn)?)
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It changed or looked through this many rows; call again.
    Worked(usize),
    /// Another node is at work on this person now.
    Busy,
    /// Nothing is left: the erasure is done (by this call or before it).
    Done,
}

/// The next piece of the erasure of `user_id`, at most `batch` rows, in one transaction.
/// `event_id` names the `user.erased` webhook event the last step sends.
pub fn erase_step(
    conn: &mut DbConnection,
    user_id: &str,
    batch: i64,
    event_id: &str,
) -> Result<Step, StoreError> {
    write_transaction(conn, |conn| {
        let query = erasures::table
            .find(user_id)
            .filter(erasures::finished_at.is_null())
            .select((
                erasures::events_after_room,
                erasures::events_after_seq,
                erasures::deliveries_after,
            ));
        let place: Option<(i64, i64, i64)> = match conn {
            DbConnection::Postgres(pg) => query.for_update().skip_locked().first(pg).optional()?,
            DbConnection::Sqlite(sqlite) => query.first(sqlite).optional()?,
        };
        let Some((events_room, events_seq, deliveries_after)) = place else {
            let running = status(conn, user_id)?
                .is_some_and(|erasure| erasure.status == ErasureStatus::Running);
            return Ok(if running { Step::Busy } else { Step::Done });
        };
        let now = now_micros();
        let renamed = diesel::update(
            user_names::table
                .find(user_id)
                .filter(user_names::name.ne(ERASED_NAME)),
        )
        .set((
            user_names::name.eq(ERASED_NAME),
            user_names::updated_at.eq(now),
        ))
        .execute(conn)?;
        if renamed > 0 {
            return Ok(Step::Worked(renamed));
        }
        let blanked = blank_messages(conn, user_id, batch, now)?;
        if blanked > 0 {
            return Ok(Step::Worked(blanked));
        }
        let unsent = delete_unsent_uploads(conn, user_id, batch)?;
        if unsent > 0 {
            return Ok(Step::Worked(unsent));
        }
        let rooms = PersonsRooms::of(conn, user_id)?;
        let frames = scrub_frames(conn, user_id, &rooms, (events_room, events_seq), batch)?;
        if frames > 0 {
            return Ok(Step::Worked(frames));
        }
        let deliveries = scrub_deliveries(conn, user_id, &rooms, deliveries_after, batch)?;
        if deliveries > 0 {
            return Ok(Step::Worked(deliveries));
        }
        let settings = forget_settings(conn, user_id, &rooms)?;
        if settings > 0 {
            return Ok(Step::Worked(settings));
        }
        let archives = exports::withdraw(conn, user_id)?;
        if archives > 0 {
            return Ok(Step::Worked(archives));
        }
        finish(conn, user_id, now, event_id)?;
        Ok(Step::Done)
    })
}

/// Replaces the words and files of up to `batch` of the person's messages with a tombstone
/// (as a delete leaves), the words of their replaced versions with nothing, and drops their
/// search entries and files. A message still carrying anything of theirs — words, files,
/// a replaced version, a search entry — is taken again, whatever a crash left.
fn blank_messages(
    conn: &mut DbConnection,
    user_id: &str,
    batch: i64,
    now: i64,
) -> Result<usize, StoreError> {
    const CARRYING_SQL: &str = "SELECT m.id AS id FROM messages AS m WHERE m.sender_id = $1 AND ( \
            m.content <> '' OR m.attachments IS NOT NULL OR m.deleted_at IS NULL \
            OR EXISTS (SELECT 1 FROM message_revisions AS r \
                       WHERE r.message_id = m.id AND r.content <> '') \
            OR EXISTS (SELECT 1 FROM message_search AS s WHERE s.{search_key} = m.id) \
            OR EXISTS (SELECT 1 FROM attachments AS a WHERE a.message_id = m.id)) \
        ORDER BY m.id LIMIT $2";
    const FILES_SQL: &str = "DELETE FROM attachments WHERE message_id = $1 \
        RETURNING storage_key, upload_key, preview_key";
    // The search index is keyed by `message_id` on Postgres, by `rowid` (FTS5) on SQLite.
    let search_key = match conn {
        DbConnection::Postgres(_) => "message_id",
        DbConnection::Sqlite(_) => "rowid",
    };
    let carrying = CARRYING_SQL.replace("{search_key}", search_key);
    let carrying: Vec<Id> = raw_sql!(conn, carrying.as_str(), load,
        Text => user_id,
        BigInt => batch,
    )?;
    let ids: Vec<i64> = carrying.into_iter().map(|row| row.id).collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let mut files: Vec<StoredKeys> = Vec::new();
    for id in &ids {
        let of_message: Vec<StoredKeys> = raw_sql!(conn, FILES_SQL, load, BigInt => id)?;
        files.extend(of_message);
    }
    storage_deletions::queue(conn, &object_keys(&files))?;
    diesel::update(message_revisions::table.filter(message_revisions::message_id.eq_any(&ids)))
        .set(message_revisions::content.eq(""))
        .execute(conn)?;
    for id in &ids {
        search::unindex(conn, *id)?;
    }
    diesel::update(messages::table.filter(messages::id.eq_any(&ids)))
        .set((
            messages::content.eq(""),
            messages::attachments.eq(None::<String>),
            messages::deleted_at.eq(diesel::dsl::sql::<Nullable<BigInt>>(&format!(
                "coalesce(deleted_at, {now})"
            ))),
            messages::deleted_by.eq(diesel::dsl::sql::<Nullable<Text>>(
                "coalesce(deleted_by, sender_id)",
            )),
        ))
        .execute(conn)?;
    Ok(ids.len())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Deletes up to `batch` of the person's uploads never sent, queueing their files.
fn delete_unsent_uploads(
    conn: &mut DbConnection,
    user_id: &str,
    batch: i64,
) -> Result<usize, StoreError> {
    const SQL: &str = "DELETE FROM attachments WHERE id IN ( \
            SELECT id FROM attachments WHERE uploader_id = $1 AND message_id IS NULL LIMIT $2) \
        RETURNING storage_key, upload_key, preview_key";
    let files: Vec<StoredKeys> = raw_sql!(conn, SQL, load, Text => user_id, BigInt => batch)?;
    storage_deletions::queue(conn, &object_keys(&files))?;
    Ok(files.len())
}

/// The rooms whose stored frames and deliveries may carry the person's words: those they are
/// a member of, and (for their rating's comment) those of their orders.
struct PersonsRooms {
    all: Vec<i64>,
    as_customer: HashSet<i64>,
}

impl PersonsRooms {
    fn of(conn: &mut DbConnection, user_id: &str) -> Result<Self, StoreError> {
        let rooms = persons::persons_rooms(conn, user_id)?;
        Ok(Self {
            all: rooms.iter().map(|room| room.room_id).collect(),
            as_customer: rooms
                .iter()
                .filter(|room| room.as_customer)
                .map(|room| room.room_id)
                .collect(),
        })
    }
}

/// Removes the person's words from a stored frame or delivery body: the content and files of
/// every message they wrote, and — in a room of theirs as the customer — their rating's
/// comment. Whether anything changed.
fn scrub(value: &mut Value, user_id: &str, customer: bool) -> bool {
    let mut changed = false;
    match value {
        Value::Object(object) => {
            let theirs = object.get("sender_id").and_then(Value::as_str) == Some(user_id);
            if theirs {
                if let Some(content) = object.get_mut("content")
                    && content.as_str() != Some("")
                {
                    *content = Value::String(String::new());
                    changed = true;
                }
                // Absent means none, as a message without files is written.
                if object.remove("attachments").is_some() {
                    changed = true;
                }
            }
            if customer
                && let Some(Value::Object(rating)) = object.get_mut("rating")
                && let Some(comment) = rating.get_mut("comment")
                && !comment.is_null()
            {
                *comment = Value::Null;
                changed = true;
            }
            for nested in object.values_mut() {
                changed |= scrub(nested, user_id, customer);
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= scrub(item, user_id, customer);
            }
        }
        _ => {}
    }
    changed
}

/// Rewrites the next `batch` stored frames of the person's rooms after `after` (room, seq),
/// and moves the erasure's place past them; how many it looked through.
fn scrub_frames(
    conn: &mut DbConnection,
    user_id: &str,
    rooms: &PersonsRooms,
    after: (i64, i64),
    batch: i64,
) -> Result<usize, StoreError> {
    let (after_room, after_seq) = after;
    let frames: Vec<(i64, i64, String)> = room_events::table
        .filter(room_events::room_id.eq_any(&rooms.all))
        .filter(
            room_events::room_id.gt(after_room).or(room_events::room_id
                .eq(after_room)
                .and(room_events::seq.gt(after_seq))),
        )
        .order((room_events::room_id, room_events::seq))
        .select((room_events::room_id, room_events::seq, room_events::frame))
        .limit(batch)
        .load(conn)?;
    let Some(&(last_room, last_seq, _)) = frames.last() else {
        return Ok(0);
    };
    for (room_id, seq, frame) in &frames {
        let customer = rooms.as_customer.contains(room_id);
        if let Some(scrubbed) = scrubbed(frame, user_id, customer) {
            diesel::update(room_events::table.find((room_id, seq)))
                .set(room_events::frame.eq(scrubbed))
                .execute(conn)?;
        }
    }
    diesel::update(erasures::table.find(user_id))
        .set((
            erasures::events_after_room.eq(last_room),
            erasures::events_after_seq.eq(last_seq),
        ))
        .execute(conn)?;
    Ok(frames.len())
}

/// Rewrites the next `batch` queued deliveries and dead letters of the person's rooms after
/// `after` (id), and moves the erasure's place past them; how many it looked through.
fn scrub_deliveries(
    conn: &mut DbConnection,
    user_id: &str,
    rooms: &PersonsRooms,
    after: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    let bodies: Vec<(i64, i64, String)> = webhook_outbox::table
        .filter(webhook_outbox::room_id.eq_any(&rooms.all))
        .filter(webhook_outbox::id.gt(after))
        .order(webhook_outbox::id)
        .select((
            webhook_outbox::id,
            webhook_outbox::room_id,
            webhook_outbox::body,
        ))
        .limit(batch)
        .load(conn)?;
    let Some(&(last, _, _)) = bodies.last() else {
        return Ok(0);
    };
    for (id, room_id, body) in &bodies {
        let customer = rooms.as_customer.contains(room_id);
        if let Some(scrubbed) = scrubbed(body, user_id, customer) {
            diesel::update(webhook_outbox::table.find(id))
                .set(webhook_outbox::body.eq(scrubbed))
                .execute(conn)?;
        }
    }
    diesel::update(erasures::table.find(user_id))
        .set(erasures::deliveries_after.eq(last))
        .execute(conn)?;
    Ok(bodies.len())
}

/// `json` without the person's words, if it carried any (unreadable JSON is left alone: the
/// service wrote every frame and body it stores).
fn scrubbed(json: &str, user_id: &str, customer: bool) -> Option<String> {
    let mut value: Value = serde_json::from_str(json).ok()?;
    if !scrub(&mut value, user_id, customer) {
        return None;
    }
    serde_json::to_string(&value).ok()
}

/// Forgets what the person set and what waits to reach them: push subscriptions (and their
/// queued pushes), the queued pushes of their rooms (a preview may quote them), read markers
/// and mute settings, their ratings' comments. How many rows it changed.
fn forget_settings(
    conn: &mut DbConnection,
    user_id: &str,
    rooms: &PersonsRooms,
) -> Result<usize, StoreError> {
    let mut changed = diesel::delete(
        push_outbox::table.filter(
            push_outbox::subscription_id.eq_any(
                push_subscriptions::table
                    .filter(push_subscriptions::user_id.eq(user_id))
                    .select(push_subscriptions::id),
            ),
        ),
    )
    .execute(conn)?;
    changed +=
        diesel::delete(push_subscriptions::table.filter(push_subscriptions::user_id.eq(user_id)))
            .execute(conn)?;
    changed += diesel::delete(push_outbox::table.filter(push_outbox::room_id.eq_any(&rooms.all)))
        .execute(conn)?;
    changed += diesel::update(
        room_members::table
            .filter(room_members::user_id.eq(user_id))
            .filter(
                room_members::last_read_seq
                    .ne(0)
                    .or(room_members::muted.eq(true)),
            ),
    )
    .set((
        room_members::last_read_seq.eq(0),
        room_members::muted.eq(false),
    ))
    .execute(conn)?;
    let customer_rooms: Vec<i64> = rooms.as_customer.iter().copied().collect();
    changed += diesel::update(
        chat_rooms::table
            .filter(chat_rooms::id.eq_any(&customer_rooms))
            .filter(chat_rooms::rating_comment.is_not_null()),
    )
    .set(chat_rooms::rating_comment.eq(None::<String>))
    .execute(conn)?;
    Ok(changed)
}

/// Marks the erasure done and sends `user.erased`, in a queue of its own (room 0), once the
/// search index holds no trace of the removed entries ([`search::compact`]).
fn finish(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
    event_id: &str,
) -> Result<(), StoreError> {
    search::compact(conn)?;
    diesel::update(erasures::table.find(user_id))
        .set(erasures::finished_at.eq(now))
        .execute(conn)?;
    let event = OutboxEvent {
        room_id: 0,
        event_id: event_id.to_owned(),
        kind: WebhookEventType::UserErased,
        at: now,
        data: WebhookEventData {
            user_id: Some(user_id.to_owned()),
            ..empty_data()
        },
    };
    outbox::record(conn, || [event])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scrubbing_removes_the_persons_words_and_nothing_else() {
        let mut frame = json!({
            "type": "message_edited",
            "message": { "sender_id": "cust-1", "content": "my address", "attachments": [{ "filename": "id.png" }] },
            "room": { "customer_id": "cust-1", "rating": { "score": 2, "comment": "slow" } },
            "others": [{ "sender_id": "staff-1", "content": "kept" }],
        });
        assert!(scrub(&mut frame, "cust-1", true));
        assert_eq!(frame["message"]["content"], "");
        assert_eq!(frame["message"].get("attachments"), None);
        assert_eq!(
            frame["room"]["rating"],
            json!({ "score": 2, "comment": null })
        );
        assert_eq!(frame["others"][0]["content"], "kept");
        assert!(
            !scrub(&mut frame, "cust-1", true),
            "a second pass changes nothing"
        );

        let mut staff_room = json!({ "room": { "rating": { "comment": "kept" } } });
        assert!(!scrub(&mut staff_room, "staff-1", false));
    }
}
