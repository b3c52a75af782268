//! Start-up: open the store, load the master key, build the router (dashboard, server
//! functions, health, static files) and serve it until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::SecretString;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::auth::LoginGuard;
use crate::config::{AwsSettings, GlobalOpts, ServeOpts};
use crate::secrets::{MasterKey, NewKey, SecretsError};
use crate::store::meta::KeyCheck;
use crate::store::{redact_url, Store, StoreError};
use crate::ui::{shell, App};

pub use crate::web_guard::{bind_session, session_user, SESSION_USER};

/// A dashboard session ends after this long without a request.
pub const SESSION_IDLE_EXPIRY: tower_sessions::cookie::time::Duration =
    tower_sessions::cookie::time::Duration::days(7);

/// How long in-flight deliveries may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Most idle connections the HTTP client keeps per webhook host.
const HTTP_IDLE_PER_HOST: usize = 256;

/// Everything a request handler or server function may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Store,
    /// Slows password guessing: per address, per email, and hashing at most two at once.
    pub login: Arc<LoginGuard>,
    /// The API's budgets (per app, and per address for failed authentications).
    pub budgets: Arc<crate::api::Budgets>,
    /// The AWS endpoint override (queue URLs under it are accepted) and the default region.
    pub aws: AwsSettings,
    /// Where tenants' URLs may connect.
    pub egress: Arc<crate::egress::EgressPolicy>,
    /// `--resource-auth-allow`: where `resource` auth may send (empty: anywhere).
    pub resource_allow: Arc<[String]>,
    /// The HTTP client for webhooks (connection pool shared by checks and deliveries).
    pub http: reqwest::Client,
    /// Ingest and delivery.
    pub engine: Arc<crate::delivery::Engine>,
    /// `--aws-principal`: named in the resource policies the dashboard shows.
    pub aws_principal: Option<String>,
    /// The dashboard's users, remembered once read.
    pub users: Arc<crate::store::UserCache>,
    /// The hook lists the dashboard shows, kept per app while its hooks do not change.
    pub hook_lists: Arc<crate::hooks::store::MaskedLists>,
    /// `--render-concurrency`: dashboard pages rendered at once.
    pub renders: Arc<crate::web_guard::RenderSlots>,
    /// `--events-memory`: room for `POST /events` bodies in flight.
    pub events_memory: Arc<crate::api::events_memory::EventsMemory>,
    /// The region and account of the apps' AppInstance ARNs (the Chime API, the app page).
    pub chime: crate::hooks::chime::ChimeAccount,
    /// The chat source (Stream-compatible users, channels and messages).
    pub chat: crate::chat::Chat,
}

impl AppState {
    pub fn validate_context(&self) -> crate::hooks::ValidateContext<'_> {
        crate::hooks::ValidateContext {
            endpoint_override: self.aws.endpoint.as_deref(),
            default_region: self.aws.default_region.as_deref(),
            egress: &self.egress,
            resource_allow: &self.resource_allow,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error("the master key does not open this database's secrets: start with the key the database was created with (HOOKRELAY_MASTER_KEY or <data-dir>/master.key)")]
    WrongKey,
    #[error("the master key file {} is missing, and this database holds secrets sealed with it: restore the file (or set HOOKRELAY_MASTER_KEY to the key); a new key cannot open them", .0.display())]
    MissingKey(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("HTTP client: {0}")]
    Http(String),
}

/// The parts every command needs: the data directory, the migrated database and the master key.
pub async fn open(global: &GlobalOpts) -> Result<Store, StartError> {
    private_data_dir(&global.data_dir).map_err(|source| StartError::DataDir {
        path: global.data_dir.clone(),
        source,
    })?;
    let given = global.master_key.clone().map(SecretString::from);
    // a new key is kept only if the database turns out to hold nothing sealed
    let (key, fresh) = match MasterKey::load(given.as_ref(), &global.data_dir)? {
        Some(key) => (key, None),
        None => {
            let new = NewKey::generate();
            (new.key().clone(), Some(new))
        }
    };
    let url = global.database_url();
    let store = Store::connect(&url, key)
        .await
        .map_err(|source| StartError::Database {
            url: redact_url(&url),
            source,
        })?;
    let key_file = crate::secrets::key_path(&global.data_dir);
    match store.check_key().await? {
        KeyCheck::Opens => {}
        KeyCheck::Refused if fresh.is_some() => return Err(StartError::MissingKey(key_file)),
        KeyCheck::Refused => return Err(StartError::WrongKey),
        KeyCheck::Unsealed => {
            if store.holds_secrets().await? {
                // a database from before the canary: its first app's secret tells
                if fresh.is_some() {
                    return Err(StartError::MissingKey(key_file));
                }
                verify_key(&store).await?;
            }
            if let Some(new) = &fresh {
                new.save(&global.data_dir)?;
            }
            match store.seal_key_canary().await? {
                KeyCheck::Opens => {}
                // another process sealed it first, with another key
                _ => return Err(StartError::WrongKey),
            }
        }
    }
    Ok(store)
}

