//! Dashboard sessions: the `sessions` table (tower-sessions' store for the backend in use) behind
//! a short-lived in-memory copy, so that a page view does not read the table every time.
//!
//! Writes go to the table first and then to the copy; a logout leaves a tombstone in the copy.
//! A copy is trusted for `ttl` only: that bounds how long another process sharing the database
//! may go on accepting a session this one ended. A `ttl` of zero turns the copy off.
//!
//! Rows are keyed by a digest of the session id, never by the id the cookie carries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::{Backend, Store, StoreError};

/// Above this many entries, a write first drops the stale ones (and all, if none is stale).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    /// `None`: deleted (a tombstone).
    record: Option<Record>,
    at: Instant,
}

/// The `sessions` table of the backend in use.
#[derive(Debug, Clone)]
enum Table {
    Sqlite(tower_sessions_sqlx_store::SqliteStore),
    Postgres(tower_sessions_sqlx_store::PostgresStore),
}

/// The id a session is stored under: a digest of its cookie's id, so that a copy of the table
/// (a backup, a read-only leak) gives no session away.
fn stored_id(id: &Id) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

impl Table {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // a new id, until its digest is not taken yet
        loop {
            if self.load_raw(&stored_id(&record.id)).await?.is_none() {
                return self.save(record).await;
            }
            record.id = Id::default();
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut stored = record.clone();
        stored.id = stored_id(&record.id);
        match self {
            Table::Sqlite(t) => t.save(&stored).await,
            Table::Postgres(t) => t.save(&stored).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.load_raw(&stored_id(id)).await?.map(|mut r| {
            r.id = *id;
            r
        }))
    }
    async fn load_raw(&self, stored: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Table::Sqlite(t) => t.load(stored).await,
            Table::Postgres(t) => t.load(stored).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let stored = stored_id(id);
        match self {
            Table::Sqlite(t) => t.delete(&stored).await,
            Table::Postgres(t) => t.delete(&stored).await,
        }
    }
}

/// How often expired sessions are deleted from the table.
const EXPIRED_DELETION_EVERY: Duration = Duration::from_secs(3600);

impl Store {
    /// The dashboard's session store: creates the `sessions` table if needed, starts deleting
    /// expired sessions every hour, and keeps a copy of each session in memory for `ttl`.
    pub async fn session_store(&self, ttl: Duration) -> Result<CachedSessionStore, StoreError> {
        use tower_sessions::ExpiredDeletion;
        let table = match &self.backend {
            Backend::Sqlite(b) => {
                let table = tower_sessions_sqlx_store::SqliteStore::new(b.pool.clone())
                    .with_table_name("sessions")
                    .expect("valid table name");
                table.migrate().await?;
                tokio::spawn(
                    table
                        .clone()
                        .continuously_delete_expired(EXPIRED_DELETION_EVERY),
                );
                Table::Sqlite(table)
            }
            Backend::Postgres(b) => {
                // `tower_sessions.sessions`, created under a lock (see `sessions_table`)
                let table = b.sessions_table().await?;
                tokio::spawn(
                    table
                        .clone()
                        .continuously_delete_expired(EXPIRED_DELETION_EVERY),
                );
                Table::Postgres(table)
            }
        };
        Ok(CachedSessionStore::new(table, ttl))
    }
}

#[derive(Debug, Clone)]
pub struct CachedSessionStore {
    inner: Table,
    ttl: Duration,
    entries: Arc<Mutex<HashMap<Id, Entry>>>,
}

