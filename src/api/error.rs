//! Stream's API error JSON: `{code, message, exception_fields?, StatusCode, duration, more_info,
//! details}`. The SDKs read `code` and `message` from it (and `StatusCode` mirrors the status).

use std::collections::BTreeMap;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

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

/// Why an API request failed: the one error type of the API layer. Handlers return it with
/// `?` (store, hook and ingest errors convert into it); [`super::api_layer`] renders it once,
/// naming the operation and stamping the duration, so neither is written at call sites.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i32,
    /// What went wrong, in the caller's words.
    pub reason: String,
    pub fields: BTreeMap<String, String>,
    /// The cause of an internal error: logged, never sent.
    cause: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: i32, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
            fields: BTreeMap::new(),
            cause: None,
            retry_after: None,
        }
    }

    /// Adds `Retry-After: secs` to the answer.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// 400, code 4: the input is wrong.
    pub fn input(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 4, reason)
    }

    /// 400, code 4, naming the field.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = reason.into();
        let mut e = Self::input(format!("{field}: {reason}"));
        e.fields.insert(field, reason);
        e
    }

    /// 401, code 2: the api_key is unknown or missing.
    pub fn bad_key(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 2, reason)
    }

    /// 401, code 5: the token is missing, malformed or not signed with the app's secret.
    pub fn auth(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 5, reason)
    }

    /// 401, code 40: the token's `exp` has passed.
    pub fn expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            40,
            "JWTAuth error: token has expired",
        )
    }

    /// 413, code 22.
    pub fn too_big(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            22,
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 429, code 9.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            9,
            "Too many requests, check response headers for more information.",
        )
    }

    /// 404, code 16.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 16, what)
    }

    /// 503, code -1: try again later (shutting down).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, -1, reason)
    }

    /// 408, code 4: the request body did not arrive in time.
    pub fn timeout(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, 4, reason)
    }

    /// 500, code -1; the cause goes to the log, not to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "internal error; see the server log",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// Stream's error JSON for this error of operation `op`, which took `duration`.
    pub fn render(&self, op: &str, duration: &str) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, op, "API request failed");
        }
        let body = ErrorBody {
            status_code: self.status.as_u16(),
            code: self.code,
            details: Vec::new(),
            duration: duration.to_string(),
            exception_fields: (!self.fields.is_empty()).then(|| self.fields.clone()),
            message: format!("{op} failed with error: \"{}\"", self.reason),
            more_info: MORE_INFO.to_string(),
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// Where Stream's error JSON points for the meaning of `code`.
pub const MORE_INFO: &str = "https://getstream.io/chat/docs/api_errors_response";

/// Stream's API error JSON, the body of every 4xx and 5xx answer of the API. (Fields in
/// ASCII order: the order this body has always had on the wire.)
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = APIError)]
pub struct ErrorBody {
    /// The HTTP status again.
    #[serde(rename = "StatusCode")]
    #[schema(minimum = 400, maximum = 599)]
    pub status_code: u16,
    /// Stream's error code: 4 input, 2 unknown api_key, 5 authentication, 40 token expired,
    /// 16 not found, 22 body too large, 9 rate limited, -1 internal or unavailable.
    pub code: i32,
    /// Always empty.
    pub details: Vec<i32>,
    /// How long the request took, e.g. `0.12ms`.
    pub duration: String,
    /// The refused fields and why (only on input errors, code 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_fields: Option<BTreeMap<String, String>>,
    /// `<Operation> failed with error: "<reason>"`.
    pub message: String,
    pub more_info: String,
}

/// The status alone, with the error in the response's extensions for [`super::api_layer`] to
/// render (it knows the operation and when the request started).
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::hooks::HookError> for ApiError {
    fn from(e: crate::hooks::HookError) -> Self {
        Self::field(e.field, e.message)
    }
}

impl From<crate::hooks::store::ChangeError> for ApiError {
    fn from(e: crate::hooks::store::ChangeError) -> Self {
        match e {
            crate::hooks::store::ChangeError::Invalid(e) => e.into(),
            crate::hooks::store::ChangeError::Store(e) => e.into(),
        }
    }
}

impl From<crate::delivery::IngestError> for ApiError {
    fn from(e: crate::delivery::IngestError) -> Self {
        match e {
            crate::delivery::IngestError::Stopping => Self::unavailable(e.to_string()),
            crate::delivery::IngestError::Refused(refusal) => {
                let wait = crate::delivery::admission::RETRY_AFTER.as_secs();
                let e = match refusal {
                    crate::delivery::admission::Refusal::Backlog { .. } => {
                        Self::new(StatusCode::TOO_MANY_REQUESTS, 9, refusal.to_string())
                    }
                    crate::delivery::admission::Refusal::DiskFull { .. } => {
                        Self::unavailable(refusal.to_string())
                    }
                };
                e.retry_after(wait)
            }
            crate::delivery::IngestError::Store(cause) => Self::internal(cause),
        }
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
        ("POST", "/users") => "UpsertUsers",
        ("PATCH", "/users") => "UpdateUsersPartial",
        (method, p) if p.starts_with("/channels/") => match method {
            _ if p.ends_with("/query") => "QueryChannel",
            _ if p.ends_with("/message") => "SendMessage",
            "PATCH" => "UpdateChannelPartial",
            "DELETE" => "DeleteChannel",
            _ => "UpdateChannel",
        },
        (method, p) if p.starts_with("/messages/") => match method {
            "PUT" => "UpdateMessagePartial",
            "DELETE" => "DeleteMessage",
            _ => "UpdateMessage",
        },
        _ => "Request",
    }
}
