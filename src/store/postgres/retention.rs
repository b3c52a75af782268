//! Retention on PostgreSQL: deletes in batches, each its own short transaction, so that the
//! outbox is never locked for long while other processes claim and complete.

use super::{Postgres, BATCH};
use crate::domain::Millis;
use crate::store::retention::{Pruned, Seed, SEED_CHUNK};
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

    /// See [`crate::store::Store::seed_finished_deliveries`]: one transaction per chunk.
    pub async fn seed_finished_deliveries(&self, seed: &Seed<'_>) -> Result<(), StoreError> {
        let n = i64::try_from(seed.n).unwrap_or(i64::MAX);
        let chunk = SEED_CHUNK as i64;
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO events (app_id, id, type, cid, payload, accepted_at)
                 SELECT $3, $4 || i, 'message.new', 'messaging:general', $5, $6
                 FROM generate_series($1::bigint, $2::bigint - 1) i",
            )
            .bind(start)
            .bind(end)
            .bind(seed.app_id.0)
            .bind(seed.prefix)
            .bind(seed.payload)
            .bind(seed.at.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO deliveries (app_id, hook_id, hook_type, event_id, event_type, status,
                                         attempts, next_at, size, accepted_at, done_at, latency_ms)
                 SELECT $3, $4, 'webhook', $5 || i, 'message.new', 'delivered',
                        1, $6, $7, $6, $6, 0
                 FROM generate_series($1::bigint, $2::bigint - 1) i",
            )
            .bind(start)
            .bind(end)
            .bind(seed.app_id.0)
            .bind(seed.hook_id.as_str())
            .bind(seed.prefix)
            .bind(seed.at.0)
            .bind(i64::try_from(seed.payload.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            start = end;
        }
        Ok(())
    }
}
