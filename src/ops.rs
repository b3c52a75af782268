//! The operator's endpoints: `/healthz` (the process is up), `/readyz` (the database answers
//! and the master key opens it) and `/metrics` (Prometheus), served on the main listener or,
//! with `--metrics-listen`, `/metrics` on an address of its own. With `--metrics-token`,
//! `/metrics` wants `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::delivery::Engine;
use crate::store::meta::KeyCheck;
use crate::store::Store;

#[derive(Clone)]
pub struct Ops {
    pub db: Store,
    pub engine: Arc<Engine>,
    /// The SHA-256 of `--metrics-token`, when set.
    token: Option<[u8; 32]>,
}

impl Ops {
    pub fn new(db: Store, engine: Arc<Engine>, token: Option<&SecretString>) -> Self {
        let token = token
            .map(|t| t.expose_secret().trim().to_string())
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into());
        Self { db, engine, token }
    }
}

/// `/healthz`, `/readyz`, and `/metrics` unless it has an address of its own.
pub fn router(ops: Ops, with_metrics: bool) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let router = if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    router.with_state(ops)
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(ops: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the master key opens its canary.
async fn readyz(State(ops): State<Ops>) -> Response {
    match ops.db.check_key().await {
        Ok(KeyCheck::Refused) => {
            tracing::error!("readiness check failed: the master key does not open the database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the master key does not open this database",
            )
                .into_response()
        }
        Ok(KeyCheck::Opens | KeyCheck::Unsealed) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus metrics: this process's delivery counters and the backlog per app (as last
/// counted in the background: a scrape runs no query).
async fn metrics(State(ops): State<Ops>, headers: HeaderMap) -> Response {
    if let Some(want) = &ops.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| <[u8; 32]>::from(Sha256::digest(t.trim().as_bytes())));
        // digests compared: equal-length values whose comparison time tells nothing of the token
        if given.as_ref() != Some(want) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs Authorization: Bearer <--metrics-token>",
            )
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.engine.metrics().render(&ops.engine.backlog()),
    )
        .into_response()
}
