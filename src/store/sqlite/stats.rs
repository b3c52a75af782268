//! Hook health and the backlog on SQLite.

use std::collections::HashMap;

use sqlx::{Sqlite as Db, Transaction};

use super::Sqlite;
use crate::domain::{AppId, HookId, Millis};
use crate::store::stats::{step_of, Backlog, StepRow};
use crate::store::StoreError;

pub use crate::store::rows::StepAdd;

/// Adds outcomes to the hooks' current steps (inside the outcome transaction).
pub async fn add(
    tx: &mut Transaction<'_, Db>,
    now: Millis,
    stats: HashMap<(AppId, HookId), StepAdd>,
) -> Result<(), StoreError> {
    for ((app_id, hook_id), add) in stats {
        let success = (add.delivered > 0).then_some(now.0);
        let error_at = add.last_error.as_ref().map(|_| now.0);
        sqlx::query(
            "INSERT INTO hook_stats (app_id, hook_id, step, delivered, failed, last_success, last_error, last_error_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, step, hook_id) DO UPDATE SET
               delivered = delivered + excluded.delivered,
               failed = failed + excluded.failed,
               last_success = COALESCE(excluded.last_success, last_success),
               last_error = COALESCE(excluded.last_error, last_error),
               last_error_at = COALESCE(excluded.last_error_at, last_error_at)",
        )
        .bind(app_id.0)
        .bind(hook_id.to_string())
        .bind(step_of(now))
        .bind(add.delivered)
        .bind(add.failed)
        .bind(success)
        .bind(add.last_error)
        .bind(error_at)
        .execute(&mut **tx)
        .await?;
    }
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

impl Sqlite {
    /// The app's step rows from step `first` on (oldest first), and its pending deliveries
    /// per hook, counted from the due index up to `pending_limit` in all. One read for both
    /// (a query is a round trip to the connection's thread).
    pub async fn health_rows(
        &self,
        app_id: AppId,
        first: i64,
        pending_limit: i64,
    ) -> Result<(Vec<StepRow>, Vec<(HookId, i64)>), StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT 0, hook_id, step, delivered, failed, last_success, last_error, last_error_at
               FROM hook_stats WHERE app_id = ?1 AND step >= ?2
             UNION ALL
             SELECT 1, hook_id, COUNT(*), NULL, NULL, NULL, NULL, NULL FROM
               (SELECT hook_id FROM deliveries INDEXED BY deliveries_due
                 WHERE status = 'pending' AND app_id = ?1 LIMIT ?3)
               GROUP BY hook_id
             ORDER BY 1, 3",
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
