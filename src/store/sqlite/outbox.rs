//! The outbox on SQLite. Claiming is one `UPDATE … RETURNING` over due, unleased rows, which
//! is atomic on SQLite (one writer).

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite as Db, Transaction};

use super::{Relaxed, Sqlite, CHUNK};
use crate::domain::{AppId, DeliveryId, Finish, HookId, Millis, Outcome};
use crate::store::outbox::{Claimed, Created, Lease, NewDelivery, NewEvent, StoredEvent};
use crate::store::rows::{claimed, ClaimedRow};
use crate::store::rows::{Stats, StepAdd};
use crate::store::StoreError;

/// The stored status of a delivery still to send.
const PENDING: &str = "pending";

/// An ingest commit: the transaction and this process's turn to write.
pub struct Ingest {
    tx: Transaction<'static, Db>,
    _gate: tokio::sync::OwnedMutexGuard<()>,
}

impl Ingest {
    pub async fn begin(db: &Sqlite) -> Result<Self, StoreError> {
        let gate = db.write_gate().await;
        Ok(Self {
            tx: db.writer.begin().await?,
            _gate: gate,
        })
    }

    pub async fn insert_events(
        &mut self,
        app_id: AppId,
        accepted_at: Millis,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, StoreError> {
        let mut inserted = Vec::with_capacity(events.len());
        for chunk in events.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO events (app_id, id, type, cid, payload, accepted_at, source) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(app_id.0)
                    .push_bind(e.id)
                    .push_bind(e.event_type)
                    .push_bind(e.cid)
                    .push_bind(e.payload)
                    .push_bind(accepted_at.0)
                    .push_bind(e.source.as_str());
            });
            q.push(" ON CONFLICT (app_id, id) DO NOTHING RETURNING id");
            let ids: Vec<(String,)> = q
                .build_query_as()
                .persistent(chunk.len() == CHUNK)
                .fetch_all(&mut *self.tx)
                .await?;
            inserted.extend(ids.into_iter().map(|(id,)| id));
        }
        Ok(inserted)
    }

    pub async fn hooks_versions(
        &mut self,
        app_ids: &[AppId],
    ) -> Result<HashMap<AppId, i64>, StoreError> {
        let mut q = QueryBuilder::<Db>::new("SELECT id, hooks_version FROM apps WHERE id IN (");
        let mut sep = q.separated(", ");
        for id in app_ids {
            sep.push_bind(id.0);
        }
        q.push(")");
        let rows: Vec<(i64, i64)> = q
            .build_query_as()
            .persistent(app_ids.len() == 1)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(|(id, v)| (AppId(id), v)).collect())
    }

    /// `(id, config JSON)` of the app's hooks, in order.
    pub async fn hook_configs(
        &mut self,
        app_id: AppId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, config FROM event_hooks WHERE app_id = ? ORDER BY position")
                .bind(app_id.0)
                .fetch_all(&mut *self.tx)
                .await?,
        )
    }

    pub async fn insert_deliveries(
        &mut self,
        now: Millis,
        lease: Option<Lease<'_>>,
        rows: &[NewDelivery<'_>],
    ) -> Result<Vec<Created>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        let owner = lease.map(|l| l.owner);
        let until = lease.map(|l| l.until.0);
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO deliveries (app_id, hook_id, hook_type, event_id, event_type, status, next_at, lease_until, lease_owner, accepted_at, size) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.app_id.0)
                    .push_bind(d.hook_id.as_str())
                    .push_bind(d.hook_type.as_str())
                    .push_bind(d.event_id)
                    .push_bind(d.event_type)
                    .push_bind(PENDING)
                    .push_bind(now.0)
                    .push_bind(until)
                    .push_bind(owner)
                    .push_bind(now.0)
                    .push_bind(d.size);
            });
            q.push(" RETURNING id, app_id, event_id, hook_id");
            let ids: Vec<(i64, i64, String, String)> = q
                .build_query_as()
                .persistent(chunk.len() == CHUNK)
                .fetch_all(&mut *self.tx)
                .await?;
            out.extend(
                ids.into_iter()
                    .map(|(id, app_id, event_id, hook_id)| Created {
                        id: DeliveryId(id),
                        app_id: AppId(app_id),
                        event_id,
                        hook_id: HookId::from(hook_id),
                    }),
            );
        }
        Ok(out)
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Sqlite {
    pub async fn claim(
        &self,
        lease: Lease<'_>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let _gate = self.write_gate().await;
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE deliveries SET lease_until = ?1, lease_owner = ?2
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE status = 'pending' AND next_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3)
                 ORDER BY next_at, id LIMIT ?4)
             RETURNING id, app_id, hook_id, hook_type, event_id, event_type, attempts,
                       COALESCE(pending_since, accepted_at) AS accepted_at",
        )
        .bind(lease.until.0)
        .bind(lease.owner)
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.writer)
        .await?;
        claimed(rows)
    }

    /// Index-only lookup of the next due time after `now`.
    pub async fn next_due_after(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT next_at FROM deliveries WHERE status = 'pending' AND next_at > ? ORDER BY next_at LIMIT 1",
        )
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(at.map(Millis))
    }

    pub async fn events(
        &self,
        app_id: AppId,
        event_ids: &[&str],
    ) -> Result<HashMap<String, StoredEvent>, StoreError> {
        let mut out = HashMap::with_capacity(event_ids.len());
        for chunk in event_ids.chunks(CHUNK) {
            let mut q =
                QueryBuilder::<Db>::new("SELECT id, cid, payload FROM events WHERE app_id = ");
            q.push_bind(app_id.0).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            let rows: Vec<(String, Option<String>, String)> = q
                .build_query_as()
                .persistent(chunk.len() == CHUNK)
                .fetch_all(&self.pool)
                .await?;
            out.extend(
                rows.into_iter()
                    .map(|(id, cid, payload)| (id, StoredEvent { cid, payload })),
            );
        }
        Ok(out)
    }

    /// Records outcomes on one connection switched to `synchronous=NORMAL` for the
    /// transaction (the next ingest commit flushes it). The connection goes back to the pool
    /// only once it is `FULL` again: if that cannot be done, or the call is cancelled or
    /// fails on the way, it is closed instead ([`Relaxed`]).
    pub async fn complete(
        &self,
        owner: &str,
        now: Millis,
        outcomes: &[Outcome],
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let mut conn = Relaxed(Some(self.writer.acquire().await?));
        let c = conn.0.as_mut().expect("held until restored");
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut **c)
            .await?;
        let result = record_outcomes(c, owner, now, outcomes).await;
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut **c)
            .await?;
        // FULL again: back to the pool
        conn.0.take();
        result
    }

    pub async fn renew(&self, lease: Lease<'_>, renew_before: Millis) -> Result<u64, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND status = 'pending' AND lease_until IS NOT NULL AND lease_until < ?",
        )
        .bind(lease.until.0)
        .bind(lease.owner)
        .bind(renew_before.0)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until = NULL WHERE lease_owner = ? AND status = 'pending' AND lease_until IS NOT NULL",
        )
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}

