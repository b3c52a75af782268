//! Server functions behind the dashboard. Form-posting functions always answer with a redirect
//! (with `?error=<code>` when the input was refused), so the same forms work with JavaScript
//! (client-side navigation) and without it (a 302 for the browser).

use leptos::prelude::*;

use crate::dto::{AppDetail, AppSummary, CurrentUser};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::*;
    use tower_sessions::Session;

    use crate::domain::{AppId, Role};
    use crate::dto::{AppSummary, InputError};
    use crate::hooks::store::AppOptions;
    use crate::server::AppState;
    use crate::store::{StoreError, UserRow};

    /// The logged-in user and what they may see: every app (an admin), or the apps given to
    /// them (a member).
    #[derive(Debug, Clone)]
    pub struct Viewer {
        pub user: UserRow,
        pub apps: Vec<AppId>,
    }

    impl Viewer {
        pub fn is_admin(&self) -> bool {
            self.user.role == Role::Admin
        }

        pub fn may_see(&self, app: AppId) -> bool {
            self.is_admin() || self.apps.contains(&app)
        }
    }

    pub fn state() -> AppState {
        expect_context::<AppState>()
    }

    pub async fn session() -> Result<Session, ServerFnError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| ServerFnError::new(format!("no session: {e}")))
    }

    /// Lookups made once per request: a page renders several server functions, and each needs
    /// the logged-in user (and most the app). `server::application` puts a fresh one in every
    /// request's extensions.
    #[derive(Clone, Default)]
    pub struct RequestCache {
        user: std::sync::Arc<tokio::sync::OnceCell<Option<Viewer>>>,
        app: std::sync::Arc<std::sync::Mutex<Option<(AppSummary, AppOptions)>>>,
    }

    fn request_cache() -> Option<RequestCache> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestCache>().cloned())
    }

    /// The logged-in user, or `NotLoggedIn`.
    pub async fn require_user() -> Result<(AppState, Viewer), ServerFnError> {
        let state = state();
        let session = session().await?;
        let load = || async {
            crate::server::session_user(&state, &session)
                .await
                .map(|found| found.map(|(user, apps)| Viewer { user, apps }))
                .map_err(internal)
        };
        let user = match request_cache() {
            Some(cache) => cache.user.get_or_try_init(load).await?.clone(),
            None => load().await?,
        };
        match user {
            Some(user) => Ok((state, user)),
            None => Err(ServerFnError::new(InputError::NotLoggedIn.to_string())),
        }
    }

    /// The logged-in user and the app `app_id`; `None` when there is no such app or the user
    /// may not see it (the same answer: a member cannot tell other apps exist).
    pub async fn require_app(
        app_id: AppId,
    ) -> Result<Option<(AppState, Viewer, AppSummary)>, ServerFnError> {
        Ok(require_app_options(app_id)
            .await?
            .map(|(state, user, app, _)| (state, user, app)))
    }

    /// `require_app` with the app's options (read in the same query).
    pub async fn require_app_options(
        app_id: AppId,
    ) -> Result<Option<(AppState, Viewer, AppSummary, AppOptions)>, ServerFnError> {
        let (state, user) = require_user().await?;
        if !user.may_see(app_id) {
            return Ok(None);
        }
        let cache = request_cache();
        let cached = cache.as_ref().and_then(|c| {
            let app = c.app.lock().unwrap_or_else(|p| p.into_inner());
            app.clone().filter(|(a, _)| a.id == app_id)
        });
        let app = match cached {
            Some(app) => Some(app),
            None => {
                let app = crate::hooks::store::app_with_options(&state.db, app_id)
                    .await
                    .map_err(internal)?;
                if let (Some(c), Some(a)) = (&cache, &app) {
                    *c.app.lock().unwrap_or_else(|p| p.into_inner()) = Some(a.clone());
                }
                app
            }
        };
        Ok(app.map(|(app, options)| (state, user, app, options)))
    }

    /// Logs the error and hides its details from the browser.
    pub fn internal(e: impl std::fmt::Display) -> ServerFnError {
        tracing::error!(error = %e, "dashboard request failed");
        ServerFnError::new(InputError::Internal.to_string())
    }

    /// The input error a store error stands for, logging the ones that are not the user's.
    pub fn input_error(e: StoreError) -> InputError {
        match e {
            StoreError::Input(e) => e,
            other => {
                tracing::error!(error = %other, "dashboard request failed");
                InputError::Internal
            }
        }
    }

    /// Redirects back to `path` with the error's code in the query.
    pub fn redirect_error(path: &str, e: InputError) {
        leptos_axum::redirect(&format!("{path}?error={}", e.code()));
    }

    /// Starts a fresh session (new id: no session fixation) for `user`, bound to their
    /// current password (a new password ends it).
    pub async fn log_in(session: &Session, user: &UserRow) -> Result<(), ServerFnError> {
        session.cycle_id().await.map_err(internal)?;
        crate::server::bind_session(session, user)
            .await
            .map_err(internal)
    }

    /// Only local paths are followed after login (no open redirect); see
    /// [`crate::web_guard::local_path`].
    pub fn safe_next(next: Option<String>) -> String {
        next.as_deref()
            .and_then(crate::web_guard::local_path)
            .unwrap_or_else(|| "/apps".to_string())
    }

    /// The client's address (the peer of the connection).
    pub fn client_ip() -> std::net::IpAddr {
        use_context::<axum::http::request::Parts>()
            .map(|parts| crate::api::auth::client_ip(&parts))
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

/// First run: creates the administrator account and logs it in.
#[server(prefix = "/_sfn", endpoint = "setup")]
pub async fn setup_admin(
    email: String,
    password: String,
    password_confirm: String,
) -> Result<(), ServerFnError> {
    use self::ssr::*;
    use crate::auth::{Email, NewPassword};
    use crate::dto::InputError;

    let state = state();
    let parsed = Email::parse(&email)
        .map_err(InputError::from)
        .and_then(|email| {
            if password != password_confirm {
                return Err(InputError::PasswordMismatch);
            }
            Ok((email, NewPassword::parse(&password)?))
        });
    let (email, password) = match parsed {
        Ok(v) => v,
        Err(e) => {
            redirect_error("/setup", e);
            return Ok(());
        }
    };
    let Ok(hash) = state.login.hash(move || password.hash()).await else {
        redirect_error("/setup", InputError::RateLimited);
        return Ok(());
    };
    match state.db.create_first_user(&email, &hash).await {
        Ok(id) => {
            let user = state
                .db
                .user(id)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("the new user is gone"))?;
            log_in(&session().await?, &user).await?;
            tracing::info!(user = %email.as_str(), "admin account created");
            leptos_axum::redirect("/apps");
        }
        Err(crate::store::StoreError::Input(InputError::AdminExists)) => {
            redirect_error("/login", InputError::AdminExists)
        }
        Err(e) => redirect_error("/setup", input_error(e)),
    }
    Ok(())
}

