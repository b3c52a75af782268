//! Amazon Chime SDK messaging's streaming-configuration operations, for unmodified AWS
//! clients (boto3's `chime-sdk-messaging`, the AWS CLI, the AWS SDKs):
//! `PUT|GET|DELETE /app-instances/{AppInstanceArn}/streaming-configurations`, signed with
//! SigV4 (service `chime`) using the app's `api_key` as access key id and `api_secret` as
//! secret key. A configuration is the app's Kinesis hook (`hooks::chime`): one hook store.

use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::error::ChimeError;
use super::sigv4::{self, SigV4Error};
use crate::api::auth::{client_ip, MAX_API_KEY_LEN};
use crate::api::BODY_LIMIT;
use crate::dto::AppSummary;
use crate::hooks::chime::{self, StreamingConfiguration};
use crate::hooks::store::{apply_with, list, ChangeError};
use crate::server::AppState;
use crate::store::StoreError;

/// The one path of the three operations.
pub const PATH: &str = "/app-instances/{arn}/streaming-configurations";

pub fn router() -> Router<AppState> {
    Router::new().route(
        PATH,
        put(put_configurations)
            .get(get_configurations)
            .delete(delete_configurations),
    )
}

/// `{"StreamingConfigurations": [...]}`, the answer of Put and Get.
#[derive(Serialize)]
struct Configurations {
    #[serde(rename = "StreamingConfigurations")]
    streaming_configurations: Vec<StreamingConfiguration>,
}

impl From<StoreError> for ChimeError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "chime api: store error");
        ChimeError::ServiceFailure("the request could not be completed; try again".into())
    }
}

impl From<ChangeError> for ChimeError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Invalid(e) => ChimeError::BadRequest(e.message),
            ChangeError::Store(e) => e.into(),
        }
    }
}

/// The body, the app the request is signed by (budget spent), and the ARN checked to be
/// that app's.
async fn authorized(
    state: &AppState,
    arn: &str,
    request: Request,
) -> Result<(AppSummary, axum::body::Bytes), ChimeError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| ChimeError::BadRequest(format!("cannot read the request body: {e}")))?;
    let app = match authenticate(state, &parts, &body).await {
        Ok(app) => {
            if !state.budgets.api.hit(&app.id).allowed {
                return Err(ChimeError::Throttled("Rate exceeded".into()));
            }
            app
        }
        Err(e @ ChimeError::ServiceFailure(_)) => return Err(e),
        Err(e) => {
            if !state.budgets.auth_failures.hit(&client_ip(&parts)).allowed {
                return Err(ChimeError::Throttled("Rate exceeded".into()));
            }
            return Err(e);
        }
    };
    check_arn(state, &app, arn)?;
    Ok((app, body))
}

/// Verifies the SigV4 signature with the app's secret (or, during a rotation's grace period,
/// its previous one).
async fn authenticate(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
) -> Result<AppSummary, ChimeError> {
    let credential = sigv4::parse(&parts.headers)?;
    let key = credential.access_key_id.as_str();
    let unknown = || {
        ChimeError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        )
    };
    if key.is_empty() || key.len() > MAX_API_KEY_LEN {
        return Err(unknown());
    }
    let app = state.db.app_by_key(key).await?.ok_or_else(unknown)?;
    let secrets = state.db.app_secrets(app.id).await?;
    let now = std::time::SystemTime::now();
    let check = |secret: &str| {
        sigv4::verify(
            &parts.method,
            &parts.uri,
            &parts.headers,
            body,
            &credential,
            secret,
            now,
        )
    };
    let mut verdict = check(secrets.current.expose_secret());
    if matches!(verdict, Err(SigV4Error::BadSignature(_))) {
        if let Some(previous) = &secrets.previous {
            verdict = check(previous.expose_secret());
        }
    }
    verdict?;
    Ok(app)
}

