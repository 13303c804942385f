//! One send budget per user on this node, shared by every transport: REST sends and every
//! WebSocket connection of the user draw from the same bucket, so opening more connections
//! or switching to HTTP does not multiply what one user may write.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::error::ApiError;
pub use crate::retry_after::RetryAfter;

/// After this many checks the budget forgets users whose bucket is full again, so the map
/// holds only recently active senders.
const FORGET_EVERY: u64 = 4096;

/// See the module docs.
pub struct SendBudget {
    limiter: RateLimiter<String, HashMapStateStore<String>, DefaultClock>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl SendBudget {
    /// A budget of `per_sec` messages per second per user, with bursts of up to `burst`.
    pub fn new(per_sec: NonZeroU32, burst: NonZeroU32) -> Self {
        let clock = DefaultClock::default();
        let quota = Quota::per_second(per_sec).allow_burst(burst);
        Self {
            limiter: RateLimiter::new(quota, HashMapStateStore::default(), clock.clone()),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one send from `user`'s budget, or refuses it (`rate_limited`, with when to
    /// retry) the same way on every transport.
    pub fn take(&self, user: &str) -> Result<(), ApiError> {
        self.check(user).map_err(|retry| ApiError::RateLimited {
            message: "too many messages from this user; nothing was stored",
            retry_after: Some(retry),
        })
    }

    fn check(&self, user: &str) -> Result<(), RetryAfter> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&user.to_owned())
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(self.clock.now())))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn budget(per_sec: u32, burst: u32) -> SendBudget {
        SendBudget::new(
            NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN),
            NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        )
    }

    #[test]
    fn each_user_has_a_burst_then_waits() {
        let budget = budget(1, 3);
        for _ in 0..3 {
            assert_eq!(budget.check("ann"), Ok(()));
        }
        let refused = budget.check("ann").err();
        assert!(
            refused.is_some_and(|retry| retry.0 > Duration::from_millis(500)),
            "{refused:?}"
        );
        assert_eq!(
            budget.check("bob"),
            Ok(()),
            "another user has a budget of its own"
        );
    }

    #[test]
    fn retry_after_rounds_up_for_the_header() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).header_secs(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).header_secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(1500)).header_secs(), 2);
        assert_eq!(RetryAfter(Duration::from_secs(2)).header_secs(), 2);
        assert!((RetryAfter(Duration::from_millis(250)).secs() - 0.25).abs() < f64::EPSILON);
    }
}
