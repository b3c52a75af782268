//! Apps: name, public API key, sealed API secret.

use secrecy::SecretString;

use super::{is_unique_violation, now_millis, Db, StoreError};
use crate::dto::{AppSummary, InputError};
use crate::secrets::{random_lower_token, random_token, MasterKey};

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

fn secret_aad(app_id: i64) -> String {
    format!("app:{app_id}:api_secret")
}

/// API keys: 12 lowercase alphanumerics (like Stream's). Secrets: 48 alphanumerics (≈ 285 bits).
pub async fn create(db: &Db, key: &MasterKey, name: &AppName) -> Result<CreatedApp, StoreError> {
    let api_key = random_lower_token(12);
    let api_secret = random_token(48);
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO apps (name, name_key, api_key, api_secret_enc, created_at) VALUES (?, ?, ?, '', ?) RETURNING id",
    )
    .bind(name.as_str())
    .bind(name.as_str().to_lowercase())
    .bind(&api_key)
    .bind(now_millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Input(InputError::AppNameTaken)
        } else {
            e.into()
        }
    })?;
    // The sealed secret is bound to the row id, known only after the insert.
    sqlx::query("UPDATE apps SET api_secret_enc = ? WHERE id = ?")
        .bind(key.seal(&api_secret, &secret_aad(id)))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let app = get(db, id).await?.ok_or(StoreError::NotFound)?;
    Ok(CreatedApp {
        app,
        api_secret: SecretString::from(api_secret),
    })
}

type Row = (i64, String, String, i64);

fn summary((id, name, api_key, created_at): Row) -> AppSummary {
    AppSummary {
        id,
        name,
        api_key,
        created_at,
    }
}

pub async fn list(db: &Db) -> Result<Vec<AppSummary>, StoreError> {
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, name, api_key, created_at FROM apps ORDER BY name_key")
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(summary).collect())
}

pub async fn get(db: &Db, id: i64) -> Result<Option<AppSummary>, StoreError> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, name, api_key, created_at FROM apps WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(summary))
}

/// The app, its settings JSON (read by `hooks::store`) and its `hooks_version`, in one read.
pub async fn get_with_settings(
    db: &Db,
    id: i64,
) -> Result<Option<(AppSummary, String, i64)>, StoreError> {
    let row: Option<(i64, String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT id, name, api_key, created_at, settings, hooks_version FROM apps WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(
        row.map(|(id, name, api_key, created_at, settings, version)| {
            (summary((id, name, api_key, created_at)), settings, version)
        }),
    )
}

pub async fn by_api_key(db: &Db, api_key: &str) -> Result<Option<AppSummary>, StoreError> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, name, api_key, created_at FROM apps WHERE api_key = ?")
            .bind(api_key)
            .fetch_optional(db)
            .await?;
    Ok(row.map(summary))
}

/// Opens the app's sealed secret.
pub async fn secret(db: &Db, key: &MasterKey, id: i64) -> Result<SecretString, StoreError> {
    let sealed: Option<String> = sqlx::query_scalar("SELECT api_secret_enc FROM apps WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    let sealed = sealed.ok_or(StoreError::NotFound)?;
    Ok(key.open(&sealed, &secret_aad(id))?)
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
