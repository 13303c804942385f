//! Rooms that close themselves: one pass of a policy over the rooms it makes due.

use std::time::Duration;

use room_chats_store::auto_close::{self, DueRooms};
use room_chats_types::ClosePolicy;

use super::{Announcement, Chat};
use crate::error::ApiError;

/// Rooms closed per transaction: the locks a pass holds at once, and its events per commit.
const CLOSE_BATCH: i64 = 200;

impl Chat {
    /// Closes every room `policy` makes due after `idle` (no message, no event for that long;
    /// for [`ClosePolicy::OrderDone`], also an order delivered or cancelled that long ago),
    /// except rooms whose customer waits for staff. Each close is a `closed` event with
    /// `closed_by_policy`, announced like staff's. No caller asks: the node's sweep runs it, on
    /// every node at once if need be (a room is closed once). How many rooms it closed.
    pub async fn close_due_rooms(
        &self,
        policy: ClosePolicy,
        idle: Duration,
    ) -> Result<usize, ApiError> {
        let idle_micros = i64::try_from(idle.as_micros()).unwrap_or(i64::MAX);
        let idle_before = chrono::Utc::now()
            .timestamp_micros()
            .saturating_sub(idle_micros);
        let due = DueRooms {
            policy,
            idle_before,
            batch: CLOSE_BATCH,
        };
        let mut closed = 0;
        loop {
            let events = self
                .db
                .run(move |conn| auto_close::close_due(conn, due))
                .await?;
            closed += events.len();
            for (room_id, frame) in &events {
                self.announcer.announce(Announcement::RoomEvent {
                    room_id: *room_id,
                    frame,
                });
            }
            if (events.len() as i64) < CLOSE_BATCH {
                return Ok(closed);
            }
        }
    }
}
