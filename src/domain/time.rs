//! Instants as unix milliseconds, the unit the store keeps them in.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant: milliseconds since the unix epoch (UTC).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// The current time (the epoch if the clock is before it).
    pub fn now() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
    }

    /// This instant plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// This instant minus `d` (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn since(self, earlier: Millis) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_since_is_never_negative() {
        let t = Millis(1_000);
        assert_eq!(t.plus(Duration::from_millis(500)), Millis(1_500));
        assert_eq!(t.minus(Duration::from_secs(2)), Millis(-1_000));
        assert_eq!(
            Millis(i64::MAX).plus(Duration::from_secs(1)),
            Millis(i64::MAX)
        );
        assert_eq!(Millis(1_500).since(t), Duration::from_millis(500));
        assert_eq!(t.since(Millis(1_500)), Duration::ZERO);
        assert!(Millis::now() > Millis(1_700_000_000_000));
    }
}