#[server(prefix = "/_sfn", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    use self::ssr::*;
    use crate::auth::{dummy_hash, verify_password, Email};
    use crate::dto::InputError;

    let state = state();
    let back = |e: InputError| {
        let mut to = format!("/login?error={}", e.code());
        if let Some(n) = next.as_deref().filter(|n| !n.is_empty()) {
            to.push_str("&next=");
            to.push_str(&crate::server::query_component(n));
        }
        leptos_axum::redirect(&to);
    };
    if state.login.admit(client_ip()).is_err() {
        back(InputError::RateLimited);
        return Ok(());
    }
    let Ok(email) = Email::parse(&email) else {
        back(InputError::InvalidLogin);
        return Ok(());
    };
    let user = state.db.user_by_email(&email).await.map_err(internal)?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let Ok(ok) = state
        .login
        .hash(move || verify_password(&password, &hash))
        .await
    else {
        back(InputError::RateLimited);
        return Ok(());
    };
    match user {
        Some(user) if ok => {
            log_in(&session().await?, &user).await?;
            leptos_axum::redirect(&safe_next(next));
        }
        _ => {
            let wait = state.login.failed(email.as_str());
            tracing::info!(user = %email.as_str(), slowed_ms = wait.as_millis() as u64, "failed login");
            tokio::time::sleep(wait).await;
            back(InputError::InvalidLogin);
        }
    }
    Ok(())
}

