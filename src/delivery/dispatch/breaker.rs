//! A hook's circuit breaker, kept per hook by the dispatcher and used by the hook's worker.

use std::time::{Duration, Instant};

/// A hook's circuit breaker: after `threshold` failed sends in a row, its deliveries wait
/// (without using attempts) for a cool-down that doubles, from 5 s up to 5 min, while the
/// failures go on. The first send after a cool-down is the probe; a success closes it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
}

const COOLDOWN_MIN: Duration = Duration::from_secs(5);
const COOLDOWN_MAX: Duration = Duration::from_secs(300);

impl Breaker {
    pub(super) fn open_until(&self, now: Instant) -> Option<Instant> {
        self.open_until.filter(|until| *until > now)
    }

    pub(super) fn success(&mut self) {
        *self = Breaker::default();
    }

    /// After a cool-down, while the breaker has not closed again: one send at a time (the
    /// probe).
    pub(super) fn probing(&self, threshold: u32, now: Instant) -> bool {
        self.failures >= threshold && self.open_until(now).is_none()
    }

    pub(super) fn failure(&mut self, threshold: u32, now: Instant) {
        self.failures += 1;
        // failures of sends that started before the breaker opened do not lengthen it: the
        // cool-down doubles once per failed probe
        if self.failures >= threshold && self.open_until(now).is_none() {
            self.cooldown = if self.cooldown.is_zero() {
                COOLDOWN_MIN
            } else {
                (self.cooldown * 2).min(COOLDOWN_MAX)
            };
            self.open_until = Some(now + self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_backs_off() {
        let mut b = Breaker::default();
        let now = Instant::now();
        for _ in 0..4 {
            b.failure(5, now);
        }
        assert!(b.open_until(now).is_none());
        b.failure(5, now);
        assert_eq!(b.open_until(now), Some(now + COOLDOWN_MIN));
        // failures of sends already under way when it opened do not lengthen the cool-down
        b.failure(5, now);
        b.failure(5, now);
        assert_eq!(b.open_until(now), Some(now + COOLDOWN_MIN));
        assert!(!b.probing(5, now));
        // after the cool-down: one probe at a time; a failed probe doubles the cool-down
        let later = now + COOLDOWN_MIN;
        assert!(b.probing(5, later));
        b.failure(5, later);
        assert_eq!(b.open_until(later), Some(later + COOLDOWN_MIN * 2));
        let mut t = later;
        for _ in 0..20 {
            t += COOLDOWN_MAX;
            b.failure(5, t);
        }
        assert_eq!(b.open_until(t), Some(t + COOLDOWN_MAX));
        assert!(b.open_until(t + COOLDOWN_MAX).is_none());
        b.success();
        assert!(b.open_until(t).is_none());
        assert!(!b.probing(5, t));
        assert_eq!(b.failures, 0);
    }
}
