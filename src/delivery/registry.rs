//! The hooks of each app as destinations, built once and rebuilt when the app's
//! `hooks_version` changes (every hook or settings change bumps it). Keys and secrets are
//! opened here, in memory only.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::destinations::{self, AppContext, Destination};
use crate::domain::{AppId, HookId, HookType};
use crate::hooks::store as hook_store;
use crate::hooks::{validate_hook, HookError, ValidateContext};
use crate::store::{Store, StoreError};

/// How long a looked-up version is trusted before asking the database again.
const RECHECK: Duration = Duration::from_millis(300);

/// Why a stored hook cannot be sent to.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unsendable {
    #[error("{0} hooks do not receive events")]
    NotDelivered(HookType),
    #[error("the stored hook is not valid: {0}")]
    Invalid(HookError),
}

/// A hook ready to send to, or the reason it cannot be.
pub struct RuntimeHook {
    pub enabled: bool,
    pub destination: Result<Arc<dyn Destination>, Unsendable>,
}

/// One app's hooks at one `hooks_version`.
pub struct AppHooks {
    pub version: i64,
    pub hooks: HashMap<HookId, Arc<RuntimeHook>>,
}

/// Server settings destinations need.
#[derive(Clone)]
pub struct Settings {
    pub http: reqwest::Client,
    pub send_timeout: Duration,
    pub webhook_concurrency: usize,
    pub aws_endpoint: Option<String>,
    pub default_region: Option<String>,
    /// Where webhooks may connect (the HTTP client resolves names through it too).
    pub egress: Arc<crate::egress::EgressPolicy>,
    /// Where `resource` auth may send (empty: anywhere).
    pub resource_allow: Arc<[String]>,
    /// The region and account of the apps' AppInstance ARNs (Kinesis records in Chime's shape).
    pub chime: crate::hooks::chime::ChimeAccount,
}

pub struct Registry {
    db: Store,
    settings: Settings,
    apps: tokio::sync::Mutex<HashMap<AppId, (Arc<AppHooks>, Instant)>>,
}

impl Registry {
    pub fn new(db: Store, settings: Settings) -> Self {
        Self {
            db,
            settings,
            apps: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The app's hooks: at least at `min_version` (the version an event was fanned out
    /// with), current within [`RECHECK`] otherwise, and read afresh when `fresh` is set.
    pub async fn app(
        &self,
        app_id: AppId,
        min_version: i64,
        fresh: bool,
    ) -> Result<Arc<AppHooks>, StoreError> {
        let mut apps = self.apps.lock().await;
        if let Some((hooks, checked)) = apps.get(&app_id) {
            if !fresh && hooks.version >= min_version && checked.elapsed() < RECHECK {
                return Ok(hooks.clone());
            }
        }
        let Some(version) = self.db.hooks_version(app_id).await? else {
            // the app is gone: nothing to deliver to
            let empty = Arc::new(AppHooks {
                version: -1,
                hooks: HashMap::new(),
            });
            apps.insert(app_id, (empty.clone(), Instant::now()));
            return Ok(empty);
        };
        if let Some((hooks, checked)) = apps.get_mut(&app_id) {
            if hooks.version == version {
                *checked = Instant::now();
                return Ok(hooks.clone());
            }
        }
        let loaded = Arc::new(self.load(app_id, version).await?);
        apps.insert(app_id, (loaded.clone(), Instant::now()));
        Ok(loaded)
    }

    async fn load(&self, app_id: AppId, version: i64) -> Result<AppHooks, StoreError> {
        let stored = hook_store::list(&self.db, app_id).await?;
        let settings = self.db.legacy_settings(app_id).await?;
        let app = self.db.app(app_id).await?.ok_or(StoreError::NotFound)?;
        let secret = self.db.app_secret(app_id).await?;
        let ctx = AppContext {
            app_id,
            api_key: app.api_key,
            api_secret: secret,
            compress: settings.enable_hook_payload_compression,
            http: self.settings.http.clone(),
            send_timeout: self.settings.send_timeout,
            webhook_concurrency: self.settings.webhook_concurrency,
            aws_endpoint: self.settings.aws_endpoint.clone(),
            app_instance_arn: self.settings.chime.app_instance_arn(&app.external_id),
            external_id: app.external_id.clone(),
        };
        let validate = ValidateContext {
            endpoint_override: self.settings.aws_endpoint.as_deref(),
            default_region: self.settings.default_region.as_deref(),
            egress: &self.settings.egress,
            resource_allow: &self.settings.resource_allow,
        };
        let mut hooks = HashMap::with_capacity(stored.len());
        for (i, hook) in stored.iter().enumerate() {
            let destination = match validate_hook(i, hook, &validate) {
                Ok(valid) => destinations::build(&hook.id, &valid, &ctx)
                    .await
                    .ok_or(Unsendable::NotDelivered(valid.target.hook_type())),
                Err(e) => Err(Unsendable::Invalid(e)),
            };
            hooks.insert(
                HookId::from(hook.id.clone()),
                Arc::new(RuntimeHook {
                    enabled: hook.enabled,
                    destination,
                }),
            );
        }
        tracing::debug!(
            %app_id,
            version,
            hooks = hooks.len(),
            "loaded the app's hooks"
        );
        Ok(AppHooks { version, hooks })
    }
}
