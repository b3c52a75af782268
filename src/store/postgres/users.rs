//! Dashboard users on PostgreSQL.

use super::{is_unique_violation, Postgres};
use crate::domain::{Email, Millis, UserId};
use crate::dto::InputError;
use crate::store::rows::UserRecord;
use crate::store::{StoreError, UserRow};

impl Postgres {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<UserId, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(Millis::now().0)
        .fetch_one(&self.pool)
        .await
        .map(UserId)
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Input(InputError::EmailTaken)
            } else {
                e.into()
            }
        })
    }

    /// Two transactions could both see no user under READ COMMITTED: the table is locked
    /// against other writers first (the lock conflicts with itself), so the second one waits and
    /// then sees the first one's user.
    pub async fn create_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at)
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(Millis::now().0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        id.map(UserId)
            .ok_or(StoreError::Input(InputError::AdminExists))
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRow>, StoreError> {
        let row: Option<UserRecord> =
            sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = $1")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let row: Option<UserRecord> =
            sqlx::query_as("SELECT id, email, password_hash FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }
}
