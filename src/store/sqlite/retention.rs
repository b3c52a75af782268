//! Retention on SQLite.

use super::{Relaxed, Sqlite};
use crate::domain::Millis;
use crate::store::retention::{Pruned, Seed, SEED_CHUNK};
use crate::store::stats::step_of;
use crate::store::StoreError;

/// Rows deleted per batch: an ingest commit waits for one batch at most (a few
/// milliseconds). Measured with `hookrelay-bench --prune-only` on 2 cores: 2,000 rows per
/// batch doubled the p99 of a concurrent single-event ingest, 500 kept it near the figure
/// without pruning; a million rows take about 20 s.
const BATCH: i64 = 500;

/// The next events accepted before `?3`, in (accepted_at, rowid) order after the cursor
/// (`?1`, `?2`): both arms seek `events_accepted` (a row-value comparison would not seek past
/// the rows sharing `?1`, and a batch of 1,000 events shares its `accepted_at`).
const EVENTS_AFTER: &str =
    "SELECT accepted_at, rowid FROM events WHERE accepted_at = ?1 AND rowid > ?2
     UNION ALL
     SELECT accepted_at, rowid FROM events WHERE accepted_at > ?1 AND accepted_at < ?3
     ORDER BY 1, 2";

impl Sqlite {
    pub async fn prune(&self, before: Millis) -> Result<Pruned, StoreError> {
        self.prune_in_batches(before, BATCH).await
    }

