//! The outbox on PostgreSQL. Batches travel as arrays (`UNNEST`, `= ANY`): one statement per
//! batch, whatever its size. Claiming locks the rows it takes with `FOR UPDATE SKIP LOCKED`,
//! so processes claiming at the same moment take disjoint rows without waiting on each other.

use std::collections::HashMap;

use sqlx::{Postgres as Db, Transaction};

use super::stats::{Stats, StepAdd};
use super::{Postgres, BATCH};
use crate::domain::{AppId, DeliveryId, Finish, HookId, Millis, Outcome};
use crate::store::outbox::{Claimed, Created, Lease, NewDelivery, NewEvent, StoredEvent};
use crate::store::rows::{claimed, ClaimedRow};
use crate::store::StoreError;

/// An ingest commit: one transaction (PostgreSQL has many writers: there is no turn to wait
/// for).
pub struct Ingest {
    tx: Transaction<'static, Db>,
}

impl Ingest {
    pub async fn begin(db: &Postgres) -> Result<Self, StoreError> {
        Ok(Self {
            tx: db.pool.begin().await?,
        })
    }

    pub async fn insert_events(
        &mut self,
        app_id: AppId,
        accepted_at: Millis,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, StoreError> {
        let mut inserted = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH) {
            let ids: Vec<&str> = chunk.iter().map(|e| e.id).collect();
            let types: Vec<&str> = chunk.iter().map(|e| e.event_type).collect();
            let cids: Vec<Option<&str>> = chunk.iter().map(|e| e.cid).collect();
            let payloads: Vec<&str> = chunk.iter().map(|e| e.payload).collect();
            let sources: Vec<&str> = chunk.iter().map(|e| e.source.as_str()).collect();
            let new: Vec<String> = sqlx::query_scalar(
                "INSERT INTO events (app_id, id, type, cid, payload, accepted_at, source)
                 SELECT $1, u.id, u.type, u.cid, u.payload, $2, u.source
                 FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                   AS u (id, type, cid, payload, source)
                 ON CONFLICT (app_id, id) DO NOTHING RETURNING id",
            )
            .bind(app_id.0)
            .bind(accepted_at.0)
            .bind(ids)
            .bind(types)
            .bind(cids)
            .bind(payloads)
            .bind(sources)
            .fetch_all(&mut *self.tx)
            .await?;
            inserted.extend(new);
        }
        Ok(inserted)
    }

