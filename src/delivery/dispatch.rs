//! The dispatcher: sends pending deliveries and records what happened.
//!
//! ```text
//! ingest (fresh, already leased) ─┐
//!                                 ├─► router ─► one worker per hook ─► completer ─► outbox
//! claimer (due retries, expired  ─┘      (batches, breaker, retries)   (one transaction
//!          leases, redeliveries)                                         per wake-up)
//! ```
//!
//! Every delivery in memory is leased in the database by this process (`owner`). If the
//! process dies, its leases run out and any process claims those deliveries again: a delivery
//! is sent at least once, never lost. The number of deliveries in memory is bounded
//! (`max_in_flight`); beyond it, new deliveries wait in the database for the claimer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::destinations::{Item, SendResult};
use super::event::Event;
use super::metrics::{Metrics, Outcome as Metric};
use super::registry::{Registry, RuntimeHook};
use crate::config::DeliveryOpts;
use crate::store::deliveries::{self as outbox, Finish, Outcome};
use crate::store::{now_millis, Db};

/// Most deliveries claimed from the database at once.
const CLAIM_BATCH: usize = 1000;

/// A delivery on its way to a hook.
#[derive(Debug, Clone)]
pub struct Routed {
    pub id: i64,
    pub app_id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event: Arc<Event>,
    /// Attempts made before this one.
    pub attempts: u32,
    pub accepted_at: i64,
    /// The app's `hooks_version` the delivery was planned with (0 when unknown): the hook is
    /// looked up in that version or a newer one.
    pub hooks_version: i64,
}

/// A delivery's outcome on its way to the database.
struct Done {
    id: i64,
    hook_type: String,
    accepted_at: i64,
    finish: Finish,
    size: Option<i64>,
}

/// A hook's circuit breaker: after `threshold` failed sends in a row, its deliveries wait
/// (without using attempts) for a cool-down that doubles, from 5 s up to 5 min, while the
/// failures go on. The first send after a cool-down is the probe; a success closes it.
#[derive(Debug, Default, Clone, Copy)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
}

const COOLDOWN_MIN: Duration = Duration::from_secs(5);
const COOLDOWN_MAX: Duration = Duration::from_secs(300);

impl Breaker {
    fn open_until(&self, now: Instant) -> Option<Instant> {
        self.open_until.filter(|until| *until > now)
    }

    fn success(&mut self) {
        *self = Breaker::default();
    }

    /// After a cool-down, while the breaker has not closed again: one send at a time (the
    /// probe).
    fn probing(&self, threshold: u32, now: Instant) -> bool {
        self.failures >= threshold && self.open_until(now).is_none()
    }

    fn failure(&mut self, threshold: u32, now: Instant) {
        self.failures += 1;
        // failures of sends that started before the breaker opened do not lengthen it: the
        // cool-down doubles once per failed probe
        if self.failures >= threshold && self.open_until(now).is_none() {
            self.cooldown = if self.cooldown.is_zero() {
                COOLDOWN_MIN
            } else {
                (self.cooldown * 2).min(COOLDOWN_MAX)
            };
            self.open_until = Some(now + self.cooldown);
        }
    }
}

pub struct Dispatcher {
    owner: String,
    opts: DeliveryOpts,
    db: Db,
    registry: Registry,
    metrics: Arc<Metrics>,
    in_flight: AtomicUsize,
    route_tx: mpsc::UnboundedSender<Vec<Routed>>,
    done_tx: mpsc::UnboundedSender<Vec<Done>>,
    wake: Notify,
    stopping: AtomicBool,
    breakers: Mutex<HashMap<(i64, String), Breaker>>,
}

impl Dispatcher {
    /// Starts the router, the completer, the claimer and the pruner.
    pub fn start(
        db: Db,
        registry: Registry,
        metrics: Arc<Metrics>,
        opts: DeliveryOpts,
    ) -> Arc<Self> {
        let (route_tx, route_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let this = Arc::new(Self {
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            opts,
            db,
            registry,
            metrics,
            in_flight: AtomicUsize::new(0),
            route_tx,
            done_tx,
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            breakers: Mutex::new(HashMap::new()),
        });
        tokio::spawn(this.clone().route(route_rx));
        tokio::spawn(this.clone().complete(done_rx));
        tokio::spawn(this.clone().claim_loop());
        tokio::spawn(this.clone().prune_loop());
        tokio::spawn(this.clone().renew_loop());
        this
    }

    /// This process's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn lease(&self) -> Duration {
        self.opts.lease
    }

