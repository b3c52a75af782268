//! Dashboard users on SQLite.

use super::{is_foreign_key_violation, is_unique_violation, Sqlite};
use crate::domain::{AppId, Email, Millis, Role, UserId};
use crate::dto::InputError;
use crate::store::rows::UserRecord;
use crate::store::{StoreError, UserRow};

impl Sqlite {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Creates a user with `role`, given `apps` (members see only those), in one transaction.
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        role: Role,
        apps: &[AppId],
    ) -> Result<UserId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at, role) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(Millis::now().0)
        .bind(role.as_str())
        .fetch_one(&mut *tx)
        .await
        .map(UserId)
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Input(InputError::EmailTaken)
            } else {
                e.into()
            }
        })?;
        grant(&mut tx, id, apps).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every user, by email.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows: Vec<UserRecord> =
            sqlx::query_as("SELECT id, email, password_hash, role FROM users ORDER BY email")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The apps given to the user.
    pub async fn user_apps(&self, id: UserId) -> Result<Vec<AppId>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT app_id FROM user_apps WHERE user_id = ? ORDER BY app_id")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(AppId).collect())
    }

    /// Sets the user's role and apps. False when there is no such user.
    pub async fn set_access(
        &self,
        id: UserId,
        role: Role,
        apps: &[AppId],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_apps WHERE user_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        grant(&mut tx, id, apps).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the user (their grants go with them). False when there is no such user.
    pub async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces the user's password hash. False when there is no such user.
    pub async fn set_password(&self, id: UserId, password_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn create_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<UserId, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at)
             SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(Millis::now().0)
        .fetch_optional(&self.pool)
        .await?;
        id.map(UserId)
            .ok_or(StoreError::Input(InputError::AdminExists))
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRow>, StoreError> {
        let row: Option<UserRecord> =
            sqlx::query_as("SELECT id, email, password_hash, role FROM users WHERE email = ?")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let row: Option<UserRecord> =
            sqlx::query_as("SELECT id, email, password_hash, role FROM users WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }
}

/// Gives `apps` to the user (an unknown app is refused: `UnknownApp`).
async fn grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user: UserId,
    apps: &[AppId],
) -> Result<(), StoreError> {
    for app in apps {
        sqlx::query("INSERT INTO user_apps (user_id, app_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(user.0)
            .bind(app.0)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::Input(InputError::UnknownApp)
                } else {
                    e.into()
                }
            })?;
    }
    Ok(())
}
