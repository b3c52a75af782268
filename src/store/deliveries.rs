//! The event log and the delivery outbox (migrations/0003_delivery.sql).
//!
//! Writes are batched: one multi-row statement per few hundred rows, so that a group commit
//! of thousands of events costs a handful of statements. Claiming is one `UPDATE … RETURNING`
//! over due, unleased rows, which is atomic on SQLite (one writer) and translates to
//! `FOR UPDATE SKIP LOCKED` on Postgres; several processes may share the database.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::{Db, StoreError};

/// Rows per multi-row statement (SQLite allows 32,766 bound parameters).
const CHUNK: usize = 400;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const DROPPED: &str = "dropped";

/// An event to store.
pub struct EventRow<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub cid: Option<&'a str>,
    pub payload: &'a str,
}

/// Stores the events of one app; returns the ids that were new (an id the app already sent
/// is ignored).
pub async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    app_id: i64,
    accepted_at: i64,
    events: &[EventRow<'_>],
) -> Result<Vec<String>, StoreError> {
    let mut inserted = Vec::with_capacity(events.len());
    for chunk in events.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (app_id, id, type, cid, payload, accepted_at) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(app_id)
                .push_bind(e.id)
                .push_bind(e.event_type)
                .push_bind(e.cid)
                .push_bind(e.payload)
                .push_bind(accepted_at);
        });
        q.push(" ON CONFLICT (app_id, id) DO NOTHING RETURNING id");
        let ids: Vec<(String,)> = q.build_query_as().fetch_all(&mut **tx).await?;
        inserted.extend(ids.into_iter().map(|(id,)| id));
    }
    Ok(inserted)
}

/// The `hooks_version` of each app (bumped by every hook change).
pub async fn hooks_versions(
    tx: &mut Transaction<'_, Sqlite>,
    app_ids: &[i64],
) -> Result<HashMap<i64, i64>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT id, hooks_version FROM apps WHERE id IN (");
    let mut sep = q.separated(", ");
    for id in app_ids {
        sep.push_bind(*id);
    }
    q.push(")");
    let rows: Vec<(i64, i64)> = q.build_query_as().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

/// The stored (canonical, secret-free) configuration of an app's hooks: `(id, config JSON)`.
pub async fn hook_configs(
    tx: &mut Transaction<'_, Sqlite>,
    app_id: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, config FROM event_hooks WHERE app_id = ? ORDER BY position")
            .bind(app_id)
            .fetch_all(&mut **tx)
            .await?,
    )
}

/// A delivery to create.
pub struct NewDelivery<'a> {
    pub app_id: i64,
    pub hook_id: &'a str,
    pub hook_type: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    /// Bytes of the event JSON.
    pub size: i64,
}

/// Creates deliveries, due now; with `lease`, already claimed by `(owner, until)`. Returns
/// `(delivery id, app id, event id, hook id)` of each.
pub async fn insert_deliveries(
    tx: &mut Transaction<'_, Sqlite>,
    now: i64,
    lease: Option<(&str, i64)>,
    rows: &[NewDelivery<'_>],
) -> Result<Vec<(i64, i64, String, String)>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    let (owner, until) = match lease {
        Some((owner, until)) => (Some(owner), Some(until)),
        None => (None, None),
    };
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO deliveries (app_id, hook_id, hook_type, event_id, event_type, status, next_at, lease_until, lease_owner, accepted_at, size) ",
        );
        q.push_values(chunk, |mut b, d| {
            b.push_bind(d.app_id)
                .push_bind(d.hook_id)
                .push_bind(d.hook_type)
                .push_bind(d.event_id)
                .push_bind(d.event_type)
                .push_bind(PENDING)
                .push_bind(now)
                .push_bind(until)
                .push_bind(owner)
                .push_bind(now)
                .push_bind(d.size);
        });
        q.push(" RETURNING id, app_id, event_id, hook_id");
        let ids: Vec<(i64, i64, String, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
        out.extend(ids);
    }
    Ok(out)
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub app_id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub accepted_at: i64,
}

