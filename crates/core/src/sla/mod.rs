//! Response-time targets (SLA): how long a customer waiting for staff may wait, optionally
//! counted in business hours. The clocks are rows (`room_chats_store::response_clocks`); these
//! settings give them their deadlines.

mod business_hours;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use room_chats_types::ResponseClock;

pub use business_hours::{BusinessHours, ScheduleError};

/// The targets (`SLA_FIRST_RESPONSE_SECS`, `SLA_NEXT_RESPONSE_SECS`, `SLA_BUSINESS_HOURS`,
/// `SLA_TIME_ZONE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseTargets {
    /// Longest wait for the first answer since the room (re)opened; `None`: no target.
    pub first_response: Option<Duration>,
    /// Longest wait for each later answer; `None`: no target.
    pub next_response: Option<Duration>,
    /// When set, waits count only inside these hours; otherwise around the clock.
    pub business_hours: Option<BusinessHours>,
}

impl ResponseTargets {
    /// The default, defined once: no targets (waits are still recorded for the report).
    pub const OFF: Self = Self {
        first_response: None,
        next_response: None,
        business_hours: None,
    };

    /// The target of `clock`, if one is set.
    pub fn target(&self, clock: ResponseClock) -> Option<Duration> {
        match clock {
            ResponseClock::FirstResponse => self.first_response,
            ResponseClock::NextResponse => self.next_response,
        }
    }

    /// The clocks that have a target.
    pub fn timed_clocks(&self) -> Vec<ResponseClock> {
        ResponseClock::ALL
            .into_iter()
            .filter(|clock| self.target(*clock).is_some())
            .collect()
    }

    /// When a `clock` started at `started` misses its target; `None` without a target.
    pub fn due_at(&self, clock: ResponseClock, started: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let target = TimeDelta::from_std(self.target(clock)?).unwrap_or(TimeDelta::MAX);
        Some(match &self.business_hours {
            Some(hours) => hours.add(started, target),
            None => started
                .checked_add_signed(target)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        })
    }
}

impl Default for ResponseTargets {
    fn default() -> Self {
        Self::OFF
    }
}
