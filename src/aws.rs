//! AWS SDK clients per hook auth type, shared by the checker (`check/`) and delivery
//! (`delivery/destinations/`):
//! `keys` (static key and secret), `resource` (Hookrelay's own credentials from the default
//! chain: environment, profile, instance role) and `role` (STS AssumeRole with the app id as
//! external id; the provider refreshes the temporary credentials before they expire).
//! The endpoint follows the SDK's standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use crate::hooks::AwsAuth;

/// Per-call limits for the SDK.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub connect: Duration,
    pub operation: Duration,
    pub attempts: u32,
}

impl CallLimits {
    /// For interactive checks: fail fast, no retries.
    pub const CHECK: Self = Self {
        connect: Duration::from_millis(800),
        operation: Duration::from_millis(1500),
        attempts: 1,
    };
}

pub async fn sdk_config(
    auth: &AwsAuth,
    region: &str,
    external_id: &str,
    limits: CallLimits,
) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(limits.connect)
                .operation_attempt_timeout(limits.operation)
                .operation_timeout(limits.operation)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(limits.attempts));
    match auth {
        AwsAuth::Keys { key, secret } => {
            loader
                .credentials_provider(Credentials::new(key, secret, None, None, "hookrelay-hook"))
                .load()
                .await
        }
        AwsAuth::Resource => loader.load().await,
        AwsAuth::Role { role_arn } => {
            let base = loader.load().await;
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn.as_str())
                .external_id(external_id)
                .session_name("hookrelay")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build()
        }
    }
}

/// Resolves the credentials `conf` will sign with, so that a role that cannot be assumed or an
/// empty default chain is reported as such (and not as a failed call later). `Ok` names where
/// the credentials came from.
pub async fn resolve_credentials(
    conf: &SdkConfig,
    auth: &AwsAuth,
    external_id: &str,
) -> Result<String, String> {
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = conf.credentials_provider() else {
        return Err("no AWS credentials are configured for this server (resource auth uses the environment, a profile or an instance role)".into());
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(match auth {
            AwsAuth::Keys { .. } => "the hook's access key".to_string(),
            AwsAuth::Resource => "this server's own AWS credentials (resource policy)".to_string(),
            AwsAuth::Role { role_arn } => format!("assumed {} with external id {external_id}", role_arn.as_str()),
        }),
        Err(e) => Err(match auth {
            AwsAuth::Role { role_arn } => format!(
                "cannot assume the role {}: {}. Its trust policy must allow this server's AWS principal to call sts:AssumeRole with the external id {external_id}",
                role_arn.as_str(),
                error_chain(&e)
            ),
            _ => format!("no usable AWS credentials: {}", error_chain(&e)),
        }),
    }
}

/// What went wrong with an AWS call, in the categories a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFailure {
    NotFound(String),
    InvalidKey(String),
    WrongSecret(String),
    AccessDenied(String),
    Unreachable(String),
    Timeout,
    Other(String),
}

impl AwsFailure {
    /// Words for the failure of `action` (e.g. `sqs:SendMessage`) on `what`.
    pub fn describe(&self, action: &str, what: &str) -> String {
        match self {
            Self::NotFound(m) => format!("{what} does not exist ({m})"),
            Self::InvalidKey(_) => {
                "the access key is not valid (InvalidClientTokenId): check the key".to_string()
            }
            Self::WrongSecret(_) => {
                "the secret does not match the access key (SignatureDoesNotMatch): check the secret"
                    .to_string()
            }
            Self::AccessDenied(m) => {
                format!("access denied: the credentials are not allowed {action} on {what} ({m})")
            }
            Self::Unreachable(m) => {
                format!("cannot reach the AWS endpoint ({m}): check the region and the network")
            }
            Self::Timeout => "the AWS endpoint did not answer in time (timeout)".to_string(),
            Self::Other(m) => m.clone(),
        }
    }
}

/// Classifies an SDK error by its AWS error code or transport failure.
pub fn classify<E, R>(err: &SdkError<E, R>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => AwsFailure::Timeout,
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                AwsFailure::Timeout
            } else {
                AwsFailure::Unreachable(error_chain(err))
            }
        }
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or("");
            let message = format!("{code}: {}", e.message().unwrap_or(""));
            match code {
                "AWS.SimpleQueueService.NonExistentQueue"
                | "QueueDoesNotExist"
                | "NotFound"
                | "NotFoundException"
                | "ResourceNotFoundException" => AwsFailure::NotFound(message),
                "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
                    AwsFailure::InvalidKey(message)
                }
                "SignatureDoesNotMatch" | "IncompleteSignature" => AwsFailure::WrongSecret(message),
                "AccessDenied"
                | "AccessDeniedException"
                | "AuthorizationError"
                | "KMSAccessDeniedException" => AwsFailure::AccessDenied(message),
                _ => AwsFailure::Other(message),
            }
        }
        _ => AwsFailure::Other(error_chain(err)),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl CallLimits {
    /// For deliveries: connect quickly, allow `send_timeout` for the call, no SDK retries
    /// (the dispatcher retries on its own schedule).
    pub fn delivery(send_timeout: Duration) -> Self {
        Self {
            connect: Duration::from_secs(3).min(send_timeout),
            operation: send_timeout,
            attempts: 1,
        }
    }
}

/// Whether a failed AWS call is worth retrying, and its description. Credentials, access,
/// missing targets and other client errors (4xx) are permanent; throttling, server errors,
/// timeouts and network failures are transient.
pub fn delivery_failure<E>(
    err: &SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
    action: &str,
    what: &str,
) -> (bool, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = classify(err);
    let text = failure.describe(action, what);
    let permanent = match failure {
        AwsFailure::NotFound(_)
        | AwsFailure::InvalidKey(_)
        | AwsFailure::WrongSecret(_)
        | AwsFailure::AccessDenied(_) => true,
        AwsFailure::Unreachable(_) | AwsFailure::Timeout => false,
        AwsFailure::Other(_) => {
            let code = match err {
                SdkError::ServiceError(s) => s.err().code().unwrap_or(""),
                _ => "",
            };
            let status = err.raw_response().map(|r| r.status().as_u16());
            let throttled = code.contains("Throttl")
                || code.contains("ThroughputExceeded")
                || code.contains("LimitExceeded")
                || code == "RequestThrottled"
                || code == "TooManyRequestsException";
            !throttled
                && matches!(status, Some(400..=499))
                && status != Some(408)
                && status != Some(429)
        }
    };
    (permanent, text)
}
