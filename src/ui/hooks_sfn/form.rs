//! The integration form: what it shows, and its Test and Save buttons.

use leptos::prelude::*;

use crate::dto::{HookForm, HookFormView};

#[cfg(feature = "ssr")]
use super::ssr;

/// What the integration form shows: the values carried back (`flash`), else the stored hook
/// (masked), else a new hook of `hook_type`. `None` when the app or the hook does not exist.
#[server(prefix = "/_sfn", endpoint = "hook_form")]
pub async fn load_hook_form(
    app_id: i64,
    hook_id: String,
    hook_type: String,
    flash: bool,
) -> Result<Option<HookFormView>, ServerFnError> {
    use crate::hooks::patch;
    use crate::ui::server_fns::ssr::{require_app, session};

    let Some((state, _, app)) = require_app(crate::domain::AppId(app_id)).await? else {
        return Ok(None);
    };
    let carried: Option<ssr::Flash> = if flash {
        session()
            .await?
            .remove(&ssr::flash_key(app_id, &hook_id))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let (form, error, report) = match carried {
        Some((form, error, report)) => (ssr::open_secret(&state.db, form), error, report),
        None if !hook_id.is_empty() => match ssr::stored(&state, app.id, &hook_id).await? {
            Some(h) => (ssr::form_of(app_id, patch::masked(h)), None, None),
            None => return Ok(None),
        },
        None => {
            let hook_type = match hook_type.as_str() {
                "sqs" | "sns" | "kinesis" => hook_type,
                _ => "webhook".to_string(),
            };
            let auth_type = if hook_type == "webhook" { "" } else { "keys" };
            let form = HookForm {
                app_id,
                hook_type,
                auth_type: auth_type.into(),
                enabled: Some("on".into()),
                ..HookForm::default()
            };
            (form, None, None)
        }
    };
    let policy = ssr::policy(&state, &form);
    Ok(Some(HookFormView {
        app_id,
        external_id: app.external_id,
        app_name: app.name,
        form,
        error,
        report,
        policy,
    }))
}

/// The integration form: `action=test` runs the checker on the values, anything else saves.
#[server(prefix = "/_sfn", endpoint = "hook_save")]
pub async fn hook_save(form: HookForm) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;
    use crate::ui::server_fns::ssr::session;

    let Some((state, app)) = ssr::user_and_app(crate::domain::AppId(form.app_id)).await else {
        return Ok(());
    };
    let stored = ssr::stored(&state, app.id, &form.hook_id).await?;
    if !form.hook_id.is_empty() && stored.is_none() {
        leptos_axum::redirect(&format!("/apps/{}", app.id));
        return Ok(());
    }
    let db = &state.db;
    let carry = |error, report| {
        let form = form.clone();
        async move {
            let key = ssr::flash_key(form.app_id, &form.hook_id);
            let page = ssr::form_page(&form);
            let flash: ssr::Flash = (ssr::seal_secret(db, form), error, report);
            session()
                .await?
                .insert(&key, flash)
                .await
                .map_err(crate::ui::server_fns::ssr::internal)?;
            leptos_axum::redirect(&page);
            Ok::<(), ServerFnError>(())
        }
    };
    if form.action == "test" {
        let report = ssr::run_check(&state, &app, &form, stored).await?;
        return carry(None, Some(report)).await;
    }
    let hook = ssr::hook_of(&form, stored);
    let change = SettingsChange {
        event_hooks: Some((vec![hook], true)),
        ..SettingsChange::default()
    };
    match ssr::apply(&state, app.id, change).await? {
        Ok(()) => {
            tracing::info!(app_id = %app.id, hook_type = %form.hook_type, "hook saved from the dashboard");
            leptos_axum::redirect(&format!("/apps/{}", app.id));
            Ok(())
        }
        Err(e) => carry(Some(e), None).await,
    }
}