/// The files Hookrelay keeps in its data directory.
const DATA_FILES: [&str; 4] = [
    "hookrelay.db",
    "hookrelay.db-wal",
    "hookrelay.db-shm",
    "master.key",
];

/// Makes the data directory readable by this user only: files created from now on are 0600
/// (umask 077: SQLite's database, WAL and shared-memory files, the master key), the directory
/// is 0700 when created, and an existing Hookrelay data directory and its files are tightened
/// to 0700 / 0600. A directory holding no Hookrelay file is left as it is (it may be shared).
fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // SAFETY: umask only sets the process's file mode creation mask; it cannot fail
        unsafe {
            libc::umask(0o077);
        }
        if !dir.exists() {
            return std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let ours: Vec<_> = DATA_FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.exists())
            .collect();
        if !ours.is_empty() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            for file in ours {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Refuses a master key that does not open the secrets of a database from before the canary:
/// opens its first app's sealed secret.
async fn verify_key(store: &Store) -> Result<(), StartError> {
    let apps = store.apps().await?;
    if let Some(app) = apps.first() {
        match store.app_secret(app.id).await {
            Ok(_) => {}
            Err(StoreError::Secrets(_)) => return Err(StartError::WrongKey),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Builds the whole HTTP application over an opened store, with delivery running.
pub async fn router(db: Store, opts: &ServeOpts, addr: SocketAddr) -> Result<Router, StartError> {
    Ok(application(db, opts, addr).await?.0)
}

/// The HTTP application and its delivery engine (for a graceful stop).
pub async fn application(
    db: Store,
    opts: &ServeOpts,
    addr: SocketAddr,
) -> Result<(Router, Arc<crate::delivery::Engine>), StartError> {
    let leptos_options = LeptosOptions::builder()
        .output_name("hookrelay")
        .site_root(opts.site_root().display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let aws = opts.aws();
    let egress = Arc::new(opts.egress());
    let resource_allow: Arc<[String]> = opts
        .resource_auth_allow
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hookrelay/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(HTTP_IDLE_PER_HOST);
    if !egress.allows_everything() {
        // every name a webhook connects to is resolved and checked by the guard
        http = http.dns_resolver(egress.resolver());
    }
    let http = http.build().map_err(|e| StartError::Http(e.to_string()))?;
    let engine = crate::delivery::Engine::start(
        db.clone(),
        opts.delivery.clone(),
        crate::delivery::registry::Settings {
            http: http.clone(),
            send_timeout: opts.delivery.send_timeout,
            webhook_concurrency: opts.delivery.webhook_concurrency,
            aws_endpoint: aws.endpoint.clone(),
            default_region: aws.default_region.clone(),
            egress: egress.clone(),
            resource_allow: resource_allow.clone(),
            chime: opts.chime.account(),
        },
    );
    let engine_handle = engine.clone();
    let chat = crate::chat::Chat::new(db.clone(), engine.clone());
    // events a crash left between a chat change's commit and ingest
    tokio::spawn({
        let chat = chat.clone();
        async move {
            match chat.drain_outbox().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "chat events left by a crash accepted"),
                Err(e) => tracing::error!(error = %e, "accepting the chat outbox failed"),
            }
        }
    });
    let state = AppState {
        leptos_options,
        db: db.clone(),
        login: Arc::new(LoginGuard::default()),
        budgets: Arc::new(crate::api::Budgets::new(
            opts.api_rate_limit,
            opts.events_rate_limit,
            opts.auth_failure_limit,
        )),
        aws,
        egress,
        resource_allow,
        http,
        engine,
        aws_principal: opts.aws_principal.clone().filter(|p| !p.trim().is_empty()),
        users: Arc::new(crate::store::UserCache::new(opts.session_cache)),
        hook_lists: Arc::default(),
        renders: Arc::new(crate::web_guard::RenderSlots::new(
            opts.render_concurrency,
            crate::web_guard::RENDER_WAIT,
        )),
        events_memory: Arc::new(crate::api::events_memory::EventsMemory::new(
            opts.events_memory,
        )),
        chime: opts.chime.account(),
        chat,
    };

    let session_store = db.session_store(opts.session_cache).await?;
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("hookrelay_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(opts.secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE_EXPIRY));

    let routes = generate_route_list(App);
    let app = Router::new()
        .merge(crate::api::router())
        .merge(crate::api::chime::streaming::router())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), page_guard))
        .layer(middleware::from_fn(crate::web_guard::csrf_guard))
        .layer(sessions)
        .layer(middleware::from_fn(crate::web_guard::security_headers))
        .layer(middleware::map_request(add_request_cache))
        .with_state(state.clone())
        .merge(crate::ops::router(
            ops_state(&state, opts),
            opts.metrics_listen.is_none(),
        ));
    // `//app` (an SDK base URL with a trailing slash) is `/app`: collapse slashes before routing.
    let app = Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(collapse_slashes)
            .service(app),
    );
    Ok((app, engine_handle))
}