/// Claims up to `limit` due deliveries whose lease is free or ran out, for `owner` until
/// `lease_until`. Oldest due first.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let _gate = super::write_gate().await;
    let mut rows: Vec<Claimed> = sqlx::query_as(
        "UPDATE deliveries SET lease_until = ?1, lease_owner = ?2
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status = 'pending' AND next_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3)
             ORDER BY next_at, id LIMIT ?4)
         RETURNING id, app_id, hook_id, hook_type, event_id, event_type, attempts, accepted_at",
    )
    .bind(lease_until)
    .bind(owner)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// When the next pending delivery is due (unix ms), if any.
pub async fn next_due(db: &Db) -> Result<Option<i64>, StoreError> {
    let (at,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(next_at) FROM deliveries WHERE status = 'pending'")
            .fetch_one(db)
            .await?;
    Ok(at)
}

/// The `(cid, payload)` of some events of one app, by id.
pub async fn payloads(
    db: &Db,
    app_id: i64,
    event_ids: &[&str],
) -> Result<HashMap<String, (Option<String>, String)>, StoreError> {
    let mut out = HashMap::with_capacity(event_ids.len());
    for chunk in event_ids.chunks(CHUNK) {
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT id, cid, payload FROM events WHERE app_id = ");
        q.push_bind(app_id).push(" AND id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(String, Option<String>, String)> = q.build_query_as().fetch_all(db).await?;
        out.extend(
            rows.into_iter()
                .map(|(id, cid, payload)| (id, (cid, payload))),
        );
    }
    Ok(out)
}

/// The outcome of one send, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    /// A transient failure: try again at `next_at`.
    Retry {
        next_at: i64,
        error: String,
    },
    /// Dead-lettered: permanent failure or no attempts left.
    Failed {
        error: String,
    },
    /// Not sendable (too big, hook gone or disabled).
    Dropped {
        error: String,
    },
    /// Not attempted (the hook's circuit breaker is open): wait until `next_at`.
    Postpone {
        next_at: i64,
    },
}

/// One delivery's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: i64,
    pub finish: Finish,
    pub size: Option<i64>,
}

/// Records outcomes in one transaction. Only rows still pending and leased by `owner` change,
/// so a process whose lease ran out cannot overwrite the outcome of the one that took over.
///
/// The commit is not flushed to disk on its own (`synchronous=NORMAL` for this transaction):
/// the next ingest commit flushes it, and an outcome lost in a crash only means the delivery
/// is sent again (at least once), never that an accepted event is lost.
pub async fn complete(
    db: &Db,
    owner: &str,
    now: i64,
    outcomes: &[Outcome],
) -> Result<(), StoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let _gate = super::write_gate().await;
    let mut conn = db.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    let result = record_outcomes(&mut conn, owner, now, outcomes).await;
    // back to the pool's durable default whatever happened
    sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await?;
    result
}

