//! Rows as both backends read them (`sqlx::FromRow` is generic over the database) and their
//! conversion into the store's typed rows: one definition, whatever the backend.

use std::collections::HashMap;
use std::str::FromStr;

use super::log::DeliveryRow;
use super::outbox::Claimed;
use super::{StoreError, UserRow};
use crate::domain::{AppId, DeliveryId, DeliveryStatus, HookId, HookType, Millis, Role, UserId};
use crate::dto::AppSummary;

/// A stored `hook_type`.
pub fn hook_type(s: &str) -> Result<HookType, StoreError> {
    HookType::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `id, name, api_key, created_at, external_id` of `apps`.
#[derive(sqlx::FromRow)]
pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    pub created_at: i64,
    pub external_id: String,
}

impl From<AppRow> for AppSummary {
    fn from(r: AppRow) -> Self {
        AppSummary {
            id: AppId(r.id),
            name: r.name,
            api_key: r.api_key,
            created_at: r.created_at,
            external_id: r.external_id,
        }
    }
}

/// An app with its settings JSON and `hooks_version`.
#[derive(sqlx::FromRow)]
pub struct AppSettingsRow {
    #[sqlx(flatten)]
    pub app: AppRow,
    pub settings: String,
    pub hooks_version: i64,
}

/// `id, email, password_hash, role` of `users`.
#[derive(sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
}

/// The sealed secrets of an app: current, previous and until when the previous one counts.
#[derive(sqlx::FromRow)]
pub struct SecretsRow {
    pub api_secret_enc: String,
    pub previous_secret_enc: Option<String>,
    pub previous_secret_until: Option<i64>,
}

impl From<UserRecord> for UserRow {
    fn from(r: UserRecord) -> Self {
        UserRow {
            id: UserId(r.id),
            email: r.email,
            password_hash: r.password_hash,
            // an unknown role grants the least
            role: r.role.parse().unwrap_or(Role::Member),
        }
    }
}

/// What a claim returns of each delivery.
#[derive(sqlx::FromRow)]
pub struct ClaimedRow {
    pub id: i64,
    pub app_id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub accepted_at: i64,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = StoreError;
    fn try_from(r: ClaimedRow) -> Result<Self, StoreError> {
        Ok(Claimed {
            id: DeliveryId(r.id),
            app_id: AppId(r.app_id),
            hook_id: HookId::from(r.hook_id),
            hook_type: hook_type(&r.hook_type)?,
            event_id: r.event_id,
            event_type: r.event_type,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            accepted_at: Millis(r.accepted_at),
        })
    }
}

/// Claimed rows in delivery id order.
pub fn claimed(rows: Vec<ClaimedRow>) -> Result<Vec<Claimed>, StoreError> {
    let mut claimed = rows
        .into_iter()
        .map(Claimed::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|r| r.id);
    Ok(claimed)
}

/// A delivery as the log query reads it.
#[derive(sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
    pub size: Option<i64>,
    pub accepted_at: i64,
    pub done_at: Option<i64>,
    pub latency_ms: Option<i64>,
    pub payload_preview: Option<String>,
}

impl TryFrom<LogRow> for DeliveryRow {
    type Error = StoreError;
    fn try_from(r: LogRow) -> Result<Self, StoreError> {
        Ok(DeliveryRow {
            id: DeliveryId(r.id),
            hook_id: HookId::from(r.hook_id),
            hook_type: hook_type(&r.hook_type)?,
            event_id: r.event_id,
            event_type: r.event_type,
            status: DeliveryStatus::of_row(&r.status, r.attempts).ok_or_else(|| {
                StoreError::Corrupt(format!("delivery {} has status {:?}", r.id, r.status))
            })?,
            attempts: r.attempts,
            next_at: Millis(r.next_at),
            last_error: r.last_error,
            size: r.size,
            accepted_at: Millis(r.accepted_at),
            done_at: r.done_at.map(Millis),
            latency_ms: r.latency_ms,
            payload_preview: r.payload_preview,
        })
    }
}

/// What one outcome transaction adds to one hook's current health step.
#[derive(Debug, Default)]
pub struct StepAdd {
    pub delivered: i64,
    pub failed: i64,
    pub last_error: Option<String>,
}

/// One outcome transaction's additions, per hook.
pub type Stats = HashMap<(AppId, HookId), StepAdd>;
