//! Retention on SQLite.

use super::Sqlite;
use crate::domain::Millis;
use crate::store::retention::Pruned;
use crate::store::stats::step_of;
use crate::store::StoreError;

impl Sqlite {
    pub async fn prune(&self, before: Millis) -> Result<Pruned, StoreError> {
        let _gate = self.write_gate().await;
        let deliveries =
            sqlx::query("DELETE FROM deliveries WHERE status != 'pending' AND done_at < ?")
                .bind(before.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
        let events = sqlx::query(
            "DELETE FROM events WHERE accepted_at < ? AND NOT EXISTS
               (SELECT 1 FROM deliveries d WHERE d.app_id = events.app_id AND d.event_id = events.id)",
        )
        .bind(before.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM hook_stats WHERE step < ?")
            .bind(step_of(before))
            .execute(&self.pool)
            .await?;
        Ok(Pruned { deliveries, events })
    }
}