impl CachedSessionStore {
    fn new(inner: Table, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Arc::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Id, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers what the table holds for `id` as of `read_at`, unless something newer is
    /// already remembered (a save or delete that raced with the read).
    fn remember(&self, id: Id, record: Option<Record>, read_at: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.get(&id).is_some_and(|e| e.at > read_at) {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&id) {
            let ttl = self.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            id,
            Entry {
                record,
                at: read_at,
            },
        );
    }

    /// The remembered record of `id`: `Some(None)` for a remembered absence.
    fn recall(&self, id: &Id) -> Option<Option<Record>> {
        let entries = self.entries();
        let entry = entries.get(id)?;
        if entry.at.elapsed() >= self.ttl {
            return None;
        }
        let live = entry
            .record
            .as_ref()
            .filter(|r| r.expiry_date > time::OffsetDateTime::now_utc());
        Some(live.cloned())
    }
}

#[async_trait::async_trait]
impl SessionStore for CachedSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await?;
        self.remember(record.id, Some(record.clone()), Instant::now());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(record).await?;
        self.remember(record.id, Some(record.clone()), Instant::now());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(known) = self.recall(id) {
            return Ok(known);
        }
        let read_at = Instant::now();
        let record = self.inner.load(id).await?;
        self.remember(*id, record.clone(), read_at);
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        // the tombstone first: a load racing with this delete cannot bring the record back
        self.remember(*id, None, Instant::now());
        self.inner.delete(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores(ttl: Duration) -> (tempfile::TempDir, Table, CachedSessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let key = crate::secrets::MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        let store = Store::connect(&url, key).await.unwrap();
        let cached = store.session_store(ttl).await.unwrap();
        (dir, cached.inner.clone(), cached)
    }

    fn record(minutes: i64) -> Record {
        let mut data = HashMap::new();
        data.insert("user".to_string(), serde_json::json!(7));
        Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
        }
    }

    #[tokio::test]
    async fn a_session_is_served_from_memory_until_the_ttl_then_read_again() {
        let (_dir, table, cached) = stores(Duration::from_millis(300)).await;
        let mut r = record(10);
        cached.create(&mut r).await.unwrap();
        assert_eq!(table.load(&r.id).await.unwrap(), Some(r.clone()));

        // removed behind this process's back (another process sharing the database)
        table.delete(&r.id).await.unwrap();
        assert_eq!(cached.load(&r.id).await.unwrap(), Some(r.clone()));
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(cached.load(&r.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_logout_is_seen_at_once_even_while_the_copy_is_fresh() {
        let (_dir, table, cached) = stores(Duration::from_secs(60)).await;
        let mut r = record(10);
        cached.create(&mut r).await.unwrap();
        assert!(cached.load(&r.id).await.unwrap().is_some());
        cached.delete(&r.id).await.unwrap();
        assert_eq!(cached.load(&r.id).await.unwrap(), None);
        assert_eq!(table.load(&r.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_read_older_than_a_save_does_not_replace_it() {
        let (_dir, _table, cached) = stores(Duration::from_secs(60)).await;
        let before_save = Instant::now();
        let r = record(10);
        cached.save(&r).await.unwrap();
        // a load that began before the save finishes after it, with the old (absent) row
        cached.remember(r.id, None, before_save);
        assert_eq!(cached.load(&r.id).await.unwrap(), Some(r.clone()));
        // a newer read does replace it
        cached.remember(r.id, None, Instant::now());
        assert_eq!(cached.load(&r.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_session_is_not_served_from_memory() {
        let (_dir, _table, cached) = stores(Duration::from_secs(60)).await;
        let r = record(-1);
        cached.remember(r.id, Some(r.clone()), Instant::now());
        assert_eq!(cached.load(&r.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_zero_ttl_always_reads_the_table() {
        let (_dir, table, cached) = stores(Duration::ZERO).await;
        let mut r = record(10);
        cached.create(&mut r).await.unwrap();
        assert_eq!(cached.load(&r.id).await.unwrap(), Some(r.clone()));
        table.delete(&r.id).await.unwrap();
        assert_eq!(cached.load(&r.id).await.unwrap(), None);
        assert!(cached.entries().is_empty());
    }

    #[tokio::test]
    async fn the_table_holds_only_digests_of_session_ids() {
        let (_dir, table, cached) = stores(Duration::from_secs(60)).await;
        let mut r = record(10);
        cached.create(&mut r).await.unwrap();
        let raw = table.load_raw(&r.id).await.unwrap();
        assert!(raw.is_none(), "the cookie's id is a key of the table");
        let stored = table.load_raw(&stored_id(&r.id)).await.unwrap().unwrap();
        assert_eq!(stored.data, r.data);
        assert_eq!(table.load(&r.id).await.unwrap().unwrap().id, r.id);
    }

    #[tokio::test]
    async fn the_copy_stays_bounded() {
        let (_dir, _table, cached) = stores(Duration::from_secs(60)).await;
        for _ in 0..MAX_ENTRIES + 5 {
            let r = record(10);
            cached.remember(r.id, Some(r), Instant::now());
        }
        assert!(cached.entries().len() <= MAX_ENTRIES);
    }
}
