//! The REST API, wire-compatible with Stream Chat's server SDKs: `GET/PATCH /app`,
//! `POST /check_sqs|check_sns|check_kinesis|check_webhook`, `GET /hook/events`; and
//! Hookrelay's own `POST /events`, `GET /deliveries`, `POST /deliveries/redeliver`.
//! Handlers are thin: they parse, call `hooks::store`, `check`, `delivery` or `store`, and
//! shape Stream's JSON; errors are one type, [`ApiError`], rendered once by the layer.

mod app;
pub mod auth;
pub(crate) mod check;
pub mod error;
pub mod events;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::server::AppState;
use error::{op_name, ApiError, Started};

/// Largest request body the API reads (Stream answers 413 / code 22 beyond its limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
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
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state, api_layer))
}

/// Per-app request budget per minute; the `x-ratelimit-*` headers report it on every answer.
pub struct RateLimiter {
    limit: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    pub fn new(limit_per_minute: u32) -> Self {
        Self {
            limit: limit_per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`: (allowed, remaining, window reset as unix seconds).
    pub fn hit(&self, key: &str) -> (bool, u32, u64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = now - now % 60;
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        (allowed, self.limit - entry.1, window + 60)
    }
}

/// Stamps the start time, enforces the per-app budget, renders any [`ApiError`] (naming the
/// operation, with the request's duration) and adds the lowercase rate-limit headers the
/// Python SDK reads.
async fn api_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Started(Instant::now());
    req.extensions_mut().insert(started);
    let op = op_name(req.method(), req.uri().path());
    let key = auth::api_key_of(req.uri().query()).unwrap_or_default();
    let limiter = if req.uri().path().trim_end_matches('/') == "/events" {
        &state.events_limiter
    } else {
        &state.api_limiter
    };
    let (allowed, remaining, reset) = limiter.hit(&key);
    let mut res = if allowed {
        next.run(req).await
    } else {
        ApiError::rate_limited().into_response()
    };
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
    let headers = res.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limiter.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
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
