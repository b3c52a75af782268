//! Persistence (sqlx). SQLite is the embedded default; every query here is plain SQL that
//! Postgres also accepts, so a Postgres pool can follow the same functions later.

pub mod apps;
pub mod deliveries;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub type Db = SqlitePool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Input(#[from] crate::dto::InputError),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// Opens (creating the file if needed) and migrates the database.
///
/// Writes are durable when they return: WAL with `synchronous=FULL`.
pub async fn connect(url: &str) -> Result<Db, StoreError> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    // An embedded database cannot drop a connection the way a server can, so the pool does not
    // ping each one before handing it out: that would be a second round trip to the
    // connection's thread for every query.
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Serialises this process's delivery writes (ingest commits, claims, outcomes). SQLite has
/// one writer; connections that collide wait in its busy handler, which sleeps in growing
/// steps (up to 100 ms) — queueing here instead keeps the writes back to back.
pub async fn write_gate() -> tokio::sync::MutexGuard<'static, ()> {
    static GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    GATE.lock().await
}

/// `SELECT 1`: is the database answering?
pub async fn ping(db: &Db) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

pub fn now_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2026-11-23T16:50:42.123Z`).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