    /// Reserves room for `n` deliveries in memory; `false` when that would pass
    /// `max_in_flight` (they then wait in the database for the claimer).
    pub fn reserve(&self, n: usize) -> bool {
        if self.stopping.load(Ordering::Relaxed) {
            return false;
        }
        let max = self.opts.max_in_flight;
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now + n <= max).then_some(now + n)
            })
            .is_ok()
    }

    /// Gives back room reserved with [`Dispatcher::reserve`] but not used.
    pub fn unreserve(&self, n: usize) {
        self.in_flight.fetch_sub(n, Ordering::AcqRel);
    }

    /// Hands over deliveries that are leased by this process and counted in flight.
    pub fn submit(&self, routed: Vec<Routed>) {
        if routed.is_empty() {
            return;
        }
        if let Err(e) = self.route_tx.send(routed) {
            // only at shutdown: the leases run out and the deliveries are claimed again
            self.in_flight.fetch_sub(e.0.len(), Ordering::AcqRel);
        }
    }

    /// Makes the claimer look at the database now (after a redelivery).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Stops claiming, waits up to `grace` for the deliveries in memory, then gives up this
    /// process's remaining leases so that the next start sends them at once.
    pub async fn stop(&self, grace: Duration) {
        self.stopping.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        let deadline = Instant::now() + grace;
        while self.in_flight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.in_flight();
        match outbox::release(&self.db, &self.owner).await {
            Ok(released) => {
                tracing::info!(unfinished = left, released, "delivery stopped")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not release leases; they run out by themselves")
            }
        }
    }

    // ---- router -------------------------------------------------------------------------

    async fn route(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<Routed>>) {
        type WorkerTx = mpsc::UnboundedSender<(Routed, Arc<RuntimeHook>)>;
        let mut workers: HashMap<(i64, String), WorkerTx> = HashMap::new();
        while let Some(batch) = rx.recv().await {
            let mut refused = Vec::new();
            let mut by_app: Vec<(i64, Vec<Routed>)> = Vec::new();
            for r in batch {
                match by_app.iter_mut().find(|(app, _)| *app == r.app_id) {
                    Some((_, list)) => list.push(r),
                    None => by_app.push((r.app_id, vec![r])),
                }
            }
            for (app_id, items) in by_app {
                let min_version = items.iter().map(|r| r.hooks_version).max().unwrap_or(0);
                let mut hooks = match self.registry.app(app_id, min_version, false).await {
                    Ok(hooks) => hooks,
                    Err(e) => {
                        tracing::error!(app_id, error = %e, "cannot load the app's hooks; deliveries wait");
                        let later = now_millis() + 5_000;
                        refused.extend(
                            items
                                .into_iter()
                                .map(|r| done(&r, Finish::Postpone { next_at: later })),
                        );
                        continue;
                    }
                };
                // a hook missing or disabled in a copy that may be stale: look again before
                // dropping anything
                let stale = items
                    .iter()
                    .any(|r| hooks.hooks.get(&r.hook_id).is_none_or(|h| !h.enabled));
                if stale {
                    match self.registry.app(app_id, min_version, true).await {
                        Ok(fresh) => hooks = fresh,
                        Err(e) => {
                            tracing::warn!(app_id, error = %e, "cannot re-read the app's hooks")
                        }
                    }
                }
                for r in items {
                    let hook = hooks.hooks.get(&r.hook_id);
                    let finish = match hook {
                        None => Some(Finish::Dropped {
                            error: "the hook was deleted before the event was delivered".into(),
                        }),
                        Some(h) if !h.enabled => Some(Finish::Dropped {
                            error: "the hook was disabled before the event was delivered".into(),
                        }),
                        Some(h) => match &h.destination {
                            Err(reason) => Some(Finish::Failed {
                                error: reason.clone(),
                            }),
                            Ok(_) => None,
                        },
                    };
                    if let Some(finish) = finish {
                        refused.push(done(&r, finish));
                        continue;
                    }
                    let hook = hook.expect("checked above").clone();
                    let key = (app_id, r.hook_id.clone());
                    let tx = workers
                        .entry(key.clone())
                        .or_insert_with(|| self.clone().spawn_worker(key.clone()));
                    if let Err(e) = tx.send((r, hook)) {
                        // the worker ended (it never should): start another
                        let tx = self.clone().spawn_worker(key.clone());
                        let _ = tx.send(e.0);
                        workers.insert(key, tx);
                    }
                }
            }
            if !refused.is_empty() {
                let _ = self.done_tx.send(refused);
            }
        }
    }

    fn spawn_worker(
        self: Arc<Self>,
        key: (i64, String),
    ) -> mpsc::UnboundedSender<(Routed, Arc<RuntimeHook>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(self.worker(key, rx));
        tx
    }

    // ---- one worker per hook ------------------------------------------------------------

    async fn worker(
        self: Arc<Self>,
        key: (i64, String),
        mut rx: mpsc::UnboundedReceiver<(Routed, Arc<RuntimeHook>)>,
    ) {
        let mut queue: std::collections::VecDeque<Routed> = std::collections::VecDeque::new();
        let mut hook: Option<Arc<RuntimeHook>> = None;
        let mut sending: JoinSet<(Vec<Routed>, Vec<SendResult>)> = JoinSet::new();
        // what each send task holds, to put back if it panics
        let mut batches: HashMap<tokio::task::Id, Vec<Routed>> = HashMap::new();
        let mut open = true;
        loop {
            if !open && queue.is_empty() && sending.is_empty() {
                return;
            }
            tokio::select! {
                received = rx.recv(), if open => match received {
                    Some((r, h)) => {
                        hook = Some(h);
                        queue.push_back(r);
                        while let Ok((r, h)) = rx.try_recv() {
                            hook = Some(h);
                            queue.push_back(r);
                        }
                    }
                    None => open = false,
                },
                Some(joined) = sending.join_next_with_id(), if !sending.is_empty() => {
                    match joined {
                        Ok((id, (items, results))) => {
                            batches.remove(&id);
                            self.finished(&key, items, results);
                        }
                        Err(e) => {
                            // a send that panicked: its deliveries go back to the outbox
                            tracing::error!(error = %e, "a send task failed; its deliveries are retried");
                            if let Some(lost) = batches.remove(&e.id()) {
                                let later = now_millis() + 5_000;
                                let _ = self.done_tx.send(
                                    lost.iter().map(|r| done(r, Finish::Postpone { next_at: later })).collect(),
                                );
                            }
                        }
                    }
                }
            }
            let Some(hook) = hook.clone() else { continue };
            let Ok(destination) = hook.destination.clone() else {
                continue;
            };
            let limits = destination.limits();
            let threshold = self.opts.breaker_threshold.max(1);
            loop {
                let now = Instant::now();
                let concurrency = if self.breaker(&key, |b| b.probing(threshold, now)) {
                    1
                } else {
                    limits.concurrency.max(1)
                };
                if queue.is_empty()
                    || sending.len() >= concurrency
                    || (limits.ordered && !sending.is_empty())
                {
                    break;
                }
                let open_until = self.breaker(&key, |b| b.open_until(now));
                if let Some(until) = open_until {
                    let next_at = now_millis() + until.duration_since(now).as_millis() as i64;
                    let waiting: Vec<Done> = queue
                        .drain(..)
                        .map(|r| done(&r, Finish::Postpone { next_at }))
                        .collect();
                    let _ = self.done_tx.send(waiting);
                    break;
                }
                let n = queue.len().min(limits.max_batch.max(1));
                let batch: Vec<Routed> = queue.drain(..n).collect();
                let destination = destination.clone();
                let held = batch.clone();
                let task = sending.spawn(async move {
                    let items: Vec<Item> = batch
                        .iter()
                        .map(|r| Item {
                            delivery_id: r.id,
                            event: r.event.clone(),
                            attempt: r.attempts + 1,
                        })
                        .collect();
                    let results = destination.deliver(&items).await;
                    (batch, results)
                });
                batches.insert(task.id(), held);
            }
        }
    }

    fn breaker<T>(&self, key: &(i64, String), f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(key.clone()).or_default())
    }

    /// Turns send results into outcomes: delivered, retry (per the schedule), failed (dead
    /// letter) or dropped; updates the hook's breaker.
    fn finished(&self, key: &(i64, String), items: Vec<Routed>, results: Vec<SendResult>) {
        let any_delivered = results.contains(&SendResult::Delivered);
        let any_transient = results
            .iter()
            .any(|r| matches!(r, SendResult::Transient(_)));
        let now = Instant::now();
        if any_delivered {
            self.breaker(key, Breaker::success);
        } else if any_transient {
            let threshold = self.opts.breaker_threshold.max(1);
            self.breaker(key, |b| b.failure(threshold, now));
        }
        let now_ms = now_millis();
        let outcomes: Vec<Done> = items
            .iter()
            .zip(
                results
                    .into_iter()
                    .chain(std::iter::repeat(SendResult::Transient(
                        "the destination gave no result".into(),
                    ))),
            )
            .map(|(r, result)| {
                let (finish, size) =
                    decide(&self.opts.retry_schedule.0, r.attempts, result, now_ms);
                Done {
                    size,
                    ..done(r, finish)
                }
            })
            .collect();
        let _ = self.done_tx.send(outcomes);
    }

    // ---- completer ----------------------------------------------------------------------

    async fn complete(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<Done>>) {
        while let Some(mut batch) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                batch.extend(more);
                if batch.len() >= 20_000 {
                    break;
                }
            }
            let now = now_millis();
            let outcomes: Vec<Outcome> = batch
                .iter()
                .map(|d| Outcome {
                    id: d.id,
                    finish: d.finish.clone(),
                    size: d.size,
                })
                .collect();
            self.metrics
                .outcome_commits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut tries = 0;
            while let Err(e) = outbox::complete(&self.db, &self.owner, now, &outcomes).await {
                tries += 1;
                tracing::error!(error = %e, tries, "cannot record delivery outcomes; retrying");
                if tries >= 30 {
                    // the leases run out and the deliveries are sent again: duplicates, not losses
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            for d in &batch {
                let metric = match &d.finish {
                    Finish::Delivered => {
                        self.metrics
                            .observe_latency(u64::try_from(now - d.accepted_at).unwrap_or(0));
                        Some(Metric::Delivered)
                    }
                    Finish::Retry { .. } => Some(Metric::Retried),
                    Finish::Failed { .. } => Some(Metric::Failed),
                    Finish::Dropped { .. } => Some(Metric::Dropped),
                    Finish::Postpone { .. } => None,
                };
                if let Some(metric) = metric {
                    self.metrics.count(&d.hook_type, metric, 1);
                }
            }
            self.in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
            if batch
                .iter()
                .any(|d| matches!(d.finish, Finish::Retry { .. } | Finish::Postpone { .. }))
            {
                self.wake.notify_one();
            }
        }
    }

    // ---- claimer ------------------------------------------------------------------------

    async fn claim_loop(self: Arc<Self>) {
        let lease_ms = i64::try_from(self.opts.lease.as_millis()).unwrap_or(i64::MAX / 4);
        loop {
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            let room = self.opts.max_in_flight.saturating_sub(self.in_flight());
            let limit = room.min(CLAIM_BATCH);
            let mut claimed = 0;
            if limit > 0 && self.reserve(limit) {
                let now = now_millis();
                match outbox::claim(&self.db, &self.owner, now, now + lease_ms, limit as i64).await
                {
                    Ok(rows) => {
                        claimed = rows.len();
                        self.unreserve(limit - claimed);
                        if claimed > 0 {
                            self.dispatch_claimed(rows).await;
                        }
                    }
                    Err(e) => {
                        self.unreserve(limit);
                        tracing::error!(error = %e, "cannot claim deliveries");
                    }
                }
            }
            if claimed == limit && limit > 0 {
                continue; // more may be due
            }
            let mut wait = self.opts.poll_interval;
            if let Ok(Some(next)) = next_due_after(&self.db, now_millis()).await {
                let until = Duration::from_millis(u64::try_from(next - now_millis()).unwrap_or(0));
                wait = wait.min(until.max(Duration::from_millis(5)));
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn dispatch_claimed(&self, rows: Vec<outbox::Claimed>) {
        let mut routed = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        let mut by_app: HashMap<i64, Vec<outbox::Claimed>> = HashMap::new();
        for row in rows {
            by_app.entry(row.app_id).or_default().push(row);
        }
        for (app_id, rows) in by_app {
            let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
            let payloads = match outbox::payloads(&self.db, app_id, &ids).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read event payloads; the deliveries wait");
                    let later = now_millis() + 5_000;
                    missing.extend(rows.iter().map(|row| Done {
                        id: row.id,
                        hook_type: row.hook_type.clone(),
                        accepted_at: row.accepted_at,
                        finish: Finish::Postpone { next_at: later },
                        size: None,
                    }));
                    continue;
                }
            };
            let mut events: HashMap<&str, Arc<Event>> = HashMap::new();
            for row in &rows {
                let Some((cid, json)) = payloads.get(&row.event_id) else {
                    missing.push(Done {
                        id: row.id,
                        hook_type: row.hook_type.clone(),
                        accepted_at: row.accepted_at,
                        finish: Finish::Failed {
                            error: "the event is no longer stored".into(),
                        },
                        size: None,
                    });
                    continue;
                };
                let event = events
                    .entry(row.event_id.as_str())
                    .or_insert_with(|| {
                        Arc::new(Event {
                            id: row.event_id.clone(),
                            event_type: row.event_type.clone(),
                            cid: cid.clone(),
                            json: json.as_str().into(),
                        })
                    })
                    .clone();
                routed.push(Routed {
                    id: row.id,
                    app_id,
                    hook_id: row.hook_id.clone(),
                    hook_type: row.hook_type.clone(),
                    event,
                    attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                    accepted_at: row.accepted_at,
                    hooks_version: 0,
                });
            }
        }
        routed.sort_by_key(|r| r.id);
        if !missing.is_empty() {
            let _ = self.done_tx.send(missing);
        }
        self.submit(routed);
    }

    // ---- lease renewal ------------------------------------------------------------------

    /// Every third of a lease, extends the leases of the deliveries this process still holds.
    async fn renew_loop(self: Arc<Self>) {
        let lease_ms = i64::try_from(self.opts.lease.as_millis()).unwrap_or(i64::MAX / 4);
        let mut tick = tokio::time::interval((self.opts.lease / 3).max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            if self.in_flight() == 0 {
                continue;
            }
            let now = now_millis();
            if let Err(e) =
                outbox::renew(&self.db, &self.owner, now + lease_ms / 2, now + lease_ms).await
            {
                tracing::warn!(error = %e, "cannot renew delivery leases");
            }
        }
    }

    // ---- pruner -------------------------------------------------------------------------

    async fn prune_loop(self: Arc<Self>) {
        let retention = i64::try_from(self.opts.retention.as_millis()).unwrap_or(i64::MAX / 4);
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            match outbox::prune(&self.db, now_millis() - retention).await {
                Ok((0, 0)) => {}
                Ok((deliveries, events)) => {
                    tracing::info!(deliveries, events, "pruned the delivery log")
                }
                Err(e) => tracing::warn!(error = %e, "pruning the delivery log failed"),
            }
        }
    }
}

