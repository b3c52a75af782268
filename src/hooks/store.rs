//! Storage of an app's event hooks and legacy flat hook settings.
//!
//! A `PATCH /app` (or a dashboard save) is one transaction: it first bumps the app's
//! `hooks_version` (taking the write lock, so concurrent changes of one app serialise), reads
//! the stored hooks, plans the new list (`patch::plan`), validates every hook, and only then
//! writes. An invalid hook changes nothing. Keys and secrets are sealed with the master key,
//! bound to `hook:<app>:<id>` (or `app:<app>:settings`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::{Sqlite, Transaction};

use super::model::{is_masked, mask_secret, EventHook, HookError};
use super::patch;
use super::validate::{validate_hook, validate_hooks, ValidateContext};
use crate::secrets::MasterKey;
use crate::store::{now_millis, rfc3339, Db, StoreError};

/// Stream's legacy single-hook settings (apps not migrated to `event_hooks`), and app options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacySettings {
    pub webhook_url: String,
    pub webhook_events: Vec<String>,
    pub sqs_url: String,
    pub sns_topic_arn: String,
    pub enable_hook_payload_compression: bool,
    /// Never stored in this JSON: sealed separately.
    #[serde(skip)]
    pub secrets: LegacySecrets,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacySecrets {
    pub sqs_key: String,
    pub sqs_secret: String,
    pub sns_key: String,
    pub sns_secret: String,
}

impl LegacySecrets {
    fn field(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "sqs_key" => Some(&mut self.sqs_key),
            "sqs_secret" => Some(&mut self.sqs_secret),
            "sns_key" => Some(&mut self.sns_key),
            "sns_secret" => Some(&mut self.sns_secret),
            _ => None,
        }
    }

    /// The secrets as shown by the API: masked, empty when unset.
    pub fn masked(&self) -> Self {
        let m = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                mask_secret(s)
            }
        };
        Self {
            sqs_key: m(&self.sqs_key),
            sqs_secret: m(&self.sqs_secret),
            sns_key: m(&self.sns_key),
            sns_secret: m(&self.sns_secret),
        }
    }
}

/// One change of an app's hook settings. `None` leaves a part as it is.
#[derive(Debug, Default)]
pub struct SettingsChange {
    /// The `event_hooks` array and whether `explicit_event_hooks_deletion` was set.
    pub event_hooks: Option<(Vec<EventHook>, bool)>,
    pub webhook_url: Option<String>,
    pub webhook_events: Option<Vec<String>>,
    pub sqs_url: Option<String>,
    pub sns_topic_arn: Option<String>,
    pub enable_hook_payload_compression: Option<bool>,
    /// `(field, value)` for sqs_key, sqs_secret, sns_key, sns_secret; a masked value keeps the
    /// stored one, an empty one clears it.
    pub secrets: Vec<(&'static str, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Invalid(#[from] HookError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

fn hook_aad(app_id: i64, hook_id: &str) -> String {
    format!("hook:{app_id}:{hook_id}")
}

fn settings_aad(app_id: i64) -> String {
    format!("app:{app_id}:settings")
}

type HookRow = (String, String, Option<String>, i64, i64);

/// The app's hooks in order, with their keys and secrets in clear (server-side use only:
/// show them through [`patch::masked`]).
pub async fn list<'e, E>(db: E, key: &MasterKey, app_id: i64) -> Result<Vec<EventHook>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let rows: Vec<HookRow> = sqlx::query_as(
        "SELECT id, config, credentials_enc, created_at, updated_at FROM event_hooks WHERE app_id = ? ORDER BY position",
    )
    .bind(app_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(id, config, sealed, created, updated)| {
            let mut hook: EventHook = serde_json::from_str(&config)
                .map_err(|e| StoreError::Corrupt(format!("hook {id} of app {app_id}: {e}")))?;
            hook.created_at = Some(rfc3339(created));
            hook.updated_at = Some(rfc3339(updated));
            let credentials = match sealed {
                Some(sealed) => {
                    let json = key.open(&sealed, &hook_aad(app_id, &id))?;
                    let (k, s): (String, String) = serde_json::from_str(
                        secrecy::ExposeSecret::expose_secret(&json),
                    )
                    .map_err(|e| StoreError::Corrupt(format!("hook {id} credentials: {e}")))?;
                    Some((k, s))
                }
                None => None,
            };
            Ok(patch::with_credentials(hook, credentials))
        })
        .collect()
}

