//! Retention on PostgreSQL: deletes in batches, each its own short transaction, so that the
//! outbox is never locked for long while other processes claim and complete.

use super::{Postgres, BATCH};
use crate::domain::Millis;
use crate::store::retention::Pruned;
use crate::store::stats::step_of;
use crate::store::StoreError;

impl Postgres {
    pub async fn prune(&self, before: Millis) -> Result<Pruned, StoreError> {
        let batch = i64::try_from(BATCH).unwrap_or(i64::MAX);
        let mut deliveries = 0;
        // the outer condition is checked again on a row redelivered meanwhile: it stays
        loop {
            let n = sqlx::query(
                "DELETE FROM deliveries WHERE id IN
                   (SELECT id FROM deliveries WHERE status <> 'pending' AND done_at < $1 LIMIT $2)
                 AND status <> 'pending' AND done_at < $1",
            )
            .bind(before.0)
            .bind(batch)
            .execute(&self.pool)
            .await?
            .rows_affected();
            deliveries += n;
            if n < BATCH as u64 {
                break;
            }
        }
        let mut events = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM events WHERE (app_id, id) IN
                   (SELECT e.app_id, e.id FROM events e WHERE e.accepted_at < $1 AND NOT EXISTS
                      (SELECT 1 FROM deliveries d WHERE d.app_id = e.app_id AND d.event_id = e.id)
                    LIMIT $2)",
            )
            .bind(before.0)
            .bind(batch)
            .execute(&self.pool)
            .await?
            .rows_affected();
            events += n;
            if n < BATCH as u64 {
                break;
            }
        }
        sqlx::query("DELETE FROM hook_stats WHERE step < $1")
            .bind(step_of(before))
            .execute(&self.pool)
            .await?;
        Ok(Pruned { deliveries, events })
    }
}
