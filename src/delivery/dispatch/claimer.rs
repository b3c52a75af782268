//! The claimer: while there is room in memory, claims due deliveries from the database (due
//! retries, expired leases, redeliveries, those refused at ingest for lack of room), reads their
//! events and submits them; then sleeps until the next one is due, the poll interval or a wake-up.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Dispatcher, Routed};
use crate::delivery::event::Event;
use crate::domain::{AppId, Finish, HookId, Millis, Outcome};
use crate::store::outbox::Lease;
use crate::store::Claimed;

/// Most deliveries claimed from the database at once.
const CLAIM_BATCH: usize = 1000;

/// The shortest sleep before looking for the next due delivery.
const MIN_WAIT: Duration = Duration::from_millis(5);

impl Dispatcher {
    pub(super) async fn claim_loop(self: Arc<Self>) {
        loop {
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            let room = self.opts.max_in_flight.saturating_sub(self.in_flight());
            let limit = room.min(CLAIM_BATCH);
            let mut claimed = 0;
            if limit > 0 && self.reserve(limit) {
                let now = Millis::now();
                let lease = Lease {
                    owner: &self.owner,
                    until: now.plus(self.opts.lease),
                };
                match self.db.claim(lease, now, limit).await {
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
            let now = Millis::now();
            if let Ok(Some(next)) = self.db.next_due_after(now).await {
                wait = wait.min(next.since(now).max(MIN_WAIT));
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn dispatch_claimed(&self, rows: Vec<Claimed>) {
        let mut routed = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        let mut by_app: HashMap<AppId, Vec<Claimed>> = HashMap::new();
        // one copy of each hook id for all its deliveries (each row brings its own)
        let mut hook_ids: HashSet<HookId> = HashSet::new();
        for row in rows {
            by_app.entry(row.app_id).or_default().push(row);
        }
        for (app_id, rows) in by_app {
            let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
            let stored = match self.db.events(app_id, &ids).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read event payloads; the deliveries wait");
                    let later = Millis::now().plus(super::POSTPONE);
                    missing.extend(rows.iter().map(|row| Outcome {
                        id: row.id,
                        hook_type: row.hook_type,
                        accepted_at: row.accepted_at,
                        finish: Finish::Postpone { next_at: later },
                        size: None,
                    }));
                    continue;
                }
            };
            let mut events: HashMap<&str, Event> = HashMap::new();
            for row in &rows {
                let Some(stored) = stored.get(&row.event_id) else {
                    missing.push(Outcome {
                        id: row.id,
                        hook_type: row.hook_type,
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
                        Event::new(
                            &row.event_id,
                            &row.event_type,
                            stored.cid.as_deref(),
                            &stored.payload,
                        )
                    })
                    .clone();
                routed.push(Routed {
                    id: row.id,
                    app_id,
                    hook_id: match hook_ids.get(&row.hook_id) {
                        Some(shared) => shared.clone(),
                        None => {
                            hook_ids.insert(row.hook_id.clone());
                            row.hook_id.clone()
                        }
                    },
                    hook_type: row.hook_type,
                    event,
                    attempts: row.attempts,
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
}
