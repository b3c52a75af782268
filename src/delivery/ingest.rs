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
use crate::domain::{AppId, EventSource, HookId, HookType, Millis};
use crate::store::outbox::Lease;
use crate::store::{NewDelivery, NewEvent, Store, StoreError};

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
    /// The app's backlog or the disk is over its limit (see [`super::admission`]).
    #[error(transparent)]
    Refused(#[from] super::admission::Refusal),
    /// The group commit failed; every caller in the group gets this (the cause is logged once).
    #[error("the events could not be stored: {0}")]
    Store(Arc<StoreError>),
}

struct Job {
    app_id: AppId,
    source: EventSource,
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Vec<Accepted>, IngestError>>,
}

#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

impl Ingest {
    pub fn start(db: Store, dispatcher: Arc<Dispatcher>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer(rx, db, dispatcher, metrics));
        Self { tx }
    }

    /// Stores the events of one app and their deliveries; returns when they are on disk.
    pub async fn accept(
        &self,
        app_id: AppId,
        source: EventSource,
        events: Vec<Event>,
    ) -> Result<Vec<Accepted>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                app_id,
                source,
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
    db: Store,
    dispatcher: Arc<Dispatcher>,
    metrics: Arc<Metrics>,
) {
    let mut filters: Filters = HashMap::new();
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
            Ok((answers, routed, spilled)) => {
                let accepted: usize = answers.iter().flatten().filter(|a| !a.duplicate).count();
                metrics
                    .events_accepted
                    .fetch_add(accepted as u64, std::sync::atomic::Ordering::Relaxed);
                metrics
                    .ingest_commits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // deliveries this process has no room for wait in the outbox: another process
                // sharing the database may take them now
                if spilled {
                    dispatcher.announce();
                }
                dispatcher.submit(routed);
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "storing events failed");
                // the hooks may have changed under a failed transaction: reload them
                filters.clear();
                let e = Arc::new(e);
                for job in jobs {
                    let _ = job.reply.send(Err(IngestError::Store(e.clone())));
                }
            }
        }
    }
}

/// The answers, the deliveries handed to this process's dispatcher, and whether some were
/// left in the outbox for lack of room.
type Committed = (Vec<Vec<Accepted>>, Vec<Routed>, bool);

/// The fan-out filters of each app, with the `hooks_version` they were read at.
type Filters = HashMap<AppId, (i64, Arc<Vec<HookFilter>>)>;

/// One group commit: the events, the hooks they match (read at the apps' current
/// `hooks_version`, inside the transaction) and their deliveries, leased to this process when
/// the dispatcher has room for them.
async fn commit(
    db: &Store,
    dispatcher: &Dispatcher,
    filters: &mut Filters,
    jobs: &[Job],
) -> Result<Committed, StoreError> {
    let now = Millis::now();
    let mut tx = db.begin_ingest().await?;
    // the first statement writes, so the transaction holds the write lock from here on and
    // the hook versions read below cannot change before the commit
    let groups: Vec<(AppId, Vec<NewEvent>)> = jobs
        .iter()
        .map(|job| {
            let rows = job
                .events
                .iter()
                .map(|e| NewEvent {
                    id: e.id(),
                    event_type: e.event_type(),
                    cid: e.cid(),
                    payload: e.json(),
                    source: job.source,
                })
                .collect();
            (job.app_id, rows)
        })
        .collect();
    let fresh: Vec<HashSet<String>> = tx
        .insert_event_groups(now, &groups)
        .await?
        .into_iter()
        .map(|ids| ids.into_iter().collect())
        .collect();
    let mut app_ids: Vec<AppId> = jobs.iter().map(|j| j.app_id).collect();
    app_ids.sort_unstable();
    app_ids.dedup();
    let versions = tx.hooks_versions(&app_ids).await?;
    for app_id in &app_ids {
        let version = versions.get(app_id).copied().unwrap_or(-1);
        if filters.get(app_id).map(|(v, _)| *v) != Some(version) {
            let hooks = tx.hook_configs(*app_id).await?;
            let list = hooks.iter().filter_map(HookFilter::of).collect();
            filters.insert(*app_id, (version, Arc::new(list)));
        }
    }
    let (answers, planned) = plan(jobs, &fresh, filters);

    let reserved = !planned.is_empty() && dispatcher.reserve(planned.len());
    let lease = reserved.then(|| Lease {
        owner: dispatcher.owner(),
        until: now.plus(dispatcher.lease()),
    });
    let stored = match tx.insert_deliveries(now, lease, &planned).await {
        Ok(created) => tx.commit().await.map(|()| created),
        Err(e) => Err(e),
    };
    let created = match stored {
        Ok(created) => created,
        Err(e) => {
            if reserved {
                dispatcher.unreserve(planned.len());
            }
            return Err(e);
        }
    };
    let spilled = !reserved && !planned.is_empty();
    let routed = if reserved {
        let routed = route(jobs, &planned, created, &versions, now);
        // anything not handed over (it never should be) stays leased and is claimed later
        dispatcher.unreserve(planned.len() - routed.len());
        routed
    } else {
        Vec::new()
    };
    Ok((answers, routed, spilled))
}

