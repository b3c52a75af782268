//! Apps on SQLite.

use super::{is_unique_violation, Sqlite};
use crate::domain::{AppId, Millis};
use crate::dto::{AppSummary, InputError};
use crate::store::rows::{AppRow, AppSettingsRow, SecretsRow};
use crate::store::{AppName, StoreError};

impl Sqlite {
    /// Inserts the app, then seals its secret with `seal(id)` (the sealed value is bound to the
    /// row id, known only after the insert), in one transaction.
    pub async fn create_app(
        &self,
        name: &AppName,
        api_key: &str,
        external_id: &str,
        seal: impl FnOnce(AppId) -> String,
    ) -> Result<AppSummary, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: AppRow = sqlx::query_as(
            "INSERT INTO apps (name, name_key, api_key, api_secret_enc, created_at, external_id) VALUES (?, ?, ?, '', ?, ?)
             RETURNING id, name, api_key, created_at, external_id",
        )
        .bind(name.as_str())
        .bind(name.as_str().to_lowercase())
        .bind(api_key)
        .bind(Millis::now().0)
        .bind(external_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Input(InputError::AppNameTaken)
            } else {
                e.into()
            }
        })?;
        sqlx::query("UPDATE apps SET api_secret_enc = ? WHERE id = ?")
            .bind(seal(AppId(row.id)))
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    pub async fn apps(&self) -> Result<Vec<AppSummary>, StoreError> {
        let rows: Vec<AppRow> = sqlx::query_as(
            "SELECT id, name, api_key, created_at, external_id FROM apps ORDER BY name_key",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn app(&self, id: AppId) -> Result<Option<AppSummary>, StoreError> {
        let row: Option<AppRow> = sqlx::query_as(
            "SELECT id, name, api_key, created_at, external_id FROM apps WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    pub async fn app_by_key(&self, api_key: &str) -> Result<Option<AppSummary>, StoreError> {
        let row: Option<AppRow> = sqlx::query_as(
            "SELECT id, name, api_key, created_at, external_id FROM apps WHERE api_key = ?",
        )
        .bind(api_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    /// The app, its settings JSON and its `hooks_version`.
    pub async fn app_with_settings(
        &self,
        id: AppId,
    ) -> Result<Option<(AppSummary, String, i64)>, StoreError> {
        let row: Option<AppSettingsRow> = sqlx::query_as(
            "SELECT id, name, api_key, created_at, external_id, settings, hooks_version FROM apps WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.app.into(), r.settings, r.hooks_version)))
    }

    pub async fn hooks_version(&self, id: AppId) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT hooks_version FROM apps WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn app_secret(&self, id: AppId) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT api_secret_enc FROM apps WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The app's sealed secrets, `None` when there is no such app.
    pub async fn app_secrets(&self, id: AppId) -> Result<Option<SecretsRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT api_secret_enc, previous_secret_enc, previous_secret_until FROM apps WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Replaces the app's secret with `sealed`; the old one stays valid until `grace_until`
    /// (`None`: revoked at once). Bumps `hooks_version`, so that every process signs webhooks
    /// with the new secret. False when there is no such app.
    pub async fn rotate_secret(
        &self,
        id: AppId,
        sealed: &str,
        grace_until: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE apps SET previous_secret_enc = CASE WHEN ?2 IS NULL THEN NULL ELSE api_secret_enc END,
                previous_secret_until = ?2, api_secret_enc = ?3,
                hooks_version = hooks_version + 1
             WHERE id = ?1",
        )
        .bind(id.0)
        .bind(grace_until.map(|m| m.0))
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the app and everything of it (hooks, events, deliveries, statistics, grants) in
    /// one transaction. False when there is no such app.
    pub async fn delete_app(&self, id: AppId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        for table in [
            "deliveries",
            "hook_stats",
            "event_hooks",
            "events",
            "user_apps",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE app_id = ?"))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM apps WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
