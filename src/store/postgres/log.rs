//! The delivery log on PostgreSQL.

use sqlx::{Postgres as Db, QueryBuilder};

use super::{Postgres, BATCH};
use crate::domain::{AppId, DeliveryId, DeliveryStatus, HookId, Millis};
use crate::store::log::{DeliveryRow, ListFilter, RecentEventRecord};
use crate::store::rows::LogRow;
use crate::store::StoreError;

impl Postgres {
    /// The app's latest events with their count of deliveries (each count an index scan of
    /// `deliveries_by_event`). Ids compare byte by byte, as on SQLite, whatever the database's
    /// collation.
    pub async fn recent_events(
        &self,
        app_id: AppId,
        limit: i64,
    ) -> Result<Vec<RecentEventRecord>, StoreError> {
        let rows = sqlx::query_as(
            r#"SELECT e.id, e.type, e.cid, e.source, e.accepted_at,
                    (SELECT COUNT(*) FROM deliveries d WHERE d.app_id = e.app_id AND d.event_id = e.id) AS deliveries
             FROM events e
             WHERE e.app_id = $1
             ORDER BY e.accepted_at DESC, e.id COLLATE "C"
             LIMIT $2"#,
        )
        .bind(app_id.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn deliveries(
        &self,
        app_id: AppId,
        filter: &ListFilter,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let mut q = QueryBuilder::<Db>::new(
            "SELECT d.id, d.hook_id, d.hook_type, d.event_id, d.event_type, d.status, d.attempts, d.next_at, d.last_error, d.size, d.accepted_at, d.done_at, d.latency_ms,
                    substr(e.payload, 1, 200) AS payload_preview
             FROM deliveries d LEFT JOIN events e ON e.app_id = d.app_id AND e.id = d.event_id
             WHERE d.app_id = ",
        );
        q.push_bind(app_id.0);
        if let Some(hook) = &filter.hook_id {
            q.push(" AND d.hook_id = ").push_bind(hook.to_string());
        }
        if let Some(event) = &filter.event_id {
            q.push(" AND d.event_id = ").push_bind(event.clone());
        }
        match filter.status {
            Some(DeliveryStatus::Pending) => {
                q.push(" AND d.status = 'pending' AND d.attempts = 0");
            }
            Some(DeliveryStatus::Retrying) => {
                q.push(" AND d.status = 'pending' AND d.attempts > 0");
            }
            Some(finished) => {
                q.push(" AND d.status = ").push_bind(finished.as_str());
            }
            None => {}
        }
        if let Some(before) = filter.before {
            q.push(" AND d.id < ").push_bind(before.0);
        }
        q.push(" ORDER BY d.id DESC LIMIT ").push_bind(filter.limit);
        let rows: Vec<LogRow> = q.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn redeliver_ids(
        &self,
        app_id: AppId,
        ids: &[DeliveryId],
        now: Millis,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        for chunk in ids.chunks(BATCH) {
            let ids: Vec<i64> = chunk.iter().map(|id| id.0).collect();
            total += sqlx::query(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = $1, pending_since = $1, lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL
                 WHERE status <> 'pending' AND app_id = $2 AND id = ANY($3)",
            )
            .bind(now.0)
            .bind(app_id.0)
            .bind(ids)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(total)
    }

    pub async fn redeliver_range(
        &self,
        app_id: AppId,
        hook_id: &HookId,
        since: Millis,
        until: Millis,
        now: Millis,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = $1, pending_since = $1, lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL
             WHERE app_id = $2 AND hook_id = $3 AND status IN ('failed', 'dropped') AND accepted_at BETWEEN $4 AND $5",
        )
        .bind(now.0)
        .bind(app_id.0)
        .bind(hook_id.as_str())
        .bind(since.0)
        .bind(until.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