    /// Every group's events in one statement per [`BATCH`] rows; the new ids per group.
    pub async fn insert_event_groups(
        &mut self,
        accepted_at: Millis,
        groups: &[(AppId, Vec<NewEvent<'_>>)],
    ) -> Result<Vec<Vec<String>>, StoreError> {
        // (group index, event) in order; an id may appear in several groups of one app (two
        // requests resending it): the first is stored, the others are duplicates
        let rows: Vec<(usize, AppId, &NewEvent<'_>)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (app, events))| events.iter().map(move |e| (g, *app, e)))
            .collect();
        let mut new: std::collections::HashSet<(i64, String)> = std::collections::HashSet::new();
        for chunk in rows.chunks(BATCH) {
            let apps: Vec<i64> = chunk.iter().map(|r| r.1 .0).collect();
            let ids: Vec<&str> = chunk.iter().map(|r| r.2.id).collect();
            let types: Vec<&str> = chunk.iter().map(|r| r.2.event_type).collect();
            let cids: Vec<Option<&str>> = chunk.iter().map(|r| r.2.cid).collect();
            let payloads: Vec<&str> = chunk.iter().map(|r| r.2.payload).collect();
            let sources: Vec<&str> = chunk.iter().map(|r| r.2.source.as_str()).collect();
            let inserted: Vec<(i64, String)> = sqlx::query_as(
                "INSERT INTO events (app_id, id, type, cid, payload, accepted_at, source)
                 SELECT u.app_id, u.id, u.type, u.cid, u.payload, $1, u.source
                 FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                   AS u (app_id, id, type, cid, payload, source)
                 ON CONFLICT (app_id, id) DO NOTHING RETURNING app_id, id",
            )
            .bind(accepted_at.0)
            .bind(apps)
            .bind(ids)
            .bind(types)
            .bind(cids)
            .bind(payloads)
            .bind(sources)
            .fetch_all(&mut *self.tx)
            .await?;
            new.extend(inserted);
        }
        // each new id goes to the first group that sent it
        let mut out: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
        for (g, app, e) in rows {
            if new.remove(&(app.0, e.id.to_string())) {
                out[g].push(e.id.to_string());
            }
        }
        Ok(out)
    }

    /// Reads the versions `FOR SHARE`: a hook change (which updates the app row first) cannot
    /// commit between this read and the ingest commit, and a change in progress is waited
    /// for — the ordering SQLite's single writer gives.
    pub async fn hooks_versions(
        &mut self,
        app_ids: &[AppId],
    ) -> Result<HashMap<AppId, i64>, StoreError> {
        let ids: Vec<i64> = app_ids.iter().map(|id| id.0).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, hooks_version FROM apps WHERE id = ANY($1) ORDER BY id FOR SHARE",
        )
        .bind(ids)
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
            sqlx::query_as(
                "SELECT id, config FROM event_hooks WHERE app_id = $1 ORDER BY position",
            )
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
        for chunk in rows.chunks(BATCH) {
            let app_ids: Vec<i64> = chunk.iter().map(|d| d.app_id.0).collect();
            let hook_ids: Vec<&str> = chunk.iter().map(|d| d.hook_id.as_str()).collect();
            let hook_types: Vec<&str> = chunk.iter().map(|d| d.hook_type.as_str()).collect();
            let event_ids: Vec<&str> = chunk.iter().map(|d| d.event_id).collect();
            let event_types: Vec<&str> = chunk.iter().map(|d| d.event_type).collect();
            let sizes: Vec<i64> = chunk.iter().map(|d| d.size).collect();
            let ids: Vec<(i64, i64, String, String)> = sqlx::query_as(
                "INSERT INTO deliveries (app_id, hook_id, hook_type, event_id, event_type, status, next_at, lease_until, lease_owner, accepted_at, size)
                 SELECT u.app_id, u.hook_id, u.hook_type, u.event_id, u.event_type, 'pending', $1, $2, $3, $1, u.size
                 FROM UNNEST($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
                   AS u (app_id, hook_id, hook_type, event_id, event_type, size)
                 RETURNING id, app_id, event_id, hook_id",
            )
            .bind(now.0)
            .bind(until)
            .bind(owner)
            .bind(app_ids)
            .bind(hook_ids)
            .bind(hook_types)
            .bind(event_ids)
            .bind(event_types)
            .bind(sizes)
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

impl Postgres {
    pub async fn claim(
        &self,
        lease: Lease<'_>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE deliveries SET lease_until = $1, lease_owner = $2
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE status = 'pending' AND next_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY next_at, id LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, app_id, hook_id, hook_type, event_id, event_type, attempts,
                       COALESCE(pending_since, accepted_at) AS accepted_at",
        )
        .bind(lease.until.0)
        .bind(lease.owner)
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        claimed(rows)
    }

    /// Index-only lookup of the next due time after `now`.
    pub async fn next_due_after(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT next_at FROM deliveries WHERE status = 'pending' AND next_at > $1 ORDER BY next_at LIMIT 1",
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
        for chunk in event_ids.chunks(BATCH) {
            let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(
                "SELECT id, cid, payload FROM events WHERE app_id = $1 AND id = ANY($2)",
            )
            .bind(app_id.0)
            .bind(chunk)
            .fetch_all(&self.pool)
            .await?;
            out.extend(
                rows.into_iter()
                    .map(|(id, cid, payload)| (id, StoredEvent { cid, payload })),
            );
        }
        Ok(out)
    }

    /// Records outcomes in one transaction with `synchronous_commit` off for it (the analogue
    /// of SQLite's `synchronous=NORMAL`: the commit returns before its WAL is flushed, which
    /// the next synchronous commit does). An outcome lost in a crash means a resend, never a
    /// lost event; ingest commits stay synchronous.
    pub async fn complete(
        &self,
        owner: &str,
        now: Millis,
        outcomes: &[Outcome],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let mut stats = Stats::new();
        mark_delivered(&mut tx, owner, now, outcomes, &mut stats).await?;
        postpone(&mut tx, owner, outcomes).await?;
        record_failures(&mut tx, owner, now, outcomes, &mut stats).await?;
        super::stats::add(&mut tx, now, stats).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn renew(&self, lease: Lease<'_>, renew_before: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE lease_owner = $2 AND status = 'pending' AND lease_until IS NOT NULL AND lease_until < $3",
        )
        .bind(lease.until.0)
        .bind(lease.owner)
        .bind(renew_before.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until = NULL WHERE lease_owner = $1 AND status = 'pending' AND lease_until IS NOT NULL",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The delivered ones, one statement per batch of ids.
async fn mark_delivered(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    now: Millis,
    outcomes: &[Outcome],
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let delivered: Vec<i64> = outcomes
        .iter()
        .filter(|o| o.finish == Finish::Delivered)
        .map(|o| o.id.0)
        .collect();
    for chunk in delivered.chunks(BATCH) {
        let changed: Vec<(i64, String)> = sqlx::query_as(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, done_at = $1,
                    latency_ms = $1 - COALESCE(pending_since, accepted_at), lease_until = NULL, last_error = NULL
             WHERE status = 'pending' AND lease_owner = $2 AND id = ANY($3)
             RETURNING app_id, hook_id",
        )
        .bind(now.0)
        .bind(owner)
        .bind(chunk)
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
    let (ids, next_ats): (Vec<i64>, Vec<i64>) = outcomes
        .iter()
        .filter_map(|o| match o.finish {
            Finish::Postpone { next_at } => Some((o.id.0, next_at.0)),
            _ => None,
        })
        .unzip();
    for (ids, next_ats) in ids.chunks(BATCH).zip(next_ats.chunks(BATCH)) {
        sqlx::query(
            "UPDATE deliveries d SET next_at = u.next_at, lease_until = NULL
             FROM UNNEST($1::bigint[], $2::bigint[]) AS u (id, next_at)
             WHERE d.id = u.id AND d.status = 'pending' AND d.lease_owner = $3",
        )
        .bind(ids)
        .bind(next_ats)
        .bind(owner)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a failure of one kind sets, from the row's `u.error`, `u.size` and `u.at` (the retry's
/// due time, or the time it was done).
const RETRY_SET: &str = "attempts = d.attempts + 1, next_at = u.at";
const FAILED_SET: &str = "status = 'failed', attempts = d.attempts + 1, done_at = u.at";
const DROPPED_SET: &str = "status = 'dropped', done_at = u.at";

/// The outcomes of one kind of failure, as the arrays bound for them (`ords`: their indexes
/// in the outcomes).
#[derive(Default)]
struct Failures {
    ids: Vec<i64>,
    ords: Vec<i64>,
    errors: Vec<String>,
    sizes: Vec<Option<i64>>,
    ats: Vec<i64>,
}

/// Retries, dead letters and drops: one statement per kind, each row with its own error text.
/// The health steps get the errors in the outcomes' order, as on SQLite (the last is the
/// newest).
async fn record_failures(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    now: Millis,
    outcomes: &[Outcome],
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let mut retry = Failures::default();
    let mut failed = Failures::default();
    let mut dropped = Failures::default();
    for (ord, o) in outcomes.iter().enumerate() {
        let (kind, error, at) = match &o.finish {
            Finish::Delivered | Finish::Postpone { .. } => continue,
            Finish::Retry { next_at, error } => (&mut retry, error, *next_at),
            Finish::Failed { error } => (&mut failed, error, now),
            Finish::Dropped { error } => (&mut dropped, error, now),
        };
        kind.ids.push(o.id.0);
        kind.ords.push(i64::try_from(ord).unwrap_or(i64::MAX));
        kind.errors.push(error.clone());
        kind.sizes.push(o.size);
        kind.ats.push(at.0);
    }
    // (outcome index, app, hook, counts as failed)
    let mut changed: Vec<(i64, i64, String, bool)> = Vec::new();
    for (set, kind, counts) in [
        (RETRY_SET, retry, false),
        (FAILED_SET, failed, true),
        (DROPPED_SET, dropped, true),
    ] {
        if kind.ids.is_empty() {
            continue;
        }
        let sql = format!(
            "UPDATE deliveries d SET {set}, last_error = u.error, size = COALESCE(u.size, d.size), lease_until = NULL
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS u (id, ord, error, size, at)
             WHERE d.id = u.id AND d.status = 'pending' AND d.lease_owner = $6
             RETURNING u.ord, d.app_id, d.hook_id"
        );
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(&sql)
            .bind(kind.ids)
            .bind(kind.ords)
            .bind(kind.errors)
            .bind(kind.sizes)
            .bind(kind.ats)
            .bind(owner)
            .fetch_all(&mut **tx)
            .await?;
        changed.extend(
            rows.into_iter()
                .map(|(ord, app_id, hook_id)| (ord, app_id, hook_id, counts)),
        );
    }
    changed.sort_by_key(|c| c.0);
    for (ord, app_id, hook_id, counts) in changed {
        let error = usize::try_from(ord)
            .ok()
            .and_then(|i| outcomes.get(i))
            .and_then(|o| o.finish.error());
        let step: &mut StepAdd = stats
            .entry((AppId(app_id), HookId::from(hook_id)))
            .or_default();
        step.failed += i64::from(counts);
        step.last_error = error.map(str::to_string);
    }
    Ok(())
}
