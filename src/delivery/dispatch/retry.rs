//! The retry decision: what a send result means for a delivery (delivered, retried per the
//! schedule with full jitter, failed as a dead letter, or dropped).

use std::time::Duration;

use rand::Rng;

use crate::delivery::destinations::SendResult;
use crate::domain::{Finish, Millis};

/// What a send result means for a delivery that had `attempts` before this one: the outcome
/// to record and the size to note.
pub fn decide(
    schedule: &[Duration],
    attempts: u32,
    result: SendResult,
    now: Millis,
) -> (Finish, Option<i64>) {
    match result {
        SendResult::Delivered => (Finish::Delivered, None),
        SendResult::TooBig { size, limit } => (
            Finish::Dropped {
                error: format!(
                    "dropped: the message is {size} bytes, more than the {limit} bytes the destination accepts"
                ),
            },
            Some(size as i64),
        ),
        SendResult::Permanent(error) => (Finish::Failed { error }, None),
        SendResult::Transient(error) => {
            let made = attempts as usize + 1;
            match schedule.get(made - 1) {
                None => (
                    Finish::Failed {
                        error: format!("gave up after {made} attempts: {error}"),
                    },
                    None,
                ),
                Some(bound) => {
                    // full jitter: anywhere between now and the bound
                    let bound_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX / 4);
                    let wait = rand::thread_rng().gen_range(0..=bound_ms);
                    (
                        Finish::Retry {
                            next_at: now.plus(Duration::from_millis(wait)),
                            error,
                        },
                        None,
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_dead_letter() {
        let schedule = [Duration::from_millis(100), Duration::from_secs(10)];
        let t = SendResult::Transient("HTTP 503".into());
        for _ in 0..50 {
            let (f, _) = decide(&schedule, 0, t.clone(), Millis(1_000));
            let Finish::Retry { next_at, error } = f else {
                panic!("{f:?}")
            };
            assert!((Millis(1_000)..=Millis(1_100)).contains(&next_at));
            assert_eq!(error, "HTTP 503");
            let (f, _) = decide(&schedule, 1, t.clone(), Millis(1_000));
            let Finish::Retry { next_at, .. } = f else {
                panic!()
            };
            assert!((Millis(1_000)..=Millis(11_000)).contains(&next_at));
        }
        let (f, _) = decide(&schedule, 2, t, Millis(1_000));
        assert_eq!(
            f,
            Finish::Failed {
                error: "gave up after 3 attempts: HTTP 503".into()
            }
        );
    }

    #[test]
    fn permanent_fails_at_once_and_too_big_is_dropped_with_its_size() {
        let schedule = [Duration::from_secs(1)];
        let (f, _) = decide(
            &schedule,
            0,
            SendResult::Permanent("HTTP 400".into()),
            Millis(0),
        );
        assert_eq!(
            f,
            Finish::Failed {
                error: "HTTP 400".into()
            }
        );
        let (f, size) = decide(
            &schedule,
            0,
            SendResult::TooBig {
                size: 300_000,
                limit: 262_144,
            },
            Millis(0),
        );
        assert!(matches!(f, Finish::Dropped { ref error } if error.contains("300000 bytes")));
        assert_eq!(size, Some(300_000));
    }
}
