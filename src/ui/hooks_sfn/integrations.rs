//! The app page's list of integrations: their health, enable / disable, delete, and the app's
//! payload compression option.

use leptos::prelude::*;

use crate::dto::HooksOverview;

#[cfg(feature = "ssr")]
use super::ssr;

/// The app page's list of integrations with their health, and the app's hook options.
#[server(prefix = "/_sfn", endpoint = "hooks")]
pub async fn list_hooks(app_id: i64) -> Result<HooksOverview, ServerFnError> {
    use crate::ui::server_fns::ssr::{internal, require_app_options};

    let Some((state, _, app, options)) = require_app_options(crate::domain::AppId(app_id)).await?
    else {
        return Ok(HooksOverview::default());
    };
    let hooks = state
        .hook_lists
        .get(&state.db, app.id, options.hooks_version)
        .await
        .map_err(internal)?;
    let health = state
        .db
        .hook_health(app.id, crate::domain::Millis::now(), ssr::SPARK_STEPS)
        .await
        .map_err(internal)?;
    let pending: i64 = health.iter().map(|x| x.pending).sum();
    let pending_more = pending > crate::store::stats::PENDING_COUNT_LIMIT;
    let hooks = hooks
        .iter()
        .map(|h| {
            let mut s = ssr::summary(h);
            s.pending_more = pending_more;
            if let Some(x) = health.iter().find(|x| x.hook_id.as_str() == h.id) {
                s.delivered_1h = x.delivered;
                s.failed_1h = x.failed;
                s.pending = x.pending;
                s.last_success = x.last_success.map(|at| at.0);
                s.last_error = x.last_error.clone();
                s.spark = x.steps.clone();
            }
            s
        })
        .collect();
    Ok(HooksOverview {
        hooks,
        compression: options.payload_compression,
    })
}

/// Enables or disables one hook.
#[server(prefix = "/_sfn", endpoint = "hook_toggle")]
pub async fn hook_toggle(
    app_id: i64,
    hook_id: String,
    enabled: String,
) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(crate::domain::AppId(app_id)).await else {
        return Ok(());
    };
    let back = format!("/apps/{}", app.id);
    let Some(mut hook) = ssr::stored(&state, app.id, &hook_id).await? else {
        leptos_axum::redirect(&back);
        return Ok(());
    };
    hook.enabled = enabled == "true";
    hook.created_at = None;
    hook.updated_at = None;
    let change = SettingsChange {
        event_hooks: Some((vec![hook], true)),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, hook_id, error = %e.message, "hook toggle refused");
    }
    leptos_axum::redirect(&back);
    Ok(())
}

/// Deletes one hook; needs the confirmation box ticked.
#[server(prefix = "/_sfn", endpoint = "hook_delete")]
pub async fn hook_delete(
    app_id: i64,
    hook_id: String,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::dto::InputError;
    use crate::hooks::model::EventHook;
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(crate::domain::AppId(app_id)).await else {
        return Ok(());
    };
    if confirm.is_none() {
        leptos_axum::redirect(&format!(
            "/apps/{}/hooks/{}/delete?error={}",
            app.id,
            crate::server::query_component(&hook_id),
            InputError::ConfirmRequired.code()
        ));
        return Ok(());
    }
    let change = SettingsChange {
        event_hooks: Some((
            vec![EventHook {
                id: hook_id.clone(),
                delete: true,
                ..EventHook::default()
            }],
            true,
        )),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, hook_id, error = %e.message, "hook delete refused");
    } else {
        tracing::info!(app_id, hook_id, "hook deleted from the dashboard");
    }
    leptos_axum::redirect(&format!("/apps/{}", app.id));
    Ok(())
}

/// The app's payload compression option (a checkbox: present when on).
#[server(prefix = "/_sfn", endpoint = "hook_compression")]
pub async fn set_compression(app_id: i64, enabled: Option<String>) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(crate::domain::AppId(app_id)).await else {
        return Ok(());
    };
    let change = SettingsChange {
        enable_hook_payload_compression: Some(enabled.is_some()),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, error = %e.message, "compression change refused");
    }
    leptos_axum::redirect(&format!("/apps/{}", app.id));
    Ok(())
}
