//! The dashboard's defences in depth: server-function posts only from the site itself (CSRF),
//! security headers on every answer, redirects only to local paths, and sessions bound to the
//! user's current password; dashboard pages rendered a few at a time ([`RenderSlots`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use crate::domain::{AppId, UserId};
use crate::server::AppState;
use crate::store::{StoreError, UserRow};

/// Session key holding the logged-in user's id.
pub const SESSION_USER: &str = "user_id";

/// Session key holding [`credential_stamp`] of the user's password hash at login.
pub const SESSION_STAMP: &str = "credential";

/// Where the dashboard's server functions are posted.
pub const SERVER_FN_PREFIX: &str = "/_sfn/";

/// How long a page waits for a render slot before it is answered 503.
pub const RENDER_WAIT: Duration = Duration::from_secs(5);

/// `--render-concurrency`: dashboard pages rendered at once. A page holds its rows and its
/// HTML while it renders; a page waiting for its turn holds only its request, so memory stays
/// bounded whatever the number of clients (50 at once took 7 MB more than 8 at once, and an
/// open-loop load that outran the CPU took 150 MB).
pub struct RenderSlots {
    slots: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

/// One page's turn; the next page may render once it is dropped.
pub struct RenderSlot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// No render slot came free within the wait.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

impl RenderSlots {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// Waits for a slot, at most the wait given at creation.
    pub async fn enter(&self) -> Result<RenderSlot, Busy> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(RenderSlot(permit)),
            _ => Err(Busy),
        }
    }
}

/// The answer to a page that found no render slot.
pub fn busy_response() -> Response {
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        "The dashboard is busy; try again in a moment.",
    )
        .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// A short digest of a password hash: a session records it at login, and a new password (a new
/// hash) no longer matches, which ends the sessions of the old one. Not a secret (a digest of
/// a salted hash), and too short to be worth attacking.
pub fn credential_stamp(password_hash: &str) -> String {
    let digest = Sha256::digest(password_hash.as_bytes());
    hex::encode(&digest[..8])
}

/// Records `user` in the session (after its id was cycled).
pub async fn bind_session(
    session: &Session,
    user: &UserRow,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(SESSION_USER, user.id).await?;
    session
        .insert(SESSION_STAMP, credential_stamp(&user.password_hash))
        .await
}

/// The user the session belongs to and their apps, if the session is logged in, the user
/// still exists and their password is the one the session was opened with.
pub async fn session_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<(UserRow, Vec<AppId>)>, StoreError> {
    let Some(id) = session.get::<UserId>(SESSION_USER).await.ok().flatten() else {
        return Ok(None);
    };
    let stamp = session.get::<String>(SESSION_STAMP).await.ok().flatten();
    let Some((user, apps)) = state.users.by_id(&state.db, id).await? else {
        return Ok(None);
    };
    if stamp.as_deref() != Some(credential_stamp(&user.password_hash).as_str()) {
        return Ok(None);
    }
    Ok(Some((user, apps)))
}

/// `next` as a path on this site (with its query), or `None`: parsed the way a browser would
/// resolve it against the site, so tabs, newlines, backslashes and `//host` cannot lead
/// elsewhere. The result is ASCII (percent-encoded), safe in a `Location` header.
pub fn local_path(next: &str) -> Option<String> {
    const BASE: &str = "http://hookrelay.invalid/";
    if !next.starts_with('/') {
        return None;
    }
    let base = url::Url::parse(BASE).ok()?;
    let url = base.join(next).ok()?;
    if url.origin() != base.origin() || url.path().starts_with("//") {
        return None;
    }
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// True when the request's `Origin` (or, without one, its `Referer`) names this site: the host
/// (and port) the request was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok());
    let Some(source) = source else {
        return false;
    };
    let Some(source_host) = source.host_str() else {
        return false;
    };
    let source_authority = match source.port() {
        Some(port) => format!("{source_host}:{port}"),
        None => source_host.to_string(),
    };
    let default_port = match source.scheme() {
        "https" => ":443",
        _ => ":80",
    };
    let host = host.to_ascii_lowercase();
    host == source_authority || host.strip_suffix(default_port) == Some(source_authority.as_str())
}

