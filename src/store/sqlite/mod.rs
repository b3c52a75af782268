//! The SQLite backend: one file, WAL, `synchronous=FULL`, one writer at a time.

pub mod apps;
pub mod chat;
pub mod hooks;
pub mod log;
pub mod meta;
pub mod outbox;
pub mod retention;
pub mod stats;
pub mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::StoreError;

/// Rows per multi-row statement (SQLite allows 32,766 bound parameters). Such a statement is
/// kept prepared (each connection caches up to 100) only in its full-chunk shape: the
/// remainders have a new shape nearly every time, and a prepared statement of hundreds of rows
/// takes hundreds of KB, so caching them held tens of MB.
pub const CHUNK: usize = 400;

/// Most connections in the pool. Each has its own thread, page cache and statement cache;
/// writes take turns anyway, and 4 serve the bench's dashboard and delivery reads as fast as 8
/// did (1,789 vs 1,707 pages/s) with 4 MB less peak memory.
const MAX_CONNECTIONS: u32 = 4;

/// Page cache per connection, in KiB (the OS caches the file too).
const CACHE_KIB: u32 = 512;

/// How long a statement waits for SQLite's write lock, and a caller for a connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Sqlite {
    pub pool: SqlitePool,
    /// The one connection the hot writes use (ingest, claims, outcomes, leases, chat calls,
    /// redeliveries), in turn through [`Sqlite::write_gate`]: their statements (the multi-row
    /// inserts of [`CHUNK`] rows take hundreds of KB each) are prepared and cached once, not
    /// once per pooled connection.
    pub writer: SqlitePool,
    /// Serialises this process's writes (ingest commits, claims, outcomes, hook changes that
    /// go through it). SQLite has one writer; connections that collide wait in its busy
    /// handler, which sleeps in growing steps (up to 100 ms) — queueing here instead keeps the
    /// writes back to back.
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Sqlite {
    /// Opens (creating the file if needed) and migrates the database.
    ///
    /// Writes are durable when they return: WAL with `synchronous=FULL`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // each connection's page cache: SQLite's default is 2 MB, 16 MB for the pool
            .pragma("cache_size", format!("-{CACHE_KIB}"));
        let pool = pool_of(MAX_CONNECTIONS).connect_with(opts.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // callers wait for the write gate first, so this waits only for a connection reopened
        // after an error (a writer left at synchronous=NORMAL is closed, see Relaxed)
        let writer = pool_of(1).connect_with(opts).await?;
        Ok(Self {
            pool,
            writer,
            gate: Arc::default(),
        })
    }

    /// Waits for this process's turn to write.
    pub async fn write_gate(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.gate.clone().lock_owned().await
    }

    /// The directory holding the database file.
    pub fn directory(&self) -> std::path::PathBuf {
        let options = self.pool.connect_options();
        let file = options.get_filename();
        match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// A pool of at most `max` connections, handed out without a ping: an embedded database cannot
/// drop a connection the way a server can, and a ping would be a second round trip to the
/// connection's thread for every query.
fn pool_of(max: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .acquire_timeout(BUSY_TIMEOUT)
}

/// A pooled connection that may be at `synchronous=NORMAL`: unless taken back out (after
/// `FULL` is restored), dropping it closes the connection rather than return it to the pool,
/// so no later ingest commit can run on it unflushed (an error, a panic or a cancelled call
/// all end here).
pub struct Relaxed(pub Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>);

impl Drop for Relaxed {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            // detached from the pool, the connection closes as it drops
            drop(conn.detach());
        }
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}
