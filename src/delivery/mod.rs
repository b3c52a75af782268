//! Delivery: ingest → outbox → dispatcher → destinations.
//!
//! - [`event`]: an accepted event, parsed at the edge.
//! - [`admission`]: the per-app backlog cap and the disk floor ingest checks first.
//! - [`ingest`]: group commit of events and their deliveries (the transactional outbox).
//! - [`fanout`]: which hooks an event goes to.
//! - [`dispatch`]: claims, batches, sends, retries with backoff and jitter, circuit breakers,
//!   dead letters, leases for crash recovery.
//! - [`destinations`]: one [`destinations::Destination`] per hook type.
//! - [`registry`]: the hooks of each app, built into destinations.
//! - [`metrics`]: counters for `GET /metrics`.

pub mod admission;
pub mod chime;
pub mod destinations;
pub mod dispatch;
pub mod event;
pub mod fanout;
pub mod ingest;
pub mod metrics;
pub mod registry;

use std::sync::Arc;
use std::time::Duration;

use crate::config::DeliveryOpts;
use crate::domain::{AppId, EventSource};
use crate::store::Store;

pub use event::{Event, EventError};
pub use ingest::{Accepted, IngestError};

/// The running delivery engine of this process.
pub struct Engine {
    admission: Arc<admission::Admission>,
    ingest: ingest::Ingest,
    dispatcher: Arc<dispatch::Dispatcher>,
    metrics: Arc<metrics::Metrics>,
}

impl Engine {
    /// Starts ingest and dispatch over `db`.
    pub fn start(db: Store, opts: DeliveryOpts, settings: registry::Settings) -> Arc<Self> {
        let metrics = Arc::new(metrics::Metrics::default());
        let admission = Arc::new(admission::Admission::new(
            opts.max_pending_per_app,
            opts.min_free_disk,
            db.disk_path(),
        ));
        tokio::spawn(admission::Admission::refresh_loop(
            Arc::downgrade(&admission),
            db.clone(),
        ));
        let registry = registry::Registry::new(db.clone(), settings);
        let dispatcher = dispatch::Dispatcher::start(db.clone(), registry, metrics.clone(), opts);
        let ingest = ingest::Ingest::start(db, dispatcher.clone(), metrics.clone());
        Arc::new(Self {
            admission,
            ingest,
            dispatcher,
            metrics,
        })
    }

    /// Stores events of an app with their deliveries; returns once they are on disk.
    pub async fn accept(
        &self,
        app_id: AppId,
        events: Vec<Event>,
    ) -> Result<Vec<Accepted>, IngestError> {
        self.admit(app_id)?;
        self.accept_admitted(app_id, EventSource::Api, events).await
    }

    /// Whether the app may send events now: its backlog and the disk are within their limits
    /// (a chat call asks before it changes anything, then uses [`Engine::accept_admitted`]).
    pub fn admit(&self, app_id: AppId) -> Result<(), IngestError> {
        Ok(self.admission.admit(app_id)?)
    }

    /// Stores events from `source` that [`Engine::admit`] let in (or that a committed chat
    /// change already fired): returns once they are on disk.
    pub async fn accept_admitted(
        &self,
        app_id: AppId,
        source: EventSource,
        events: Vec<Event>,
    ) -> Result<Vec<Accepted>, IngestError> {
        let accepted = self.ingest.accept(app_id, source, events).await?;
        self.admission
            .added(app_id, accepted.iter().map(|a| a.deliveries).sum());
        Ok(accepted)
    }

    /// Pending deliveries per app, as last counted (at most a second or so ago).
    pub fn backlog(&self) -> Arc<Vec<crate::store::stats::Backlog>> {
        self.admission.backlog()
    }

    /// Looks for due deliveries now, here and in the other processes sharing the database
    /// (after a redelivery).
    pub fn wake(&self) {
        self.dispatcher.wake();
        self.dispatcher.announce();
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// Stops claiming, lets in-flight sends finish for up to `grace`, releases the rest.
    pub async fn shutdown(&self, grace: Duration) {
        self.dispatcher.stop(grace).await;
    }
}