/// Refuses (403) a server-function call that is not a `GET` and does not come from this site:
/// another origin (a sibling subdomain, another port) cannot post the dashboard's forms with
/// the user's cookie.
pub async fn csrf_guard(req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method
        && req.uri().path().starts_with(SERVER_FN_PREFIX)
        && !same_origin(req.headers())
    {
        tracing::warn!(path = %req.uri().path(), "refused a cross-site form post");
        return (
            StatusCode::FORBIDDEN,
            "refused: this form was not sent from this site",
        )
            .into_response();
    }
    next.run(req).await
}

/// The Content-Security-Policy of the dashboard: scripts only from the site (the hydration
/// script carries the page's nonce), WebAssembly compiled from it, no plugins, no framing, forms
/// posted only to the site.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let script = match nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The nonce of one page's scripts (128 random bits), put in the request for the shell.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

impl CspNonce {
    fn new() -> Self {
        use base64::Engine;
        let bytes: [u8; 16] = rand::random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// Security headers on every answer: no framing, no referrer to other sites, no MIME sniffing,
/// the CSP on pages (with this request's script nonce), and `Cache-Control: no-store` on pages
/// and server-function answers (they may show secrets) unless the handler chose a caching
/// policy (static files).
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let nonce = CspNonce::new();
    req.extensions_mut().insert(nonce.clone());
    let nonce = Some(nonce.0);
    let path = req.uri().path();
    let static_file = path.starts_with("/pkg/") || path == "/favicon.svg";
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(nonce.as_deref())) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    if !static_file && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_page_waits_for_a_render_slot_and_is_refused_after_the_wait() {
        let slots = super::RenderSlots::new(1, std::time::Duration::from_millis(50));
        let first = slots.enter().await.expect("a free slot");
        let started = std::time::Instant::now();
        assert_eq!(slots.enter().await.err(), Some(super::Busy));
        assert!(started.elapsed() >= std::time::Duration::from_millis(50));
        drop(first);
        let second = slots.enter().await.expect("the slot given back");
        drop(second);
        // a page that waits gets the slot as soon as the one rendering ends
        let held = slots.enter().await.unwrap();
        let waiter = tokio::spawn(async move {
            let slots = slots;
            slots.enter().await.map(|_| ())
        });
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(()));
    }

    use super::*;

    #[test]
    fn next_is_a_local_path_or_nothing() {
        assert_eq!(local_path("/apps/3").as_deref(), Some("/apps/3"));
        assert_eq!(
            local_path("/apps/3/deliveries?hook=a%20b&x=1").as_deref(),
            Some("/apps/3/deliveries?hook=a%20b&x=1")
        );
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "/\\\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/.//evil.example",
            "",
            " /apps",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        // control characters never reach a header
        let p = local_path("/apps\n/x\r").unwrap();
        assert!(HeaderValue::from_str(&p).is_ok(), "{p:?}");
        let p = local_path("/é?q=ü").unwrap();
        assert!(p.is_ascii(), "{p}");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_the_site_itself_is_the_same_origin() {
        let site = [("host", "hooks.example.com")];
        assert!(same_origin(&headers(&[
            site[0],
            ("origin", "https://hooks.example.com")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "hooks.example.com:443"),
            ("origin", "https://hooks.example.com")
        ])));
        assert!(same_origin(&headers(&[
            site[0],
            ("referer", "https://hooks.example.com/apps/1")
        ])));
        for other in [
            "https://evil.example.com",
            "https://a.hooks.example.com",
            "http://hooks.example.com:8080",
            "null",
        ] {
            assert!(
                !same_origin(&headers(&[site[0], ("origin", other)])),
                "{other}"
            );
        }
        // no Origin and no Referer: not known to be the site
        assert!(!same_origin(&headers(&site)));
        // the Origin wins over a Referer
        assert!(!same_origin(&headers(&[
            site[0],
            ("origin", "https://evil.example.com"),
            ("referer", "https://hooks.example.com/")
        ])));
    }

    #[test]
    fn the_csp_allows_the_nonce_and_forbids_framing() {
        let csp = content_security_policy(Some("abc"));
        assert!(csp.contains("'nonce-abc'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
