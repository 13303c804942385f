//! Erasure of a person (issue 29): the platform asks, every node's eraser carries it out.
//!
//! What is erased and what stays is the store's (`room_chats_store::erasure`); here are who
//! may ask, the audit entry of the request, and the loop that runs the steps.

use room_chats_store::Database;
use room_chats_store::audit::recorded;
use room_chats_store::erasure::{self as store, Step};
use room_chats_types::{AuditAction, ErasureDto, Role};
use sha2::{Digest, Sha256};

use crate::attachments::hex;
use crate::audit::entry;
use crate::auth::Caller;
use crate::chat::check_field;
use crate::error::ApiError;

/// Rows one step of an erasure changes or looks through at most.
const STEP_BATCH: i64 = 500;
/// People whose erasure one look of the eraser takes up.
const RUNNING_BATCH: i64 = 20;

/// The erasure use cases.
#[derive(Clone)]
pub struct Erasures {
    db: Database,
}

impl Erasures {
    /// Erasures of people in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Requests the erasure of `user_id` (the platform service only): answered at once, run
    /// by the eraser of every node within seconds. Asking again is harmless: the run finds
    /// what was written since. Recorded in the audit trail.
    pub async fn request(&self, caller: &Caller, user_id: String) -> Result<ErasureDto, ApiError> {
        if caller.role != Role::Service {
            return Err(ApiError::Forbidden(
                "only the platform service erases people",
            ));
        }
        check_field("user_id", &user_id)?;
        let caller = caller.clone();
        Ok(self
            .db
            .run(move |conn| {
                recorded(
                    conn,
                    |conn| store::request(conn, &user_id, &caller.user_id),
                    |_| {
                        let mut entry = entry(&caller, AuditAction::ErasureRequested);
                        entry.user_id = Some(user_id.clone());
                        Some(entry)
                    },
                )
            })
            .await?)
    }

    /// Where the erasure of `user_id` stands (the platform service and admins); `not_found`
    /// when none was requested.
    pub async fn status(&self, caller: &Caller, user_id: String) -> Result<ErasureDto, ApiError> {
        if caller.role == Role::Client {
            return Err(ApiError::Forbidden(
                "only the platform service and admins read erasures",
            ));
        }
        check_field("user_id", &user_id)?;
        self.db
            .run(move |conn| store::status(conn, &user_id))
            .await?
            .ok_or(ApiError::NotFound("erasure"))
    }

    /// Runs the erasures still running to their end, step after step; how many it finished.
    /// Another node at work on a person is left to it.
    pub async fn run_pending(&self) -> Result<usize, ApiError> {
        let running = self
            .db
            .run(|conn| store::running(conn, RUNNING_BATCH))
            .await?;
        let mut finished = 0;
        for user_id in running {
            if self.run(user_id).await? {
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// Runs one erasure until it is done (true) or another node holds it (false).
    async fn run(&self, user_id: String) -> Result<bool, ApiError> {
        let Some(erasure) = ({
            let user_id = user_id.clone();
            self.db
                .run(move |conn| store::status(conn, &user_id))
                .await?
        }) else {
            return Ok(false);
        };
        let event_id = event_id(&user_id, erasure.requested_at.timestamp_micros());
        loop {
            let (user_id, event_id) = (user_id.clone(), event_id.clone());
            let step = self
                .db
                .run(move |conn| store::erase_step(conn, &user_id, STEP_BATCH, &event_id))
                .await?;
            match step {
                Step::Worked(_) => {}
                Step::Busy => return Ok(false),
                Step::Done => return Ok(true),
            }
        }
    }
}

/// The `user.erased` event's id: the same for every retry of one request, another for the
/// next request; a digest, so the person's id (which may be any text) never reaches a header.
fn event_id(user_id: &str, requested_at: i64) -> String {
    let digest = Sha256::new()
        .chain_update(user_id.as_bytes())
        .chain_update(requested_at.to_be_bytes())
        .finalize();
    format!("evt_erased_{}", hex(&digest[..16]))
}
