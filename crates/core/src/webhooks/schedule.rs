//! When a failed delivery is tried again: exponential backoff with jitter, for a bounded
//! period, then a dead letter.

use std::time::Duration;

/// The retry policy (`WEBHOOK_RETRY_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Delay after the first failure; each further failure doubles it.
    pub first_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// How long after its first failure an event is still tried; then it is a dead letter.
    pub period: Duration,
}

impl RetrySchedule {
    /// The delay after the `attempts`-th failed attempt (1 for the first), before jitter.
    pub fn base_delay(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.first_delay
            .saturating_mul(1_u32 << doublings)
            .min(self.max_delay)
    }

    /// The delay after the `attempts`-th failed attempt with jitter: a random point in the
    /// upper half of the base delay, so receivers coming back are not hit by every node at
    /// the same instant. `unit` is a random number in [0, 1).
    pub fn delay(&self, attempts: i64, unit: f64) -> Duration {
        let base = self.base_delay(attempts);
        base.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }

    /// Whether an event that first failed `since_first_failure` ago is given up.
    pub fn exhausted(&self, since_first_failure: Duration) -> bool {
        since_first_failure >= self.period
    }
}

/// A random number in [0, 1) for jitter (0.5 when the system has no randomness to give).
pub fn jitter_unit() -> f64 {
    let mut bytes = [0_u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: RetrySchedule = RetrySchedule {
        first_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(3_600),
        period: Duration::from_secs(86_400),
    };

    #[test]
    fn delays_double_up_to_the_cap() {
        let delays: Vec<u64> = (1..=12)
            .map(|attempt| SCHEDULE.base_delay(attempt).as_secs())
            .collect();
        assert_eq!(
            delays,
            vec![5, 10, 20, 40, 80, 160, 320, 640, 1_280, 2_560, 3_600, 3_600]
        );
        assert_eq!(SCHEDULE.base_delay(i64::MAX).as_secs(), 3_600);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        assert_eq!(SCHEDULE.delay(2, 0.0), Duration::from_secs(5));
        assert_eq!(SCHEDULE.delay(2, 1.0), Duration::from_secs(10));
        let unit = jitter_unit();
        assert!((0.0..1.0).contains(&unit));
    }

    #[test]
    fn events_are_given_up_after_the_period() {
        assert!(!SCHEDULE.exhausted(Duration::from_secs(86_399)));
        assert!(SCHEDULE.exhausted(Duration::from_secs(86_400)));
    }
}
