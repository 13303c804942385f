//! One node's budget of upload bandwidth, shared by every upload streaming through it. Reading
//! and writing an upload's bytes is cheap per byte but not free (hashing, the disk or the
//! store's client): fifty clients on a fast network can take both cores of a node and hold
//! every room's messages back. Past the budget, uploads wait between chunks — TCP slows their
//! senders — and chat traffic keeps its share.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The budget counts KiB.
const UNIT: u64 = 1024;

/// Bytes the uploads may take at once before the rate applies.
const BURST_UNITS: u32 = 1024;

/// See the module docs.
pub struct UploadBandwidth {
    /// `None`: unlimited.
    limiter: Option<DefaultDirectRateLimiter>,
}

impl UploadBandwidth {
    /// A budget of `bytes_per_sec` for all uploads together; 0 is unlimited.
    pub fn new(bytes_per_sec: u64) -> Self {
        let limiter = (bytes_per_sec > 0).then(|| {
            let units = u32::try_from(bytes_per_sec.div_ceil(UNIT)).unwrap_or(u32::MAX);
            let per_sec = NonZeroU32::new(units).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(BURST_UNITS).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst))
        });
        Self { limiter }
    }

    /// Waits until `bytes` more may go through.
    pub async fn take(&self, bytes: usize) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let mut units = u64::try_from(bytes).unwrap_or(u64::MAX).div_ceil(UNIT);
        while units > 0 {
            let now = units.min(u64::from(BURST_UNITS));
            units -= now;
            let Some(now) = u32::try_from(now).ok().and_then(NonZeroU32::new) else {
                return;
            };
            // Never more than the burst, so the limiter can always grant it.
            if limiter.until_n_ready(now).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn past_the_burst_uploads_wait() {
        // 64 KiB/s: once the 1 MiB burst is spent, the next 64 KiB are a second away.
        let budget = UploadBandwidth::new(64 * 1024);
        assert!(budget.take(1024 * 1024).now_or_never().is_some());
        assert!(budget.take(64 * 1024).now_or_never().is_none());
    }

    #[tokio::test]
    async fn zero_is_unlimited_and_big_chunks_are_split() {
        let unlimited = UploadBandwidth::new(0);
        assert!(unlimited.take(1 << 30).now_or_never().is_some());
        // A chunk larger than the burst goes through in pieces (the first at once).
        let budget = UploadBandwidth::new(64 * 1024);
        assert!(budget.take(3 * 1024 * 1024).now_or_never().is_none());
    }
}