#[server(prefix = "/_sfn", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let session = self::ssr::session().await?;
    session.flush().await.map_err(self::ssr::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/_sfn", endpoint = "me")]
pub async fn whoami() -> Result<CurrentUser, ServerFnError> {
    let (_, viewer) = self::ssr::require_user().await?;
    Ok(CurrentUser {
        is_admin: viewer.is_admin(),
        email: viewer.user.email,
    })
}

#[server(prefix = "/_sfn", endpoint = "apps")]
pub async fn list_apps() -> Result<Vec<AppSummary>, ServerFnError> {
    let (state, viewer) = self::ssr::require_user().await?;
    let mut apps = state.db.apps().await.map_err(self::ssr::internal)?;
    apps.retain(|app| viewer.may_see(app.id));
    Ok(apps)
}

/// Creates an app and shows its page (with its key).
#[server(prefix = "/_sfn", endpoint = "create_app")]
pub async fn create_app(name: String) -> Result<(), ServerFnError> {
    use self::ssr::*;
    use crate::dto::InputError;
    use crate::store::AppName;

    let Ok((state, user)) = require_user().await else {
        redirect_error("/login", InputError::NotLoggedIn);
        return Ok(());
    };
    if !user.is_admin() {
        redirect_error("/apps", InputError::Forbidden);
        return Ok(());
    }
    let name = match AppName::parse(&name) {
        Ok(n) => n,
        Err(e) => {
            redirect_error("/apps", e);
            return Ok(());
        }
    };
    match state.db.create_app(&name).await {
        Ok(created) => {
            tracing::info!(app_id = %created.app.id, by = %user.user.email, "app created");
            leptos_axum::redirect(&format!("/apps/{}", created.app.id));
        }
        Err(e) => redirect_error("/apps", input_error(e)),
    }
    Ok(())
}

/// One app; its secret only when `reveal` is set (the admin asked to see it).
#[server(prefix = "/_sfn", endpoint = "app")]
pub async fn get_app(id: i64, reveal: bool) -> Result<Option<AppDetail>, ServerFnError> {
    use self::ssr::*;
    use secrecy::ExposeSecret;

    let Some((state, user, app)) = require_app(crate::domain::AppId(id)).await? else {
        return Ok(None);
    };
    let api_secret = if reveal {
        let secret = state.db.app_secret(app.id).await.map_err(internal)?;
        tracing::info!(app_id = id, by = %user.user.email, "app secret revealed");
        Some(secret.expose_secret().to_string())
    } else {
        None
    };
    let app_instance_arn = state.chime.app_instance_arn(&app.external_id);
    Ok(Some(AppDetail {
        app,
        api_secret,
        app_instance_arn,
    }))
}

/// Gives the app a new secret and shows it; the old one keeps working for `grace` (one of
/// `0s`, `1h`, `24h`, `7d`).
#[server(prefix = "/_sfn", endpoint = "rotate_secret")]
pub async fn rotate_secret(id: i64, grace: String) -> Result<(), ServerFnError> {
    use self::ssr::*;
    let Some((state, user, app)) = require_app(crate::domain::AppId(id)).await? else {
        leptos_axum::redirect("/apps");
        return Ok(());
    };
    let grace = match grace.as_str() {
        "0s" | "1h" | "24h" | "7d" => grace,
        _ => "24h".to_string(),
    };
    let period = crate::config::parse_duration(&grace).map_err(internal)?;
    match state.db.rotate_secret(app.id, period).await {
        Ok(_) => {
            tracing::info!(app_id = id, by = %user.user.email, %grace, "app secret rotated");
            leptos_axum::redirect(&format!("/apps/{id}?reveal=1&rotated={grace}"));
        }
        Err(e) => redirect_error(&format!("/apps/{id}"), input_error(e)),
    }
    Ok(())
}