async fn record_outcomes(
    conn: &mut sqlx::SqliteConnection,
    owner: &str,
    now: i64,
    outcomes: &[Outcome],
) -> Result<(), StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let mut stats: HashMap<(i64, String), StepStats> = HashMap::new();
    let delivered: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.finish == Finish::Delivered)
        .collect();
    for chunk in delivered.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, done_at = ",
        );
        q.push_bind(now)
            .push(", latency_ms = ")
            .push_bind(now)
            .push(" - accepted_at, lease_until = NULL, last_error = NULL WHERE status = 'pending' AND lease_owner = ")
            .push_bind(owner)
            .push(" AND id IN (");
        let mut sep = q.separated(", ");
        for o in chunk {
            sep.push_bind(o.id);
        }
        q.push(") RETURNING app_id, hook_id");
        let changed: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (app_id, hook_id) in changed {
            stats.entry((app_id, hook_id)).or_default().delivered += 1;
        }
    }
    let mut postponed: HashMap<i64, Vec<i64>> = HashMap::new();
    for o in outcomes {
        if let Finish::Postpone { next_at } = o.finish {
            postponed.entry(next_at).or_default().push(o.id);
        }
    }
    for (next_at, ids) in postponed {
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET next_at = ");
            q.push_bind(next_at)
                .push(", lease_until = NULL WHERE status = 'pending' AND lease_owner = ")
                .push_bind(owner)
                .push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
    }
    for o in outcomes {
        let (q, error, failed) = match &o.finish {
            Finish::Delivered | Finish::Postpone { .. } => continue,
            Finish::Retry { next_at, error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(next_at),
                error,
                false,
            ),
            Finish::Failed { error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, done_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(now),
                error,
                true,
            ),
            Finish::Dropped { error } => (
                sqlx::query_as(
                    "UPDATE deliveries SET status = 'dropped', done_at = ?, last_error = ?, size = COALESCE(?, size), lease_until = NULL
                     WHERE id = ? AND status = 'pending' AND lease_owner = ? RETURNING app_id, hook_id",
                )
                .bind(now),
                error,
                true,
            ),
        };
        let changed: Option<(i64, String)> = q
            .bind(error)
            .bind(o.size)
            .bind(o.id)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(key) = changed {
            let step = stats.entry(key).or_default();
            step.failed += i64::from(failed);
            step.last_error = Some(error.clone());
        }
    }
    add_stats(&mut tx, now, stats).await?;
    tx.commit().await?;
    Ok(())
}

/// What one outcome transaction adds to a hook's current step.
#[derive(Debug, Default)]
struct StepStats {
    delivered: i64,
    failed: i64,
    last_error: Option<String>,
}

/// Length of one `hook_stats` step (5 minutes).
pub const STEP_MS: i64 = 300_000;

async fn add_stats(
    tx: &mut Transaction<'_, Sqlite>,
    now: i64,
    stats: HashMap<(i64, String), StepStats>,
) -> Result<(), StoreError> {
    for ((app_id, hook_id), add) in stats {
        let success = (add.delivered > 0).then_some(now);
        let error_at = add.last_error.as_ref().map(|_| now);
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
        .bind(app_id)
        .bind(hook_id)
        .bind(now.div_euclid(STEP_MS))
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

/// Extends `owner`'s leases that end before `renew_before` to `until`: a live process keeps
/// the deliveries it holds in memory (a slow hook's queue may take longer than one lease).
pub async fn renew(db: &Db, owner: &str, renew_before: i64, until: i64) -> Result<u64, StoreError> {
    let _gate = super::write_gate().await;
    let done = sqlx::query(
        "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND status = 'pending' AND lease_until IS NOT NULL AND lease_until < ?",
    )
    .bind(until)
    .bind(owner)
    .bind(renew_before)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Gives up `owner`'s leases (at shutdown), so that the next start sends them at once.
pub async fn release(db: &Db, owner: &str) -> Result<u64, StoreError> {
    let _gate = super::write_gate().await;
    let done = sqlx::query(
        "UPDATE deliveries SET lease_until = NULL WHERE lease_owner = ? AND status = 'pending' AND lease_until IS NOT NULL",
    )
    .bind(owner)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A filter for [`list`].
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub hook_id: Option<String>,
    pub event_id: Option<String>,
    /// pending, retrying, delivered, failed or dropped.
    pub status: Option<String>,
    /// Only deliveries with a smaller id (paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
    pub size: Option<i64>,
    pub accepted_at: i64,
    pub done_at: Option<i64>,
    pub latency_ms: Option<i64>,
    pub payload_preview: Option<String>,
}

/// The app's deliveries, newest first.
pub async fn list(
    db: &Db,
    app_id: i64,
    filter: &ListFilter,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT d.id, d.hook_id, d.hook_type, d.event_id, d.event_type, d.status, d.attempts, d.next_at, d.last_error, d.size, d.accepted_at, d.done_at, d.latency_ms,
                substr(e.payload, 1, 200) AS payload_preview
         FROM deliveries d LEFT JOIN events e ON e.app_id = d.app_id AND e.id = d.event_id
         WHERE d.app_id = ",
    );
    q.push_bind(app_id);
    if let Some(hook) = &filter.hook_id {
        q.push(" AND d.hook_id = ").push_bind(hook.clone());
    }
    if let Some(event) = &filter.event_id {
        q.push(" AND d.event_id = ").push_bind(event.clone());
    }
    match filter.status.as_deref() {
        Some("pending") => {
            q.push(" AND d.status = 'pending' AND d.attempts = 0");
        }
        Some("retrying") => {
            q.push(" AND d.status = 'pending' AND d.attempts > 0");
        }
        Some(s) => {
            q.push(" AND d.status = ").push_bind(s.to_string());
        }
        None => {}
    }
    if let Some(before) = filter.before {
        q.push(" AND d.id < ").push_bind(before);
    }
    q.push(" ORDER BY d.id DESC LIMIT ").push_bind(filter.limit);
    Ok(q.build_query_as().fetch_all(db).await?)
}

/// Makes deliveries of the app pending again, due now, with a fresh attempt count; returns
/// how many. Deliveries still pending are left as they are.
pub async fn redeliver_ids(db: &Db, app_id: i64, ids: &[i64], now: i64) -> Result<u64, StoreError> {
    let _gate = super::write_gate().await;
    let mut total = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ",
        );
        q.push_bind(now)
            .push(", lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL")
            .push(" WHERE status != 'pending' AND app_id = ")
            .push_bind(app_id)
            .push(" AND id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        q.push(")");
        total += q.build().execute(db).await?.rows_affected();
    }
    Ok(total)
}

