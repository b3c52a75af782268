//! `GET /app`, `PATCH /app` and `GET /hook/events`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::hooks::model::EventHook;
use crate::hooks::store::{self as hook_store, SettingsChange};
use crate::hooks::{patch, EVENT_TYPES};
use crate::server::AppState;

pub async fn get_app(
    auth: ServerAuth,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let hooks = hook_store::list(&state.db, auth.app.id).await?;
    let legacy = state.db.legacy_settings(auth.app.id).await?;
    let hooks: Vec<EventHook> = hooks.into_iter().map(patch::masked).collect();
    let secrets = legacy.secrets.masked();
    let app = json!({
        "id": auth.app.id,
        "name": auth.app.name,
        "organization": "",
        "placement": "",
        "suspended": false,
        "suspended_explanation": "",
        "disable_auth_checks": false,
        "disable_permissions_checks": false,
        "permission_version": "v2",
        "channel_configs": {},
        "policies": {},
        "grants": {},
        "push_notifications": {"version": "v3", "offline_only": false, "providers": []},
        "file_upload_config": {"allowed_file_extensions": [], "blocked_file_extensions": [], "allowed_mime_types": [], "blocked_mime_types": [], "size_limit": 0},
        "image_upload_config": {"allowed_file_extensions": [], "blocked_file_extensions": [], "allowed_mime_types": [], "blocked_mime_types": [], "size_limit": 0},
        "enforce_unique_usernames": "no",
        "reminders_interval": 3600,
        "cdn_expiration_seconds": 0,
        "revoke_tokens_issued_before": null,
        "use_hook_v2": true,
        "event_hooks": hooks,
        "enable_hook_payload_compression": legacy.enable_hook_payload_compression,
        "webhook_url": legacy.webhook_url,
        "webhook_events": legacy.webhook_events,
        "sqs_url": legacy.sqs_url,
        "sqs_key": secrets.sqs_key,
        "sqs_secret": secrets.sqs_secret,
        "sns_topic_arn": legacy.sns_topic_arn,
        "sns_key": secrets.sns_key,
        "sns_secret": secrets.sns_secret,
        "before_message_send_hook_url": "",
        "custom_action_handler_url": "",
        "moderation_webhook_url": "",
    });
    Ok(Json(
        json!({ "app": app, "duration": auth.started.duration() }),
    ))
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

pub async fn update_app(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = super::json_object(body)?;
    let change = change_from(&body)?;
    let ctx = state.validate_context();
    let hooks = hook_store::apply(&state.db, auth.app.id, change, &ctx).await?;
    tracing::info!(app_id = %auth.app.id, ?hooks, "app hook settings updated");
    Ok(Json(json!({ "duration": auth.started.duration() })))
}

pub async fn hook_events(auth: ServerAuth) -> Json<Value> {
    Json(json!({ "events": EVENT_TYPES, "duration": auth.started.duration() }))
}
