//! One worker per hook: queues the hook's deliveries, sends them in batches within the
//! destination's limits (concurrency, ordering, batch size), holds them while the hook's
//! breaker is open, and turns send results into outcomes for the completer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::breaker::Breaker;
use super::{decide, done, Dispatcher, Routed};
use crate::delivery::destinations::{Item, SendResult};
use crate::delivery::registry::RuntimeHook;
use crate::domain::{AppId, Finish, HookId, Millis, Outcome};

impl Dispatcher {
    pub(super) async fn worker(
        self: Arc<Self>,
        key: (AppId, HookId),
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
                                let later = Millis::now().plus(super::POSTPONE);
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
                    let next_at = Millis::now().plus(until.duration_since(now));
                    let waiting: Vec<Outcome> = queue
                        .drain(..)
                        .map(|r| done(&r, Finish::Postpone { next_at }))
                        .collect();
                    let _ = self.done_tx.send(waiting);
                    break;
                }
                let n = queue.len().min(limits.max_batch.max(1));
                let mut batch: Vec<Routed> = queue.drain(..n).collect();
                // tried before and past their age limit (claimed late): not sent again; the
                // completer fails them. A delivery never tried (a redelivery, say) gets its try.
                let now_ms = Millis::now();
                let max_age = self.opts.max_delivery_age();
                let late = |r: &Routed| r.attempts > 0 && now_ms >= r.accepted_at.plus(max_age);
                if batch.iter().any(late) {
                    let (late, fresh): (Vec<Routed>, Vec<Routed>) =
                        batch.into_iter().partition(late);
                    let _ = self.done_tx.send(
                        late.iter()
                            .map(|r| done(r, Finish::Postpone { next_at: now_ms }))
                            .collect(),
                    );
                    batch = fresh;
                    if batch.is_empty() {
                        continue;
                    }
                }
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

    fn breaker<T>(&self, key: &(AppId, HookId), f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(key.clone()).or_default())
    }

    /// Turns send results into outcomes: delivered, retry (per the schedule), failed (dead
    /// letter) or dropped; updates the hook's breaker.
    fn finished(&self, key: &(AppId, HookId), items: Vec<Routed>, results: Vec<SendResult>) {
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
        let now_ms = Millis::now();
        let outcomes: Vec<Outcome> = items
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
                Outcome {
                    size,
                    ..done(r, finish)
                }
            })
            .collect();
        let _ = self.done_tx.send(outcomes);
    }
}
