//! Dashboard users.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{backend, Store, StoreError};
use crate::domain::{Email, UserId};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        backend!(self, b => b.user_count().await)
    }

    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<UserId, StoreError> {
        backend!(self, b => b.create_user(email, password_hash).await)
    }

    /// Creates the first user, only while there is none (atomic: two racing first-run forms
    /// cannot both succeed).
    pub async fn create_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<UserId, StoreError> {
        backend!(self, b => b.create_first_user(email, password_hash).await)
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRow>, StoreError> {
        backend!(self, b => b.user_by_email(email).await)
    }

    pub async fn user(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        backend!(self, b => b.user(id).await)
    }
}

/// What the dashboard asks about users on every page, remembered by this process: a user row
/// never changes and is never deleted (nothing here or in the CLI does either), so a row once
/// read, and the fact that some user exists, stay true for every process sharing the database.
#[derive(Debug, Default)]
pub struct UserCache {
    any: AtomicBool,
    by_id: Mutex<HashMap<UserId, UserRow>>,
}

impl UserCache {
    /// Is there any user (else the dashboard sends everyone to the first-run form)?
    pub async fn any_exist(&self, store: &Store) -> Result<bool, StoreError> {
        if self.any.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let any = store.user_count().await? > 0;
        if any {
            self.any.store(true, Ordering::Relaxed);
        }
        Ok(any)
    }

    /// The user `id` (the one a session names).
    pub async fn by_id(&self, store: &Store, id: UserId) -> Result<Option<UserRow>, StoreError> {
        if let Some(user) = self.known().get(&id) {
            return Ok(Some(user.clone()));
        }
        let user = store.user(id).await?;
        if let Some(user) = &user {
            self.known().insert(id, user.clone());
        }
        Ok(user)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, UserRow>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}
