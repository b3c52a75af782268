//! The completer: applies the deliveries' age limit ([`expire`]), records outcomes in the outbox, all those waiting in one transaction, then
//! counts them in the metrics, frees their room in memory and wakes the claimer when some are
//! due again later.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::retry::expire;
use super::Dispatcher;
use crate::domain::{Finish, Millis, Outcome};

impl Dispatcher {
    pub(super) async fn complete(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<Outcome>>) {
        while let Some(mut batch) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                batch.extend(more);
                if batch.len() >= 20_000 {
                    break;
                }
            }
            let now = Millis::now();
            // a wait past a delivery's age limit is cut to it; past the limit, it has expired
            let max_age = self.opts.max_delivery_age();
            for d in &mut batch {
                if expire(&mut d.finish, d.accepted_at, max_age, now) {
                    self.metrics
                        .deliveries_expired
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            self.metrics
                .outcome_commits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut tries = 0;
            while let Err(e) = self.db.complete(&self.owner, now, &batch).await {
                tries += 1;
                tracing::error!(error = %e, tries, "cannot record delivery outcomes; retrying");
                if tries >= 30 {
                    // the leases run out and the deliveries are sent again: duplicates, not losses
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            for d in &batch {
                if d.finish == Finish::Delivered {
                    let latency = now.since(d.accepted_at).as_millis();
                    self.metrics
                        .observe_latency(u64::try_from(latency).unwrap_or(u64::MAX));
                }
                self.metrics.count(d.hook_type, &d.finish);
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
}
