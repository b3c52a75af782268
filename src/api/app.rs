//! `GET /app`, `PATCH /app` and `GET /hook/events`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use std::collections::BTreeMap;

use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::domain::AppId;
use crate::hooks::model::EventHook;
use crate::hooks::store::{self as hook_store, SettingsChange};
use crate::hooks::{patch, EventTypeInfo, EVENT_TYPES};
use crate::server::AppState;

/// `GET /app`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppResponse {
    pub app: AppSettings,
    /// How long the request took, e.g. `1.20ms`.
    pub duration: String,
}

/// The app's settings as Stream's `AppResponseFields` has them: the hook settings are the
/// app's; the other fields are constants the SDKs require. (Fields in ASCII order, the order
/// this object has always had on the wire.)
#[derive(Debug, Serialize, ToSchema)]
pub struct AppSettings {
    /// Always empty.
    pub before_message_send_hook_url: String,
    pub cdn_expiration_seconds: i64,
    /// Always `{}`.
    pub channel_configs: BTreeMap<String, Value>,
    /// Always empty.
    pub custom_action_handler_url: String,
    pub disable_auth_checks: bool,
    pub disable_permissions_checks: bool,
    pub enable_hook_payload_compression: bool,
    /// Always `no`.
    pub enforce_unique_usernames: String,
    /// The app's event hooks, secrets masked; `[]` when none.
    pub event_hooks: Vec<EventHook>,
    pub file_upload_config: UploadConfig,
    /// Always `{}`.
    pub grants: BTreeMap<String, Value>,
    #[schema(value_type = i64)]
    pub id: AppId,
    pub image_upload_config: UploadConfig,
    /// Always empty.
    pub moderation_webhook_url: String,
    pub name: String,
    /// Always empty.
    pub organization: String,
    /// Always `v2`.
    pub permission_version: String,
    /// Always empty.
    pub placement: String,
    /// Always `{}`.
    pub policies: BTreeMap<String, Value>,
    pub push_notifications: PushNotifications,
    pub reminders_interval: i64,
    /// Always `null`.
    #[schema(required = true)]
    pub revoke_tokens_issued_before: Option<String>,
    /// The legacy SNS key, masked.
    pub sns_key: String,
    /// The legacy SNS secret, masked.
    pub sns_secret: String,
    pub sns_topic_arn: String,
    /// The legacy SQS key, masked.
    pub sqs_key: String,
    /// The legacy SQS secret, masked.
    pub sqs_secret: String,
    pub sqs_url: String,
    pub suspended: bool,
    /// Always empty.
    pub suspended_explanation: String,
    /// Always `true`: hooks are `event_hooks`.
    pub use_hook_v2: bool,
    pub webhook_events: Vec<String>,
    pub webhook_url: String,
}

/// `push_notifications` of [`AppSettings`] (push is not Hookrelay's: always empty).
#[derive(Debug, Serialize, ToSchema)]
pub struct PushNotifications {
    pub offline_only: bool,
    pub providers: Vec<Value>,
    pub version: String,
}

/// `file_upload_config` and `image_upload_config` of [`AppSettings`] (always empty).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UploadConfig {
    pub allowed_file_extensions: Vec<String>,
    pub allowed_mime_types: Vec<String>,
    pub blocked_file_extensions: Vec<String>,
    pub blocked_mime_types: Vec<String>,
    pub size_limit: i64,
}

/// An answer that carries only the request's duration (`PATCH /app`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DurationResponse {
    /// How long the request took, e.g. `1.20ms`.
    pub duration: String,
}

/// `GET /hook/events`' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookEventsResponse {
    pub duration: String,
    /// Every event type a hook can subscribe to.
    #[schema(value_type = Vec<EventTypeInfo>)]
    pub events: &'static [EventTypeInfo],
}