/// The app's legacy settings with their secrets in clear.
pub async fn legacy<'e, E>(
    db: E,
    key: &MasterKey,
    app_id: i64,
) -> Result<LegacySettings, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT settings, settings_secrets_enc FROM apps WHERE id = ?")
            .bind(app_id)
            .fetch_optional(db)
            .await?;
    let (json, sealed) = row.ok_or(StoreError::NotFound)?;
    let mut settings = parse_settings(app_id, &json)?;
    if let Some(sealed) = sealed {
        let json = key.open(&sealed, &settings_aad(app_id))?;
        settings.secrets = serde_json::from_str(secrecy::ExposeSecret::expose_secret(&json))
            .map_err(|e| StoreError::Corrupt(format!("settings secrets of app {app_id}: {e}")))?;
    }
    Ok(settings)
}

/// The `apps.settings` JSON of `app_id`.
fn parse_settings(app_id: i64, json: &str) -> Result<LegacySettings, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("settings of app {app_id}: {e}")))
}

/// The app options the dashboard shows beside the hooks, and the version of its hooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppOptions {
    pub payload_compression: bool,
    /// `hooks_version`: bumped by every change to the app's hooks or settings.
    pub hooks_version: i64,
}

/// The app and its options, in one read (the app page shows both).
pub async fn app_with_options(
    db: &Db,
    app_id: i64,
) -> Result<Option<(crate::dto::AppSummary, AppOptions)>, StoreError> {
    let Some((app, json, hooks_version)) =
        crate::store::apps::get_with_settings(db, app_id).await?
    else {
        return Ok(None);
    };
    let settings = parse_settings(app_id, &json)?;
    let options = AppOptions {
        payload_compression: settings.enable_hook_payload_compression,
        hooks_version,
    };
    Ok(Some((app, options)))
}

/// Each app's hooks as the dashboard lists them (keys and secrets masked), kept for as long as
/// the app's `hooks_version` stays the same. Every change of an app's hooks goes through
/// [`apply`], which bumps the version in the same transaction, so a list read at a version is
/// the list at that version, for every process sharing the database.
#[derive(Debug, Default)]
pub struct MaskedLists {
    lists: std::sync::Mutex<std::collections::HashMap<i64, VersionedList>>,
}

/// An app's masked hooks and the `hooks_version` they were read at.
type VersionedList = (i64, Arc<Vec<EventHook>>);

