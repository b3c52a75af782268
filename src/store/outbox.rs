//! The event log and the delivery outbox (`events`, `deliveries`): the ingest commit,
//! and the claim / complete / renew / release cycle of the dispatcher.
//!
//! Writes are batched: one multi-row statement per few hundred rows, so that a group commit of
//! thousands of events costs a handful of statements. A claim leases rows to an owner until a
//! time; outcomes and renewals only touch rows still leased by that owner, so an owner whose
//! lease ran out cannot overwrite the work of the one that took over.

use std::collections::HashMap;

use super::{backend, postgres, sqlite, Backend, Store, StoreError};
use crate::domain::{AppId, DeliveryId, EventHook, EventSource, HookId, HookType, Millis, Outcome};

/// An event to store.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub cid: Option<&'a str>,
    /// The event's JSON.
    pub payload: &'a str,
    pub source: EventSource,
}

/// A delivery to create.
pub struct NewDelivery<'a> {
    pub app_id: AppId,
    pub hook_id: &'a HookId,
    pub hook_type: HookType,
    pub event_id: &'a str,
    pub event_type: &'a str,
    /// Bytes of the event JSON.
    pub size: i64,
}

/// A delivery just created.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: DeliveryId,
    pub app_id: AppId,
    pub event_id: String,
    pub hook_id: HookId,
}

/// Who holds deliveries, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: Millis,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: DeliveryId,
    pub app_id: AppId,
    pub hook_id: HookId,
    pub hook_type: HookType,
    pub event_id: String,
    pub event_type: String,
    /// Attempts made before.
    pub attempts: u32,
    pub accepted_at: Millis,
}

/// A stored event, as a delivery needs it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub cid: Option<String>,
    /// The event's JSON.
    pub payload: String,
}

impl Store {
    /// Starts an ingest commit: events, the hooks they fan out to and their deliveries, in one
    /// transaction and one flush. On SQLite it waits for this process's turn to write.
    pub async fn begin_ingest(&self) -> Result<IngestTx, StoreError> {
        Ok(IngestTx(match &self.backend {
            Backend::Sqlite(b) => Tx::Sqlite(sqlite::outbox::Ingest::begin(b).await?),
            Backend::Postgres(b) => Tx::Postgres(postgres::outbox::Ingest::begin(b).await?),
        }))
    }

    /// Claims up to `limit` due deliveries whose lease is free or ran out, leased as `lease`.
    /// Oldest due first; returned in id order.
    pub async fn claim(
        &self,
        lease: Lease<'_>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        backend!(self, b => b.claim(lease, now, limit).await)
    }

    /// Records outcomes in one transaction, for rows still pending and leased by `owner`, and
    /// adds them to the hooks' health steps. Not flushed on its own: the next ingest commit
    /// flushes it, and an outcome lost in a crash only means the delivery is sent again (at
    /// least once), never that an accepted event is lost.
    pub async fn complete(
        &self,
        owner: &str,
        now: Millis,
        outcomes: &[Outcome],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        backend!(self, b => b.complete(owner, now, outcomes).await)
    }

    /// Extends `lease.owner`'s leases that end before `renew_before` to `lease.until`: a live
    /// process keeps the deliveries it holds in memory. Returns how many.
    pub async fn renew(&self, lease: Lease<'_>, renew_before: Millis) -> Result<u64, StoreError> {
        backend!(self, b => b.renew(lease, renew_before).await)
    }

    /// Gives up `owner`'s leases (at shutdown), so that any process sends them at once.
    pub async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        backend!(self, b => b.release(owner).await)
    }

    /// Some events of one app, by id.
    pub async fn events(
        &self,
        app_id: AppId,
        event_ids: &[&str],
    ) -> Result<HashMap<String, StoredEvent>, StoreError> {
        backend!(self, b => b.events(app_id, event_ids).await)
    }

    /// When the next pending delivery due after `now` is due, if any.
    pub async fn next_due_after(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        backend!(self, b => b.next_due_after(now).await)
    }
}

enum Tx {
    Sqlite(sqlite::outbox::Ingest),
    Postgres(postgres::outbox::Ingest),
}

/// An ingest commit in progress (see [`Store::begin_ingest`]). Dropped without
/// [`IngestTx::commit`], it writes nothing.
pub struct IngestTx(Tx);

impl IngestTx {
    /// Stores the events of one app; returns the ids that were new (an id the app already
    /// sent is ignored). The first write of the transaction: from here on it holds the write
    /// lock, so the hook versions read after it cannot change before the commit.
    pub async fn insert_events(
        &mut self,
        app_id: AppId,
        accepted_at: Millis,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, StoreError> {
        match &mut self.0 {
            Tx::Sqlite(tx) => tx.insert_events(app_id, accepted_at, events).await,
            Tx::Postgres(tx) => tx.insert_events(app_id, accepted_at, events).await,
        }
    }

    /// Stores the events of several apps at once (a group commit's requests): one statement
    /// on PostgreSQL, whatever the number of requests. Returns, per group and in order, the
    /// ids that were new.
    pub async fn insert_event_groups(
        &mut self,
        accepted_at: Millis,
        groups: &[(AppId, Vec<NewEvent<'_>>)],
    ) -> Result<Vec<Vec<String>>, StoreError> {
        match &mut self.0 {
            Tx::Sqlite(tx) => {
                let mut out = Vec::with_capacity(groups.len());
                for (app_id, events) in groups {
                    out.push(tx.insert_events(*app_id, accepted_at, events).await?);
                }
                Ok(out)
            }
            Tx::Postgres(tx) => tx.insert_event_groups(accepted_at, groups).await,
        }
    }

    /// The `hooks_version` of each app (bumped by every hook change).
    pub async fn hooks_versions(
        &mut self,
        app_ids: &[AppId],
    ) -> Result<HashMap<AppId, i64>, StoreError> {
        match &mut self.0 {
            Tx::Sqlite(tx) => tx.hooks_versions(app_ids).await,
            Tx::Postgres(tx) => tx.hooks_versions(app_ids).await,
        }
    }

    /// The stored (secret-free) configuration of an app's hooks, in order.
    pub async fn hook_configs(&mut self, app_id: AppId) -> Result<Vec<EventHook>, StoreError> {
        let rows = match &mut self.0 {
            Tx::Sqlite(tx) => tx.hook_configs(app_id).await?,
            Tx::Postgres(tx) => tx.hook_configs(app_id).await?,
        };
        super::hooks::parse_configs(app_id, rows)
    }

    /// Creates deliveries, due at `now`; with `lease`, already claimed.
    pub async fn insert_deliveries(
        &mut self,
        now: Millis,
        lease: Option<Lease<'_>>,
        rows: &[NewDelivery<'_>],
    ) -> Result<Vec<Created>, StoreError> {
        match &mut self.0 {
            Tx::Sqlite(tx) => tx.insert_deliveries(now, lease, rows).await,
            Tx::Postgres(tx) => tx.insert_deliveries(now, lease, rows).await,
        }
    }

    /// Commits: on disk when this returns.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}
