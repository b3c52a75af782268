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
//!
//! One file per task:
//!
//! - [`router`]: groups incoming deliveries by hook and hands them to that hook's worker.
//! - [`worker`]: one per hook; batches, sends, applies the breaker and the retry decision.
//! - [`breaker`]: a hook's circuit breaker.
//! - [`retry`]: what a send result means for a delivery ([`decide`]).
//! - [`completer`]: records outcomes in the outbox, one transaction per wake-up.
//! - [`claimer`]: claims due deliveries from the database.
//! - [`leases`]: renews the leases of the deliveries in memory.
//! - [`pruner`]: removes old deliveries and events (retention).
//! - [`listener`]: wake-ups from and to other processes sharing the database.

mod breaker;
mod claimer;
mod completer;
mod leases;
mod listener;
mod pruner;
mod retry;
mod router;
mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use self::breaker::Breaker;
use super::event::Event;
use super::metrics::Metrics;
use super::registry::Registry;
use crate::config::DeliveryOpts;
use crate::domain::{AppId, DeliveryId, Finish, HookId, HookType, Millis, Outcome};
use crate::store::Store;

pub use self::retry::decide;

/// How long deliveries wait when they could not be tried (their hooks or payloads could not be
/// read, or their send task failed): they go back to the outbox, due again after this.
pub(super) const POSTPONE: Duration = Duration::from_secs(5);

/// A delivery on its way to a hook.
#[derive(Debug, Clone)]
pub struct Routed {
    pub id: DeliveryId,
    pub app_id: AppId,
    pub hook_id: HookId,
    pub hook_type: HookType,
    pub event: Event,
    /// Attempts made before this one.
    pub attempts: u32,
    pub accepted_at: Millis,
    /// The app's `hooks_version` the delivery was planned with (0 when unknown): the hook is
    /// looked up in that version or a newer one.
    pub hooks_version: i64,
}

pub struct Dispatcher {
    owner: String,
    opts: DeliveryOpts,
    db: Store,
    registry: Registry,
    metrics: Arc<Metrics>,
    in_flight: AtomicUsize,
    route_tx: mpsc::UnboundedSender<Vec<Routed>>,
    done_tx: mpsc::UnboundedSender<Vec<Outcome>>,
    wake: Notify,
    stopping: AtomicBool,
    breakers: Mutex<HashMap<(AppId, HookId), Breaker>>,
    /// When due deliveries were last announced to the other processes (unix ms).
    announced_at: AtomicI64,
    /// An announcement is scheduled.
    announce_pending: AtomicBool,
}

impl Dispatcher {
    /// Starts the router, the completer, the claimer and the pruner.
    pub fn start(
        db: Store,
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
            announced_at: AtomicI64::new(0),
            announce_pending: AtomicBool::new(false),
        });
        tokio::spawn(this.clone().route(route_rx));
        tokio::spawn(this.clone().complete(done_rx));
        tokio::spawn(this.clone().claim_loop());
        tokio::spawn(this.clone().prune_loop());
        tokio::spawn(this.clone().renew_loop());
        tokio::spawn(this.clone().listen_loop());
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
        match self.db.release(&self.owner).await {
            Ok(released) => {
                // the others may send them now
                if released > 0 {
                    let _ = self.db.announce_due().await;
                }
                tracing::info!(unfinished = left, released, "delivery stopped")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not release leases; they run out by themselves")
            }
        }
    }
}

fn done(r: &Routed, finish: Finish) -> Outcome {
    Outcome {
        id: r.id,
        hook_type: r.hook_type,
        accepted_at: r.accepted_at,
        finish,
        size: None,
    }
}
