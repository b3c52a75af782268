//! The PostgreSQL backend: a server shared by any number of hookrelay processes.
//!
//! Unlike SQLite there is no write gate: PostgreSQL has many writers, so a unit of work is
//! just its transaction. Processes stay apart where they must through the database itself:
//! claims skip rows another process has locked (`FOR UPDATE SKIP LOCKED`), a hook change locks
//! its app's row, and the migrations run under PostgreSQL's advisory lock, so several
//! instances may start at once. Ingest commits are synchronous (durable when they return);
//! outcome transactions are not (see [`Postgres::complete`]).

pub mod apps;
pub mod chat;
pub mod hooks;
pub mod log;
pub mod meta;
pub mod notify;
pub mod outbox;
pub mod retention;
pub mod stats;
pub mod users;

#[cfg(test)]
mod tests;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::StoreError;

/// Rows per statement that deletes or updates by an array of ids (one bound parameter each):
/// large enough to need few round trips, small enough never to hold many row locks for long.
pub const BATCH: usize = 5_000;

/// Most connections in the pool.
const MAX_CONNECTIONS: u32 = 16;

/// How long a caller waits for a connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The advisory lock the dashboard's sessions table is created under (any value unlikely to
/// be used by something else sharing the database; sqlx's migrations use their own).
const SESSIONS_LOCK: i64 = 0x686f_6f6b_7265_6c01; // "hookrel" + 1

#[derive(Clone)]
pub struct Postgres {
    pub pool: PgPool,
}

impl Postgres {
    /// Connects and migrates the database (under an advisory lock, so concurrent starts of
    /// several processes migrate once).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        // No ping before each use (a second round trip per query): a connection the server
        // dropped fails its next query once and is then replaced, which an ingest caller sees
        // as one refused request (nothing stored, safe to resend), never as a lost event.
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The dashboard's sessions table (`tower_sessions.sessions`), created if needed. The
    /// creation runs under an advisory lock: two processes creating the schema or the table
    /// at the same moment would otherwise collide in PostgreSQL's catalog.
    pub async fn sessions_table(
        &self,
    ) -> Result<tower_sessions_sqlx_store::PostgresStore, StoreError> {
        let table = tower_sessions_sqlx_store::PostgresStore::new(self.pool.clone())
            .with_table_name("sessions")
            .expect("valid table name");
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(SESSIONS_LOCK)
            .execute(&mut *conn)
            .await?;
        let migrated = table.migrate().await;
        if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(SESSIONS_LOCK)
            .execute(&mut *conn)
            .await
        {
            // then closing the session is what releases the lock
            conn.close_on_drop();
            return Err(e.into());
        }
        migrated?;
        Ok(table)
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}
