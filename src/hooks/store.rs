//! The hook store: what `PATCH /app` and the dashboard's Save do to an app's hooks and legacy
//! settings, and how the layers above read them (keys and secrets in clear for the server,
//! masked for display). The rows live in `crate::store`; this module adds the rules.
//!
//! A change is one store transaction ([`crate::store::HookChange`]): it first bumps the app's
//! `hooks_version` (so concurrent changes of one app serialise), reads the stored hooks, plans
//! the new list (`patch::plan`), validates every hook, and only then writes. An invalid hook
//! changes nothing.

use std::sync::Arc;

use super::model::{is_masked, EventHook, HookError};
use super::patch;
use super::validate::{validate_hook, validate_hooks, ValidateContext};
use crate::domain::{AppId, Millis};
use crate::store::{parse_rfc3339, HookRecord, Store, StoreError};

pub use crate::domain::{LegacySecrets, LegacySettings};

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

/// The app's hooks in order, with their keys and secrets in clear (server-side use only:
/// show them through [`patch::masked`]).
pub async fn list(store: &Store, app_id: AppId) -> Result<Vec<EventHook>, StoreError> {
    Ok(store
        .hooks(app_id)
        .await?
        .into_iter()
        .map(|h| patch::with_credentials(h.hook, h.credentials))
        .collect())
}

/// The app's legacy settings with their secrets in clear.
pub async fn legacy(store: &Store, app_id: AppId) -> Result<LegacySettings, StoreError> {
    store.legacy_settings(app_id).await
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
    store: &Store,
    app_id: AppId,
) -> Result<Option<(crate::dto::AppSummary, AppOptions)>, StoreError> {
    let Some(read) = store.app_with_settings(app_id).await? else {
        return Ok(None);
    };
    let options = AppOptions {
        payload_compression: read.settings.enable_hook_payload_compression,
        hooks_version: read.hooks_version,
    };
    Ok(Some((read.app, options)))
}

/// Each app's hooks as the dashboard lists them (keys and secrets masked), kept for as long as
/// the app's `hooks_version` stays the same. Every change of an app's hooks goes through
/// [`apply`], which bumps the version in the same transaction, so a list read at a version is
/// the list at that version, for every process sharing the database.
#[derive(Debug, Default)]
pub struct MaskedLists {
    lists: std::sync::Mutex<std::collections::HashMap<AppId, VersionedList>>,
}

/// An app's masked hooks and the `hooks_version` they were read at.
type VersionedList = (i64, Arc<Vec<EventHook>>);

impl MaskedLists {
    /// The hooks of `app_id` at `version` (as read with the app, just before).
    pub async fn get(
        &self,
        store: &Store,
        app_id: AppId,
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
            list(store, app_id)
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

    fn lists(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<AppId, VersionedList>> {
        self.lists.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Applies `change` to the app atomically; returns how many hooks the app has now when the
/// change set them (`None` when it left `event_hooks` alone).
pub async fn apply(
    store: &Store,
    app_id: AppId,
    change: SettingsChange,
    ctx: &ValidateContext<'_>,
) -> Result<Option<usize>, ChangeError> {
    let mut tx = store.change_hooks(app_id).await?;
    let mut settings = tx.settings().await?;
    apply_legacy(&mut settings, &change, ctx)?;
    tx.write_settings(&settings).await?;
    let count = match change.event_hooks {
        Some((incoming, explicit)) => {
            let stored = list_in(&mut tx).await?;
            let records = plan_hooks(&stored, incoming, explicit, ctx, Millis::now())?;
            tx.replace_hooks(&records).await?;
            Some(records.len())
        }
        None => None,
    };
    tx.commit().await?;
    Ok(count)
}

/// Replaces the app's hooks with what `change` makes of the stored ones, in one transaction
/// (the Chime API's merge and delete): planned and validated as a `PATCH /app` whose
/// `event_hooks` is the whole new list (without `explicit_event_hooks_deletion`), so hooks
/// left out are removed and an invalid result changes nothing. Returns the hooks as stored.
pub async fn apply_with(
    store: &Store,
    app_id: AppId,
    ctx: &ValidateContext<'_>,
    change: impl FnOnce(Vec<EventHook>) -> Vec<EventHook>,
) -> Result<Vec<EventHook>, ChangeError> {
    let mut tx = store.change_hooks(app_id).await?;
    let stored = list_in(&mut tx).await?;
    let incoming = change(stored.clone());
    let records = plan_hooks(&stored, incoming, false, ctx, Millis::now())?;
    tx.replace_hooks(&records).await?;
    tx.commit().await?;
    Ok(records
        .into_iter()
        .map(|r| patch::with_credentials(r.hook, r.credentials))
        .collect())
}

async fn list_in(tx: &mut crate::store::HookChange) -> Result<Vec<EventHook>, StoreError> {
    Ok(tx
        .hooks()
        .await?
        .into_iter()
        .map(|h| patch::with_credentials(h.hook, h.credentials))
        .collect())
}

/// The records to write for `incoming`: planned against `stored`, validated (hooks from the
/// request first, under their index in the request, so that an error names the caller's
/// field; then the list as a whole: limits, ids), with their times kept or set to `now`.
fn plan_hooks(
    stored: &[EventHook],
    incoming: Vec<EventHook>,
    explicit: bool,
    ctx: &ValidateContext<'_>,
    now: Millis,
) -> Result<Vec<HookRecord>, HookError> {
    let planned = patch::plan(stored, incoming, explicit, || {
        uuid::Uuid::new_v4().to_string()
    })?;
    for p in &planned {
        if let Some(index) = p.from_request {
            validate_hook(index, &p.hook, ctx)?;
        }
    }
    let planned: Vec<EventHook> = planned.into_iter().map(|p| p.hook).collect();
    let valid = validate_hooks(&planned, ctx)?;
    Ok(valid
        .iter()
        .zip(&planned)
        .map(|(valid, planned)| {
            let (hook, credentials) = patch::canonical(valid, &planned.id);
            let previous = stored.iter().find(|s| s.id == hook.id);
            let created_at = previous
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
            let updated_at = match previous
                .and_then(|p| p.updated_at.as_deref())
                .and_then(parse_rfc3339)
            {
                Some(at) if unchanged => at,
                _ => now,
            };
            HookRecord {
                hook_type: valid.target.hook_type(),
                hook,
                credentials,
                created_at,
                updated_at,
            }
        })
        .collect())
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
        if let Some(field) = settings.secrets.field_mut(name) {
            *field = value.trim().to_string();
        }
    }
    Ok(())
}
