//! The SQLite backend: one file, WAL, `synchronous=FULL`, one writer at a time.

pub mod apps;
pub mod hooks;
pub mod log;
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

/// Rows per multi-row statement (SQLite allows 32,766 bound parameters).
pub const CHUNK: usize = 400;

/// Most connections in the pool.
const MAX_CONNECTIONS: u32 = 8;

/// How long a statement waits for SQLite's write lock, and a caller for a connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Sqlite {
    pub pool: SqlitePool,
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
            .busy_timeout(BUSY_TIMEOUT);
        // An embedded database cannot drop a connection the way a server can, so the pool does
        // not ping each one before handing it out: that would be a second round trip to the
        // connection's thread for every query.
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(false)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            gate: Arc::default(),
        })
    }

    /// Waits for this process's turn to write.
    pub async fn write_gate(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.gate.clone().lock_owned().await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}
