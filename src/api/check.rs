//! `POST /check_sqs`, `/check_sns`, `/check_kinesis`, `/check_webhook`: run the connection
//! checker and answer 201 `{"status": "ok"|"error", "error"?, "data"?, "duration"}` (a failed
//! check is still a 201: only bad input or authentication use the error format).
//!
//! `null`, `""` and an absent field are the same; with no target given, the app's stored legacy
//! settings (`sqs_url/sqs_key/sqs_secret`, `sns_*`, `webhook_url`) are checked. A masked key or
//! secret (as `GET /app` shows them) stands for the stored one.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::check::{self, Report, CHECK_BUDGET, WEBHOOK_CHECK_TIMEOUT};
use crate::domain::HookType;
use crate::hooks::validate::{check_auth, check_resource_target};
use crate::hooks::{is_masked, AwsAuth};
use crate::server::AppState;

type CheckResponse = Result<(StatusCode, Json<CheckResult>), ApiError>;

/// Whether the check succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Error,
}

/// The answer of every `POST /check_*` (201 even when the check failed). With `ok`, `report`
/// holds the steps; with `error`, `error` says why and `data` holds the steps. (Fields in ASCII
/// order, the order this object has always had on the wire.)
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckResult {
    /// The failed check's report (only with status `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Report>,
    /// How long the request took, e.g. `12.34ms`.
    pub duration: String,
    /// What went wrong (only with status `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The successful check's report (only with status `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    pub status: CheckStatus,
}

fn field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `field`, with a masked value (or none) replaced by `stored`.
fn secret_field(body: &Map<String, Value>, name: &str, stored: &str) -> Option<String> {
    match field(body, name) {
        Some(v) if !is_masked(&v) => Some(v),
        _ => Some(stored.to_string()).filter(|s| !s.is_empty()),
    }
}

/// The credentials a check request names (`<type>_auth_type`, `_key`, `_secret`,
/// `_role_arn`), by the same rules as a saved hook's.
fn auth_of(
    body: &Map<String, Value>,
    hook_type: HookType,
    key: Option<String>,
    secret: Option<String>,
) -> Result<AwsAuth, String> {
    let prefix = hook_type.as_str();
    check_auth(
        hook_type,
        field(body, &format!("{prefix}_auth_type")).as_deref(),
        key.as_deref(),
        secret.as_deref(),
        field(body, &format!("{prefix}_role_arn")).as_deref(),
    )
    .map_err(|e| e.message)
}

/// [`auth_of`], then the operator's limit on `resource` auth for `target`.
fn guarded_auth(
    state: &AppState,
    body: &Map<String, Value>,
    hook_type: HookType,
    target: &str,
    key: Option<String>,
    secret: Option<String>,
) -> Result<AwsAuth, String> {
    let aws = auth_of(body, hook_type, key, secret)?;
    if aws == AwsAuth::Resource {
        let region = field(body, &format!("{}_region", hook_type.as_str()));
        check_resource_target(
            hook_type,
            target,
            region.as_deref(),
            &state.validate_context(),
        )?;
    }
    Ok(aws)
}

fn answer(auth: &ServerAuth, report: Report) -> CheckResponse {
    let duration = auth.started.duration();
    let body = if report.ok {
        CheckResult {
            data: None,
            duration,
            error: None,
            report: Some(report),
            status: CheckStatus::Ok,
        }
    } else {
        let error = report
            .error
            .clone()
            .unwrap_or_else(|| "the check failed".into());
        CheckResult {
            data: Some(report),
            duration,
            error: Some(error),
            report: None,
            status: CheckStatus::Error,
        }
    };
    Ok((StatusCode::CREATED, Json(body)))
}

fn error_report(message: impl Into<String>) -> Report {
    Report {
        ok: false,
        error: Some(message.into()),
        ..Report::default()
    }
}

async fn prepare(
    auth: &ServerAuth,
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Map<String, Value>, crate::hooks::store::LegacySettings), ApiError> {
    let body = super::json_object(body)?;
    let legacy = state.db.legacy_settings(auth.app.id).await?;
    Ok((body, legacy))
}

