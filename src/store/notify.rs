//! Wake-ups between processes sharing a database: a process that makes deliveries due that it
//! will not send itself (a redelivery, ingest beyond its in-flight room, retries) announces
//! it, and the others claim them at once instead of at their next poll. On PostgreSQL this is
//! `NOTIFY` / `LISTEN` on one channel; on SQLite there is one process, so nothing to announce.
//! The poll stays the fallback: a connection pooler that drops `LISTEN` only costs latency.

use super::{postgres, Backend, Store, StoreError};

/// The channel of the announcements.
pub const DUE_CHANNEL: &str = "hookrelay_due";

impl Store {
    /// Tells the other processes that deliveries are due.
    pub async fn announce_due(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(b) => postgres::notify::announce(b, DUE_CHANNEL).await,
        }
    }

    /// Listens for the other processes' announcements; `None` on a backend without them.
    pub async fn due_listener(&self) -> Result<Option<DueListener>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(b) => Ok(Some(DueListener(
                postgres::notify::listen(b, DUE_CHANNEL).await?,
            ))),
        }
    }
}

/// A subscription to the announcements.
pub struct DueListener(postgres::notify::Listener);

impl DueListener {
    /// Waits for the next announcement (several close together may come as one).
    pub async fn next(&mut self) -> Result<(), StoreError> {
        self.0.next().await
    }
}