/// What the operator's endpoints need (see [`crate::ops`]).
fn ops_state(state: &AppState, opts: &ServeOpts) -> crate::ops::Ops {
    crate::ops::Ops::new(
        state.db.clone(),
        state.engine.clone(),
        opts.metrics_token.as_ref(),
    )
}

fn collapse_slashes(mut req: Request) -> Request {
    let path = req.uri().path();
    if !path.contains("//") {
        return req;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    if let Some(q) = req.uri().query() {
        collapsed = format!("{collapsed}?{q}");
    }
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = collapsed.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Opens everything and serves until SIGINT/SIGTERM.
pub async fn serve(global: &GlobalOpts, opts: &ServeOpts) -> Result<(), StartError> {
    let db = open(global).await?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    let (app, engine) = application(db.clone(), opts, addr).await?;
    tracing::info!(%addr, database = %redact_url(&global.database_url()), "hookrelay started");
    println!("Hookrelay is running: dashboard at http://{addr}/  (Ctrl-C to stop)");
    if let Some(metrics_addr) = opts.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: metrics_addr,
                source,
            })?;
        let ops = crate::ops::Ops::new(db.clone(), engine.clone(), opts.metrics_token.as_ref());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, crate::ops::metrics_router(ops)).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        tracing::info!(addr = %metrics_addr, "metrics served on their own address");
    }
    // the requests in flight finish within --shutdown-timeout; what is left of it goes to the
    // deliveries (at most SHUTDOWN_GRACE) and closing the database
    let deadline =
        crate::http_server::serve_on(listener, app, opts.into(), shutdown_signal()).await;
    // no new events arrive now; let the sends under way finish, give the rest back
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    engine.shutdown(SHUTDOWN_GRACE.min(left)).await;
    if tokio::time::timeout_at(deadline, db.close()).await.is_err() {
        tracing::warn!("the database was not closed by the shutdown deadline");
    }
    tracing::info!("hookrelay stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Gives each request its own cache of the dashboard's per-request lookups.
async fn add_request_cache(mut req: axum::extract::Request) -> axum::extract::Request {
    req.extensions_mut()
        .insert(crate::ui::server_fns::ssr::RequestCache::default());
    req
}

/// Sends page visits where they belong: to the first-run page while there is no admin, to the
/// login page without a session, away from login/setup with one. Server functions check the
/// session themselves; this only covers the pages rendered on the server.
async fn page_guard(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == axum::http::Method::GET
        && (path == "/"
            || path == "/login"
            || path == "/setup"
            || path == "/apps"
            || path == "/users"
            || path.starts_with("/apps/"));
    if !is_page {
        return next.run(req).await;
    }
    let has_users = match state.users.any_exist(&state.db).await {
        Ok(any) => any,
        Err(e) => {
            tracing::error!(error = %e, "cannot count users");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    };
    let logged_in = match session_user(&state, &session).await {
        Ok(user) => user.is_some(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the session's user");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    };
    let target = match (path, has_users, logged_in) {
        ("/setup", false, _) => None,
        (_, false, _) => Some("/setup".to_string()),
        ("/setup" | "/login" | "/", true, true) => Some("/apps".to_string()),
        ("/setup" | "/", true, false) => Some("/login".to_string()),
        ("/login", true, false) => None,
        (_, true, false) => Some(format!("/login?next={}", encode_next(req.uri()))),
        (_, true, true) => None,
    };
    match target {
        Some(to) => {
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            res
        }
        None => match state.renders.enter().await {
            Ok(_slot) => next.run(req).await,
            Err(crate::web_guard::Busy) => crate::web_guard::busy_response(),
        },
    }
}

fn encode_next(uri: &axum::http::Uri) -> String {
    query_component(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/apps"))
}

/// `s` percent-encoded for use as one query-string value.
pub fn query_component(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|pair| pair.trim_start_matches('=').to_string())
        .unwrap_or_default()
}
