//! Dashboard users: their password hashes, roles and the apps given to members.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{backend, Store, StoreError};
use crate::domain::{AppId, Email, Role, UserId};
use crate::dto::InputError;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        backend!(self, b => b.user_count().await)
    }

    /// Creates a user with `role`; a member sees only `apps` (unknown apps: `UnknownApp`).
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        role: Role,
        apps: &[AppId],
    ) -> Result<UserId, StoreError> {
        backend!(self, b => b.create_user(email, password_hash, role, apps).await)
    }

    /// Creates the first user, an administrator, only while there is none (atomic: two racing
    /// first-run forms cannot both succeed).
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

    /// Every user, by email.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        backend!(self, b => b.users().await)
    }

    /// The apps given to the user (what a member sees).
    pub async fn user_apps(&self, id: UserId) -> Result<Vec<AppId>, StoreError> {
        backend!(self, b => b.user_apps(id).await)
    }

    /// Sets the user's role and apps. The last administrator cannot be made a member
    /// (`LastAdmin`); `UnknownUser` when there is no such user.
    pub async fn set_access(
        &self,
        id: UserId,
        role: Role,
        apps: &[AppId],
    ) -> Result<(), StoreError> {
        if role != Role::Admin {
            self.keep_an_admin(id).await?;
        }
        if backend!(self, b => b.set_access(id, role, apps).await)? {
            Ok(())
        } else {
            Err(StoreError::Input(InputError::UnknownUser))
        }
    }

    /// Deletes the user; never the last administrator (the first-run form would open again).
    pub async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        self.keep_an_admin(id).await?;
        if backend!(self, b => b.delete_user(id).await)? {
            Ok(())
        } else {
            Err(StoreError::Input(InputError::UnknownUser))
        }
    }

    /// Sets the user's password hash (their sessions end: a session is bound to the hash).
    pub async fn set_password(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        if backend!(self, b => b.set_password(id, password_hash).await)? {
            Ok(())
        } else {
            Err(StoreError::Input(InputError::UnknownUser))
        }
    }

    /// Refuses a change that would leave no administrator besides `id`.
    async fn keep_an_admin(&self, id: UserId) -> Result<(), StoreError> {
        let users = self.users().await?;
        let others = users
            .iter()
            .filter(|u| u.role == Role::Admin && u.id != id)
            .count();
        let is_admin = users.iter().any(|u| u.id == id && u.role == Role::Admin);
        if is_admin && others == 0 {
            return Err(StoreError::Input(InputError::LastAdmin));
        }
        Ok(())
    }
}

/// What the dashboard asks about users on every page, remembered by this process for `ttl`:
/// the bound on how long another process's change (a deleted user, a new password, a role)
/// takes to reach this one. That some user exists is remembered for good (the last
/// administrator cannot be deleted).
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    any: AtomicBool,
    by_id: Mutex<HashMap<UserId, Known>>,
}

/// What was read of a user (`None`: no such user), their apps, and when.
type Known = (Option<UserRow>, Vec<AppId>, Instant);

impl Default for UserCache {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl UserCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            any: AtomicBool::new(false),
            by_id: Mutex::default(),
        }
    }

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

    /// The user `id` (the one a session names) and the apps given to them.
    pub async fn by_id(
        &self,
        store: &Store,
        id: UserId,
    ) -> Result<Option<(UserRow, Vec<AppId>)>, StoreError> {
        if let Some((user, apps, at)) = self.known().get(&id) {
            if at.elapsed() < self.ttl {
                return Ok(user.clone().map(|u| (u, apps.clone())));
            }
        }
        let user = store.user(id).await?;
        let apps = match &user {
            Some(u) if u.role == Role::Member => store.user_apps(id).await?,
            _ => Vec::new(),
        };
        let mut known = self.known();
        if known.len() > 10_000 {
            known.clear();
        }
        known.insert(id, (user.clone(), apps.clone(), Instant::now()));
        Ok(user.map(|u| (u, apps)))
    }

    /// Forgets what this process knows of `id` (after it changed the user itself).
    pub fn forget(&self, id: UserId) {
        self.known().remove(&id);
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Known>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}