    /// Each batch takes the write gate, deletes at most `batch` rows found through an index,
    /// and gives the gate back: a writer waiting for it (the gate is fair) goes next.
    ///
    /// The batches run on one connection switched to `synchronous=NORMAL`: a batch's commit
    /// is not flushed on its own (the next ingest commit flushes it; a deletion lost in a crash
    /// is redone by the next prune). The connection goes back to the pool only once it is
    /// `FULL` again; if that cannot be done, or the prune fails or is cancelled (at shutdown),
    /// it is closed instead ([`Relaxed`]).
    pub(crate) async fn prune_in_batches(
        &self,
        before: Millis,
        batch: i64,
    ) -> Result<Pruned, StoreError> {
        let mut conn = Relaxed(Some(self.pool.acquire().await?));
        let c = conn.0.as_mut().expect("held until restored");
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut **c)
            .await?;
        let result = self.prune_on(c, before, batch).await;
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut **c)
            .await?;
        // FULL again: back to the pool
        conn.0.take();
        result
    }

    async fn prune_on(
        &self,
        conn: &mut sqlx::SqliteConnection,
        before: Millis,
        batch: i64,
    ) -> Result<Pruned, StoreError> {
        let mut deliveries = 0;
        loop {
            let n = {
                let _gate = self.write_gate().await;
                sqlx::query(
                    "DELETE FROM deliveries WHERE id IN
                       (SELECT id FROM deliveries WHERE status != 'pending' AND done_at < ?1
                        ORDER BY done_at LIMIT ?2)",
                )
                .bind(before.0)
                .bind(batch)
                .execute(&mut *conn)
                .await?
                .rows_affected()
            };
            deliveries += n;
            if n < batch as u64 {
                break;
            }
            tokio::task::yield_now().await;
        }
        // Events with a delivery left (pending) stay; the cursor walks past them, so they
        // are read once per prune, not once per batch.
        let mut events = 0;
        let mut cursor = (i64::MIN, i64::MIN);
        loop {
            let last: Option<(i64, i64)> =
                sqlx::query_as(&format!("{EVENTS_AFTER} LIMIT 1 OFFSET ?4"))
                    .bind(cursor.0)
                    .bind(cursor.1)
                    .bind(before.0)
                    .bind(batch - 1)
                    .fetch_optional(&mut *conn)
                    .await?;
            {
                let _gate = self.write_gate().await;
                events += sqlx::query(&format!(
                    "DELETE FROM events WHERE rowid IN
                       (SELECT rowid FROM ({EVENTS_AFTER} LIMIT ?4))
                     AND NOT EXISTS (SELECT 1 FROM deliveries d
                                     WHERE d.app_id = events.app_id AND d.event_id = events.id)"
                ))
                .bind(cursor.0)
                .bind(cursor.1)
                .bind(before.0)
                .bind(batch)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            match last {
                Some(last) => cursor = last,
                None => break,
            }
            tokio::task::yield_now().await;
        }
        loop {
            let n = {
                let _gate = self.write_gate().await;
                sqlx::query(
                    "DELETE FROM hook_stats WHERE rowid IN
                       (SELECT rowid FROM hook_stats WHERE step < ?1 LIMIT ?2)",
                )
                .bind(step_of(before))
                .bind(batch)
                .execute(&mut *conn)
                .await?
                .rows_affected()
            };
            if n < batch as u64 {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(Pruned { deliveries, events })
    }

    /// See [`crate::store::Store::seed_finished_deliveries`]: one transaction per chunk.
    pub async fn seed_finished_deliveries(&self, seed: &Seed<'_>) -> Result<(), StoreError> {
        let n = i64::try_from(seed.n).unwrap_or(i64::MAX);
        let chunk = SEED_CHUNK as i64;
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            let _gate = self.write_gate().await;
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
                 INSERT INTO events (app_id, id, type, cid, payload, accepted_at)
                 SELECT ?3, ?4 || i, 'message.new', 'messaging:general', ?5, ?6 FROM s",
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
                "WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
                 INSERT INTO deliveries (app_id, hook_id, hook_type, event_id, event_type, status,
                                         attempts, next_at, size, accepted_at, done_at, latency_ms)
                 SELECT ?3, ?4, 'webhook', ?5 || i, 'message.new', 'delivered',
                        1, ?6, ?7, ?6, ?6, 0 FROM s",
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::domain::{AppId, HookId, HookType, Millis};
    use crate::secrets::MasterKey;
    use crate::store::retention::{Pruned, Seed};
    use crate::store::{AppName, Backend, NewDelivery, NewEvent, Store};

    const DAY: i64 = 86_400_000;

    async fn store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        Store::connect(&url, MasterKey::from_hex(&"ab".repeat(32)).unwrap())
            .await
            .unwrap()
    }

    fn sqlite(store: &Store) -> &super::Sqlite {
        match &store.backend {
            Backend::Sqlite(b) => b,
            Backend::Postgres(_) => unreachable!("a sqlite:// store"),
        }
    }

    async fn new_app(store: &Store) -> AppId {
        let name = AppName::parse("Prune").unwrap();
        store.create_app(&name).await.unwrap().app.id
    }

    async fn seed(store: &Store, app_id: AppId, prefix: &str, n: u64, at: Millis) {
        let hook_id = HookId::from("h1");
        let seed = Seed {
            app_id,
            hook_id: &hook_id,
            prefix,
            n,
            at,
            payload: r#"{"type":"message.new"}"#,
        };
        store.seed_finished_deliveries(&seed).await.unwrap();
    }

    /// Stores events `ids` accepted at `at`, each with a pending delivery when `pending`.
    async fn ingest(store: &Store, app_id: AppId, ids: &[&str], at: Millis, pending: bool) {
        let hook_id = HookId::from("h1");
        let mut tx = store.begin_ingest().await.unwrap();
        let events: Vec<NewEvent> = ids
            .iter()
            .map(|id| NewEvent {
                id,
                event_type: "message.new",
                cid: None,
                payload: r#"{"type":"message.new"}"#,
                source: crate::domain::EventSource::Api,
            })
            .collect();
        let fresh = tx.insert_events(app_id, at, &events).await.unwrap();
        assert_eq!(fresh.len(), ids.len());
        if pending {
            let rows: Vec<NewDelivery> = fresh
                .iter()
                .map(|id| NewDelivery {
                    app_id,
                    hook_id: &hook_id,
                    hook_type: HookType::Webhook,
                    event_id: id,
                    event_type: "message.new",
                    size: 22,
                })
                .collect();
            tx.insert_deliveries(at, None, &rows).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// Finished deliveries done before `before`.
    async fn finished_before(store: &Store, before: Millis) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE status != 'pending' AND done_at < ?",
        )
        .bind(before.0)
        .fetch_one(&sqlite(store).pool)
        .await
        .unwrap()
    }

    async fn counts(store: &Store) -> (i64, i64) {
        let pool = &sqlite(store).pool;
        let d = sqlx::query_scalar("SELECT count(*) FROM deliveries")
            .fetch_one(pool)
            .await
            .unwrap();
        let e = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap();
        (d, e)
    }

    #[tokio::test]
    async fn prune_deletes_across_many_batches_and_keeps_what_is_pending_or_recent() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let app = new_app(&store).await;
        let now = Millis::now();
        let old = Millis(now.0 - 3 * DAY);
        let before = Millis(now.0 - DAY);
        // an orphan event before the old ones, 1,050 old finished deliveries (11 batches of
        // 100), then events sharing their accepted_at: one with a pending delivery (stays),
        // one without deliveries (goes)
        ingest(&store, app, &["orphan-first"], Millis(old.0 - 1), false).await;
        seed(&store, app, "old-", 1_050, old).await;
        ingest(&store, app, &["keep"], old, true).await;
        ingest(&store, app, &["orphan"], old, false).await;
        seed(&store, app, "new-", 3, now).await;
        ingest(&store, app, &["new-orphan"], now, false).await;
        assert_eq!(counts(&store).await, (1_054, 1_057));

        let pruned = sqlite(&store).prune_in_batches(before, 100).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                deliveries: 1_050,
                events: 1_052
            }
        );
        assert_eq!(counts(&store).await, (4, 5));
        let ids = [
            "keep",
            "new-0",
            "new-2",
            "new-orphan",
            "old-0",
            "old-1049",
            "orphan",
        ];
        let left = store.events(app, &ids).await.unwrap();
        let mut left: Vec<&str> = left.keys().map(String::as_str).collect();
        left.sort();
        assert_eq!(left, ["keep", "new-0", "new-2", "new-orphan"]);
        assert_eq!(
            sqlite(&store).prune_in_batches(before, 100).await.unwrap(),
            Pruned::default()
        );

        // the default batch size, through the store: more than two batches
        seed(&store, app, "more-", 2 * super::BATCH as u64 + 5, old).await;
        let pruned = store.prune(before).await.unwrap();
        let n = 2 * super::BATCH as u64 + 5;
        assert_eq!(
            pruned,
            Pruned {
                deliveries: n,
                events: n
            }
        );
        assert_eq!(counts(&store).await, (4, 5));
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ingest_commit_waits_for_one_batch_not_for_the_whole_prune() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let app = new_app(&store).await;
        let now = Millis::now();
        let before = Millis(now.0 - DAY);
        // 1,000 batches of 100
        let n = 100_000;
        seed(&store, app, "old-", n, Millis(now.0 - 3 * DAY)).await;

        let pruning = {
            let store = store.clone();
            tokio::spawn(async move { sqlite(&store).prune_in_batches(before, 100).await })
        };
        // once the prune has committed its first batch…
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while finished_before(&store, before).await == n as i64 {
            assert!(
                std::time::Instant::now() < deadline,
                "the prune never started"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // …an ingest commit gets the write path after one batch at most, with most of the
        // prune still to do (holding the gate over the whole prune, it would find none left)
        ingest(&store, app, &["fresh"], now, true).await;
        let left = finished_before(&store, before).await;
        assert!(
            left > 0,
            "the ingest commit waited for the whole prune ({n} rows)"
        );
        let pruned = pruning.await.unwrap().unwrap();
        assert_eq!(
            pruned,
            Pruned {
                deliveries: n,
                events: n
            }
        );
        assert_eq!(counts(&store).await, (1, 1));
        store.close().await;
    }
}
