//! The Chime API's one error type, rendered once as AWS restJson1 errors (wire doc §1.3): the
//! status, `x-amzn-ErrorType: <ShapeName>` (which boto3 and the Rust SDK read to pick the
//! modeled exception), `x-amzn-RequestId`, and the body `{"Code": …, "Message": …}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::sigv4::SigV4Error;

/// Why a Chime API request failed. Each variant carries the message sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChimeError {
    /// 400 `BadRequestException`: the input is invalid.
    #[error("BadRequestException: {0}")]
    BadRequest(String),
    /// 401 `UnauthorizedClientException`.
    #[error("UnauthorizedClientException: {0}")]
    UnauthorizedClient(String),
    /// 403 `ForbiddenException`: authenticated, but not allowed (e.g. another app's resource).
    #[error("ForbiddenException: {0}")]
    Forbidden(String),
    /// 404 `NotFoundException`.
    #[error("NotFoundException: {0}")]
    NotFound(String),
    /// 409 `ConflictException`.
    #[error("ConflictException: {0}")]
    Conflict(String),
    /// 429 `ThrottledClientException`.
    #[error("ThrottledClientException: {0}")]
    Throttled(String),
    /// 500 `ServiceFailureException`.
    #[error("ServiceFailureException: {0}")]
    ServiceFailure(String),
    /// 503 `ServiceUnavailableException`.
    #[error("ServiceUnavailableException: {0}")]
    ServiceUnavailable(String),
    /// 403 `UnrecognizedClientException` (AWS-wide): unknown access key id, or no usable SigV4
    /// authentication at all.
    #[error("UnrecognizedClientException: {0}")]
    UnrecognizedClient(String),
    /// 403 `InvalidSignatureException` (AWS-wide): the signature does not match, has expired,
    /// or is scoped or built wrongly.
    #[error("InvalidSignatureException: {0}")]
    InvalidSignature(String),
}

impl ChimeError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnauthorizedClient(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::UnrecognizedClient(_) | Self::InvalidSignature(_) => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceFailure(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error shape name, sent as `x-amzn-ErrorType`.
    pub fn shape(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequestException",
            Self::UnauthorizedClient(_) => "UnauthorizedClientException",
            Self::Forbidden(_) => "ForbiddenException",
            Self::NotFound(_) => "NotFoundException",
            Self::Conflict(_) => "ConflictException",
            Self::Throttled(_) => "ThrottledClientException",
            Self::ServiceFailure(_) => "ServiceFailureException",
            Self::ServiceUnavailable(_) => "ServiceUnavailableException",
            Self::UnrecognizedClient(_) => "UnrecognizedClientException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    /// The body's `Code` (Chime's `ErrorCode` enum; the AWS-wide auth errors use their shape
    /// name, having no Chime code).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::UnauthorizedClient(_) => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound(_) => "NotFound",
            Self::Conflict(_) => "Conflict",
            Self::Throttled(_) => "Throttled",
            Self::ServiceFailure(_) => "ServiceFailure",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
            Self::UnrecognizedClient(_) => "UnrecognizedClientException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m)
            | Self::UnauthorizedClient(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::Throttled(m)
            | Self::ServiceFailure(m)
            | Self::ServiceUnavailable(m)
            | Self::UnrecognizedClient(m)
            | Self::InvalidSignature(m) => m,
        }
    }
}

impl IntoResponse for ChimeError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "Code": self.code(), "Message": self.message() });
        let mut res = (self.status(), body.to_string()).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.shape()));
        // a hyphenated UUID is always a valid header value
        if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            headers.insert("x-amzn-requestid", id);
        }
        res
    }
}

