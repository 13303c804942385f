//! Storing many messages in one transaction: the road to thousands of messages per second.
//!
//! One durable commit per message caps throughput near the disk's fsync rate. The batch
//! writer stores every send waiting at a moment, across rooms, in one transaction: it locks
//! the rooms' rows in id order (so concurrent batches, on any node, cannot deadlock), gives
//! each room's messages the next seqs, inserts them in one statement and commits once. Acks
//! still follow the commit, and each room's seqs stay 1, 2, 3 … without gaps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::upsert::excluded;
use room_chats_types::{AttachmentDto, MessageDto, Role, RoomStatus, WaitingFor};
use tokio::sync::{mpsc, oneshot};

use crate::attachments::{self, StoredAttachment};
use crate::connection::write_transaction;
use crate::messages::Stored;
use crate::notifications::{self, Burst};
use crate::outbox::{self, OutboxEvent};
use crate::rows::{MessageRow, Spelled};
use crate::schema::{chat_rooms, messages, room_members};
use crate::time::{activity_bucket, now_micros, to_datetime};
use crate::{Database, DbConnection, StoreError, rooms, search};

/// A message to store, owned so it can wait in the writer's queue.
#[derive(Debug, Clone)]
pub struct OwnedMessage {
    /// The room.
    pub room_id: i64,
    /// The sender (from the token).
    pub sender_id: String,
    /// The sender's role.
    pub sender_role: Role,
    /// Validated content.
    pub content: String,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// Uploads of the sender in this room to send with it (distinct, checked for count).
    pub attachment_ids: Vec<i64>,
    /// An internal note: staff only (the service checks the sender may write one).
    pub note: bool,
}

impl OwnedMessage {
    /// The message as stored, given what the database assigned.
    fn stored(
        &self,
        id: i64,
        seq: i64,
        created_at: i64,
        files: &Files,
    ) -> Result<MessageDto, StoreError> {
        Ok(MessageDto {
            id,
            room_id: self.room_id,
            seq,
            sender_id: self.sender_id.clone(),
            sender_role: self.sender_role,
            content: self.content.clone(),
            client_id: self.client_id.clone(),
            created_at: to_datetime(created_at)?,
            edited_at: None,
            deleted_at: None,
            deleted_by: None,
            attachments: files.of(self),
            note: self.note,
        })
    }
}

/// The attachments a batch names, locked, by id.
struct Files(HashMap<i64, StoredAttachment>);

impl Files {
    /// Loads (and on Postgres locks, so no other batch sends them meanwhile) every attachment
    /// the batch names.
    fn load(conn: &mut DbConnection, batch: &[OwnedMessage]) -> Result<Self, StoreError> {
        let ids: Vec<i64> = batch
            .iter()
            .flat_map(|message| message.attachment_ids.iter().copied())
            .collect();
        if ids.is_empty() {
            return Ok(Self(HashMap::new()));
        }
        Ok(Self(
            attachments::lock(conn, &ids)?
                .into_iter()
                .map(|stored| (stored.dto.id, stored))
                .collect(),
        ))
    }

    /// Takes `message`'s attachments for it: each must be the sender's upload in the room,
    /// not sent before, and not taken by an earlier message of the batch.
    fn claim(&self, message: &OwnedMessage, taken: &mut HashSet<i64>) -> Result<(), StoreError> {
        for id in &message.attachment_ids {
            let Some(file) = self.0.get(id).filter(|file| {
                file.dto.room_id == message.room_id && file.dto.uploader_id == message.sender_id
            }) else {
                return Err(StoreError::Invalid(
                    "attachment_ids names a file that is not the sender's upload in this room",
                ));
            };
            if file.pending {
                // The service checks a direct upload before it queues the message; one that
                // reaches the batch unchecked was never put into the store.
                return Err(StoreError::Conflict(
                    "an attachment's direct upload has not been completed",
                ));
            }
            if file.dto.message_id.is_some() || taken.contains(id) {
                return Err(StoreError::Conflict(
                    "an attachment was already sent with another message",
                ));
            }
        }
        taken.extend(message.attachment_ids.iter().copied());
        Ok(())
    }

    /// `message`'s attachments as its Message object shows them, in the order it named them.
    fn of(&self, message: &OwnedMessage) -> Vec<AttachmentDto> {
        message
            .attachment_ids
            .iter()
            .filter_map(|id| self.0.get(id))
            .map(|file| AttachmentDto {
                message_id: None,
                ..file.dto.clone()
            })
            .collect()
    }

