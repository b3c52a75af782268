//! The delivery log on SQLite.

use sqlx::{QueryBuilder, Sqlite as Db};

use super::{Sqlite, CHUNK};
use crate::domain::{AppId, DeliveryId, DeliveryStatus, HookId, Millis};
use crate::store::log::{DeliveryRow, ListFilter, RecentEventRecord};
use crate::store::rows::LogRow;
use crate::store::StoreError;

impl Sqlite {
    /// The app's latest events with their count of deliveries (`deliveries_by_event` answers
    /// each count from the index alone).
    pub async fn recent_events(
        &self,
        app_id: AppId,
        limit: i64,
    ) -> Result<Vec<RecentEventRecord>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT e.id, e.type, e.cid, e.source, e.accepted_at,
                    (SELECT COUNT(*) FROM deliveries d WHERE d.app_id = e.app_id AND d.event_id = e.id) AS deliveries
             FROM events e
             WHERE e.app_id = ?1
             ORDER BY e.accepted_at DESC, e.id
             LIMIT ?2",
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
        let _gate = self.write_gate().await;
        let mut total = 0;
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ",
            );
            q.push_bind(now.0)
                .push(", pending_since = ")
                .push_bind(now.0)
                .push(", lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL")
                .push(" WHERE status != 'pending' AND app_id = ")
                .push_bind(app_id.0)
                .push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(id.0);
            }
            q.push(")");
            total += q
                .build()
                .persistent(chunk.len() == CHUNK)
                .execute(&self.writer)
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
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ?1, pending_since = ?1, lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL
             WHERE app_id = ?2 AND hook_id = ?3 AND status IN ('failed', 'dropped') AND accepted_at BETWEEN ?4 AND ?5",
        )
        .bind(now.0)
        .bind(app_id.0)
        .bind(hook_id.as_str())
        .bind(since.0)
        .bind(until.0)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
