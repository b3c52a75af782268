//! Hooks and legacy settings on PostgreSQL.

use sqlx::{Executor, Postgres as Db, Transaction};

use super::Postgres;
use crate::domain::AppId;
use crate::store::hooks::{HookRow, NewHookRow};
use crate::store::StoreError;

pub type Tx = Transaction<'static, Db>;

impl Postgres {
    pub async fn hooks(&self, app_id: AppId) -> Result<Vec<HookRow>, StoreError> {
        hooks(&self.pool, app_id).await
    }

    pub async fn settings(
        &self,
        app_id: AppId,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        settings(&self.pool, app_id).await
    }
}

pub async fn hooks<'e, E: Executor<'e, Database = Db>>(
    e: E,
    app_id: AppId,
) -> Result<Vec<HookRow>, StoreError> {
    let rows: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT id, config, credentials_enc, created_at, updated_at FROM event_hooks WHERE app_id = $1 ORDER BY position",
    )
    .bind(app_id.0)
    .fetch_all(e)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, config, credentials, created_at, updated_at)| HookRow {
                id,
                config,
                credentials,
                created_at,
                updated_at,
            },
        )
        .collect())
}

/// The app's settings JSON and sealed settings secrets.
pub async fn settings<'e, E: Executor<'e, Database = Db>>(
    e: E,
    app_id: AppId,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT settings, settings_secrets_enc FROM apps WHERE id = $1")
            .bind(app_id.0)
            .fetch_optional(e)
            .await?,
    )
}

/// Begins the change: bumps `hooks_version` first, which locks the app's row for the rest of
/// the transaction, so concurrent changes of one app run one after the other (and an ingest
/// commit reading the version waits for this one).
pub async fn begin_change(db: &Postgres, app_id: AppId) -> Result<Tx, StoreError> {
    let mut tx = db.pool.begin().await?;
    let bumped = sqlx::query("UPDATE apps SET hooks_version = hooks_version + 1 WHERE id = $1")
        .bind(app_id.0)
        .execute(&mut *tx)
        .await?;
    if bumped.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(tx)
}

pub async fn write_settings(
    tx: &mut Tx,
    app_id: AppId,
    json: &str,
    sealed: Option<String>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE apps SET settings = $1, settings_secrets_enc = $2 WHERE id = $3")
        .bind(json)
        .bind(sealed)
        .bind(app_id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the app's hooks and inserts `rows` in one statement, their positions in order.
pub async fn replace_hooks(
    tx: &mut Tx,
    app_id: AppId,
    rows: &[NewHookRow],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM event_hooks WHERE app_id = $1")
        .bind(app_id.0)
        .execute(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.hook_type.as_str()).collect();
    let enabled: Vec<bool> = rows.iter().map(|r| r.enabled).collect();
    let configs: Vec<&str> = rows.iter().map(|r| r.config.as_str()).collect();
    let credentials: Vec<Option<&str>> = rows.iter().map(|r| r.credentials.as_deref()).collect();
    let created: Vec<i64> = rows.iter().map(|r| r.created_at.0).collect();
    let updated: Vec<i64> = rows.iter().map(|r| r.updated_at.0).collect();
    sqlx::query(
        "INSERT INTO event_hooks (app_id, id, position, hook_type, enabled, config, credentials_enc, created_at, updated_at)
         SELECT $1, u.id, u.n - 1, u.hook_type, u.enabled, u.config, u.credentials_enc, u.created_at, u.updated_at
         FROM UNNEST($2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
           WITH ORDINALITY AS u (id, hook_type, enabled, config, credentials_enc, created_at, updated_at, n)",
    )
    .bind(app_id.0)
    .bind(ids)
    .bind(types)
    .bind(enabled)
    .bind(configs)
    .bind(credentials)
    .bind(created)
    .bind(updated)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