/// Authentication failures, as AWS answers them (wire doc §1.4, "Auth failures"): all 403.
/// - [`SigV4Error::Missing`] (no or unreadable `Authorization` / `X-Amz-Date`) →
///   `UnrecognizedClientException`: the client cannot be identified. (AWS itself answers
///   `MissingAuthenticationTokenException` / `IncompleteSignatureException`; no SDK models
///   those for Chime, and the 403 is what matters to them.)
/// - everything else (bad signature, expired or skewed date, wrong service, a required header
///   unsigned) → `InvalidSignatureException`, as AWS does for a wrongly scoped or expired
///   signature.
///
/// An unknown access key id is the caller's to report, as `UnrecognizedClient`.
impl From<SigV4Error> for ChimeError {
    fn from(e: SigV4Error) -> Self {
        match e {
            SigV4Error::Missing(_) => Self::UnrecognizedClient(e.to_string()),
            SigV4Error::Expired(_)
            | SigV4Error::WrongService(_)
            | SigV4Error::Unsigned(_)
            | SigV4Error::BadSignature(_) => Self::InvalidSignature(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(m: &str) -> Vec<(ChimeError, u16, &'static str, &'static str)> {
        vec![
            (
                ChimeError::BadRequest(m.into()),
                400,
                "BadRequestException",
                "BadRequest",
            ),
            (
                ChimeError::UnauthorizedClient(m.into()),
                401,
                "UnauthorizedClientException",
                "Unauthorized",
            ),
            (
                ChimeError::Forbidden(m.into()),
                403,
                "ForbiddenException",
                "Forbidden",
            ),
            (
                ChimeError::NotFound(m.into()),
                404,
                "NotFoundException",
                "NotFound",
            ),
            (
                ChimeError::Conflict(m.into()),
                409,
                "ConflictException",
                "Conflict",
            ),
            (
                ChimeError::Throttled(m.into()),
                429,
                "ThrottledClientException",
                "Throttled",
            ),
            (
                ChimeError::ServiceFailure(m.into()),
                500,
                "ServiceFailureException",
                "ServiceFailure",
            ),
            (
                ChimeError::ServiceUnavailable(m.into()),
                503,
                "ServiceUnavailableException",
                "ServiceUnavailable",
            ),
            (
                ChimeError::UnrecognizedClient(m.into()),
                403,
                "UnrecognizedClientException",
                "UnrecognizedClientException",
            ),
            (
                ChimeError::InvalidSignature(m.into()),
                403,
                "InvalidSignatureException",
                "InvalidSignatureException",
            ),
        ]
    }

    #[tokio::test]
    async fn each_variant_renders_status_error_type_request_id_and_body() {
        let mut request_ids = std::collections::HashSet::new();
        let message = "what went wrong: \"quoted\" <b>";
        for (error, status, shape, code) in all(message) {
            let res = error.into_response();
            assert_eq!(res.status().as_u16(), status, "{shape}");
            let h = res.headers();
            assert_eq!(h.get("x-amzn-ErrorType").unwrap(), shape);
            assert_eq!(h.get("content-type").unwrap(), "application/json");
            let id = h.get("x-amzn-RequestId").unwrap().to_str().unwrap();
            let id = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(id.get_version_num(), 4);
            assert!(request_ids.insert(id), "request ids must differ");
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({ "Code": code, "Message": message }),
                "{shape}"
            );
        }
    }

    #[test]
    fn sigv4_failures_map_to_the_aws_wide_403s() {
        let missing: ChimeError = SigV4Error::Missing("no Authorization header".into()).into();
        assert_eq!(missing.shape(), "UnrecognizedClientException");
        assert_eq!(missing.status(), StatusCode::FORBIDDEN);
        assert!(missing.message().contains("no Authorization header"));
        for e in [
            SigV4Error::Expired("x".into()),
            SigV4Error::WrongService("sqs".into()),
            SigV4Error::Unsigned("host".into()),
            SigV4Error::BadSignature("x".into()),
        ] {
            let text = e.to_string();
            let c = ChimeError::from(e);
            assert_eq!(c.shape(), "InvalidSignatureException");
            assert_eq!(c.status(), StatusCode::FORBIDDEN);
            assert_eq!(c.message(), text);
        }
    }
}
