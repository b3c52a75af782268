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

/// Applies a delivery's age limit (`--max-delivery-age`, counted from `accepted_at`) to what
/// is about to be recorded for it: a retry or a postponement due after the deadline is brought
/// forward to it (one last try then), and one decided at or past the deadline fails with the
/// reason "expired". Returns whether it expired.
pub fn expire(finish: &mut Finish, accepted_at: Millis, max_age: Duration, now: Millis) -> bool {
    let deadline = accepted_at.plus(max_age);
    let (next_at, last_error) = match finish {
        Finish::Retry { next_at, error } => (next_at, Some(error.as_str())),
        Finish::Postpone { next_at } => (next_at, None),
        Finish::Delivered | Finish::Failed { .. } | Finish::Dropped { .. } => return false,
    };
    if now < deadline {
        *next_at = (*next_at).min(deadline);
        return false;
    }
    let mut error = format!(
        "expired: not delivered within {} of being accepted (--max-delivery-age)",
        human(max_age)
    );
    if let Some(last) = last_error {
        error.push_str("; last error: ");
        error.push_str(last);
    }
    *finish = Finish::Failed { error };
    true
}

/// `39h42m`, `90s`, `250ms`.
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 || secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
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

    #[test]
    fn waits_are_cut_to_the_age_limit_then_deliveries_expire() {
        let age = Duration::from_secs(3600);
        let accepted = Millis(1_000_000);
        let deadline = accepted.plus(age);
        // a retry due after the deadline is brought forward to it
        let mut f = Finish::Retry {
            next_at: deadline.plus(Duration::from_secs(60)),
            error: "HTTP 503".into(),
        };
        assert!(!expire(
            &mut f,
            accepted,
            age,
            accepted.plus(Duration::from_secs(10))
        ));
        assert!(matches!(f, Finish::Retry { next_at, .. } if next_at == deadline));
        // one due before it is left alone
        let early = accepted.plus(Duration::from_secs(20));
        let mut f = Finish::Postpone { next_at: early };
        assert!(!expire(&mut f, accepted, age, accepted));
        assert_eq!(f, Finish::Postpone { next_at: early });
        // at the deadline a retry or a postponement (an open breaker) expires
        let mut f = Finish::Retry {
            next_at: deadline.plus(Duration::from_secs(1)),
            error: "HTTP 503".into(),
        };
        assert!(expire(&mut f, accepted, age, deadline));
        assert!(
            matches!(&f, Finish::Failed { error } if error.starts_with("expired: not delivered within 1h ") && error.ends_with("last error: HTTP 503")),
            "{f:?}"
        );
        let mut f = Finish::Postpone { next_at: deadline };
        assert!(expire(
            &mut f,
            accepted,
            age,
            deadline.plus(Duration::from_secs(5))
        ));
        assert!(matches!(&f, Finish::Failed { error } if error.starts_with("expired")));
        // outcomes that end a delivery are never touched
        let mut f = Finish::Delivered;
        assert!(!expire(&mut f, accepted, age, deadline.plus(age)));
        assert_eq!(f, Finish::Delivered);
        assert_eq!(human(Duration::from_secs(39 * 3600 + 42 * 60)), "39h42m");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }
}
