//! The REST API, wire-compatible with Stream Chat's server SDKs: `GET/PATCH /app`,
//! `POST /check_sqs|check_sns|check_kinesis|check_webhook`, `GET /hook/events`; and
//! Hookrelay's own `POST /events`, `GET /deliveries`, `POST /deliveries/redeliver`; the chat
//! source's users, channels and messages (`chat`); and their
//! OpenAPI 3.1 description at `GET /openapi.json` (`openapi`).
//! Handlers are thin: they parse, call `hooks::store`, `check`, `delivery` or `store`, and
//! shape Stream's JSON; errors are one type, [`ApiError`], rendered once by the layer.

mod app;
pub mod auth;
pub mod chat;
pub mod chat_schema;
pub(crate) mod check;
pub mod chime;
pub mod error;
pub mod events;
pub mod events_memory;
pub mod openapi;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::domain::AppId;
use crate::limits::{Budget, Verdict};
use crate::server::AppState;
use error::{op_name, ApiError, Started};

/// Largest request body the API reads (Stream answers 413 / code 22 beyond its limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(app::get_app).patch(app::update_app))
        .route("/hook/events", get(app::hook_events))
        .route("/check_sqs", post(check::check_sqs))
        .route("/check_sns", post(check::check_sns))
        .route("/check_kinesis", post(check::check_kinesis))
        .route("/check_webhook", post(check::check_webhook))
        .route(
            "/events",
            post(events::post_events).layer(DefaultBodyLimit::max(events::EVENTS_BODY_LIMIT)),
        )
        .route("/deliveries", get(events::list_deliveries))
        .route("/deliveries/redeliver", post(events::redeliver))
        // the chat source (Stream-compatible)
        .route("/users", post(chat::upsert_users).patch(chat::patch_users))
        .route("/channels/{type}/query", post(chat::query_new_channel))
        .route("/channels/{type}/{id}/query", post(chat::query_channel))
        .route("/channels/{type}/{id}/message", post(chat::send_message))
        .route(
            "/channels/{type}/{id}",
            post(chat::update_channel)
                .patch(chat::patch_channel)
                .delete(chat::delete_channel),
        )
        .route(
            "/messages/{id}",
            post(chat::update_message)
                .put(chat::patch_message)
                .delete(chat::delete_message),
        )
        // the API's OpenAPI 3.1 description (no authentication)
        .route("/openapi.json", get(openapi::openapi_json))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(api_layer))
}

/// The API's budgets: spent per authenticated app (`POST /events` has its own), and per client
/// address for failed authentications.
pub struct Budgets {
    pub api: Budget<AppId>,
    pub events: Budget<AppId>,
    pub auth_failures: Budget<IpAddr>,
}

impl Budgets {
    /// `api` and `events` requests per app per minute; `auth_failures` failed
    /// authentications per client address per minute (beyond them the address gets 429; a
    /// correctly signed call never counts there).
    pub fn new(api: u32, events: u32, auth_failures: u32) -> Self {
        Self {
            api: Budget::per_minute(api),
            events: Budget::per_minute(events),
            auth_failures: Budget::per_minute(auth_failures),
        }
    }

    /// The app budget a request to `path` spends.
    pub fn for_path(&self, path: &str) -> &Budget<AppId> {
        if path.trim_end_matches('/') == "/events" {
            &self.events
        } else {
            &self.api
        }
    }
}

/// Where authentication leaves what the request spent, for the layer's `x-ratelimit-*` headers.
#[derive(Clone, Default)]
pub struct RateSlot(Arc<OnceLock<Verdict>>);

impl RateSlot {
    pub fn set(&self, verdict: Verdict) {
        let _ = self.0.set(verdict);
    }
}

/// Stamps the start time, renders any [`ApiError`] (naming the operation, with the request's
/// duration) and adds the lowercase rate-limit headers the Python SDK reads (and `Retry-After`
/// on a 429). Budgets are spent by authentication ([`auth::ServerAuth`]), never before it.
async fn api_layer(mut req: Request, next: Next) -> Response {
    let started = Started(Instant::now());
    req.extensions_mut().insert(started);
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let op = op_name(req.method(), req.uri().path());
    let mut res = next.run(req).await;
    if let Some(error) = res.extensions_mut().remove::<ApiError>() {
        let headers = std::mem::take(res.headers_mut());
        res = error.render(op, &started.duration());
        for (name, value) in headers.iter() {
            if name != axum::http::header::CONTENT_TYPE
                && name != axum::http::header::CONTENT_LENGTH
            {
                res.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    if let Some(v) = slot.0.get() {
        let headers = res.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(v.reset));
        if let Some(wait) = v.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(secs.max(1)),
            );
        }
    }
    res
}

/// Reads a JSON object body: empty means `{}`; too big is 413/22; bad JSON is 400/4.
pub fn json_object(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_big(BODY_LIMIT)
        } else {
            ApiError::input(format!("cannot read the request body: {e}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::input("the request body must be a JSON object")),
        Err(e) => Err(ApiError::input(format!(
            "invalid JSON in the request body: {e}"
        ))),
    }
}