/// Checks an SQS queue (the app's legacy `sqs_*` settings when none is given).
#[utoipa::path(
    post,
    path = "/check_sqs",
    operation_id = "CheckSQS",
    tag = "checks",
    request_body(content = Option<super::openapi::CheckSqsRequest>, description = "Empty is the same as `{}`", content_type = "application/json"),
    responses(
        (status = 201, description = "The check ran (`status` says whether it succeeded)", body = CheckResult),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn check_sqs(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> CheckResponse {
    let (body, legacy) = prepare(&auth, &state, body).await?;
    let Some(url) =
        field(&body, "sqs_url").or_else(|| Some(legacy.sqs_url.clone()).filter(|s| !s.is_empty()))
    else {
        return answer(
            &auth,
            error_report("no SQS url given and none is configured for this app (sqs_url)"),
        );
    };
    let key = secret_field(&body, "sqs_key", &legacy.secrets.sqs_key);
    let secret = secret_field(&body, "sqs_secret", &legacy.secrets.sqs_secret);
    let aws = match guarded_auth(&state, &body, HookType::Sqs, &url, key, secret) {
        Ok(a) => a,
        Err(e) => return answer(&auth, error_report(e)),
    };
    let region = field(&body, "sqs_region");
    let external_id = auth.app.external_id.clone();
    let report = check::bounded(CHECK_BUDGET, "SQS check", async {
        check::check_sqs(&url, region.as_deref(), &aws, &external_id, &state.aws).await
    })
    .await;
    answer(&auth, report)
}

/// Checks an SNS topic (the app's legacy `sns_*` settings when none is given).
#[utoipa::path(
    post,
    path = "/check_sns",
    operation_id = "CheckSNS",
    tag = "checks",
    request_body(content = Option<super::openapi::CheckSnsRequest>, description = "Empty is the same as `{}`", content_type = "application/json"),
    responses(
        (status = 201, description = "The check ran (`status` says whether it succeeded)", body = CheckResult),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn check_sns(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> CheckResponse {
    let (body, legacy) = prepare(&auth, &state, body).await?;
    let Some(arn) = field(&body, "sns_topic_arn")
        .or_else(|| Some(legacy.sns_topic_arn.clone()).filter(|s| !s.is_empty()))
    else {
        return answer(
            &auth,
            error_report(
                "no SNS topic ARN given and none is configured for this app (sns_topic_arn)",
            ),
        );
    };
    let key = secret_field(&body, "sns_key", &legacy.secrets.sns_key);
    let secret = secret_field(&body, "sns_secret", &legacy.secrets.sns_secret);
    let aws = match guarded_auth(&state, &body, HookType::Sns, &arn, key, secret) {
        Ok(a) => a,
        Err(e) => return answer(&auth, error_report(e)),
    };
    let region = field(&body, "sns_region");
    let external_id = auth.app.external_id.clone();
    let report = check::bounded(CHECK_BUDGET, "SNS check", async {
        check::check_sns(&arn, region.as_deref(), &aws, &external_id).await
    })
    .await;
    answer(&auth, report)
}

/// Checks a Kinesis stream.
#[utoipa::path(
    post,
    path = "/check_kinesis",
    operation_id = "CheckKinesis",
    tag = "checks",
    request_body(content = Option<super::openapi::CheckKinesisRequest>, description = "Empty is the same as `{}`", content_type = "application/json"),
    responses(
        (status = 201, description = "The check ran (`status` says whether it succeeded)", body = CheckResult),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn check_kinesis(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> CheckResponse {
    let (body, _) = prepare(&auth, &state, body).await?;
    let Some(arn) = field(&body, "kinesis_stream_arn") else {
        return answer(&auth, error_report("kinesis_stream_arn is required"));
    };
    let aws = match guarded_auth(
        &state,
        &body,
        HookType::Kinesis,
        &arn,
        field(&body, "kinesis_key"),
        field(&body, "kinesis_secret"),
    ) {
        Ok(a) => a,
        Err(e) => return answer(&auth, error_report(e)),
    };
    let region = field(&body, "kinesis_region");
    let external_id = auth.app.external_id.clone();
    let report = check::bounded(CHECK_BUDGET, "Kinesis check", async {
        check::check_kinesis(&arn, region.as_deref(), &aws, &external_id).await
    })
    .await;
    answer(&auth, report)
}

/// Sends a signed test request to a webhook (the app's legacy `webhook_url` when none is given).
#[utoipa::path(
    post,
    path = "/check_webhook",
    operation_id = "CheckWebhook",
    tag = "checks",
    request_body(content = Option<super::openapi::CheckWebhookRequest>, description = "Empty is the same as `{}`", content_type = "application/json"),
    responses(
        (status = 201, description = "The check ran (`status` says whether it succeeded)", body = CheckResult),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn check_webhook(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> CheckResponse {
    let (body, legacy) = prepare(&auth, &state, body).await?;
    let Some(url) = field(&body, "webhook_url")
        .or_else(|| Some(legacy.webhook_url.clone()).filter(|s| !s.is_empty()))
    else {
        return answer(
            &auth,
            error_report("no webhook_url given and none is configured for this app"),
        );
    };
    let secret = state.db.app_secret(auth.app.id).await?;
    let report = check::bounded(CHECK_BUDGET, "webhook check", async {
        check::check_webhook(
            &state.http,
            check::WebhookCheck {
                url: &url,
                api_key: &auth.app.api_key,
                api_secret: secret.expose_secret(),
                timeout: WEBHOOK_CHECK_TIMEOUT,
                egress: &state.egress,
            },
        )
        .await
    })
    .await;
    answer(&auth, report)
}