fn done(r: &Routed, finish: Finish) -> Done {
    Done {
        id: r.id,
        hook_type: r.hook_type.clone(),
        accepted_at: r.accepted_at,
        finish,
        size: None,
    }
}

/// The next due time after `now` of a pending delivery (index-only lookup).
async fn next_due_after(db: &Db, now: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT next_at FROM deliveries WHERE status = 'pending' AND next_at > ? ORDER BY next_at LIMIT 1",
    )
    .bind(now)
    .fetch_optional(db)
    .await
}

/// What a send result means for a delivery that had `attempts` before this one: the outcome
/// to record and the size to note.
pub fn decide(
    schedule: &[Duration],
    attempts: u32,
    result: SendResult,
    now_ms: i64,
) -> (Finish, Option<i64>) {
    match result {
        SendResult::Delivered => (Finish::Delivered, None),
        SendResult::TooBig { size, limit } => (
            Finish::Dropped {
                error: format!(
                    "dropped: the message is {size} bytes, more than the {limit} bytes the destination accepts"
                ),
            },
            Some(size as i64),
        ),
        SendResult::Permanent(error) => (Finish::Failed { error }, None),
        SendResult::Transient(error) => {
            let made = attempts as usize + 1;
            match schedule.get(made - 1) {
                None => (
                    Finish::Failed {
                        error: format!("gave up after {made} attempts: {error}"),
                    },
                    None,
                ),
                Some(bound) => {
                    // full jitter: anywhere between now and the bound
                    let bound_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX / 4);
                    let wait = rand::thread_rng().gen_range(0..=bound_ms);
                    (
                        Finish::Retry {
                            next_at: now_ms + wait as i64,
                            error,
                        },
                        None,
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_dead_letter() {
        let schedule = [Duration::from_millis(100), Duration::from_secs(10)];
        let t = SendResult::Transient("HTTP 503".into());
        for _ in 0..50 {
            let (f, _) = decide(&schedule, 0, t.clone(), 1_000);
            let Finish::Retry { next_at, error } = f else {
                panic!("{f:?}")
            };
            assert!((1_000..=1_100).contains(&next_at));
            assert_eq!(error, "HTTP 503");
            let (f, _) = decide(&schedule, 1, t.clone(), 1_000);
            let Finish::Retry { next_at, .. } = f else {
                panic!()
            };
            assert!((1_000..=11_000).contains(&next_at));
        }
        let (f, _) = decide(&schedule, 2, t, 1_000);
        assert_eq!(
            f,
            Finish::Failed {
                error: "gave up after 3 attempts: HTTP 503".into()
            }
        );
    }

    #[test]
    fn permanent_fails_at_once_and_too_big_is_dropped_with_its_size() {
        let schedule = [Duration::from_secs(1)];
        let (f, _) = decide(&schedule, 0, SendResult::Permanent("HTTP 400".into()), 0);
        assert_eq!(
            f,
            Finish::Failed {
                error: "HTTP 400".into()
            }
        );
        let (f, size) = decide(
            &schedule,
            0,
            SendResult::TooBig {
                size: 300_000,
                limit: 262_144,
            },
            0,
        );
        assert!(matches!(f, Finish::Dropped { ref error } if error.contains("300000 bytes")));
        assert_eq!(size, Some(300_000));
    }

    #[test]
    fn the_breaker_opens_after_the_threshold_and_backs_off() {
        let mut b = Breaker::default();
        let now = Instant::now();
        for _ in 0..4 {
            b.failure(5, now);
        }
        assert!(b.open_until(now).is_none());
        b.failure(5, now);
        assert_eq!(b.open_until(now), Some(now + COOLDOWN_MIN));
        // failures of sends already under way when it opened do not lengthen the cool-down
        b.failure(5, now);
        b.failure(5, now);
        assert_eq!(b.open_until(now), Some(now + COOLDOWN_MIN));
        assert!(!b.probing(5, now));
        // after the cool-down: one probe at a time; a failed probe doubles the cool-down
        let later = now + COOLDOWN_MIN;
        assert!(b.probing(5, later));
        b.failure(5, later);
        assert_eq!(b.open_until(later), Some(later + COOLDOWN_MIN * 2));
        let mut t = later;
        for _ in 0..20 {
            t += COOLDOWN_MAX;
            b.failure(5, t);
        }
        assert_eq!(b.open_until(t), Some(t + COOLDOWN_MAX));
        assert!(b.open_until(t + COOLDOWN_MAX).is_none());
        b.success();
        assert!(b.open_until(t).is_none());
        assert!(!b.probing(5, t));
        assert_eq!(b.failures, 0);
    }
}
