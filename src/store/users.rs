//! Dashboard administrators.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{is_unique_violation, now_millis, Db, StoreError};
use crate::auth::Email;
use crate::dto::InputError;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
}

pub async fn count(db: &Db) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await?)
}

pub async fn create(db: &Db, email: &Email, password_hash: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now_millis())
    .fetch_one(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Input(InputError::EmailTaken)
        } else {
            e.into()
        }
    })
}

/// Creates the first administrator, only while there is none (atomic: two racing first-run
/// forms cannot both succeed).
pub async fn create_first(db: &Db, email: &Email, password_hash: &str) -> Result<i64, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at)
         SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now_millis())
    .fetch_optional(db)
    .await?;
    id.ok_or(StoreError::Input(InputError::AdminExists))
}

pub async fn by_email(db: &Db, email: &Email) -> Result<Option<UserRow>, StoreError> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, email, password_hash)| UserRow {
        id,
        email,
        password_hash,
    }))
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<UserRow>, StoreError> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, email, password_hash FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, email, password_hash)| UserRow {
        id,
        email,
        password_hash,
    }))
}

/// What the dashboard asks about users on every page, remembered by this process: a user row
/// never changes and is never deleted (nothing here or in the CLI does either), so a row once
/// read, and the fact that some user exists, stay true for every process sharing the database.
#[derive(Debug, Default)]
pub struct UserCache {
    any: AtomicBool,
    by_id: Mutex<HashMap<i64, UserRow>>,
}

impl UserCache {
    /// Is there any user (else the dashboard sends everyone to the first-run form)?
    pub async fn any_exist(&self, db: &Db) -> Result<bool, StoreError> {
        if self.any.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let any = count(db).await? > 0;
        if any {
            self.any.store(true, Ordering::Relaxed);
        }
        Ok(any)
    }

    /// The user `id` (the one a session names).
    pub async fn by_id(&self, db: &Db, id: i64) -> Result<Option<UserRow>, StoreError> {
        if let Some(user) = self.known().get(&id) {
            return Ok(Some(user.clone()));
        }
        let user = by_id(db, id).await?;
        if let Some(user) = &user {
            self.known().insert(id, user.clone());
        }
        Ok(user)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<i64, UserRow>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}