    /// `message`'s attachment list as stored with it; `None` without attachments.
    fn stored_list(&self, message: &OwnedMessage) -> Result<Option<String>, StoreError> {
        if message.attachment_ids.is_empty() {
            return Ok(None);
        }
        serde_json::to_string(&self.of(message))
            .map(Some)
            .map_err(|error| StoreError::Task(format!("attachment list: {error}")))
    }
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct MessageInsert<'a> {
    room_id: i64,
    seq: i64,
    sender_id: &'a str,
    sender_role: &'a str,
    content: &'a str,
    client_id: Option<&'a str>,
    created_at: i64,
    attachments: Option<String>,
    note: bool,
}

#[derive(Insertable)]
#[diesel(table_name = room_members)]
struct MarkerInsert<'a> {
    room_id: i64,
    user_id: &'a str,
    role: &'a str,
    assigned: bool,
    last_read_seq: i64,
    joined_at: i64,
}

/// A room the batch holds the lock of, as it stands after the batch's messages.
struct LockedRoom {
    open: bool,
    last_seq: i64,
}

/// What became of one message of a batch before the insert.
enum Plan {
    Refused(StoreError),
    Replayed(MessageDto),
    /// Same sender and `client_id` as an earlier message of this batch.
    SameAs(usize),
    New(i64),
}

/// Stores `batch` in one transaction; one result per message, in order. An `Err` means the
/// transaction as a whole failed and nothing was stored.
pub fn store_batch(
    conn: &mut DbConnection,
    batch: &[OwnedMessage],
) -> Result<Vec<Result<Stored, StoreError>>, StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let mut room_ids: Vec<i64> = batch.iter().map(|message| message.room_id).collect();
        room_ids.sort_unstable();
        room_ids.dedup();
        let mut locked = lock_rooms(conn, &room_ids)?;
        // Read after the room locks: an order moved to another customer before this point
        // refuses the previous customer's sends; one moved later comes after them.
        let customers = if batch
            .iter()
            .any(|message| message.sender_role == Role::Client)
        {
            rooms::customers_of(conn, &room_ids)?
        } else {
            HashMap::new()
        };
        let stored_before = stored_before(conn, batch)?;
        let files = Files::load(conn, batch)?;
        let plans = plan(batch, &mut locked, &customers, &stored_before, &files);
        let inserts = inserts(batch, &plans, &files, now)?;
        let bursts = bursts(&inserts);
        let ids = if inserts.is_empty() {
            StoredIds::new()
        } else {
            match conn {
                DbConnection::Postgres(pg) => write_postgres(pg, &locked, &inserts, &bursts, now)?,
                DbConnection::Sqlite(sqlite) => {
                    let ids = write_sqlite(sqlite, &locked, &inserts, now)?;
                    notifications::schedule_sqlite(sqlite, &bursts, now)?;
                    ids
                }
            }
        };
        let answers = answers(batch, plans, &ids, &files, now);
        mark_sent(conn, batch, &answers)?;
        search::index(conn, &search_entries(&answers))?;
        outbox::record(conn, || {
            answers.iter().filter_map(|answer| match answer {
                Ok(Stored::New(message)) => Some(OutboxEvent::message_created(message)),
                _ => None,
            })
        })?;
        Ok(answers)
    })
}

/// Locks the rooms in id order (so concurrent batches cannot deadlock); from here no other
/// writer can add to them. Their status and last seq as locked.
fn lock_rooms(
    conn: &mut DbConnection,
    room_ids: &[i64],
) -> Result<BTreeMap<i64, LockedRoom>, StoreError> {
    let rooms_query = chat_rooms::table
        .filter(chat_rooms::id.eq_any(room_ids))
        .order(chat_rooms::id)
        .select((chat_rooms::id, chat_rooms::status, chat_rooms::last_seq));
    let rooms: Vec<(i64, Spelled<RoomStatus>, i64)> = match conn {
        DbConnection::Postgres(pg) => rooms_query.for_update().load(pg)?,
        // BEGIN IMMEDIATE already holds the whole database.
        DbConnection::Sqlite(sqlite) => rooms_query.load(sqlite)?,
    };
    Ok(rooms
        .into_iter()
        .map(|(id, status, last_seq)| {
            let room = LockedRoom {
                open: RoomStatus::from(status) == RoomStatus::Open,
                last_seq,
            };
            (id, room)
        })
        .collect())
}

