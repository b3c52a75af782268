//! An app's event hooks (`event_hooks` rows: the secret-free configuration as JSON, the sealed
//! credentials apart) and its legacy settings (`apps.settings`, secrets sealed apart).
//!
//! Keys and secrets are sealed with the master key, bound to `hook:<app>:<id>` (or
//! `app:<app>:settings`): a sealed value copied to another row does not open.

use super::apps::parse_settings;
use super::{backend, postgres, sqlite, Backend, Store, StoreError};
use crate::domain::{AppId, EventHook, HookType, LegacySettings, Millis};
use crate::secrets::MasterKey;

/// A stored hook: its configuration (with `created_at` / `updated_at` set) and its AWS
/// `(key, secret)` in clear, if it has any.
#[derive(Debug, Clone)]
pub struct StoredHook {
    pub hook: EventHook,
    pub credentials: Option<(String, String)>,
}

/// A hook to write: its secret-free configuration, its type, its credentials and its times.
#[derive(Debug, Clone)]
pub struct HookRecord {
    pub hook: EventHook,
    pub hook_type: HookType,
    pub credentials: Option<(String, String)>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

pub(super) fn hook_aad(app_id: AppId, hook_id: &str) -> String {
    format!("hook:{app_id}:{hook_id}")
}

fn settings_aad(app_id: AppId) -> String {
    format!("app:{app_id}:settings")
}

/// A hook row as the backend reads it.
pub(super) struct HookRow {
    pub id: String,
    pub config: String,
    pub credentials: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Opens hook rows into [`StoredHook`]s.
pub(super) fn open_hooks(
    key: &MasterKey,
    app_id: AppId,
    rows: Vec<HookRow>,
) -> Result<Vec<StoredHook>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let mut hook: EventHook = serde_json::from_str(&row.config).map_err(|e| {
                StoreError::Corrupt(format!("hook {} of app {app_id}: {e}", row.id))
            })?;
            hook.created_at = Some(super::rfc3339(Millis(row.created_at)));
            hook.updated_at = Some(super::rfc3339(Millis(row.updated_at)));
            let credentials = match row.credentials {
                Some(sealed) => {
                    let json = key.open(&sealed, &hook_aad(app_id, &row.id))?;
                    let pair: (String, String) =
                        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&json)).map_err(
                            |e| StoreError::Corrupt(format!("hook {} credentials: {e}", row.id)),
                        )?;
                    Some(pair)
                }
                None => None,
            };
            Ok(StoredHook { hook, credentials })
        })
        .collect()
}

/// A hook row to write: the configuration serialised, the credentials sealed.
pub(super) struct NewHookRow {
    pub id: String,
    pub hook_type: HookType,
    pub enabled: bool,
    pub config: String,
    pub credentials: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Parses the stored configurations of hooks (no credentials): what fan-out needs.
pub(super) fn parse_configs(
    app_id: AppId,
    rows: Vec<(String, String)>,
) -> Result<Vec<EventHook>, StoreError> {
    rows.into_iter()
        .map(|(id, config)| {
            serde_json::from_str(&config)
                .map_err(|e| StoreError::Corrupt(format!("hook {id} of app {app_id}: {e}")))
        })
        .collect()
}

fn open_settings(
    key: &MasterKey,
    app_id: AppId,
    json: &str,
    sealed: Option<String>,
) -> Result<LegacySettings, StoreError> {
    let mut settings = parse_settings(app_id, json)?;
    if let Some(sealed) = sealed {
        let json = key.open(&sealed, &settings_aad(app_id))?;
        settings.secrets = serde_json::from_str(secrecy::ExposeSecret::expose_secret(&json))
            .map_err(|e| StoreError::Corrupt(format!("settings secrets of app {app_id}: {e}")))?;
    }
    Ok(settings)
}

impl Store {
    /// The app's hooks in order, with their credentials in clear (server-side use only).
    pub async fn hooks(&self, app_id: AppId) -> Result<Vec<StoredHook>, StoreError> {
        let rows = backend!(self, b => b.hooks(app_id).await)?;
        open_hooks(self.key(), app_id, rows)
    }

    /// The app's legacy settings with their secrets in clear.
    pub async fn legacy_settings(&self, app_id: AppId) -> Result<LegacySettings, StoreError> {
        let (json, sealed) =
            backend!(self, b => b.settings(app_id).await)?.ok_or(StoreError::NotFound)?;
        open_settings(self.key(), app_id, &json, sealed)
    }

