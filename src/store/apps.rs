//! Apps: name, public API key, sealed API secret, settings JSON and `hooks_version`.

use secrecy::SecretString;

use super::{backend, Store, StoreError};
use crate::domain::{AppId, LegacySettings, Millis};
use crate::dto::{AppSummary, InputError};
use crate::secrets::{random_lower_token, random_token};

/// A validated app name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InputError::AppNameRequired);
        }
        if name.chars().count() > 100 {
            return Err(InputError::AppNameTooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(InputError::AppNameInvalid);
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new app with its secret in clear: the only moment the secret exists unsealed in memory
/// besides an explicit reveal.
pub struct CreatedApp {
    pub app: AppSummary,
    pub api_secret: SecretString,
}

/// An app's secrets in clear: requests signed with either are the app's.
pub struct AppSecrets {
    pub current: SecretString,
    /// The secret before the last rotation, while its grace period runs.
    pub previous: Option<SecretString>,
}

/// An app with its settings (secrets not opened) and the version of its hooks, in one read.
#[derive(Debug, Clone)]
pub struct AppWithSettings {
    pub app: AppSummary,
    pub settings: LegacySettings,
    /// Bumped by every change to the app's hooks or settings.
    pub hooks_version: i64,
}

pub(super) fn secret_aad(app_id: AppId) -> String {
    format!("app:{app_id}:api_secret")
}

/// Parses an app's `settings` JSON.
pub(super) fn parse_settings(app_id: AppId, json: &str) -> Result<LegacySettings, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("settings of app {app_id}: {e}")))
}

impl Store {
    /// Creates an app. API keys: 12 lowercase alphanumerics (like Stream's). Secrets: 48
    /// alphanumerics (≈ 285 bits).
    pub async fn create_app(&self, name: &AppName) -> Result<CreatedApp, StoreError> {
        let api_key = random_lower_token(12);
        let api_secret = random_token(48);
        let external_id = random_lower_token(32);
        let key = self.key();
        let app = backend!(self, b => b.create_app(name, &api_key, &external_id, |id| key.seal(&api_secret, &secret_aad(id))).await)?;
        Ok(CreatedApp {
            app,
            api_secret: SecretString::from(api_secret),
        })
    }

    /// Every app, by name.
    pub async fn apps(&self) -> Result<Vec<AppSummary>, StoreError> {
        backend!(self, b => b.apps().await)
    }

    pub async fn app(&self, id: AppId) -> Result<Option<AppSummary>, StoreError> {
        backend!(self, b => b.app(id).await)
    }

    pub async fn app_by_key(&self, api_key: &str) -> Result<Option<AppSummary>, StoreError> {
        backend!(self, b => b.app_by_key(api_key).await)
    }

    /// The app, its settings (without their secrets) and its `hooks_version`, in one read.
    pub async fn app_with_settings(
        &self,
        id: AppId,
    ) -> Result<Option<AppWithSettings>, StoreError> {
        let Some((app, json, hooks_version)) = backend!(self, b => b.app_with_settings(id).await)?
        else {
            return Ok(None);
        };
        Ok(Some(AppWithSettings {
            settings: parse_settings(id, &json)?,
            app,
            hooks_version,
        }))
    }

    /// The app's `hooks_version`, `None` when the app does not exist.
    pub async fn hooks_version(&self, id: AppId) -> Result<Option<i64>, StoreError> {
        backend!(self, b => b.hooks_version(id).await)
    }

    /// The app's secrets: the current one, and the previous one while its grace period runs.
    pub async fn app_secrets(&self, id: AppId) -> Result<AppSecrets, StoreError> {
        let row = backend!(self, b => b.app_secrets(id).await)?.ok_or(StoreError::NotFound)?;
        let aad = secret_aad(id);
        let previous = match (row.previous_secret_enc, row.previous_secret_until) {
            (Some(sealed), Some(until)) if until > Millis::now().0 => {
                Some(self.key().open(&sealed, &aad)?)
            }
            _ => None,
        };
        Ok(AppSecrets {
            current: self.key().open(&row.api_secret_enc, &aad)?,
            previous,
        })
    }

    /// Gives the app a new secret (returned in clear, once). The old one keeps working for
    /// `grace` (zero: it stops at once). `NotFound` when there is no such app.
    pub async fn rotate_secret(
        &self,
        id: AppId,
        grace: std::time::Duration,
    ) -> Result<SecretString, StoreError> {
        let secret = random_token(48);
        let sealed = self.key().seal(&secret, &secret_aad(id));
        let until = (!grace.is_zero()).then(|| {
            Millis(
                Millis::now()
                    .0
                    .saturating_add(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX)),
            )
        });
        if !backend!(self, b => b.rotate_secret(id, &sealed, until).await)? {
            return Err(StoreError::NotFound);
        }
        Ok(SecretString::from(secret))
    }

    /// Deletes the app with its hooks, events, deliveries and grants. `NotFound` when there is
    /// no such app.
    pub async fn delete_app(&self, id: AppId) -> Result<(), StoreError> {
        if backend!(self, b => b.delete_app(id).await)? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Opens the app's sealed secret.
    pub async fn app_secret(&self, id: AppId) -> Result<SecretString, StoreError> {
        let sealed = backend!(self, b => b.app_secret(id).await)?.ok_or(StoreError::NotFound)?;
        Ok(self.key().open(&sealed, &secret_aad(id))?)
    }
}

#[cfg(test)]
mod tests {
    use super::AppName;

    #[test]
    fn app_names_are_trimmed_and_bounded() {
        assert_eq!(
            AppName::parse("  Chat prod ").unwrap().as_str(),
            "Chat prod"
        );
        assert!(AppName::parse("   ").is_err());
        assert!(AppName::parse(&"x".repeat(101)).is_err());
        assert!(AppName::parse("a\u{7}b").is_err());
        assert!(AppName::parse(&"é".repeat(100)).is_ok());
    }
}