/// The answer to each job and the deliveries to create: one per new event and matching hook.
fn plan<'a>(
    jobs: &'a [Job],
    fresh: &[HashSet<String>],
    filters: &'a Filters,
) -> (Vec<Vec<Accepted>>, Vec<NewDelivery<'a>>) {
    let mut planned: Vec<NewDelivery> = Vec::new();
    let mut answers: Vec<Vec<Accepted>> = Vec::with_capacity(jobs.len());
    for (job, fresh) in jobs.iter().zip(fresh) {
        let hooks = &filters[&job.app_id].1;
        let mut answer = Vec::with_capacity(job.events.len());
        for event in &job.events {
            let duplicate = !fresh.contains(event.id());
            let mut deliveries = 0;
            if !duplicate {
                for hook in hooks.iter().filter(|h| h.matches(event.event_type())) {
                    deliveries += 1;
                    planned.push(NewDelivery {
                        app_id: job.app_id,
                        hook_id: &hook.hook_id,
                        hook_type: hook.hook_type,
                        event_id: event.id(),
                        event_type: event.event_type(),
                        size: event.json().len() as i64,
                    });
                }
            }
            answer.push(Accepted {
                id: event.id().to_string(),
                deliveries,
                duplicate,
            });
        }
        answers.push(answer);
    }
    (answers, planned)
}

/// The created deliveries as the dispatcher takes them, in id order.
fn route(
    jobs: &[Job],
    planned: &[NewDelivery<'_>],
    created: Vec<crate::store::outbox::Created>,
    versions: &HashMap<AppId, i64>,
    now: Millis,
) -> Vec<Routed> {
    let mut events: HashMap<(AppId, &str), &Event> = HashMap::new();
    for job in jobs {
        for e in &job.events {
            events.insert((job.app_id, e.id()), e);
        }
    }
    // the hook ids of the fan-out filters: shared by all their deliveries
    let hooks: HashMap<(AppId, &str, &str), (&HookId, HookType)> = planned
        .iter()
        .map(|d| {
            let key = (d.app_id, d.event_id, d.hook_id.as_str());
            (key, (d.hook_id, d.hook_type))
        })
        .collect();
    let mut routed = Vec::with_capacity(created.len());
    for c in created {
        let (Some(event), Some(&(hook_id, hook_type))) = (
            events.get(&(c.app_id, c.event_id.as_str())),
            hooks.get(&(c.app_id, c.event_id.as_str(), c.hook_id.as_str())),
        ) else {
            continue;
        };
        let event = (*event).clone();
        routed.push(Routed {
            id: c.id,
            app_id: c.app_id,
            hook_id: hook_id.clone(),
            hook_type,
            event,
            attempts: 0,
            accepted_at: now,
            hooks_version: versions.get(&c.app_id).copied().unwrap_or(0),
        });
    }
    routed.sort_by_key(|r| r.id);
    routed
}
