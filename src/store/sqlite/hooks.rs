//! Hooks and legacy settings on SQLite.

use sqlx::{Executor, Sqlite as Db, Transaction};

use super::Sqlite;
use crate::domain::AppId;
use crate::store::hooks::{HookRow, NewHookRow};
use crate::store::StoreError;

pub type Tx = Transaction<'static, Db>;

impl Sqlite {
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
        "SELECT id, config, credentials_enc, created_at, updated_at FROM event_hooks WHERE app_id = ? ORDER BY position",
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
        sqlx::query_as("SELECT settings, settings_secrets_enc FROM apps WHERE id = ?")
            .bind(app_id.0)
            .fetch_optional(e)
            .await?,
    )
}

/// Begins the change: bumps `hooks_version` first, which takes SQLite's write lock for the
/// rest of the transaction.
pub async fn begin_change(db: &Sqlite, app_id: AppId) -> Result<Tx, StoreError> {
    let mut tx = db.pool.begin().await?;
    let bumped = sqlx::query("UPDATE apps SET hooks_version = hooks_version + 1 WHERE id = ?")
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
    sqlx::query("UPDATE apps SET settings = ?, settings_secrets_enc = ? WHERE id = ?")
        .bind(json)
        .bind(sealed)
        .bind(app_id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn replace_hooks(
    tx: &mut Tx,
    app_id: AppId,
    rows: &[NewHookRow],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM event_hooks WHERE app_id = ?")
        .bind(app_id.0)
        .execute(&mut **tx)
        .await?;
    for (position, row) in rows.iter().enumerate() {
        sqlx::query(
            "INSERT INTO event_hooks (app_id, id, position, hook_type, enabled, config, credentials_enc, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(app_id.0)
        .bind(&row.id)
        .bind(position as i64)
        .bind(row.hook_type.as_str())
        .bind(row.enabled)
        .bind(&row.config)
        .bind(&row.credentials)
        .bind(row.created_at.0)
        .bind(row.updated_at.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