/// One wake-up's outcomes, in one transaction with the health steps they add to.
async fn record_outcomes(
    conn: &mut sqlx::SqliteConnection,
    owner: &str,
    now: Millis,
    outcomes: &[Outcome],
) -> Result<(), StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let mut stats: HashMap<(AppId, HookId), StepAdd> = HashMap::new();
    mark_delivered(&mut tx, owner, now, outcomes, &mut stats).await?;
    postpone(&mut tx, owner, outcomes).await?;
    record_failures(&mut tx, owner, now, outcomes, &mut stats).await?;
    super::stats::add(&mut tx, now, stats).await?;
    tx.commit().await?;
    Ok(())
}

/// The delivered ones, a few hundred per statement.
async fn mark_delivered(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    now: Millis,
    outcomes: &[Outcome],
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let delivered: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.finish == Finish::Delivered)
        .collect();
    for chunk in delivered.chunks(CHUNK) {
        let mut q = QueryBuilder::<Db>::new(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, done_at = ",
        );
        q.push_bind(now.0)
            .push(", latency_ms = ")
            .push_bind(now.0)
            .push(" - COALESCE(pending_since, accepted_at), lease_until = NULL, last_error = NULL WHERE status = 'pending' AND lease_owner = ")
            .push_bind(owner)
            .push(" AND id IN (");
        let mut sep = q.separated(", ");
        for o in chunk {
            sep.push_bind(o.id.0);
        }
        q.push(") RETURNING app_id, hook_id");
        let changed: Vec<(i64, String)> = q
            .build_query_as()
            .persistent(chunk.len() == CHUNK)
            .fetch_all(&mut **tx)
            .await?;
        for (app_id, hook_id) in changed {
            stats
                .entry((AppId(app_id), HookId::from(hook_id)))
                .or_default()
                .delivered += 1;
        }
    }
    Ok(())
}