/// The messages stored before under the batch's (room, sender, `client_id`) keys: retries
/// (read under the room locks, so no race).
fn stored_before(
    conn: &mut DbConnection,
    batch: &[OwnedMessage],
) -> Result<HashMap<(i64, String, String), MessageDto>, StoreError> {
    let mut stored = HashMap::new();
    if batch.iter().any(|message| message.client_id.is_some()) {
        for row in stored_with_keys(conn, batch)? {
            let message = MessageDto::from(row);
            if let Some(key) = message.client_id.clone() {
                stored.insert((message.room_id, message.sender_id.clone(), key), message);
            }
        }
    }
    Ok(stored)
}

/// What becomes of each message, giving new ones their rooms' next seqs.
fn plan(
    batch: &[OwnedMessage],
    locked: &mut BTreeMap<i64, LockedRoom>,
    customers: &HashMap<i64, String>,
    stored_before: &HashMap<(i64, String, String), MessageDto>,
    files: &Files,
) -> Vec<Plan> {
    let mut first_in_batch: HashMap<(i64, &str, &str), usize> = HashMap::new();
    let mut taken = HashSet::new();
    batch
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let Some(room) = locked.get_mut(&message.room_id) else {
                return Plan::Refused(StoreError::NotFound);
            };
            if message.sender_role == Role::Client
                && customers.get(&message.room_id) != Some(&message.sender_id)
            {
                return Plan::Refused(StoreError::NoAccess);
            }
            if let Some(key) = message.client_id.as_deref() {
                let lookup = (message.room_id, message.sender_id.clone(), key.to_owned());
                if let Some(original) = stored_before.get(&lookup) {
                    return Plan::Replayed(original.clone());
                }
                let slot = (message.room_id, message.sender_id.as_str(), key);
                if let Some(first) = first_in_batch.get(&slot) {
                    return Plan::SameAs(*first);
                }
                first_in_batch.insert(slot, index);
            }
            if !room.open {
                return Plan::Refused(StoreError::RoomClosed);
            }
            if let Err(refused) = files.claim(message, &mut taken) {
                return Plan::Refused(refused);
            }
            room.last_seq += 1;
            Plan::New(room.last_seq)
        })
        .collect()
}

/// The rows of the new messages.
fn inserts<'a>(
    batch: &'a [OwnedMessage],
    plans: &[Plan],
    files: &Files,
    now: i64,
) -> Result<Vec<MessageInsert<'a>>, StoreError> {
    let mut rows = Vec::new();
    for (message, plan) in batch.iter().zip(plans) {
        if let Plan::New(seq) = plan {
            rows.push(MessageInsert {
                room_id: message.room_id,
                seq: *seq,
                sender_id: &message.sender_id,
                sender_role: message.sender_role.as_str(),
                content: &message.content,
                client_id: message.client_id.as_deref(),
                created_at: now,
                attachments: files.stored_list(message)?,
                note: message.note,
            });
        }
    }
    Ok(rows)
}

/// The search rows of the batch's new messages.
fn search_entries(answers: &[Result<Stored, StoreError>]) -> Vec<(i64, String)> {
    answers
        .iter()
        .filter_map(|answer| match answer {
            Ok(Stored::New(message)) => Some((
                message.id,
                search::indexed_words(&message.content, &message.attachments),
            )),
            _ => None,
        })
        .collect()
}

/// Links the new messages' attachments to them: sent, they cannot be sent again.
fn mark_sent(
    conn: &mut DbConnection,
    batch: &[OwnedMessage],
    answers: &[Result<Stored, StoreError>],
) -> Result<(), StoreError> {
    for (message, answer) in batch.iter().zip(answers) {
        if let (Ok(Stored::New(stored)), false) = (answer, message.attachment_ids.is_empty()) {
            attachments::mark_sent(conn, &message.attachment_ids, stored.id)?;
        }
    }
    Ok(())
}

/// Each sender's answer, in batch order.
fn answers(
    batch: &[OwnedMessage],
    plans: Vec<Plan>,
    ids: &StoredIds,
    files: &Files,
    now: i64,
) -> Vec<Result<Stored, StoreError>> {
    let mut results: Vec<Result<Stored, StoreError>> = Vec::with_capacity(batch.len());
    for (message, plan) in batch.iter().zip(plans) {
        let result = match plan {
            Plan::Refused(error) => Err(error),
            Plan::Replayed(original) => Ok(Stored::Replayed(original)),
            Plan::New(seq) => ids
                .get(&(message.room_id, seq))
                .ok_or(StoreError::NotFound)
                .and_then(|id| message.stored(*id, seq, now, files).map(Stored::New)),
            Plan::SameAs(first) => match results.get(first) {
                Some(Ok(stored)) => Ok(Stored::Replayed(stored.message().clone())),
                Some(Err(_)) | None => Err(StoreError::Conflict(
                    "an earlier send with this client_id failed",
                )),
            },
        };
        results.push(result);
    }
    results
}

