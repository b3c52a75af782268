//! Retention: finished deliveries and the events left without deliveries are deleted once
//! older than the retention period, with the health steps before it.

use super::{backend, Store, StoreError};
use crate::domain::Millis;

/// What one prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub events: u64,
}

impl Store {
    /// Deletes finished deliveries done before `before`, events accepted before it that have
    /// no delivery left, and health steps that ended before it.
    pub async fn prune(&self, before: Millis) -> Result<Pruned, StoreError> {
        backend!(self, b => b.prune(before).await)
    }
}