/// Redelivers the failed and dropped deliveries of one hook accepted within `[since, until]`.
pub async fn redeliver_range(
    db: &Db,
    app_id: i64,
    hook_id: &str,
    since: i64,
    until: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let _gate = super::write_gate().await;
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ?1, lease_until = NULL, lease_owner = NULL, done_at = NULL, latency_ms = NULL
         WHERE app_id = ?2 AND hook_id = ?3 AND status IN ('failed', 'dropped') AND accepted_at BETWEEN ?4 AND ?5",
    )
    .bind(now)
    .bind(app_id)
    .bind(hook_id)
    .bind(since)
    .bind(until)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// One hook's recent health, for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookHealth {
    pub hook_id: String,
    /// Delivered in the window.
    pub delivered: i64,
    /// Failed or dropped in the window.
    pub failed: i64,
    /// Still to send (first attempt or retrying), counted up to `PENDING_COUNT_LIMIT`.
    pub pending: i64,
    /// When a delivery last succeeded in the window (unix ms).
    pub last_success: Option<i64>,
    /// The newest error (a retry, failure or drop) in the window.
    pub last_error: Option<String>,
    /// Delivered and failed (or dropped) per step, oldest first; the last is the current step.
    pub steps: Vec<(i64, i64)>,
}

/// The dashboard counts pending deliveries up to this many per app (then shows "10,000+").
pub const PENDING_COUNT_LIMIT: i64 = 10_000;

