//! `NOTIFY` / `LISTEN` on PostgreSQL (see `store::notify`).

use sqlx::postgres::PgListener;

use super::Postgres;
use crate::store::StoreError;

pub async fn announce(db: &Postgres, channel: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A `LISTEN` on its own connection (sqlx reconnects it if the connection drops).
pub struct Listener(PgListener);

pub async fn listen(db: &Postgres, channel: &str) -> Result<Listener, StoreError> {
    let mut listener = PgListener::connect_with(&db.pool).await?;
    listener.listen(channel).await?;
    Ok(Listener(listener))
}

impl Listener {
    pub async fn next(&mut self) -> Result<(), StoreError> {
        self.0.recv().await?;
        Ok(())
    }
}
