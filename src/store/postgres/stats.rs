//! Hook health and the backlog on PostgreSQL.

use sqlx::{Postgres as Db, Transaction};

use super::Postgres;
use crate::domain::{AppId, HookId, Millis};
use crate::store::stats::{step_of, Backlog, StepRow};
use crate::store::StoreError;

pub use crate::store::rows::{Stats, StepAdd};

/// Adds outcomes to the hooks' current steps (inside the outcome transaction), in one
/// statement. The rows go in (app, hook) order: transactions of several processes adding to
/// the same steps lock them in the same order, so they wait for each other but never deadlock.
pub async fn add(
    tx: &mut Transaction<'_, Db>,
    now: Millis,
    stats: Stats,
) -> Result<(), StoreError> {
    if stats.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<((AppId, HookId), StepAdd)> = stats.into_iter().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let n = rows.len();
    let (mut app_ids, mut hook_ids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut delivered, mut failed) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut successes, mut errors, mut error_ats) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for ((app_id, hook_id), add) in rows {
        app_ids.push(app_id.0);
        hook_ids.push(hook_id.to_string());
        delivered.push(add.delivered);
        failed.push(add.failed);
        successes.push((add.delivered > 0).then_some(now.0));
        error_ats.push(add.last_error.as_ref().map(|_| now.0));
        errors.push(add.last_error);
    }
    sqlx::query(
        "INSERT INTO hook_stats (app_id, hook_id, step, delivered, failed, last_success, last_error, last_error_at)
         SELECT u.app_id, u.hook_id, $1, u.delivered, u.failed, u.last_success, u.last_error, u.last_error_at
         FROM UNNEST($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[])
           WITH ORDINALITY AS u (app_id, hook_id, delivered, failed, last_success, last_error, last_error_at, n)
         ORDER BY u.n
         ON CONFLICT (app_id, step, hook_id) DO UPDATE SET
           delivered = hook_stats.delivered + EXCLUDED.delivered,
           failed = hook_stats.failed + EXCLUDED.failed,
           last_success = COALESCE(EXCLUDED.last_success, hook_stats.last_success),
           last_error = COALESCE(EXCLUDED.last_error, hook_stats.last_error),
           last_error_at = COALESCE(EXCLUDED.last_error_at, hook_stats.last_error_at)",
    )
    .bind(step_of(now))
    .bind(app_ids)
    .bind(hook_ids)
    .bind(delivered)
    .bind(failed)
    .bind(successes)
    .bind(errors)
    .bind(error_ats)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type Row = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

impl Postgres {
    /// The app's step rows from step `first` on (oldest first), and its pending deliveries
    /// per hook, counted up to `pending_limit` in all. One round trip for both.
    pub async fn health_rows(
        &self,
        app_id: AppId,
        first: i64,
        pending_limit: i64,
    ) -> Result<(Vec<StepRow>, Vec<(HookId, i64)>), StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT 0::bigint, hook_id, step, delivered, failed, last_success, last_error, last_error_at
               FROM hook_stats WHERE app_id = $1 AND step >= $2
             UNION ALL
             SELECT 1::bigint, hook_id, COUNT(*), NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint FROM
               (SELECT hook_id FROM deliveries WHERE status = 'pending' AND app_id = $1 LIMIT $3) AS p
               GROUP BY hook_id
             ORDER BY 1, 3, 2",
        )
        .bind(app_id.0)
        .bind(first)
        .bind(pending_limit)
        .fetch_all(&self.pool)
        .await?;
        let mut steps = Vec::new();
        let mut pending = Vec::new();
        for (kind, hook, n, delivered, failed, success, error, at) in rows {
            if kind == 1 {
                pending.push((HookId::from(hook), n));
            } else {
                steps.push(StepRow {
                    hook_id: HookId::from(hook),
                    step: n,
                    delivered: delivered.unwrap_or(0),
                    failed: failed.unwrap_or(0),
                    last_success: success.map(Millis),
                    last_error: error,
                    last_error_at: at.map(Millis),
                });
            }
        }
        Ok((steps, pending))
    }

    pub async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT app_id, COUNT(*) FROM deliveries WHERE status = 'pending' GROUP BY app_id ORDER BY app_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(app_id, pending)| Backlog {
                app_id: AppId(app_id),
                pending,
            })
            .collect())
    }
}
