//! The delivery log: an app's deliveries newest first, redelivery, and the app's recent events
//! with how many deliveries each has.

use super::{backend, Store, StoreError};
use crate::domain::{AppId, DeliveryId, DeliveryStatus, EventSource, HookId, HookType, Millis};

/// Most deliveries one redelivery may name.
pub const REDELIVER_MAX_IDS: usize = 10_000;

/// A filter for [`Store::deliveries`].
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub hook_id: Option<HookId>,
    pub event_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    /// Only deliveries with a smaller id (paging, newest first).
    pub before: Option<DeliveryId>,
    pub limit: i64,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub hook_id: HookId,
    pub hook_type: HookType,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_at: Millis,
    pub last_error: Option<String>,
    pub size: Option<i64>,
    pub accepted_at: Millis,
    pub done_at: Option<Millis>,
    pub latency_ms: Option<i64>,
    /// The first 200 characters of the event JSON.
    pub payload_preview: Option<String>,
}

/// Most events [`Store::recent_events`] returns.
pub const RECENT_EVENTS_MAX: i64 = 200;

/// An accepted event as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentEvent {
    pub id: String,
    pub event_type: String,
    /// The channel (`type:id`), if the event has one.
    pub cid: Option<String>,
    pub source: EventSource,
    pub accepted_at: Millis,
    /// How many deliveries the event has (one per hook it matched when accepted).
    pub deliveries: i64,
}

/// `id, type, cid, source, accepted_at` of `events` and its count of deliveries.
#[derive(sqlx::FromRow)]
pub(super) struct RecentEventRecord {
    id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    cid: Option<String>,
    source: String,
    accepted_at: i64,
    deliveries: i64,
}

impl TryFrom<RecentEventRecord> for RecentEvent {
    type Error = StoreError;

    fn try_from(r: RecentEventRecord) -> Result<Self, StoreError> {
        let source = EventSource::parse(&r.source).ok_or_else(|| {
            StoreError::Corrupt(format!("event {} has source {:?}", r.id, r.source))
        })?;
        Ok(RecentEvent {
            id: r.id,
            event_type: r.event_type,
            cid: r.cid,
            source,
            accepted_at: Millis(r.accepted_at),
            deliveries: r.deliveries,
        })
    }
}

impl Store {
    /// The app's latest `limit` events (at most [`RECENT_EVENTS_MAX`]), newest first (then by
    /// id), each with its count of deliveries.
    pub async fn recent_events(
        &self,
        app_id: AppId,
        limit: i64,
    ) -> Result<Vec<RecentEvent>, StoreError> {
        let limit = limit.clamp(0, RECENT_EVENTS_MAX);
        let rows = backend!(self, b => b.recent_events(app_id, limit).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The app's deliveries, newest first.
    pub async fn deliveries(
        &self,
        app_id: AppId,
        filter: &ListFilter,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        backend!(self, b => b.deliveries(app_id, filter).await)
    }

    /// Makes finished deliveries of the app pending again, due at `now`, with a fresh attempt
    /// count; returns how many. Deliveries still pending are left as they are.
    pub async fn redeliver_ids(
        &self,
        app_id: AppId,
        ids: &[DeliveryId],
        now: Millis,
    ) -> Result<u64, StoreError> {
        backend!(self, b => b.redeliver_ids(app_id, ids, now).await)
    }

    /// Redelivers the failed and dropped deliveries of one hook accepted within
    /// `[since, until]`.
    pub async fn redeliver_range(
        &self,
        app_id: AppId,
        hook_id: &HookId,
        since: Millis,
        until: Millis,
        now: Millis,
    ) -> Result<u64, StoreError> {
        backend!(self, b => b.redeliver_range(app_id, hook_id, since, until, now).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: &str) -> RecentEventRecord {
        RecentEventRecord {
            id: "e1".into(),
            event_type: "message.new".into(),
            cid: Some("messaging:x".into()),
            source: source.into(),
            accepted_at: 7,
            deliveries: 2,
        }
    }

    #[test]
    fn a_recent_event_reads_its_source_and_refuses_an_unknown_one() {
        let e = RecentEvent::try_from(record("chat")).unwrap();
        assert_eq!(e.source, EventSource::Chat);
        assert_eq!(e.accepted_at, Millis(7));
        assert_eq!(e.deliveries, 2);
        assert_eq!(
            RecentEvent::try_from(record("api")).unwrap().source,
            EventSource::Api
        );
        match RecentEvent::try_from(record("API")) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("e1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