/// The ARN must be the app's own AppInstance ARN.
fn check_arn(state: &AppState, app: &AppSummary, arn: &str) -> Result<(), ChimeError> {
    if !is_chime_arn(arn) {
        return Err(ChimeError::BadRequest(format!(
            "AppInstanceArn: {arn:?} is not an ARN (arn:aws:chime:REGION:ACCOUNT:app-instance/ID)"
        )));
    }
    if arn != state.chime.app_instance_arn(&app.external_id) {
        return Err(ChimeError::Forbidden(format!(
            "AppInstanceArn: the caller may not access {arn}"
        )));
    }
    Ok(())
}

/// The model's `ChimeArn`: 5–1600 characters,
/// `arn:[a-z0-9-.]{1,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[^/].{0,1023}`.
fn is_chime_arn(arn: &str) -> bool {
    if !(5..=1600).contains(&arn.len()) {
        return false;
    }
    let mut parts = arn.splitn(6, ':');
    let label = |s: &str, min: usize| {
        (min..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    parts.next() == Some("arn")
        && parts.next().is_some_and(|s| label(s, 1))
        && parts.next().is_some_and(|s| label(s, 0))
        && parts.next().is_some_and(|s| label(s, 0))
        && parts.next().is_some_and(|s| label(s, 0))
        && parts
            .next()
            .is_some_and(|s| !s.is_empty() && !s.starts_with('/') && s.chars().count() <= 1024)
}

/// `PutMessagingStreamingConfigurations`: merges by data type; answers the configurations
/// given.
async fn put_configurations(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    request: Request,
) -> Result<Json<Configurations>, ChimeError> {
    let (app, body) = authorized(&state, &arn, request).await?;
    let configs = chime::parse_put(&body).map_err(|e| ChimeError::BadRequest(e.to_string()))?;
    let ctx = state.validate_context();
    apply_with(&state.db, app.id, &ctx, |hooks| chime::put(hooks, &configs)).await?;
    tracing::info!(app_id = %app.id, configurations = configs.len(), "chime streaming configurations put");
    Ok(Json(Configurations {
        streaming_configurations: configs,
    }))
}

/// `GetMessagingStreamingConfigurations`: 404 when nothing streams.
async fn get_configurations(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    request: Request,
) -> Result<Json<Configurations>, ChimeError> {
    let (app, _) = authorized(&state, &arn, request).await?;
    let configs = chime::configurations(&list(&state.db, app.id).await?);
    if configs.is_empty() {
        return Err(ChimeError::NotFound(format!(
            "no streaming configurations for {arn}"
        )));
    }
    Ok(Json(Configurations {
        streaming_configurations: configs,
    }))
}

/// `DeleteMessagingStreamingConfigurations`: removes the app's Kinesis hooks; 204 always.
async fn delete_configurations(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    request: Request,
) -> Result<Response, ChimeError> {
    let (app, _) = authorized(&state, &arn, request).await?;
    let ctx = state.validate_context();
    apply_with(&state.db, app.id, &ctx, chime::delete).await?;
    tracing::info!(app_id = %app.id, "chime streaming configurations deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::is_chime_arn;

    #[test]
    fn chime_arns_follow_the_model_pattern() {
        assert!(is_chime_arn(
            "arn:aws:chime:us-east-1:123456789012:app-instance/0a1b-2c"
        ));
        assert!(is_chime_arn("arn:aws:chime:::x"));
        assert!(!is_chime_arn("arn:aws:chime:us-east-1:123456789012"));
        assert!(!is_chime_arn("arn:AWS:chime:us-east-1:1:app-instance/x"));
        assert!(!is_chime_arn("urn:aws:chime:us-east-1:1:app-instance/x"));
        assert!(!is_chime_arn("arn:aws:chime:us-east-1:1:/x"));
        assert!(!is_chime_arn(&format!(
            "arn:aws:chime:r:1:{}",
            "x".repeat(1600)
        )));
    }
}
