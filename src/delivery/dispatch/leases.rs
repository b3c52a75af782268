//! Lease renewal: keeps this process's leases on the deliveries in memory from running out.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Dispatcher;
use crate::domain::Millis;
use crate::store::outbox::Lease;

impl Dispatcher {
    /// Every third of a lease, extends the leases of the deliveries this process still holds.
    pub(super) async fn renew_loop(self: Arc<Self>) {
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
            let now = Millis::now();
            let lease = Lease {
                owner: &self.owner,
                until: now.plus(self.opts.lease),
            };
            if let Err(e) = self.db.renew(lease, now.plus(self.opts.lease / 2)).await {
                tracing::warn!(error = %e, "cannot renew delivery leases");
            }
        }
    }
}
