//! Who may act: the logged-in user and an app they may see, or the redirect that says why not.

use crate::domain::AppId;
use crate::server::AppState;

/// The logged-in admin's state and the app, or a redirect (to login / the apps) done.
pub async fn user_and_app(app_id: AppId) -> Option<(AppState, crate::dto::AppSummary)> {
    use crate::dto::InputError;
    use crate::ui::server_fns::ssr::{redirect_error, require_user};
    let Ok((state, viewer)) = require_user().await else {
        redirect_error("/login", InputError::NotLoggedIn);
        return None;
    };
    if !viewer.may_see(app_id) {
        // the same answer as for an app that does not exist
        leptos_axum::redirect("/apps");
        return None;
    }
    match state.db.app(app_id).await {
        Ok(Some(app)) => Some((state, app)),
        Ok(None) => {
            leptos_axum::redirect("/apps");
            None
        }
        Err(e) => {
            redirect_error("/apps", crate::ui::server_fns::ssr::input_error(e));
            None
        }
    }
}
