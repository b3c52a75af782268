//! Request budgets (GCRA, `governor`): per authenticated app for the API, per client address for
//! failed authentications and logins. Keyed stores are bounded: above [`MAX_KEYS`] keys the
//! ones back at a full budget are dropped (they are indistinguishable from new keys).

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Keys a budget keeps before it forgets the idle ones.
pub const MAX_KEYS: usize = 100_000;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// What one request used of its budget (for the `x-ratelimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When the budget is full again, as unix seconds.
    pub reset: u64,
    /// How long to wait before the next request is allowed (refused requests only).
    pub retry_after: Option<Duration>,
}

/// `limit` requests per `period` per key, all of them usable at once.
pub struct Budget<K: Hash + Eq + Clone> {
    limit: u32,
    period: Duration,
    limiter: Keyed<K>,
}

impl<K: Hash + Eq + Clone> Budget<K> {
    pub fn new(limit: u32, period: Duration) -> Self {
        let limit = limit.max(1);
        let burst = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / limit)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        Self {
            limit,
            period,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// Counts one request for `key`.
    pub fn hit(&self, key: &K) -> Verdict {
        if self.limiter.len() > MAX_KEYS {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let per_request = self.period / self.limit;
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(self.limit);
                let refill = per_request * (self.limit - remaining);
                Verdict {
                    allowed: true,
                    limit: self.limit,
                    remaining,
                    reset: (now + refill).as_secs_f64().ceil() as u64,
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Verdict {
                    allowed: false,
                    limit: self.limit,
                    remaining: 0,
                    reset: (now + per_request * self.limit).as_secs_f64().ceil() as u64,
                    retry_after: Some(wait),
                }
            }
        }
    }

    /// Keys currently remembered.
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_counts_down_per_key_and_refuses_when_used_up() {
        let b = Budget::<u32>::per_minute(3);
        let v = b.hit(&1);
        assert!(v.allowed);
        assert_eq!((v.limit, v.remaining), (3, 2));
        assert_eq!(b.hit(&1).remaining, 1);
        assert_eq!(b.hit(&1).remaining, 0);
        let refused = b.hit(&1);
        assert!(!refused.allowed);
        let wait = refused.retry_after.unwrap();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // another key has its own budget
        assert!(b.hit(&2).allowed);
    }

    #[test]
    fn the_budget_refills_over_the_period() {
        let b = Budget::<u32>::new(2, Duration::from_millis(100));
        assert!(b.hit(&1).allowed);
        assert!(b.hit(&1).allowed);
        assert!(!b.hit(&1).allowed);
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.hit(&1).allowed);
    }

    #[test]
    fn idle_keys_are_forgotten_beyond_the_bound() {
        let b = Budget::<u32>::new(5, Duration::from_millis(10));
        for k in 0..(MAX_KEYS as u32 + 10) {
            b.hit(&k);
            if k % 10_000 == 0 {
                // the early keys are back at a full budget by the time the bound is reached
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        assert!(b.keys() <= MAX_KEYS, "{} keys kept", b.keys());
    }
}