/// The app's settings, hooks and legacy fields (secrets masked).
#[utoipa::path(
    get,
    path = "/app",
    operation_id = "GetApp",
    tag = "app",
    responses(
        (status = 200, description = "The app's settings", body = AppResponse),
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn get_app(
    auth: ServerAuth,
    State(state): State<AppState>,
) -> Result<Json<AppResponse>, ApiError> {
    let hooks = hook_store::list(&state.db, auth.app.id).await?;
    let legacy = state.db.legacy_settings(auth.app.id).await?;
    let hooks: Vec<EventHook> = hooks.into_iter().map(patch::masked).collect();
    let secrets = legacy.secrets.masked();
    let app = AppSettings {
        before_message_send_hook_url: String::new(),
        cdn_expiration_seconds: 0,
        channel_configs: BTreeMap::new(),
        custom_action_handler_url: String::new(),
        disable_auth_checks: false,
        disable_permissions_checks: false,
        enable_hook_payload_compression: legacy.enable_hook_payload_compression,
        enforce_unique_usernames: "no".into(),
        event_hooks: hooks,
        file_upload_config: UploadConfig::default(),
        grants: BTreeMap::new(),
        id: auth.app.id,
        image_upload_config: UploadConfig::default(),
        moderation_webhook_url: String::new(),
        name: auth.app.name,
        organization: String::new(),
        permission_version: "v2".into(),
        placement: String::new(),
        policies: BTreeMap::new(),
        push_notifications: PushNotifications {
            offline_only: false,
            providers: Vec::new(),
            version: "v3".into(),
        },
        reminders_interval: 3600,
        revoke_tokens_issued_before: None,
        sns_key: secrets.sns_key,
        sns_secret: secrets.sns_secret,
        sns_topic_arn: legacy.sns_topic_arn,
        sqs_key: secrets.sqs_key,
        sqs_secret: secrets.sqs_secret,
        sqs_url: legacy.sqs_url,
        suspended: false,
        suspended_explanation: String::new(),
        use_hook_v2: true,
        webhook_events: legacy.webhook_events,
        webhook_url: legacy.webhook_url,
    };
    Ok(Json(AppResponse {
        app,
        duration: auth.started.duration(),
    }))
}

/// The field names of a `SettingsChange` a PATCH may carry; any other key is ignored (the Go
/// SDK sends read-only and zero-valued keys on every update).
fn change_from(body: &Map<String, Value>) -> Result<SettingsChange, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::field(name, "must be a string")),
        }
    };
    let flag = |name: &str| -> Result<Option<bool>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::field(name, "must be a boolean")),
        }
    };
    let explicit = flag("explicit_event_hooks_deletion")?.unwrap_or(false);
    let event_hooks = match body.get("event_hooks") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let hooks: Vec<EventHook> = serde_path_to_error::deserialize(v).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "event_hooks".to_string()
                } else {
                    format!("event_hooks{path}")
                };
                ApiError::field(field.replace(".[", "["), e.inner().to_string())
            })?;
            Some((hooks, explicit))
        }
    };
    let webhook_events = match body.get("webhook_events") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Vec<String>>(v.clone()).map_err(|_| {
                ApiError::field("webhook_events", "must be an array of event types")
            })?,
        ),
    };
    let enable_hook_payload_compression = flag("enable_hook_payload_compression")?;
    let mut secrets = Vec::new();
    for name in ["sqs_key", "sqs_secret", "sns_key", "sns_secret"] {
        if let Some(v) = text(name)? {
            secrets.push((name, v));
        }
    }
    Ok(SettingsChange {
        event_hooks,
        webhook_url: text("webhook_url")?,
        webhook_events,
        sqs_url: text("sqs_url")?,
        sns_topic_arn: text("sns_topic_arn")?,
        enable_hook_payload_compression,
        secrets,
    })
}

/// Changes the hook settings: only the keys present change; any other key is ignored.
#[utoipa::path(
    patch,
    path = "/app",
    operation_id = "UpdateApp",
    tag = "app",
    request_body(content = Option<super::openapi::UpdateAppRequest>, description = "Empty is the same as `{}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The settings were saved", body = DurationResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn update_app(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DurationResponse>, ApiError> {
    let body = super::json_object(body)?;
    let change = change_from(&body)?;
    let ctx = state.validate_context();
    let hooks = hook_store::apply(&state.db, auth.app.id, change, &ctx).await?;
    tracing::info!(app_id = %auth.app.id, ?hooks, "app hook settings updated");
    Ok(Json(DurationResponse {
        duration: auth.started.duration(),
    }))
}

/// The event types a hook can subscribe to.
#[utoipa::path(
    get,
    path = "/hook/events",
    operation_id = "GetHookEvents",
    tag = "app",
    responses(
        (status = 200, description = "The event types", body = HookEventsResponse),
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn hook_events(auth: ServerAuth) -> Json<HookEventsResponse> {
    Json(HookEventsResponse {
        duration: auth.started.duration(),
        events: EVENT_TYPES,
    })
}