    /// Starts a change of the app's hooks and settings: one transaction that first bumps the
    /// app's `hooks_version` (so concurrent changes of one app serialise, and every process
    /// sees that its hooks changed). Nothing is written unless [`HookChange::commit`] is called.
    pub async fn change_hooks(&self, app_id: AppId) -> Result<HookChange, StoreError> {
        let tx = match &self.backend {
            Backend::Sqlite(b) => Tx::Sqlite(sqlite::hooks::begin_change(b, app_id).await?),
            Backend::Postgres(b) => Tx::Postgres(postgres::hooks::begin_change(b, app_id).await?),
        };
        Ok(HookChange {
            tx,
            app_id,
            key: self.key().clone(),
        })
    }
}

enum Tx {
    Sqlite(sqlite::hooks::Tx),
    Postgres(postgres::hooks::Tx),
}

/// One change of an app's hooks and settings in progress (see [`Store::change_hooks`]).
pub struct HookChange {
    tx: Tx,
    app_id: AppId,
    key: MasterKey,
}

impl HookChange {
    /// The settings as they are in this transaction, secrets in clear.
    pub async fn settings(&mut self) -> Result<LegacySettings, StoreError> {
        let app_id = self.app_id;
        let (json, sealed) = match &mut self.tx {
            Tx::Sqlite(tx) => sqlite::hooks::settings(&mut **tx, app_id).await?,
            Tx::Postgres(tx) => postgres::hooks::settings(&mut **tx, app_id).await?,
        }
        .ok_or(StoreError::NotFound)?;
        open_settings(&self.key, app_id, &json, sealed)
    }

    /// The hooks as they are in this transaction, credentials in clear.
    pub async fn hooks(&mut self) -> Result<Vec<StoredHook>, StoreError> {
        let app_id = self.app_id;
        let rows = match &mut self.tx {
            Tx::Sqlite(tx) => sqlite::hooks::hooks(&mut **tx, app_id).await?,
            Tx::Postgres(tx) => postgres::hooks::hooks(&mut **tx, app_id).await?,
        };
        open_hooks(&self.key, app_id, rows)
    }

    /// Replaces the settings (their secrets sealed apart; none set: nothing sealed).
    pub async fn write_settings(&mut self, settings: &LegacySettings) -> Result<(), StoreError> {
        let app_id = self.app_id;
        let json = serde_json::to_string(settings).expect("settings serialise");
        let sealed = (!settings.secrets.is_empty()).then(|| {
            self.key.seal(
                &serde_json::to_string(&settings.secrets).expect("strings serialise"),
                &settings_aad(app_id),
            )
        });
        match &mut self.tx {
            Tx::Sqlite(tx) => sqlite::hooks::write_settings(tx, app_id, &json, sealed).await,
            Tx::Postgres(tx) => postgres::hooks::write_settings(tx, app_id, &json, sealed).await,
        }
    }

    /// Replaces every hook of the app with `hooks`, in this order.
    pub async fn replace_hooks(&mut self, hooks: &[HookRecord]) -> Result<(), StoreError> {
        let app_id = self.app_id;
        let rows: Vec<NewHookRow> = hooks
            .iter()
            .map(|h| NewHookRow {
                id: h.hook.id.clone(),
                hook_type: h.hook_type,
                enabled: h.hook.enabled,
                config: serde_json::to_string(&h.hook).expect("hooks serialise"),
                credentials: h.credentials.as_ref().map(|c| {
                    self.key.seal(
                        &serde_json::to_string(c).expect("strings serialise"),
                        &hook_aad(app_id, &h.hook.id),
                    )
                }),
                created_at: h.created_at,
                updated_at: h.updated_at,
            })
            .collect();
        match &mut self.tx {
            Tx::Sqlite(tx) => sqlite::hooks::replace_hooks(tx, app_id, &rows).await,
            Tx::Postgres(tx) => postgres::hooks::replace_hooks(tx, app_id, &rows).await,
        }
    }

    /// Makes the change visible.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(tx) => Ok(tx.commit().await?),
            Tx::Postgres(tx) => Ok(tx.commit().await?),
        }
    }
}