/// Stores one message: a batch of one.
fn store_one(conn: &mut DbConnection, message: &OwnedMessage) -> Result<Stored, StoreError> {
    store_batch(conn, std::slice::from_ref(message))?
        .pop()
        .unwrap_or_else(|| Err(StoreError::Task("a batch of one gave no result".to_owned())))
}

/// Messages already stored under the batch's (room, sender, `client_id`) keys.
fn stored_with_keys(
    conn: &mut DbConnection,
    batch: &[OwnedMessage],
) -> QueryResult<Vec<MessageRow>> {
    match conn {
        // One index probe per key. (Filtering each column with `= ANY` let the planner scan
        // every message of the batch's rooms, which grew with history until throughput
        // collapsed under load.)
        DbConnection::Postgres(pg) => {
            let mut rooms = Vec::new();
            let mut senders = Vec::new();
            let mut client_ids = Vec::new();
            for message in batch {
                if let Some(key) = &message.client_id {
                    rooms.push(message.room_id);
                    senders.push(message.sender_id.as_str());
                    client_ids.push(key.as_str());
                }
            }
            diesel::sql_query(
                "SELECT m.* FROM messages AS m \
                 JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS k(room_id, sender_id, client_id) \
                 ON m.room_id = k.room_id AND m.sender_id = k.sender_id AND m.client_id = k.client_id",
            )
            .bind::<Array<BigInt>, _>(rooms)
            .bind::<Array<Text>, _>(senders)
            .bind::<Array<Text>, _>(client_ids)
            .load(pg)
        }
        // One statement too: a probe per key (one statement each) cost ~10 ms of a 30 ms
        // batch of 400. `json_each` keeps the text constant (a cached statement); CROSS JOIN
        // keeps the keys the outer loop, so each is one search of the unique index.
        DbConnection::Sqlite(sqlite) => {
            let keys: Vec<(i64, &str, &str)> = batch
                .iter()
                .filter_map(|message| {
                    let key = message.client_id.as_deref()?;
                    Some((message.room_id, message.sender_id.as_str(), key))
                })
                .collect();
            let keys = serde_json::to_string(&keys)
                .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
            diesel::sql_query(
                "SELECT m.* FROM json_each(?) AS k CROSS JOIN messages AS m \
                 ON m.room_id = k.value ->> 0 AND m.sender_id = k.value ->> 1 \
                 AND m.client_id = k.value ->> 2",
            )
            .bind::<Text, _>(keys)
            .load(sqlite)
        }
    }
}

/// The ids the database gave the batch's new messages, by (room, seq).
type StoredIds = HashMap<(i64, i64), i64>;

