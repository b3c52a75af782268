//! The pruner: every `--prune-every` (ten minutes), removes the deliveries and events older
//! than the retention. The store deletes in small batches and lets other writes in between.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Dispatcher;
use crate::domain::Millis;
use crate::store::retention::Pruned;

impl Dispatcher {
    pub(super) async fn prune_loop(self: Arc<Self>) {
        // a zero interval would make `interval` panic
        let every = self.opts.prune_every.max(Duration::from_millis(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            let started = Instant::now();
            match self
                .db
                .prune(Millis::now().minus(self.opts.retention))
                .await
            {
                Ok(Pruned {
                    deliveries: 0,
                    events: 0,
                }) => {
                    let seconds = started.elapsed().as_secs_f64();
                    tracing::debug!(seconds, "nothing to prune")
                }
                Ok(Pruned { deliveries, events }) => {
                    let seconds = started.elapsed().as_secs_f64();
                    tracing::info!(deliveries, events, seconds, "pruned the delivery log")
                }
                Err(e) => tracing::warn!(error = %e, "pruning the delivery log failed"),
            }
        }
    }
}
