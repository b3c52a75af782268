//! Per-hook health for the dashboard (from `hook_stats`, one row per hook and 5-minute step,
//! kept by the transaction that records outcomes) and the backlog for `/metrics`.

use std::collections::HashMap;

use super::{backend, Store, StoreError};
use crate::domain::{AppId, HookId, Millis};

/// Length of one `hook_stats` step (5 minutes).
pub const STEP_MS: i64 = 300_000;

/// The dashboard counts pending deliveries up to this many per app (then shows "10,000+").
pub const PENDING_COUNT_LIMIT: i64 = 10_000;

/// One hook's recent health, for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookHealth {
    pub hook_id: HookId,
    /// Delivered in the window.
    pub delivered: i64,
    /// Failed or dropped in the window.
    pub failed: i64,
    /// Still to send (first attempt or retrying), counted up to [`PENDING_COUNT_LIMIT`].
    pub pending: i64,
    /// When a delivery last succeeded in the window.
    pub last_success: Option<Millis>,
    /// The newest error (a retry, failure or drop) in the window.
    pub last_error: Option<String>,
    /// Delivered and failed (or dropped) per step, oldest first; the last is the current step.
    pub steps: Vec<(i64, i64)>,
}

/// One `hook_stats` row as a backend reads it.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub hook_id: HookId,
    pub step: i64,
    pub delivered: i64,
    pub failed: i64,
    pub last_success: Option<Millis>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
}

/// Pending deliveries of one app, per app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub app_id: AppId,
    pub pending: i64,
}

/// The step an instant falls in.
pub fn step_of(at: Millis) -> i64 {
    at.0.div_euclid(STEP_MS)
}

impl Store {
    /// Every hook of `app_id` with outcomes in the last `steps` steps (the current one
    /// included) or deliveries pending.
    pub async fn hook_health(
        &self,
        app_id: AppId,
        now: Millis,
        steps: usize,
    ) -> Result<Vec<HookHealth>, StoreError> {
        let first = step_of(now) + 1 - i64::try_from(steps).unwrap_or(i64::MAX);
        let (rows, pending) =
            backend!(self, b => b.health_rows(app_id, first, PENDING_COUNT_LIMIT + 1).await)?;
        Ok(health(first, steps, rows, pending))
    }

    /// Pending deliveries per app.
    pub async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        backend!(self, b => b.backlog().await)
    }
}

/// Folds step rows (oldest step first) and pending counts into one [`HookHealth`] per hook,
/// in the order hooks first appear.
fn health(
    first: i64,
    steps: usize,
    rows: Vec<StepRow>,
    pending: Vec<(HookId, i64)>,
) -> Vec<HookHealth> {
    let mut out: Vec<HookHealth> = Vec::new();
    let mut index: HashMap<HookId, usize> = HashMap::new();
    let mut slot = |out: &mut Vec<HookHealth>, hook_id: &HookId| -> usize {
        *index.entry(hook_id.clone()).or_insert_with(|| {
            out.push(HookHealth {
                hook_id: hook_id.clone(),
                steps: vec![(0, 0); steps],
                ..HookHealth::default()
            });
            out.len() - 1
        })
    };
    let mut error_at: HashMap<usize, Millis> = HashMap::new();
    for row in rows {
        let i = slot(&mut out, &row.hook_id);
        let h = &mut out[i];
        h.delivered += row.delivered;
        h.failed += row.failed;
        h.last_success = h.last_success.max(row.last_success);
        if let Some(step) = usize::try_from(row.step - first)
            .ok()
            .and_then(|k| h.steps.get_mut(k))
        {
            step.0 += row.delivered;
            step.1 += row.failed;
        }
        // rows come oldest step first: a later one has the newer error
        if let (Some(error), Some(at)) = (row.last_error, row.last_error_at) {
            if error_at.get(&i).is_none_or(|seen| at >= *seen) {
                error_at.insert(i, at);
                h.last_error = Some(error);
            }
        }
    }
    for (hook_id, count) in pending {
        let i = slot(&mut out, &hook_id);
        out[i].pending = count;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        hook: &str,
        step: i64,
        delivered: i64,
        failed: i64,
        error: Option<(&str, i64)>,
    ) -> StepRow {
        StepRow {
            hook_id: HookId::from(hook),
            step,
            delivered,
            failed,
            last_success: (delivered > 0).then_some(Millis(step * STEP_MS)),
            last_error: error.map(|(e, _)| e.to_string()),
            last_error_at: error.map(|(_, at)| Millis(at)),
        }
    }

    #[test]
    fn steps_sum_per_hook_and_the_newest_error_wins() {
        let rows = vec![
            row("a", 10, 3, 1, Some(("old", 100))),
            row("b", 11, 0, 2, Some(("b failed", 150))),
            row("a", 12, 5, 0, None),
            row("a", 12, 0, 1, Some(("new", 200))),
        ];
        let pending = vec![(HookId::from("c"), 7), (HookId::from("a"), 2)];
        let out = health(10, 3, rows, pending);
        assert_eq!(out.len(), 3);
        let a = &out[0];
        assert_eq!((a.delivered, a.failed, a.pending), (8, 2, 2));
        assert_eq!(a.steps, vec![(3, 1), (0, 0), (5, 1)]);
        assert_eq!(a.last_error.as_deref(), Some("new"));
        assert_eq!(a.last_success, Some(Millis(12 * STEP_MS)));
        assert_eq!(out[1].steps, vec![(0, 0), (0, 2), (0, 0)]);
        assert_eq!((out[2].hook_id.as_str(), out[2].pending), ("c", 7));
        assert_eq!(out[2].steps, vec![(0, 0); 3]);
    }

    #[test]
    fn rows_outside_the_window_count_in_totals_only() {
        let out = health(10, 2, vec![row("a", 9, 4, 0, None)], vec![]);
        assert_eq!(out[0].delivered, 4);
        assert_eq!(out[0].steps, vec![(0, 0), (0, 0)]);
    }
}