/// One row of `RETURNING` from the Postgres batch statement.
#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    room_id: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Advances the rooms, inserts the messages, moves the senders' read markers and schedules
/// the notifications of the other members in one statement whose text never changes: one round trip and a cached plan per batch, where a
/// multi-row `VALUES` list would be parsed and planned anew for every batch size.
fn write_postgres(
    pg: &mut PgConnection,
    rooms: &BTreeMap<i64, LockedRoom>,
    inserts: &[MessageInsert<'_>],
    bursts: &[Burst],
    now: i64,
) -> QueryResult<StoredIds> {
    let room_ids: Vec<i64> = rooms.keys().copied().collect();
    let room_seqs: Vec<i64> = rooms.values().map(|room| room.last_seq).collect();
    let waiting = waiting_after(inserts);
    // NULL leaves the room's state as it is (its batch held only notes): after a message
    // someone always waits.
    let room_waiting: Vec<Option<&str>> = rooms
        .keys()
        .map(|id| waiting.get(id).map(|party| party.as_str()))
        .collect();
    let markers = newest_per_sender(inserts, now);
    let rows: Vec<InsertedId> = diesel::sql_query(
        "WITH advanced AS ( \
             UPDATE chat_rooms AS r \
             SET last_seq = v.seq, last_activity_at = $1, activity_bucket = $14, \
                 waiting_for = coalesce(v.waiting, r.waiting_for), \
                 waiting_since = CASE WHEN r.waiting_for IS NOT DISTINCT FROM coalesce(v.waiting, r.waiting_for) \
                                 THEN r.waiting_since ELSE $1 END \
             FROM unnest($2::bigint[], $3::bigint[], $18::text[]) AS v(id, seq, waiting) \
             WHERE r.id = v.id AND r.last_seq < v.seq \
         ), markers AS ( \
             INSERT INTO room_members (room_id, user_id, role, assigned, last_read_seq, joined_at) \
             SELECT k.room_id, k.user_id, k.role, FALSE, k.seq, $1 \
             FROM unnest($4::bigint[], $5::text[], $6::text[], $7::bigint[]) AS k(room_id, user_id, role, seq) \
             ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq \
         ), bursts AS ( \
             INSERT INTO notification_bursts (room_id, first_seq, since) \
             SELECT b.room_id, b.first_seq, $1 \
             FROM unnest($15::bigint[], $16::bigint[]) AS b(room_id, first_seq) \
             ON CONFLICT (room_id) DO NOTHING \
         ) \
         INSERT INTO messages (room_id, seq, sender_id, sender_role, content, client_id, created_at, attachments, note) \
         SELECT m.room_id, m.seq, m.sender_id, m.sender_role, m.content, m.client_id, $1, m.attachments, m.note \
         FROM unnest($8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $17::text[], $19::bool[]) \
             AS m(room_id, seq, sender_id, sender_role, content, client_id, attachments, note) \
         RETURNING id, room_id, seq",
    )
    .bind::<BigInt, _>(now)
    .bind::<Array<BigInt>, _>(room_ids)
    .bind::<Array<BigInt>, _>(room_seqs)
    .bind::<Array<BigInt>, _>(markers.iter().map(|m| m.room_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(markers.iter().map(|m| m.user_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(markers.iter().map(|m| m.role).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(markers.iter().map(|m| m.last_read_seq).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(inserts.iter().map(|m| m.room_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(inserts.iter().map(|m| m.seq).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(inserts.iter().map(|m| m.sender_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(inserts.iter().map(|m| m.sender_role).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(inserts.iter().map(|m| m.content).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(inserts.iter().map(|m| m.client_id).collect::<Vec<_>>())
    .bind::<BigInt, _>(activity_bucket(now))
    .bind::<Array<BigInt>, _>(bursts.iter().map(|b| b.room_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(bursts.iter().map(|b| b.first_seq).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        inserts
            .iter()
            .map(|m| m.attachments.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(room_waiting)
    .bind::<Array<Bool>, _>(inserts.iter().map(|m| m.note).collect::<Vec<_>>())
    .load(pg)?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.room_id, row.seq), row.id))
        .collect())
}

/// The same writes as [`write_postgres`] a statement per row: SQLite runs in-process, so a
/// statement costs no round trip.
fn write_sqlite(
    sqlite: &mut SqliteConnection,
    rooms: &BTreeMap<i64, LockedRoom>,
    inserts: &[MessageInsert<'_>],
    now: i64,
) -> QueryResult<StoredIds> {
    let mut ids = StoredIds::with_capacity(inserts.len());
    for insert in inserts {
        let id = diesel::insert_into(messages::table)
            .values(insert)
            .returning(messages::id)
            .get_result(sqlite)?;
        ids.insert((insert.room_id, insert.seq), id);
    }
    // The rooms after their messages: the waiting-state trigger records who answered from
    // the room's newest staff message, as on Postgres, where it fires at the end of the one
    // statement that stores both.
    let waiting = waiting_after(inserts);
    for (id, room) in rooms {
        let party = waiting.get(id).map(|party| party.as_str());
        // As on Postgres: the time changes only when the waiting side does (`IS` compares
        // NULLs too; every expression reads the row as it was), and NULL (only notes) keeps it.
        diesel::sql_query(
            "UPDATE chat_rooms SET last_seq = ?, last_activity_at = ?, activity_bucket = ?, \
             waiting_since = CASE WHEN waiting_for IS coalesce(?, waiting_for) \
                             THEN waiting_since ELSE ? END, \
             waiting_for = coalesce(?, waiting_for) WHERE id = ? AND last_seq < ?",
        )
        .bind::<BigInt, _>(room.last_seq)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(activity_bucket(now))
        .bind::<Nullable<Text>, _>(party)
        .bind::<BigInt, _>(now)
        .bind::<Nullable<Text>, _>(party)
        .bind::<BigInt, _>(*id)
        .bind::<BigInt, _>(room.last_seq)
        .execute(sqlite)?;
    }
    for marker in newest_per_sender(inserts, now) {
        diesel::insert_into(room_members::table)
            .values(&marker)
            .on_conflict((room_members::room_id, room_members::user_id))
            .do_update()
            .set(room_members::last_read_seq.eq(excluded(room_members::last_read_seq)))
            .execute(sqlite)?;
    }
    Ok(ids)
}

/// Each room's new messages as one burst: the room and its first new seq. Internal notes
/// notify no one: they are not messages of the conversation.
fn bursts(inserts: &[MessageInsert<'_>]) -> Vec<Burst> {
    let mut bursts: BTreeMap<i64, i64> = BTreeMap::new();
    for insert in inserts.iter().filter(|insert| !insert.note) {
        let first = bursts.entry(insert.room_id).or_insert(insert.seq);
        *first = (*first).min(insert.seq);
    }
    bursts
        .into_iter()
        .map(|(room_id, first_seq)| Burst { room_id, first_seq })
        .collect()
}

/// Whom each room of the batch waits for after it: the other side of its newest message's
/// sender. Rooms without a message in the batch are not in the map (nor updated), nor are
/// rooms with only internal notes in it: a note answers no one.
fn waiting_after(inserts: &[MessageInsert<'_>]) -> HashMap<i64, WaitingFor> {
    let mut newest: HashMap<i64, (i64, &str)> = HashMap::new();
    for insert in inserts.iter().filter(|insert| !insert.note) {
        let entry = newest
            .entry(insert.room_id)
            .or_insert((insert.seq, insert.sender_role));
        if insert.seq >= entry.0 {
            *entry = (insert.seq, insert.sender_role);
        }
    }
    newest
        .into_iter()
        .filter_map(|(room_id, (_, role))| {
            Some((room_id, WaitingFor::after_message_of(Role::parse(role)?)))
        })
        .collect()
}

/// Each sender's read marker moves to its newest message of the batch (a sender has read
/// what it wrote).
fn newest_per_sender<'a>(inserts: &[MessageInsert<'a>], now: i64) -> Vec<MarkerInsert<'a>> {
    let mut newest: BTreeMap<(i64, &str), (&str, i64)> = BTreeMap::new();
    for insert in inserts {
        let entry = newest
            .entry((insert.room_id, insert.sender_id))
            .or_insert((insert.sender_role, insert.seq));
        entry.1 = entry.1.max(insert.seq);
    }
    newest
        .into_iter()
        .map(|((room_id, user_id), (role, seq))| MarkerInsert {
            room_id,
            user_id,
            role,
            assigned: false,
            last_read_seq: seq,
            joined_at: now,
        })
        .collect()
}

/// Most messages in one transaction.
const MAX_BATCH: usize = 512;

/// How long a message may wait in a writer's queue before new sends are refused, by default
/// (`SEND_QUEUE_BUDGET_MS`). A full batch commits in tens of milliseconds, so accepted
/// messages are acked within about 200 ms at any offered load.
pub const DEFAULT_SEND_QUEUE_BUDGET: Duration = Duration::from_millis(150);

/// Told about every newly stored message, in commit order, before its sender is answered.
pub type Announcer = Arc<dyn Fn(&MessageDto) + Send + Sync>;

/// What one batch was like, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    /// Messages taken into the batch.
    pub size: usize,
    /// Of those, messages stored for the first time (not retries, not failures).
    pub stored: usize,
    /// How long storing took, commit included.
    pub took: Duration,
}

/// Told about every batch after it was stored (or failed).
pub type BatchObserver = Arc<dyn Fn(BatchReport) + Send + Sync>;

struct Job {
    message: OwnedMessage,
    reply: oneshot::Sender<Result<Stored, StoreError>>,
    queued_at: Instant,
}

/// One writer thread's queue, and how far behind the thread is.
struct WriterQueue {
    jobs: mpsc::Sender<Job>,
    lag: Arc<WriterLag>,
}

/// How far behind a writer thread is, for admission (see [`MessageWriter`]).
struct WriterLag {
    /// Time base of `batch_started_micros`.
    epoch: Instant,
    /// Queue wait of the oldest message of the thread's current batch, µs; 0 once the queue
    /// ran empty.
    waited_micros: AtomicU64,
    /// When the current batch started (µs after `epoch`); 0 while the thread is idle.
    batch_started_micros: AtomicU64,
}

impl WriterLag {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            waited_micros: AtomicU64::new(0),
            batch_started_micros: AtomicU64::new(0),
        }
    }

    fn micros_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// How long what is queued now has waited, at least: the wait of the batch being
    /// written, or the time the batch has taken so far (everything queued behind a batch
    /// that is stuck waits as long as it does).
    fn queue_wait(&self) -> Duration {
        let waited = self.waited_micros.load(Ordering::Acquire);
        let started = self.batch_started_micros.load(Ordering::Acquire);
        let running = match started {
            0 => 0,
            started => self.micros_now().saturating_sub(started),
        };
        Duration::from_micros(waited.max(running))
    }
}

/// Collects sends from every session and request of the node and stores them in batches.
///
/// Each room belongs to one writer thread (by id). Two threads therefore never wait for each
/// other's room locks, so they really write in parallel, and a room's messages are stored and
/// announced by one thread, in seq order.
///
/// Admission: past its capacity a writer would only queue, and every ack would wait longer
/// (seconds, measured before this existed). While the messages a thread takes have waited
/// longer than `max_queue_wait` and more are queued behind them, new sends to its rooms are
/// refused at once with [`StoreError::Overloaded`] instead; the queue drains to the budget,
/// so accepted messages keep a bounded latency at any offered load and the node's
/// throughput stays at its capacity (a plateau). Senders retry with the same `client_id`.
#[derive(Clone)]
pub struct MessageWriter {
    queues: Arc<[WriterQueue]>,
    max_queue_wait: Duration,
}

impl MessageWriter {
    /// Starts `threads` writer threads (each one transaction at a time) on `db`.
    ///
    /// `announce` hears of each new message right after its batch committed, in seq order
    /// per room. Announcing here, rather than when each sender gets its answer, keeps a room's
    /// messages in order on their way to its sessions. `observe` hears of each batch.
    pub fn start(
        db: Database,
        threads: usize,
        max_queue_wait: Duration,
        announce: Announcer,
        observe: BatchObserver,
    ) -> Self {
        let threads = if db.single_writer() {
            1
        } else {
            threads.max(1)
        };
        let mut queues = Vec::new();
        for index in 0..threads {
            let (queue, jobs) = mpsc::channel::<Job>(MAX_BATCH * 16);
            let lag = Arc::new(WriterLag::new());
            let db = db.clone();
            let announce = Arc::clone(&announce);
            let observe = Arc::clone(&observe);
            let thread_lag = Arc::clone(&lag);
            let spawned = std::thread::Builder::new()
                .name(format!("message-writer-{index}"))
                .spawn(move || {
                    write_loop(&db, jobs, &thread_lag, announce.as_ref(), observe.as_ref());
                });
            match spawned {
                Ok(_) => queues.push(WriterQueue { jobs: queue, lag }),
                Err(error) => tracing::error!(%error, "cannot start a message writer thread"),
            }
        }
        Self {
            queues: queues.into(),
            max_queue_wait,
        }
    }

    /// Stores one message; resolves after its batch committed.
    pub async fn store(&self, message: OwnedMessage) -> Result<Stored, StoreError> {
        self.submit(message)?.await
    }

    /// Queues one message at once, in call order (so one connection's messages are stored in
    /// the order it sent them), or refuses it when the writer is past its budget or its queue
    /// is full. The returned future resolves after the message's batch committed.
    pub fn submit(
        &self,
        message: OwnedMessage,
    ) -> Result<impl Future<Output = Result<Stored, StoreError>> + use<>, StoreError> {
        let stopped = || StoreError::Task("message writer stopped".to_owned());
        let slot = usize::try_from(message.room_id.unsigned_abs()).unwrap_or_default();
        let queue = self
            .queues
            .get(slot % self.queues.len().max(1))
            .ok_or_else(stopped)?;
        let waited = queue.lag.queue_wait();
        let backlog = queue.jobs.max_capacity() - queue.jobs.capacity();
        if waited > self.max_queue_wait && backlog > 0 {
            return Err(StoreError::Overloaded { waited });
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            message,
            reply,
            queued_at: Instant::now(),
        };
        queue.jobs.try_send(job).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StoreError::Overloaded {
                waited: waited.max(self.max_queue_wait),
            },
            mpsc::error::TrySendError::Closed(_) => stopped(),
        })?;
        Ok(async move {
            answer
                .await
                .map_err(|_| StoreError::Task("message writer dropped the message".to_owned()))?
        })
    }
}

/// A batch slower than this is logged at debug level: each is a second in which every ack of
/// the node's writer waited (measured causes: WAL segment creation, synced writes the disk
/// held; docs/PERFORMANCE.md).
const SLOW_BATCH: Duration = Duration::from_millis(50);
/// A batch slower than this is logged as a warning: the database is in trouble.
const STUCK_BATCH: Duration = Duration::from_secs(1);

fn report_slow_batch(size: usize, took: Duration) {
    let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    if took >= STUCK_BATCH {
        tracing::warn!(
            size,
            took_ms,
            "message batch took over a second; acks waited for it"
        );
    } else if took >= SLOW_BATCH {
        tracing::debug!(size, took_ms, "slow message batch");
    }
}

fn write_loop(
    db: &Database,
    mut jobs: mpsc::Receiver<Job>,
    lag: &WriterLag,
    announce: &(dyn Fn(&MessageDto) + Send + Sync),
    observe: &(dyn Fn(BatchReport) + Send + Sync),
) {
    loop {
        lag.batch_started_micros.store(0, Ordering::Release);
        if jobs.is_empty() {
            // Nothing queued: whatever comes next is taken at once.
            lag.waited_micros.store(0, Ordering::Release);
        }
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // Take what is waiting, up to a batch.
        let Some(first) = jobs.blocking_recv() else {
            return;
        };
        let waited = u64::try_from(first.queued_at.elapsed().as_micros()).unwrap_or(u64::MAX);
        lag.waited_micros.store(waited, Ordering::Release);
        // Never 0 while busy: 0 means idle.
        lag.batch_started_micros
            .store(lag.micros_now().max(1), Ordering::Release);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (messages, replies): (Vec<OwnedMessage>, Vec<_>) = batch
            .into_iter()
            .map(|job| (job.message, job.reply))
            .unzip();
        let started = Instant::now();
        let results = match db.run_blocking(|conn| store_batch(conn, &messages)) {
            Ok(results) => results,
            Err(error) if error.is_unavailable() => messages
                .iter()
                .map(|_| Err(StoreError::Unavailable(error.to_string())))
                .collect(),
            // Something in the batch broke the transaction (a race the locks do not cover,
            // a constraint): store one by one, through the same path, so one bad message
            // fails alone.
            Err(error) => {
                tracing::warn!(%error, size = messages.len(), "batch failed; storing its messages one by one");
                messages
                    .iter()
                    .map(|message| db.run_blocking(|conn| store_one(conn, message)))
                    .collect()
            }
        };
        let took = started.elapsed();
        report_slow_batch(messages.len(), took);
        let mut stored = 0;
        for result in &results {
            if let Ok(Stored::New(message)) = result {
                stored += 1;
                announce(message);
            }
        }
        observe(BatchReport {
            size: messages.len(),
            stored,
            took,
        });
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(room_id: i64, seq: i64, sender_role: &'static str) -> MessageInsert<'static> {
        MessageInsert {
            room_id,
            seq,
            sender_id: "someone",
            sender_role,
            content: "text",
            client_id: None,
            created_at: 0,
            attachments: None,
            note: false,
        }
    }

    fn note(room_id: i64, seq: i64) -> MessageInsert<'static> {
        MessageInsert {
            note: true,
            ..insert(room_id, seq, "admin")
        }
    }

    #[test]
    fn each_room_waits_for_the_other_side_of_its_newest_message() {
        // Out of seq order on purpose: the newest seq decides, not the position.
        let inserts = [
            insert(1, 5, "admin"),
            insert(1, 4, "client"),
            insert(2, 7, "client"),
            insert(2, 8, "client"),
            insert(3, 2, "client"),
            insert(3, 3, "admin"),
            // A note answers no one: the customer's message before it decides.
            insert(5, 1, "client"),
            note(5, 2),
            note(6, 1),
        ];
        let waiting = waiting_after(&inserts);
        assert_eq!(waiting.get(&1), Some(&WaitingFor::Customer));
        assert_eq!(waiting.get(&2), Some(&WaitingFor::Staff));
        assert_eq!(waiting.get(&3), Some(&WaitingFor::Customer));
        assert_eq!(
            waiting.get(&4),
            None,
            "a room without messages is not touched"
        );
        assert_eq!(waiting.get(&5), Some(&WaitingFor::Staff));
        assert_eq!(waiting.get(&6), None, "only notes: the state is kept");
    }
}