/// The postponed ones: due again later, no attempt used, lease given up.
async fn postpone(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    outcomes: &[Outcome],
) -> Result<(), StoreError> {
    let mut postponed: HashMap<Millis, Vec<i64>> = HashMap::new();
    for o in outcomes {
        if let Finish::Postpone { next_at } = o.finish {
            postponed.entry(next_at).or_default().push(o.id.0);
        }
    }
    for (next_at, ids) in postponed {
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new("UPDATE deliveries SET next_at = ");
            q.push_bind(next_at.0)
                .push(", lease_until = NULL WHERE status = 'pending' AND lease_owner = ")
                .push_bind(owner)
                .push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build()
                .persistent(chunk.len() == CHUNK)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Retries, dead letters and drops, one statement each (each has its own error text).
async fn record_failures(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    now: Millis,
    outcomes: &[Outcome],
    stats: &mut Stats,
) -> Result<(), StoreError> {
    for o in outcomes {
        let (q, error, failed) = match &o.finish {
            Finish::Delivered | Finish::Postpone { .. } => continue,
            Finish::Retry { next_at, error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(next_at.0),
                error,
                false,
            ),
            Finish::Failed { error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, done_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(now.0),
                error,
                true,
            ),
            Finish::Dropped { error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET status = 'dropped', done_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(now.0),
                error,
                true,
            ),
        };
        let changed: Option<(i64, String)> = q
            .bind(error)
            .bind(o.size)
            .bind(o.id.0)
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some((app_id, hook_id)) = changed {
            let step = stats
                .entry((AppId(app_id), HookId::from(hook_id)))
                .or_default();
            step.failed += i64::from(failed);
            step.last_error = Some(error.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::domain::HookType;

    /// Cut short at any point (here: after 0 to 3 ms), `complete` never leaves the writer
    /// connection at `synchronous=NORMAL`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_completion_never_returns_a_relaxed_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let db = Sqlite::connect(&url).await.unwrap();
        let outcomes = [Outcome {
            id: DeliveryId(1),
            hook_type: HookType::Webhook,
            accepted_at: Millis(0),
            finish: Finish::Delivered,
            size: None,
        }];
        for step in 0..60u64 {
            let mut call = Box::pin(db.complete("me", Millis(1), &outcomes));
            let deadline = Instant::now() + Duration::from_micros(50 * step);
            let cut = async {
                while Instant::now() < deadline {
                    tokio::task::yield_now().await;
                }
            };
            tokio::select! {
                biased;
                done = &mut call => done.unwrap(),
                () = cut => {}
            }
            // dropped mid-way, whatever it holds is released now: the writer connection it
            // used is back at FULL, or was closed (and the next one opens at FULL)
            drop(call);
            let mut conn = db.writer.acquire().await.unwrap();
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(
                level, 2,
                "the writer at synchronous={level} after a cut at step {step}"
            );
        }
    }
}
