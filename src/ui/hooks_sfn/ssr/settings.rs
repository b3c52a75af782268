//! The app's stored hooks: read one, apply a change through the store (with its validation).

use leptos::prelude::*;

use super::form_values::field_error;
use crate::domain::AppId;
use crate::dto::FieldError;
use crate::hooks::model::EventHook;
use crate::hooks::store::{self as hook_store, ChangeError, SettingsChange};
use crate::server::AppState;
use crate::ui::server_fns::ssr::internal;

/// Applies a change of one app's hook settings; a refusal as the form field it names.
pub async fn apply(
    state: &AppState,
    app_id: AppId,
    change: SettingsChange,
) -> Result<Result<(), FieldError>, ServerFnError> {
    let ctx = state.validate_context();
    match hook_store::apply(&state.db, app_id, change, &ctx).await {
        Ok(_) => Ok(Ok(())),
        Err(ChangeError::Invalid(e)) => Ok(Err(field_error(e))),
        Err(ChangeError::Store(e)) => Err(internal(e)),
    }
}

/// The stored hook (keys in clear), if the app has it.
pub async fn stored(
    state: &AppState,
    app_id: AppId,
    hook_id: &str,
) -> Result<Option<EventHook>, ServerFnError> {
    if hook_id.is_empty() {
        return Ok(None);
    }
    let hooks = hook_store::list(&state.db, app_id)
        .await
        .map_err(internal)?;
    Ok(hooks.into_iter().find(|h| h.id == hook_id))
}
