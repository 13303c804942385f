//! The response-time sweep: gives running clocks their deadline, marks the missed ones
//! breached, and announces answers that came late — each durable change announced once.

use chrono::{DateTime, Utc};
use room_chats_store::response_clocks::{self, Unscheduled, announce_late_answers, breach_due};
use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{ResponseClock, RoomId};

use super::{Announcement, Chat};
use crate::error::ApiError;
use crate::sla::ResponseTargets;

/// Rows one transaction of the sweep takes.
const SWEEP_BATCH: i64 = 200;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Clocks given their deadline.
    pub scheduled: usize,
    /// Targets missed, by clock: running clocks past their deadline, and answers that came
    /// after it before the sweep saw the clock breached.
    pub breaches: Vec<ResponseClock>,
}

impl Chat {
    /// One pass of the response-time sweep under `targets` (nothing to do without one). Safe
    /// on many nodes at once: each row is handled by one (see
    /// `room_chats_store::response_clocks`).
    pub async fn sweep_response_clocks(
        &self,
        targets: &ResponseTargets,
    ) -> Result<SweepReport, ApiError> {
        let mut report = SweepReport::default();
        let timed = targets.timed_clocks();
        if timed.is_empty() {
            return Ok(report);
        }
        loop {
            let owned = targets.clone();
            let clocks = timed.clone();
            let scheduled = self
                .db
                .run(move |conn| {
                    let due_of = |clock: &Unscheduled| {
                        deadline(&owned, clock.clock, clock.started_at).unwrap_or(i64::MAX)
                    };
                    response_clocks::schedule(conn, &clocks, SWEEP_BATCH, &due_of)
                })
                .await?;
            report.scheduled += scheduled;
            if (scheduled as i64) < SWEEP_BATCH {
                break;
            }
        }
        loop {
            let now = Utc::now().timestamp_micros();
            let events = self
                .db
                .run(move |conn| breach_due(conn, now, SWEEP_BATCH))
                .await?;
            let full = events.len() as i64 >= SWEEP_BATCH;
            self.announce_breaches(&events, &mut report);
            if !full {
                break;
            }
        }
        loop {
            let events = self
                .db
                .run(move |conn| announce_late_answers(conn, SWEEP_BATCH))
                .await?;
            let full = events.len() as i64 >= SWEEP_BATCH;
            self.announce_breaches(&events, &mut report);
            if !full {
                break;
            }
        }
        Ok(report)
    }

    fn announce_breaches(&self, events: &[(RoomId, ServerFrame)], report: &mut SweepReport) {
        for (room_id, frame) in events {
            if let ServerFrame::Room {
                event: RoomChange::SlaBreached,
                room,
                ..
            } = frame
                && let Some(sla) = room.sla
            {
                report.breaches.push(sla.clock);
            }
            self.announcer.announce(Announcement::RoomEvent {
                room_id: *room_id,
                frame,
            });
        }
    }
}

/// A clock's deadline under `targets` (micros); `None` without a target.
fn deadline(targets: &ResponseTargets, clock: ResponseClock, started_micros: i64) -> Option<i64> {
    let started = DateTime::from_timestamp_micros(started_micros)?;
    targets
        .due_at(clock, started)
        .map(|due| due.timestamp_micros())
}
