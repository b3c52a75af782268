//! Durable ingest with group commit: one writer task takes every waiting `POST /events` batch,
//! stores their events and deliveries (the transactional outbox) in one transaction, commits
//! (one fsync for all of them), and only then answers each caller. Fresh deliveries go
//! straight to the dispatcher, already leased, when it has room.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::dispatch::{Dispatcher, Routed};
use super::event::Event;
use super::fanout::HookFilter;
use super::metrics::Metrics;
use crate::hooks::EventHook;
use crate::store::deliveries::{self as outbox, EventRow, NewDelivery};
use crate::store::{now_millis, Db, StoreError};

/// Most events stored by one commit.
const GROUP_MAX_EVENTS: usize = 10_000;

/// What happened to one accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub id: String,
    /// Deliveries created (one per matching hook).
    pub deliveries: usize,
    /// The app had already sent an event with this id: it was not stored again.
    pub duplicate: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("Hookrelay is shutting down")]
    Stopping,
    #[error("the events could not be stored: {0}")]
    Store(String),
}

struct Job {
    app_id: i64,
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Vec<Accepted>, IngestError>>,
}

#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

impl Ingest {
    pub fn start(db: Db, dispatcher: Arc<Dispatcher>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer(rx, db, dispatcher, metrics));
        Self { tx }
    }

    /// Stores the events of one app and their deliveries; returns when they are on disk.
    pub async fn accept(
        &self,
        app_id: i64,
        events: Vec<Event>,
    ) -> Result<Vec<Accepted>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                app_id,
                events,
                reply,
            })
            .await
            .map_err(|_| IngestError::Stopping)?;
        answer.await.map_err(|_| IngestError::Stopping)?
    }
}

async fn writer(
    mut rx: mpsc::Receiver<Job>,
    db: Db,
    dispatcher: Arc<Dispatcher>,
    metrics: Arc<Metrics>,
) {
    let mut filters: HashMap<i64, (i64, Arc<Vec<HookFilter>>)> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut count = first.events.len();
        let mut jobs = vec![first];
        while count < GROUP_MAX_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        match commit(&db, &dispatcher, &mut filters, &jobs).await {
            Ok((answers, routed)) => {
                let accepted: usize = answers.iter().flatten().filter(|a| !a.duplicate).count();
                metrics
                    .events_accepted
                    .fetch_add(accepted as u64, std::sync::atomic::Ordering::Relaxed);
                metrics
                    .ingest_commits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                dispatcher.submit(routed);
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "storing events failed");
                // the hooks may have changed under a failed transaction: reload them
                filters.clear();
                for job in jobs {
                    let _ = job.reply.send(Err(IngestError::Store(e.to_string())));
                }
            }
        }
    }
}

type Committed = (Vec<Vec<Accepted>>, Vec<Routed>);

async fn commit(
    db: &Db,
    dispatcher: &Dispatcher,
    filters: &mut HashMap<i64, (i64, Arc<Vec<HookFilter>>)>,
    jobs: &[Job],
) -> Result<Committed, StoreError> {
    let _gate = crate::store::write_gate().await;
    let now = now_millis();
    let mut tx = db.begin().await?;
    // the first statement writes, so the transaction holds the write lock from here on and
    // the hook versions read below cannot change before the commit
    let mut fresh: Vec<HashSet<String>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let rows: Vec<EventRow> = job
            .events
            .iter()
            .map(|e| EventRow {
                id: &e.id,
                event_type: &e.event_type,
                cid: e.cid.as_deref(),
                payload: &e.json,
            })
            .collect();
        let inserted = outbox::insert_events(&mut tx, job.app_id, now, &rows).await?;
        fresh.push(inserted.into_iter().collect());
    }
    let mut app_ids: Vec<i64> = jobs.iter().map(|j| j.app_id).collect();
    app_ids.sort_unstable();
    app_ids.dedup();
    let versions = outbox::hooks_versions(&mut tx, &app_ids).await?;
    for app_id in &app_ids {
        let version = versions.get(app_id).copied().unwrap_or(-1);
        if filters.get(app_id).map(|(v, _)| *v) != Some(version) {
            let mut list = Vec::new();
            for (id, config) in outbox::hook_configs(&mut tx, *app_id).await? {
                let hook: EventHook = serde_json::from_str(&config)
                    .map_err(|e| StoreError::Corrupt(format!("hook {id} of app {app_id}: {e}")))?;
                list.extend(HookFilter::of(&hook));
            }
            filters.insert(*app_id, (version, Arc::new(list)));
        }
    }

    let mut planned: Vec<NewDelivery> = Vec::new();
    let mut answers: Vec<Vec<Accepted>> = Vec::with_capacity(jobs.len());
    for (job, fresh) in jobs.iter().zip(&fresh) {
        let hooks = &filters[&job.app_id].1;
        let mut answer = Vec::with_capacity(job.events.len());
        for event in &job.events {
            let duplicate = !fresh.contains(&event.id);
            let mut deliveries = 0;
            if !duplicate {
                for hook in hooks.iter().filter(|h| h.matches(&event.event_type)) {
                    deliveries += 1;
                    planned.push(NewDelivery {
                        app_id: job.app_id,
                        hook_id: &hook.hook_id,
                        hook_type: &hook.hook_type,
                        event_id: &event.id,
                        event_type: &event.event_type,
                        size: event.json.len() as i64,
                    });
                }
            }
            answer.push(Accepted {
                id: event.id.clone(),
                deliveries,
                duplicate,
            });
        }
        answers.push(answer);
    }

    let reserved = !planned.is_empty() && dispatcher.reserve(planned.len());
    let lease_until = now + i64::try_from(dispatcher.lease().as_millis()).unwrap_or(60_000);
    let lease = reserved.then_some((dispatcher.owner(), lease_until));
    let created = match outbox::insert_deliveries(&mut tx, now, lease, &planned).await {
        Ok(created) => created,
        Err(e) => {
            if reserved {
                dispatcher.unreserve(planned.len());
            }
            return Err(e);
        }
    };
    if let Err(e) = tx.commit().await {
        if reserved {
            dispatcher.unreserve(planned.len());
        }
        return Err(e.into());
    }

    let mut routed = Vec::new();
    if reserved {
        let mut events: HashMap<(i64, &str), Arc<Event>> = HashMap::new();
        for job in jobs {
            for e in &job.events {
                events.insert((job.app_id, e.id.as_str()), Arc::new(e.clone()));
            }
        }
        let hook_types: HashMap<(i64, &str, &str), &str> = planned
            .iter()
            .map(|d| ((d.app_id, d.event_id, d.hook_id), d.hook_type))
            .collect();
        routed.reserve(created.len());
        for (id, app_id, event_id, hook_id) in &created {
            let (Some(event), Some(hook_type)) = (
                events.get(&(*app_id, event_id.as_str())),
                hook_types.get(&(*app_id, event_id.as_str(), hook_id.as_str())),
            ) else {
                continue;
            };
            routed.push(Routed {
                id: *id,
                app_id: *app_id,
                hook_id: hook_id.clone(),
                hook_type: (*hook_type).to_string(),
                event: event.clone(),
                attempts: 0,
                accepted_at: now,
                hooks_version: versions.get(app_id).copied().unwrap_or(0),
            });
        }
        routed.sort_by_key(|r| r.id);
        // anything not handed over (it never should be) stays leased and is claimed later
        dispatcher.unreserve(planned.len() - routed.len());
    }
    Ok((answers, routed))
}
