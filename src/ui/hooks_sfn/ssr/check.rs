//! The form's Test button: the connection checker run on the form's values, and its report.

use leptos::prelude::*;
use secrecy::ExposeSecret;

use super::form_values::fields;
use crate::domain::HookType;
use crate::dto::{CheckReport, CheckStep, HookForm};
use crate::hooks::model::{is_masked, EventHook};
use crate::hooks::validate::{check_auth, check_resource_target, AwsAuth};
use crate::server::AppState;
use crate::ui::server_fns::ssr::internal;

pub fn report_of(r: crate::check::Report) -> CheckReport {
    CheckReport {
        ok: r.ok,
        steps: r
            .steps
            .into_iter()
            .map(|s| CheckStep {
                name: s.name,
                ok: s.ok,
                millis: s.millis,
                detail: s.detail,
            })
            .collect(),
        error: r.error,
        hints: r.hints,
    }
}

fn failed(message: impl Into<String>) -> CheckReport {
    CheckReport {
        ok: false,
        error: Some(message.into()),
        ..CheckReport::default()
    }
}

/// Runs the connection checker on the form's values; a masked (or empty) key or secret of
/// a saved hook stands for the stored one.
pub async fn run_check(
    state: &AppState,
    app: &crate::dto::AppSummary,
    form: &HookForm,
    stored: Option<EventHook>,
) -> Result<CheckReport, ServerFnError> {
    use crate::check::{self, CHECK_BUDGET, WEBHOOK_CHECK_TIMEOUT};

    let target = form.target.trim();
    if target.is_empty() {
        return Ok(failed("Enter the target first."));
    }
    let external_id = app.external_id.clone();
    let hook_type = form.hook_type.parse::<HookType>().ok();
    if hook_type == Some(HookType::Webhook) {
        let secret = state.db.app_secret(app.id).await.map_err(internal)?;
        let report = check::bounded(CHECK_BUDGET, "webhook check", async {
            check::check_webhook(
                &state.http,
                check::WebhookCheck {
                    url: target,
                    api_key: &app.api_key,
                    api_secret: secret.expose_secret(),
                    timeout: WEBHOOK_CHECK_TIMEOUT,
                    egress: &state.egress,
                },
            )
            .await
        })
        .await;
        return Ok(report_of(report));
    }
    let Some(hook_type) = hook_type.filter(|t| t.is_aws()) else {
        return Ok(failed("Choose an integration type."));
    };
    let mut stored = stored.map(|mut h| {
        let [_, _, _, key, secret, _] = fields(&mut h);
        (
            key.clone().unwrap_or_default(),
            secret.clone().unwrap_or_default(),
        )
    });
    let (stored_key, stored_secret) = stored.take().unwrap_or_default();
    let pick = |typed: &str, stored: String| {
        let typed = typed.trim();
        if typed.is_empty() || is_masked(typed) {
            Some(stored).filter(|s| !s.is_empty())
        } else {
            Some(typed.to_string())
        }
    };
    let aws = match check_auth(
        hook_type,
        Some(form.auth_type.trim()).filter(|s| !s.is_empty()),
        pick(&form.key, stored_key).as_deref(),
        pick(&form.secret, stored_secret).as_deref(),
        Some(form.role_arn.trim()).filter(|s| !s.is_empty()),
    ) {
        Ok(a) => a,
        Err(e) => return Ok(failed(e.message)),
    };
    let region = Some(form.region.trim()).filter(|s| !s.is_empty());
    if aws == AwsAuth::Resource {
        let ctx = state.validate_context();
        if let Err(refused) = check_resource_target(hook_type, target, region, &ctx) {
            return Ok(failed(refused));
        }
    }
    let report = match hook_type {
        HookType::Sqs => {
            check::bounded(
                CHECK_BUDGET,
                "SQS check",
                check::check_sqs(target, region, &aws, &external_id, &state.aws),
            )
            .await
        }
        HookType::Sns => {
            check::bounded(
                CHECK_BUDGET,
                "SNS check",
                check::check_sns(target, region, &aws, &external_id),
            )
            .await
        }
        _ => {
            check::bounded(
                CHECK_BUDGET,
                "Kinesis check",
                check::check_kinesis(target, region, &aws, &external_id),
            )
            .await
        }
    };
    Ok(report_of(report))
}
