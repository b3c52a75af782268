//! The delivery log: an app's deliveries newest first, and redelivery.

use super::{backend, Store, StoreError};
use crate::domain::{AppId, DeliveryId, DeliveryStatus, HookId, HookType, Millis};

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

impl Store {
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