/// Every hook of `app_id` with outcomes in the last `steps` steps (of `STEP_MS`, the current
/// one included) or deliveries pending. Reads the few `hook_stats` rows of that window, and
/// the pending deliveries through `deliveries_due`, at most `PENDING_COUNT_LIMIT` + 1 of them.
pub async fn hook_health(
    db: &Db,
    app_id: i64,
    now: i64,
    steps: usize,
) -> Result<Vec<HookHealth>, StoreError> {
    let current = now.div_euclid(STEP_MS);
    let first = current + 1 - i64::try_from(steps).unwrap_or(i64::MAX);
    // One read for both parts (a query is a round trip to the connection's thread): the
    // hour's stats (kind 0, oldest step first) and the pending count per hook (kind 1, the
    // count in `step`), counted from the due index up to PENDING_COUNT_LIMIT + 1.
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
    .bind(app_id)
    .bind(first)
    .bind(PENDING_COUNT_LIMIT + 1)
    .fetch_all(db)
    .await?;
    let (stat_rows, pending_rows): (Vec<Row>, Vec<Row>) =
        rows.into_iter().partition(|row| row.0 == 0);
    let rows: Vec<_> = stat_rows
        .into_iter()
        .map(|(_, hook, step, delivered, failed, success, error, at)| {
            (
                hook,
                step,
                delivered.unwrap_or(0),
                failed.unwrap_or(0),
                success,
                error,
                at,
            )
        })
        .collect();
    let pending: Vec<(String, i64)> = pending_rows
        .into_iter()
        .map(|(_, hook, count, ..)| (hook, count))
        .collect();

    let mut out: Vec<HookHealth> = Vec::new();
    let mut entry = |hook_id: String| -> usize {
        match out.iter().position(|h| h.hook_id == hook_id) {
            Some(i) => i,
            None => {
                out.push(HookHealth {
                    hook_id,
                    steps: vec![(0, 0); steps],
                    ..HookHealth::default()
                });
                out.len() - 1
            }
        }
    };
    let mut indexes = Vec::with_capacity(rows.len() + pending.len());
    for (hook_id, ..) in &rows {
        indexes.push(entry(hook_id.clone()));
    }
    for (hook_id, _) in &pending {
        indexes.push(entry(hook_id.clone()));
    }
    let stat_rows = rows.len();
    let mut error_at: HashMap<usize, i64> = HashMap::new();
    for ((_, step, delivered, failed, success, error, at), &i) in rows.into_iter().zip(&indexes) {
        let h = &mut out[i];
        h.delivered += delivered;
        h.failed += failed;
        h.last_success = h.last_success.max(success);
        if let Some(slot) = usize::try_from(step - first)
            .ok()
            .and_then(|k| h.steps.get_mut(k))
        {
            slot.0 += delivered;
            slot.1 += failed;
        }
        // rows come oldest step first: a later one has the newer error
        if let (Some(error), Some(at)) = (error, at) {
            if error_at.get(&i).is_none_or(|seen| at >= *seen) {
                error_at.insert(i, at);
                h.last_error = Some(error);
            }
        }
    }
    for ((_, count), &i) in pending.into_iter().zip(&indexes[stat_rows..]) {
        out[i].pending = count;
    }
    Ok(out)
}

/// Pending deliveries per app.
pub async fn backlog(db: &Db) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT app_id, COUNT(*) FROM deliveries WHERE status = 'pending' GROUP BY app_id ORDER BY app_id",
    )
    .fetch_all(db)
    .await?)
}

/// Deletes finished deliveries done before `before` and events left without deliveries that
/// were accepted before it; returns (deliveries, events) deleted.
pub async fn prune(db: &Db, before: i64) -> Result<(u64, u64), StoreError> {
    let _gate = super::write_gate().await;
    let d = sqlx::query("DELETE FROM deliveries WHERE status != 'pending' AND done_at < ?")
        .bind(before)
        .execute(db)
        .await?
        .rows_affected();
    let e = sqlx::query(
        "DELETE FROM events WHERE accepted_at < ? AND NOT EXISTS
           (SELECT 1 FROM deliveries d WHERE d.app_id = events.app_id AND d.event_id = events.id)",
    )
    .bind(before)
    .execute(db)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM hook_stats WHERE step < ?")
        .bind(before.div_euclid(STEP_MS))
        .execute(db)
        .await?;
    Ok((d, e))
}
