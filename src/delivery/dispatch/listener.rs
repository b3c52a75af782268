//! Announcements between processes sharing the database: this task wakes the claimer when
//! another process announces due deliveries, and [`Dispatcher::announce`] tells the others
//! (at most once per [`ANNOUNCE_EVERY`]). The claimer's poll is the fallback.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Dispatcher;
use crate::domain::Millis;

/// Announcements closer together than this are merged into one.
pub(super) const ANNOUNCE_EVERY: Duration = Duration::from_millis(50);

/// How long to wait before listening again after the listener failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(5);

impl Dispatcher {
    pub(super) async fn listen_loop(self: Arc<Self>) {
        loop {
            match self.db.due_listener().await {
                // one process on the database: nobody else announces anything
                Ok(None) => return,
                Ok(Some(mut listener)) => loop {
                    match listener.next().await {
                        Ok(()) => self.wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for due deliveries failed; polling meanwhile");
                            break;
                        }
                    }
                    if self.stopping.load(Ordering::Relaxed) {
                        return;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for due deliveries; polling meanwhile")
                }
            }
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(RELISTEN_AFTER).await;
        }
    }

    /// Tells the other processes that deliveries are due now, in the background. Calls
    /// closer together than [`ANNOUNCE_EVERY`] become one announcement at the end of that
    /// time (so the last one is never lost).
    pub fn announce(self: &Arc<Self>) {
        if self.announce_pending.swap(true, Ordering::AcqRel) {
            return; // one is on its way and will cover this one
        }
        let this = self.clone();
        tokio::spawn(async move {
            let now = Millis::now();
            let last = Millis(this.announced_at.load(Ordering::Acquire));
            let wait = ANNOUNCE_EVERY.saturating_sub(now.since(last));
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // from here on, a new call schedules another announcement
            this.announce_pending.store(false, Ordering::Release);
            this.announced_at.store(Millis::now().0, Ordering::Release);
            if let Err(e) = this.db.announce_due().await {
                tracing::debug!(error = %e, "cannot announce due deliveries");
            }
        });
    }
}