impl MaskedLists {
    /// The hooks of `app_id` at `version` (as read with the app, just before).
    pub async fn get(
        &self,
        db: &Db,
        key: &MasterKey,
        app_id: i64,
        version: i64,
    ) -> Result<Arc<Vec<EventHook>>, StoreError> {
        if let Some((v, list)) = self.lists().get(&app_id) {
            if *v == version {
                return Ok(list.clone());
            }
        }
        // a change between the app's read and this one gives a newer list: kept under the
        // older version it is only used until the next page reads the newer version
        let list: Arc<Vec<EventHook>> = Arc::new(
            list(db, key, app_id)
                .await?
                .into_iter()
                .map(patch::masked)
                .collect(),
        );
        let mut lists = self.lists();
        if lists.get(&app_id).is_none_or(|(v, _)| *v <= version) {
            lists.insert(app_id, (version, list.clone()));
        }
        Ok(list)
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, VersionedList>> {
        self.lists.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Applies `change` to the app atomically; returns how many hooks the app has now when the
/// change set them (`None` when it left `event_hooks` alone).
pub async fn apply(
    db: &Db,
    key: &MasterKey,
    app_id: i64,
    change: SettingsChange,
    ctx: &ValidateContext<'_>,
) -> Result<Option<usize>, ChangeError> {
    let mut tx = db.begin().await?;
    let bumped = sqlx::query("UPDATE apps SET hooks_version = hooks_version + 1 WHERE id = ?")
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
    if bumped.rows_affected() == 0 {
        return Err(StoreError::NotFound.into());
    }
    let mut settings = legacy(&mut *tx, key, app_id).await?;
    apply_legacy(&mut settings, &change, ctx)?;
    write_legacy(&mut tx, key, app_id, &settings).await?;

    let count = match change.event_hooks {
        Some((incoming, explicit)) => {
            let stored = list(&mut *tx, key, app_id).await?;
            let planned = patch::plan(&stored, incoming, explicit, || {
                uuid::Uuid::new_v4().to_string()
            })?;
            // hooks from the request are checked under their index in the request first, so
            // that an error names the caller's field; then the list as a whole (limits, ids)
            for p in &planned {
                if let Some(index) = p.from_request {
                    validate_hook(index, &p.hook, ctx)?;
                }
            }
            let planned: Vec<EventHook> = planned.into_iter().map(|p| p.hook).collect();
            let valid = validate_hooks(&planned, ctx)?;
            let now = now_millis();
            sqlx::query("DELETE FROM event_hooks WHERE app_id = ?")
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
            for (position, (valid, planned)) in valid.iter().zip(&planned).enumerate() {
                let (hook, credentials) = patch::canonical(valid, &planned.id);
                let previous = stored.iter().find(|s| s.id == hook.id);
                let created = previous
                    .and_then(|p| p.created_at.as_deref())
                    .and_then(parse_rfc3339)
                    .unwrap_or(now);
                // a hook that the change leaves as it was keeps its updated_at
                let unchanged = previous.is_some_and(|p| {
                    let mut before = p.clone();
                    before.created_at = None;
                    before.updated_at = None;
                    before == patch::with_credentials(hook.clone(), credentials.clone())
                });
                let updated = match previous
                    .and_then(|p| p.updated_at.as_deref())
                    .and_then(parse_rfc3339)
                {
                    Some(at) if unchanged => at,
                    _ => now,
                };
                let sealed = credentials.map(|c| {
                    key.seal(
                        &serde_json::to_string(&c).expect("strings serialise"),
                        &hook_aad(app_id, &hook.id),
                    )
                });
                sqlx::query(
                    "INSERT INTO event_hooks (app_id, id, position, hook_type, enabled, config, credentials_enc, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(app_id)
                .bind(&hook.id)
                .bind(position as i64)
                .bind(&hook.hook_type)
                .bind(hook.enabled)
                .bind(serde_json::to_string(&hook).expect("hooks serialise"))
                .bind(sealed)
                .bind(created)
                .bind(updated)
                .execute(&mut *tx)
                .await?;
            }
            Some(valid.len())
        }
        None => None,
    };
    tx.commit().await?;
    Ok(count)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Checks and applies the legacy flat fields of `change` to `settings`.
fn apply_legacy(
    settings: &mut LegacySettings,
    change: &SettingsChange,
    ctx: &ValidateContext<'_>,
) -> Result<(), HookError> {
    if let Some(url) = &change.webhook_url {
        let url = url.trim();
        if !url.is_empty() {
            let parsed = url::Url::parse(url)
                .map_err(|_| HookError::new("webhook_url", format!("{url} is not a URL")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(HookError::new(
                    "webhook_url",
                    "must be an http(s) URL with a host",
                ));
            }
        }
        settings.webhook_url = url.to_string();
    }
    if let Some(events) = &change.webhook_events {
        if let Some(bad) = events
            .iter()
            .find(|e| !super::events::is_known_event_type(e))
        {
            return Err(HookError::new(
                "webhook_events",
                format!("unknown event type {bad:?}; see GET /hook/events"),
            ));
        }
        settings.webhook_events = events.clone();
    }
    if let Some(url) = &change.sqs_url {
        let url = url.trim();
        if !url.is_empty() {
            super::aws::SqsQueueUrl::parse(url, ctx.endpoint_override)
                .map_err(|e| HookError::new("sqs_url", e.to_string()))?;
        }
        settings.sqs_url = url.to_string();
    }
    if let Some(arn) = &change.sns_topic_arn {
        let arn = arn.trim();
        if !arn.is_empty() {
            super::aws::SnsTopicArn::parse(arn)
                .map_err(|e| HookError::new("sns_topic_arn", e.to_string()))?;
        }
        settings.sns_topic_arn = arn.to_string();
    }
    if let Some(on) = change.enable_hook_payload_compression {
        settings.enable_hook_payload_compression = on;
    }
    for (name, value) in &change.secrets {
        if is_masked(value) {
            continue;
        }
        if let Some(field) = settings.secrets.field(name) {
            *field = value.trim().to_string();
        }
    }
    Ok(())
}

async fn write_legacy(
    tx: &mut Transaction<'_, Sqlite>,
    key: &MasterKey,
    app_id: i64,
    settings: &LegacySettings,
) -> Result<(), StoreError> {
    let sealed = (settings.secrets != LegacySecrets::default()).then(|| {
        key.seal(
            &serde_json::to_string(&settings.secrets).expect("strings serialise"),
            &settings_aad(app_id),
        )
    });
    sqlx::query("UPDATE apps SET settings = ?, settings_secrets_enc = ? WHERE id = ?")
        .bind(serde_json::to_string(settings).expect("settings serialise"))
        .bind(sealed)
        .bind(app_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
