//! Stream's API error JSON: `{code, message, exception_fields?, StatusCode, duration, more_info,
//! details}`. The SDKs read `code` and `message` from it (and `StatusCode` mirrors the status).

use std::collections::BTreeMap;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// When the request reached the API (for the `duration` field every answer carries).
#[derive(Debug, Clone, Copy)]
pub struct Started(pub Instant);

impl Started {
    pub fn duration(&self) -> String {
        format_duration(self.0.elapsed())
    }
}

pub fn format_duration(d: std::time::Duration) -> String {
    format!("{:.2}ms", d.as_secs_f64() * 1000.0)
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
    pub fields: BTreeMap<String, String>,
    pub duration: String,
}

impl ApiError {
    fn new(status: StatusCode, code: i32, op: &str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: format!("{op} failed with error: \"{}\"", reason.into()),
            fields: BTreeMap::new(),
            duration: "0.00ms".into(),
        }
    }

    /// 400, code 4: the input is wrong.
    pub fn input(op: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 4, op, reason)
    }

    /// 400, code 4, naming the field.
    pub fn field(op: &str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = reason.into();
        let mut e = Self::input(op, format!("{field}: {reason}"));
        e.fields.insert(field, reason);
        e
    }

    /// 401, code 2: the api_key is unknown or missing.
    pub fn bad_key(op: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 2, op, reason)
    }

    /// 401, code 5: the token is missing, malformed or not signed with the app's secret.
    pub fn auth(op: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 5, op, reason)
    }

    /// 401, code 40: the token's `exp` has passed.
    pub fn expired(op: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            40,
            op,
            "JWTAuth error: token has expired",
        )
    }

    /// 413, code 22.
    pub fn too_big(op: &str, limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            22,
            op,
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 429, code 9.
    pub fn rate_limited(op: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            9,
            op,
            "Too many requests, check response headers for more information.",
        )
    }

    /// 404, code 16.
    pub fn not_found(op: &str, what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 16, op, what)
    }

    /// 503, code -1: try again later (shutting down).
    pub fn unavailable(op: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, -1, op, reason)
    }

    /// 500, code -1; the cause goes to the log, not to the caller.
    pub fn internal(op: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, op, "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            op,
            "internal error; see the server log",
        )
    }

    pub fn at(mut self, started: Started) -> Self {
        self.duration = started.duration();
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": self.code,
            "message": self.message,
            "StatusCode": self.status.as_u16(),
            "duration": self.duration,
            "more_info": "https://getstream.io/chat/docs/api_errors_response",
            "details": [],
        });
        if !self.fields.is_empty() {
            body["exception_fields"] = json!(self.fields);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The operation name Stream uses in error messages, from the request.
pub fn op_name(method: &axum::http::Method, path: &str) -> &'static str {
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/app") => "GetApp",
        ("PATCH", "/app") => "UpdateApp",
        (_, "/check_sqs") => "CheckSQS",
        (_, "/check_sns") => "CheckSNS",
        (_, "/check_kinesis") => "CheckKinesis",
        (_, "/check_webhook") => "CheckWebhook",
        (_, "/hook/events") => "GetHookEvents",
        (_, "/events") => "SendEvents",
        (_, "/deliveries") => "ListDeliveries",
        (_, "/deliveries/redeliver") => "Redeliver",
        _ => "Request",
    }
}
