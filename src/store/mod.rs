//! Persistence: the only module that names sqlx.
//!
//! [`Store`] is what every other layer holds: one cheap-to-clone value offering operations
//! grouped by what they are for, each in its own file here:
//!
//! | file | operations |
//! |---|---|
//! | [`outbox`] | the ingest commit ([`IngestTx`]), claim / complete / renew / release, payloads |
//! | [`log`] | the delivery log and redelivery |
//! | [`stats`] | per-hook health for the dashboard, the backlog for `/metrics` |
//! | [`retention`] | pruning finished deliveries and their events |
//! | [`hooks`] | an app's hooks and legacy settings: read, and change in one transaction ([`HookChange`]) |
//! | [`apps`], [`users`], [`sessions`] | apps and their secrets, dashboard users, dashboard sessions |
//! | [`meta`] | the master-key canary |
//! | [`chat`] | the chat source's users, channels, members and messages, and its outbox ([`ChatTx`]) |
//!
//! Rows come back as named structs of `crate::domain` types (typed ids, [`Millis`],
//! [`HookType`](crate::domain::HookType), [`DeliveryStatus`](crate::domain::DeliveryStatus)),
//! never as tuples or bare strings. Keys and secrets are sealed with the master key here, on
//! the way in, and opened on the way out: no other layer sees a sealed value.
//!
//! **Backends.** SQLite (`sqlite://…`, the embedded default) lives in [`sqlite`], PostgreSQL
//! (`postgres://…`, shared by several processes) in [`postgres`]; each has its migrations in
//! `migrations/<backend>/`. `Store` holds an enum over backends rather than a trait object: the
//! backends are few and known at compile time, generic closures and unit-of-work values
//! ([`IngestTx`], [`HookChange`]) need no boxing, and the [`backend!`] macro writes each
//! method's `match` once. The backends offer the same methods with the same signatures and
//! behaviour; where they differ is how writers are kept apart (one writer at a time on
//! SQLite, row locks on PostgreSQL).

pub mod apps;
pub mod chat;
pub mod hooks;
pub mod log;
pub mod meta;
pub mod notify;
pub mod outbox;
pub mod retention;
pub mod sessions;
pub mod stats;
pub mod users;

mod postgres;
mod rows;
mod sqlite;

use crate::domain::Millis;
use crate::secrets::MasterKey;

pub use apps::{AppName, AppSecrets, AppWithSettings, CreatedApp};
pub use chat::{ChatChannel, ChatMember, ChatMessage, ChatTx, ChatUser, OutboxEvent};
pub use hooks::{HookChange, HookRecord, StoredHook};
pub use log::{DeliveryRow, ListFilter};
pub use outbox::{Claimed, Created, IngestTx, Lease, NewDelivery, NewEvent, StoredEvent};
pub use stats::HookHealth;
pub use users::{UserCache, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("the database was migrated by a newer Hookrelay (its migration {0} is unknown to this version); run that version or a later one")]
    NewerSchema(i64),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Input(#[from] crate::dto::InputError),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// The database, with the master key that seals the secrets in it. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    key: MasterKey,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// `backend!(self, b => b.op(args).await)`: runs the expression with `b` bound to the
/// backend in use (one arm per backend).
macro_rules! backend {
    ($store:expr, $b:ident => $e:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($b) => $e,
            $crate::store::Backend::Postgres($b) => $e,
        }
    };
}
pub(crate) use backend;

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::VersionMissing(version) => Self::NewerSchema(version),
            other => Self::Migrate(other),
        }
    }
}

impl Store {
    /// Opens and migrates the database at `url`: `sqlite:…` (the file is created if needed)
    /// or `postgres://…` / `postgresql://…` (the database must exist).
    pub async fn connect(url: &str, key: MasterKey) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(sqlite::Sqlite::connect(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::Postgres::connect(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        Ok(Self { backend, key })
    }

    /// The directory of the database file, whose disk's free space ingest watches (SQLite);
    /// `None` on PostgreSQL, whose disk is the server's.
    pub fn disk_path(&self) -> Option<std::path::PathBuf> {
        match &self.backend {
            Backend::Sqlite(b) => Some(b.directory()),
            Backend::Postgres(_) => None,
        }
    }

    /// Is the database answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        backend!(self, b => b.ping().await)
    }

    /// Closes the connections (at shutdown).
    pub async fn close(&self) {
        backend!(self, b => b.close().await)
    }

    pub(crate) fn key(&self) -> &MasterKey {
        &self.key
    }

    /// Seals `plain` with the master key, bound to `purpose`: for a secret that must travel
    /// through a place it may not be kept in clear (a secret typed into a form, carried to the
    /// next page in the session).
    pub fn seal(&self, plain: &str, purpose: &str) -> String {
        self.key.seal(plain, purpose)
    }

    /// Opens what [`Store::seal`] sealed for the same `purpose`.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<secrecy::SecretString, StoreError> {
        Ok(self.key.open(sealed, purpose)?)
    }
}

/// The current time, as the store keeps it.
pub fn now() -> Millis {
    Millis::now()
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2026-11-23T16:50:42.123Z`).
pub fn rfc3339(at: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.0) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// An RFC 3339 timestamp as an instant.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .map(Millis)
}

/// Drops any password from a database URL before it is logged or shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:****@h/db");
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn timestamps_round_trip() {
        let at = Millis(1_795_392_000_123);
        assert_eq!(rfc3339(at), "2026-11-23T00:00:00.123Z");
        assert_eq!(parse_rfc3339(&rfc3339(at)), Some(at));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
