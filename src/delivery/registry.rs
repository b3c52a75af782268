//! The hooks of each app as destinations, built once and rebuilt when the app's
//! `hooks_version` changes (every hook or settings change bumps it). Keys and secrets are
//! opened here, in memory only.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::destinations::{self, AppContext, Destination};
use crate::hooks::store as hook_store;
use crate::hooks::{validate_hook, ValidateContext};
use crate::secrets::MasterKey;
use crate::store::{apps, Db, StoreError};

/// How long a looked-up version is trusted before asking the database again.
const RECHECK: Duration = Duration::from_millis(300);

/// A hook ready to send to, or the reason it cannot be.
pub struct RuntimeHook {
    pub enabled: bool,
    pub destination: Result<Arc<dyn Destination>, String>,
}

/// One app's hooks at one `hooks_version`.
pub struct AppHooks {
    pub version: i64,
    pub hooks: HashMap<String, Arc<RuntimeHook>>,
}

/// Server settings destinations need.
#[derive(Clone)]
pub struct Settings {
    pub http: reqwest::Client,
    pub send_timeout: Duration,
    pub webhook_concurrency: usize,
    pub aws_endpoint: Option<String>,
    pub default_region: Option<String>,
}

pub struct Registry {
    db: Db,
    key: MasterKey,
    settings: Settings,
    apps: tokio::sync::Mutex<HashMap<i64, (Arc<AppHooks>, Instant)>>,
}

impl Registry {
    pub fn new(db: Db, key: MasterKey, settings: Settings) -> Self {
        Self {
            db,
            key,
            settings,
            apps: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The app's hooks: at least at `min_version` (the version an event was fanned out
    /// with), current within [`RECHECK`] otherwise, and read afresh when `fresh` is set.
    pub async fn app(
        &self,
        app_id: i64,
        min_version: i64,
        fresh: bool,
    ) -> Result<Arc<AppHooks>, StoreError> {
        let mut apps = self.apps.lock().await;
        if let Some((hooks, checked)) = apps.get(&app_id) {
            if !fresh && hooks.version >= min_version && checked.elapsed() < RECHECK {
                return Ok(hooks.clone());
            }
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT hooks_version FROM apps WHERE id = ?")
                .bind(app_id)
                .fetch_optional(&self.db)
                .await?;
        let Some(version) = version else {
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

    async fn load(&self, app_id: i64, version: i64) -> Result<AppHooks, StoreError> {
        let stored = hook_store::list(&self.db, &self.key, app_id).await?;
        let settings = hook_store::legacy(&self.db, &self.key, app_id).await?;
        let app = apps::get(&self.db, app_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let secret = apps::secret(&self.db, &self.key, app_id).await?;
        let ctx = AppContext {
            app_id,
            api_key: app.api_key,
            api_secret: secret,
            compress: settings.enable_hook_payload_compression,
            http: self.settings.http.clone(),
            send_timeout: self.settings.send_timeout,
            webhook_concurrency: self.settings.webhook_concurrency,
            aws_endpoint: self.settings.aws_endpoint.clone(),
        };
        let validate = ValidateContext {
            endpoint_override: self.settings.aws_endpoint.as_deref(),
            default_region: self.settings.default_region.as_deref(),
        };
        let mut hooks = HashMap::with_capacity(stored.len());
        for (i, hook) in stored.iter().enumerate() {
            let destination = match validate_hook(i, hook, &validate) {
                Ok(valid) => destinations::build(&hook.id, &valid, &ctx)
                    .await
                    .ok_or_else(|| format!("{} hooks do not receive events", hook.hook_type)),
                Err(e) => Err(format!("the stored hook is not valid: {e}")),
            };
            hooks.insert(
                hook.id.clone(),
                Arc::new(RuntimeHook {
                    enabled: hook.enabled,
                    destination,
                }),
            );
        }
        tracing::debug!(
            app_id,
            version,
            hooks = hooks.len(),
            "loaded the app's hooks"
        );
        Ok(AppHooks { version, hooks })
    }
}
