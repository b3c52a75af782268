//! Counters for `GET /metrics` (Prometheus text format), kept in atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::domain::{Finish, HookType};
use crate::store::stats::Backlog;

/// The outcomes counted, by the index of [`counted`].
pub const OUTCOMES: [&str; 4] = ["delivered", "retried", "failed", "dropped"];

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0,
    3600.0,
];

/// The index in [`OUTCOMES`] of what `finish` counts as; a postponement is not counted.
fn counted(finish: &Finish) -> Option<usize> {
    match finish {
        Finish::Delivered => Some(0),
        Finish::Retry { .. } => Some(1),
        Finish::Failed { .. } => Some(2),
        Finish::Dropped { .. } => Some(3),
        Finish::Postpone { .. } => None,
    }
}

#[derive(Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    pub ingest_commits: AtomicU64,
    pub outcome_commits: AtomicU64,
    /// Deliveries failed because they passed `--max-delivery-age` (also counted as failed).
    pub deliveries_expired: AtomicU64,
    deliveries: [[AtomicU64; 4]; HookType::DELIVERING.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
}

impl Metrics {
    /// Counts one outcome of a delivery to a hook of `hook_type`.
    pub fn count(&self, hook_type: HookType, finish: &Finish) {
        if let (Some(row), Some(column)) = (self.deliveries.get(hook_type.index()), counted(finish))
        {
            row[column].fetch_add(1, Relaxed);
        }
    }

    /// How many outcomes named `outcome` (one of [`OUTCOMES`]) were counted for `hook_type`.
    pub fn deliveries(&self, hook_type: HookType, outcome: &str) -> u64 {
        let column = OUTCOMES.iter().position(|o| *o == outcome);
        match (self.deliveries.get(hook_type.index()), column) {
            (Some(row), Some(c)) => row[c].load(Relaxed),
            _ => 0,
        }
    }

    /// Records one accept → delivered latency.
    pub fn observe_latency(&self, millis: u64) {
        let secs = millis as f64 / 1000.0;
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ms.fetch_add(millis, Relaxed);
    }

    /// The Prometheus text exposition, with the backlog per app (`(app id, pending)`).
    pub fn render(&self, backlog: &[Backlog]) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP hookrelay_events_accepted_total Events accepted (stored) by POST /events.\n# TYPE hookrelay_events_accepted_total counter\nhookrelay_events_accepted_total {}",
            self.events_accepted.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hookrelay_ingest_commits_total Group commits that stored accepted events.\n# TYPE hookrelay_ingest_commits_total counter\nhookrelay_ingest_commits_total {}",
            self.ingest_commits.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hookrelay_outcome_commits_total Transactions that recorded delivery outcomes.\n# TYPE hookrelay_outcome_commits_total counter\nhookrelay_outcome_commits_total {}",
            self.outcome_commits.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hookrelay_deliveries_total Delivery attempts by hook type and outcome.\n# TYPE hookrelay_deliveries_total counter"
        );
        for (t, hook_type) in HookType::DELIVERING.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "hookrelay_deliveries_total{{hook_type=\"{hook_type}\",outcome=\"{outcome}\"}} {}",
                    self.deliveries[t][o].load(Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP hookrelay_deliveries_expired_total Deliveries failed for passing --max-delivery-age (also in the failed outcomes).\n# TYPE hookrelay_deliveries_expired_total counter\nhookrelay_deliveries_expired_total {}",
            self.deliveries_expired.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hookrelay_delivery_latency_seconds Time from accepting an event to delivering it.\n# TYPE hookrelay_delivery_latency_seconds histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "hookrelay_delivery_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            out,
            "hookrelay_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {count}\nhookrelay_delivery_latency_seconds_sum {}\nhookrelay_delivery_latency_seconds_count {count}",
            self.latency_sum_ms.load(Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "# HELP hookrelay_backlog Deliveries waiting to be sent (or retried), per app.\n# TYPE hookrelay_backlog gauge"
        );
        for b in backlog {
            let _ = writeln!(
                out,
                "hookrelay_backlog{{app=\"{}\"}} {}",
                b.app_id, b.pending
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_backlog() {
        let m = Metrics::default();
        m.events_accepted.fetch_add(3, Relaxed);
        m.count(
            HookType::Sqs,
            &Finish::Dropped {
                error: "too big".into(),
            },
        );
        let retry = Finish::Retry {
            next_at: crate::domain::Millis(0),
            error: "HTTP 500".into(),
        };
        m.count(HookType::Webhook, &retry);
        m.count(HookType::Webhook, &retry);
        m.count(
            HookType::Webhook,
            &Finish::Postpone {
                next_at: crate::domain::Millis(0),
            },
        );
        assert_eq!(m.deliveries(HookType::Webhook, "retried"), 2);
        m.observe_latency(4);
        m.observe_latency(2000);
        let text = m.render(&[Backlog {
            app_id: crate::domain::AppId(7),
            pending: 12,
        }]);
        assert!(text.contains("hookrelay_events_accepted_total 3\n"));
        assert!(
            text.contains("hookrelay_deliveries_total{hook_type=\"sqs\",outcome=\"dropped\"} 1\n")
        );
        assert!(text
            .contains("hookrelay_deliveries_total{hook_type=\"webhook\",outcome=\"retried\"} 2\n"));
        assert!(text.contains("hookrelay_delivery_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("hookrelay_delivery_latency_seconds_bucket{le=\"2.5\"} 2\n"));
        assert!(text.contains("hookrelay_delivery_latency_seconds_count 2\n"));
        assert!(text.contains("hookrelay_delivery_latency_seconds_sum 2.004\n"));
        assert!(text.contains("hookrelay_backlog{app=\"7\"} 12\n"));
    }
}
