//! The pruner: every ten minutes, removes the deliveries and events older than the retention.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Dispatcher;
use crate::domain::Millis;
use crate::store::retention::Pruned;

/// How often retention runs.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl Dispatcher {
    pub(super) async fn prune_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            match self
                .db
                .prune(Millis::now().minus(self.opts.retention))
                .await
            {
                Ok(Pruned {
                    deliveries: 0,
                    events: 0,
                }) => {}
                Ok(Pruned { deliveries, events }) => {
                    tracing::info!(deliveries, events, "pruned the delivery log")
                }
                Err(e) => tracing::warn!(error = %e, "pruning the delivery log failed"),
            }
        }
    }
}
