//! Server functions of the integration screens. They change hooks through the same store
//! (`hooks::store::apply`, with its validation) and test them with the same checker as the
//! REST API. Forms post here as plain HTML forms and are answered with a redirect; a test
//! report or a refused field travels back in the session (flash), never in the URL.

use leptos::prelude::*;

use crate::dto::{DeliveriesView, HookForm, HookFormView, HooksOverview};

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::*;
    use secrecy::ExposeSecret;
    use serde_json::{Map, Value};

    use crate::dto::{CheckReport, CheckStep, FieldError, HookForm, HookSummary};
    use crate::hooks::model::{is_masked, EventHook, HookError};
    use crate::hooks::store::{self as hook_store, ChangeError, SettingsChange};
    use crate::server::AppState;
    use crate::store::apps;
    use crate::ui::server_fns::ssr::internal;

    pub type Flash = (HookForm, Option<FieldError>, Option<CheckReport>);

    pub fn flash_key(app_id: i64, hook_id: &str) -> String {
        let hook = if hook_id.is_empty() { "new" } else { hook_id };
        format!("hook_form:{app_id}:{hook}")
    }

    /// The form page of a hook (to go back to after a test or a refusal).
    pub fn form_page(form: &HookForm) -> String {
        if form.hook_id.is_empty() {
            format!(
                "/apps/{}/hooks/new?type={}&flash=1",
                form.app_id,
                crate::server::query_component(&form.hook_type)
            )
        } else {
            format!(
                "/apps/{}/hooks/{}/edit?flash=1",
                form.app_id,
                crate::server::query_component(&form.hook_id)
            )
        }
    }

    pub fn target_of(h: &EventHook) -> String {
        let v = match h.hook_type.as_str() {
            "webhook" | "pending_message" => &h.webhook_url,
            "sqs" => &h.sqs_queue_url,
            "sns" => &h.sns_topic_arn,
            _ => &h.kinesis_stream_arn,
        };
        v.clone().unwrap_or_default()
    }

    pub fn summary(h: &EventHook) -> HookSummary {
        HookSummary {
            id: h.id.clone(),
            hook_type: h.hook_type.clone(),
            target: target_of(h),
            enabled: h.enabled,
            event_types: h.event_types.clone(),
            delivered_1h: 0,
            failed_1h: 0,
            pending: 0,
            pending_more: false,
            last_success: None,
            last_error: None,
            spark: vec![(0, 0); super::SPARK_STEPS],
        }
    }

    /// The fields of type `t` a form field stands for: (target, region, auth, key, secret, role).
    fn fields(h: &mut EventHook) -> [&mut Option<String>; 6] {
        match h.hook_type.as_str() {
            "sqs" => [
                &mut h.sqs_queue_url,
                &mut h.sqs_region,
                &mut h.sqs_auth_type,
                &mut h.sqs_key,
                &mut h.sqs_secret,
                &mut h.sqs_role_arn,
            ],
            "sns" => [
                &mut h.sns_topic_arn,
                &mut h.sns_region,
                &mut h.sns_auth_type,
                &mut h.sns_key,
                &mut h.sns_secret,
                &mut h.sns_role_arn,
            ],
            "kinesis" => [
                &mut h.kinesis_stream_arn,
                &mut h.kinesis_region,
                &mut h.kinesis_auth_type,
                &mut h.kinesis_key,
                &mut h.kinesis_secret,
                &mut h.kinesis_role_arn,
            ],
            _ => [
                &mut h.webhook_url,
                &mut h.sqs_region,
                &mut h.sqs_auth_type,
                &mut h.sqs_key,
                &mut h.sqs_secret,
                &mut h.sqs_role_arn,
            ],
        }
    }

    /// The form showing a stored hook (pass it masked).
    pub fn form_of(app_id: i64, mut h: EventHook) -> HookForm {
        let enabled = h.enabled.then(|| "on".to_string());
        let event_types = std::mem::take(&mut h.event_types);
        let kinesis_data_types = std::mem::take(&mut h.kinesis_data_types);
        let hook_type = h.hook_type.clone();
        let id = h.id.clone();
        let [target, region, auth, key, secret, role] = fields(&mut h);
        let text = |v: &mut Option<String>| v.clone().unwrap_or_default();
        let mut form = HookForm {
            app_id,
            hook_id: id,
            hook_type: hook_type.clone(),
            target: text(target),
            region: String::new(),
            auth_type: String::new(),
            key: String::new(),
            secret: String::new(),
            role_arn: String::new(),
            event_types,
            kinesis_data_types,
            enabled,
            action: String::new(),
        };
        if hook_type != "webhook" {
            form.region = text(region);
            form.auth_type = text(auth);
            form.key = text(key);
            form.secret = text(secret);
            form.role_arn = text(role);
            if form.auth_type.is_empty() {
                form.auth_type = if !form.key.is_empty() {
                    "keys"
                } else if !form.role_arn.is_empty() {
                    "role"
                } else {
                    "resource"
                }
                .into();
            }
        }
        form
    }

    /// The hook a form describes, on top of the stored one when editing (so that fields the
    /// form does not show, like `product`, are kept).
    pub fn hook_of(form: &HookForm, stored: Option<EventHook>) -> EventHook {
        let mut h = stored.unwrap_or_default();
        h.id = form.hook_id.clone();
        h.hook_type = form.hook_type.clone();
        h.enabled = form.enabled.is_some();
        h.event_types = form.event_types.clone();
        h.created_at = None;
        h.updated_at = None;
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let webhook = h.hook_type == "webhook";
        let [target, region, auth, key, secret, role] = fields(&mut h);
        *target = opt(&form.target);
        if !webhook {
            *region = opt(&form.region);
            *auth = opt(&form.auth_type);
            let keys = form.auth_type == "keys";
            *key = if keys { opt(&form.key) } else { None };
            *secret = if keys { opt(&form.secret) } else { None };
            *role = if form.auth_type == "role" {
                opt(&form.role_arn)
            } else {
                None
            };
        }
        h.kinesis_data_types = if h.hook_type == "kinesis" {
            form.kinesis_data_types.clone()
        } else {
            Vec::new()
        };
        h
    }

    /// The form field a validation error names (`event_hooks[0].sqs_queue_url` → `target`).
    pub fn field_error(e: HookError) -> FieldError {
        let last = e.field.rsplit('.').next().unwrap_or_default();
        let name = last.split('[').next().unwrap_or_default();
        let field = if name.ends_with("role_arn") {
            "role_arn"
        } else if name.ends_with("_url") || name.ends_with("_arn") {
            "target"
        } else if name.ends_with("_region") {
            "region"
        } else if name.ends_with("_auth_type") {
            "auth_type"
        } else if name.ends_with("_key") {
            "key"
        } else if name.ends_with("_secret") {
            "secret"
        } else if name == "event_types" || name == "kinesis_data_types" {
            name
        } else {
            "form"
        };
        FieldError {
            field: field.to_string(),
            message: e.message,
        }
    }

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
        use crate::api::CHECK_BUDGET;
        use crate::check;

        let target = form.target.trim();
        if target.is_empty() {
            return Ok(failed("Enter the target first."));
        }
        let external_id = app.id.to_string();
        if form.hook_type == "webhook" {
            let secret = apps::secret(&state.db, &state.master_key, app.id)
                .await
                .map_err(internal)?;
            let report = check::bounded(CHECK_BUDGET, "webhook check", async {
                check::check_webhook(
                    &state.http,
                    check::WebhookCheck {
                        url: target,
                        api_key: &app.api_key,
                        api_secret: secret.expose_secret(),
                        timeout: std::time::Duration::from_millis(2000),
                    },
                )
                .await
            })
            .await;
            return Ok(report_of(report));
        }
        let prefix = form.hook_type.as_str();
        if !matches!(prefix, "sqs" | "sns" | "kinesis") {
            return Ok(failed("Choose an integration type."));
        }
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
        let mut body = Map::new();
        body.insert(
            format!("{prefix}_auth_type"),
            Value::String(form.auth_type.clone()),
        );
        body.insert(
            format!("{prefix}_role_arn"),
            Value::String(form.role_arn.trim().to_string()),
        );
        let aws = match crate::api::check::auth_from(
            &body,
            prefix,
            pick(&form.key, stored_key),
            pick(&form.secret, stored_secret),
        ) {
            Ok(a) => a,
            Err(e) => return Ok(failed(e)),
        };
        let region = Some(form.region.trim()).filter(|s| !s.is_empty());
        let endpoint = state.aws_endpoint.as_deref();
        let report = match prefix {
            "sqs" => {
                check::bounded(
                    CHECK_BUDGET,
                    "SQS check",
                    check::check_sqs(target, region, &aws, &external_id, endpoint),
                )
                .await
            }
            "sns" => {
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

    /// The resource policy to attach to the target for auth type `resource`.
    pub fn policy(state: &AppState, form: &HookForm) -> String {
        let target = form.target.trim();
        let (actions, resource): (&[&str], String) = match form.hook_type.as_str() {
            "sqs" => {
                let arn = crate::hooks::SqsQueueUrl::parse(target, state.aws_endpoint.as_deref())
                    .ok()
                    .and_then(|q| {
                        let region = Some(form.region.trim())
                            .filter(|r| !r.is_empty())
                            .or(q.region())
                            .or(state.default_region.as_deref())?
                            .to_string();
                        Some(q.queue_arn(&region))
                    })
                    .unwrap_or_else(|| "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME".into());
                (
                    &[
                        "sqs:SendMessage",
                        "sqs:SendMessageBatch",
                        "sqs:GetQueueAttributes",
                    ],
                    arn,
                )
            }
            "sns" => (
                &["sns:Publish"],
                Some(target.to_string())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME".into()),
            ),
            "kinesis" => (
                &[
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                    "kinesis:DescribeStreamSummary",
                ],
                Some(target.to_string())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| {
                        "arn:aws:kinesis:REGION:ACCOUNT_ID:stream/STREAM_NAME".into()
                    }),
            ),
            _ => return String::new(),
        };
        let principal = state
            .aws_principal
            .clone()
            .unwrap_or_else(|| "arn:aws:iam::HOOKRELAY_ACCOUNT_ID:root".into());
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AllowHookrelay",
                "Effect": "Allow",
                "Principal": { "AWS": principal },
                "Action": actions,
                "Resource": resource,
            }]
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Applies a change of one app's hook settings; a refusal as the form field it names.
    pub async fn apply(
        state: &AppState,
        app_id: i64,
        change: SettingsChange,
    ) -> Result<Result<(), FieldError>, ServerFnError> {
        let ctx = state.validate_context();
        match hook_store::apply(&state.db, &state.master_key, app_id, change, &ctx).await {
            Ok(_) => Ok(Ok(())),
            Err(ChangeError::Invalid(e)) => Ok(Err(field_error(e))),
            Err(ChangeError::Store(e)) => Err(internal(e)),
        }
    }

    /// The stored hook (keys in clear), if the app has it.
    pub async fn stored(
        state: &AppState,
        app_id: i64,
        hook_id: &str,
    ) -> Result<Option<EventHook>, ServerFnError> {
        if hook_id.is_empty() {
            return Ok(None);
        }
        let hooks = hook_store::list(&state.db, &state.master_key, app_id)
            .await
            .map_err(internal)?;
        Ok(hooks.into_iter().find(|h| h.id == hook_id))
    }

    /// The logged-in admin's state and the app, or a redirect (to login / the apps) done.
    pub async fn user_and_app(app_id: i64) -> Option<(AppState, crate::dto::AppSummary)> {
        use crate::dto::InputError;
        use crate::ui::server_fns::ssr::{redirect_error, require_user};
        let Ok((state, _)) = require_user().await else {
            redirect_error("/login", InputError::NotLoggedIn);
            return None;
        };
        match apps::get(&state.db, app_id).await {
            Ok(Some(app)) => Some((state, app)),
            Ok(None) => {
                leptos_axum::redirect("/apps");
                None
            }
            Err(e) => {
                redirect_error("/apps", crate::ui::server_fns::ssr::input_error(e));
                None
            }
        }
    }
}

/// The health column covers the last hour: twelve 5-minute steps, the current one included.
#[cfg(feature = "ssr")]
const SPARK_STEPS: usize = 12;

/// The app page's list of integrations with their health, and the app's hook options.
#[server(prefix = "/_sfn", endpoint = "hooks")]
pub async fn list_hooks(app_id: i64) -> Result<HooksOverview, ServerFnError> {
    use crate::ui::server_fns::ssr::{internal, require_app_options};

    let Some((state, _, app, options)) = require_app_options(app_id).await? else {
        return Ok(HooksOverview::default());
    };
    let hooks = state
        .hook_lists
        .get(&state.db, &state.master_key, app.id, options.hooks_version)
        .await
        .map_err(internal)?;
    let now = crate::store::now_millis();
    let health = crate::store::deliveries::hook_health(&state.db, app.id, now, SPARK_STEPS)
        .await
        .map_err(internal)?;
    let pending: i64 = health.iter().map(|x| x.pending).sum();
    let pending_more = pending > crate::store::deliveries::PENDING_COUNT_LIMIT;
    let hooks = hooks
        .iter()
        .map(|h| {
            let mut s = ssr::summary(h);
            s.pending_more = pending_more;
            if let Some(x) = health.iter().find(|x| x.hook_id == h.id) {
                s.delivered_1h = x.delivered;
                s.failed_1h = x.failed;
                s.pending = x.pending;
                s.last_success = x.last_success;
                s.last_error = x.last_error.clone();
                s.spark = x.steps.clone();
            }
            s
        })
        .collect();
    Ok(HooksOverview {
        hooks,
        compression: options.payload_compression,
    })
}

/// What the integration form shows: the values carried back (`flash`), else the stored hook
/// (masked), else a new hook of `hook_type`. `None` when the app or the hook does not exist.
#[server(prefix = "/_sfn", endpoint = "hook_form")]
pub async fn load_hook_form(
    app_id: i64,
    hook_id: String,
    hook_type: String,
    flash: bool,
) -> Result<Option<HookFormView>, ServerFnError> {
    use crate::hooks::patch;
    use crate::ui::server_fns::ssr::{require_app, session};

    let Some((state, _, app)) = require_app(app_id).await? else {
        return Ok(None);
    };
    let carried: Option<ssr::Flash> = if flash {
        session()
            .await?
            .remove(&ssr::flash_key(app_id, &hook_id))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let (form, error, report) = match carried {
        Some(c) => c,
        None if !hook_id.is_empty() => match ssr::stored(&state, app_id, &hook_id).await? {
            Some(h) => (ssr::form_of(app_id, patch::masked(h)), None, None),
            None => return Ok(None),
        },
        None => {
            let hook_type = match hook_type.as_str() {
                "sqs" | "sns" | "kinesis" => hook_type,
                _ => "webhook".to_string(),
            };
            let auth_type = if hook_type == "webhook" { "" } else { "keys" };
            let form = HookForm {
                app_id,
                hook_type,
                auth_type: auth_type.into(),
                enabled: Some("on".into()),
                ..HookForm::default()
            };
            (form, None, None)
        }
    };
    let policy = ssr::policy(&state, &form);
    Ok(Some(HookFormView {
        app_id,
        app_name: app.name,
        form,
        error,
        report,
        policy,
    }))
}

/// The integration form: `action=test` runs the checker on the values, anything else saves.
#[server(prefix = "/_sfn", endpoint = "hook_save")]
pub async fn hook_save(form: HookForm) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;
    use crate::ui::server_fns::ssr::session;

    let Some((state, app)) = ssr::user_and_app(form.app_id).await else {
        return Ok(());
    };
    let stored = ssr::stored(&state, app.id, &form.hook_id).await?;
    if !form.hook_id.is_empty() && stored.is_none() {
        leptos_axum::redirect(&format!("/apps/{}", app.id));
        return Ok(());
    }
    let carry = |error, report| {
        let form = form.clone();
        async move {
            let key = ssr::flash_key(form.app_id, &form.hook_id);
            let page = ssr::form_page(&form);
            let flash: ssr::Flash = (form, error, report);
            session()
                .await?
                .insert(&key, flash)
                .await
                .map_err(crate::ui::server_fns::ssr::internal)?;
            leptos_axum::redirect(&page);
            Ok::<(), ServerFnError>(())
        }
    };
    if form.action == "test" {
        let report = ssr::run_check(&state, &app, &form, stored).await?;
        return carry(None, Some(report)).await;
    }
    let hook = ssr::hook_of(&form, stored);
    let change = SettingsChange {
        event_hooks: Some((vec![hook], true)),
        ..SettingsChange::default()
    };
    match ssr::apply(&state, app.id, change).await? {
        Ok(()) => {
            tracing::info!(app_id = app.id, hook_type = %form.hook_type, "hook saved from the dashboard");
            leptos_axum::redirect(&format!("/apps/{}", app.id));
            Ok(())
        }
        Err(e) => carry(Some(e), None).await,
    }
}

/// Enables or disables one hook.
#[server(prefix = "/_sfn", endpoint = "hook_toggle")]
pub async fn hook_toggle(
    app_id: i64,
    hook_id: String,
    enabled: String,
) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(app_id).await else {
        return Ok(());
    };
    let back = format!("/apps/{}", app.id);
    let Some(mut hook) = ssr::stored(&state, app.id, &hook_id).await? else {
        leptos_axum::redirect(&back);
        return Ok(());
    };
    hook.enabled = enabled == "true";
    hook.created_at = None;
    hook.updated_at = None;
    let change = SettingsChange {
        event_hooks: Some((vec![hook], true)),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, hook_id, error = %e.message, "hook toggle refused");
    }
    leptos_axum::redirect(&back);
    Ok(())
}

/// Deletes one hook; needs the confirmation box ticked.
#[server(prefix = "/_sfn", endpoint = "hook_delete")]
pub async fn hook_delete(
    app_id: i64,
    hook_id: String,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::dto::InputError;
    use crate::hooks::model::EventHook;
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(app_id).await else {
        return Ok(());
    };
    if confirm.is_none() {
        leptos_axum::redirect(&format!(
            "/apps/{}/hooks/{}/delete?error={}",
            app.id,
            crate::server::query_component(&hook_id),
            InputError::ConfirmRequired.code()
        ));
        return Ok(());
    }
    let change = SettingsChange {
        event_hooks: Some((
            vec![EventHook {
                id: hook_id.clone(),
                delete: true,
                ..EventHook::default()
            }],
            true,
        )),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, hook_id, error = %e.message, "hook delete refused");
    } else {
        tracing::info!(app_id, hook_id, "hook deleted from the dashboard");
    }
    leptos_axum::redirect(&format!("/apps/{}", app.id));
    Ok(())
}

/// The app's payload compression option (a checkbox: present when on).
#[server(prefix = "/_sfn", endpoint = "hook_compression")]
pub async fn set_compression(app_id: i64, enabled: Option<String>) -> Result<(), ServerFnError> {
    use crate::hooks::store::SettingsChange;

    let Some((state, app)) = ssr::user_and_app(app_id).await else {
        return Ok(());
    };
    let change = SettingsChange {
        enable_hook_payload_compression: Some(enabled.is_some()),
        ..SettingsChange::default()
    };
    if let Err(e) = ssr::apply(&state, app.id, change).await? {
        tracing::warn!(app_id, error = %e.message, "compression change refused");
    }
    leptos_axum::redirect(&format!("/apps/{}", app.id));
    Ok(())
}

/// The delivery log, newest first, filtered by status and hook.
#[server(prefix = "/_sfn", endpoint = "deliveries")]
pub async fn list_deliveries(
    app_id: i64,
    status: String,
    hook_id: String,
) -> Result<Option<DeliveriesView>, ServerFnError> {
    use crate::dto::{hook_type_label, DeliveryView};
    use crate::store::deliveries::{self, ListFilter};
    use crate::ui::server_fns::ssr::{internal, require_app};

    let Some((state, _, app)) = require_app(app_id).await? else {
        return Ok(None);
    };
    let status = match status.as_str() {
        "pending" | "retrying" | "delivered" | "failed" | "dropped" => Some(status),
        _ => None,
    };
    let filter = ListFilter {
        hook_id: Some(hook_id).filter(|h| !h.is_empty()),
        status,
        limit: 100,
        ..ListFilter::default()
    };
    let rows = deliveries::list(&state.db, app_id, &filter)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|d| DeliveryView {
            status: if d.status == deliveries::PENDING && d.attempts > 0 {
                "retrying".to_string()
            } else {
                d.status
            },
            id: d.id,
            hook_id: d.hook_id,
            hook_type: d.hook_type,
            event_id: d.event_id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_error: d.last_error,
            latency_ms: d.latency_ms,
            payload_preview: d.payload_preview,
            accepted_at: d.accepted_at,
        })
        .collect();
    let hooks = crate::hooks::store::list(&state.db, &state.master_key, app_id)
        .await
        .map_err(internal)?
        .iter()
        .map(|h| {
            (
                h.id.clone(),
                format!("{} {}", hook_type_label(&h.hook_type), ssr::target_of(h)),
            )
        })
        .collect();
    Ok(Some(DeliveriesView {
        app_id,
        app_name: app.name,
        rows,
        hooks,
    }))
}

/// Redelivers deliveries by id (the same store function as `POST /deliveries/redeliver`).
#[server(prefix = "/_sfn", endpoint = "redeliver")]
pub async fn redeliver(
    app_id: i64,
    ids: Option<Vec<i64>>,
    back: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::ui::server_fns::ssr::internal;

    let Some((state, app)) = ssr::user_and_app(app_id).await else {
        return Ok(());
    };
    let log = format!("/apps/{}/deliveries", app.id);
    let back = back
        .filter(|b| b.starts_with(&log) && !b.contains("//"))
        .unwrap_or(log);
    let ids = ids.unwrap_or_default();
    let count = if ids.is_empty() || ids.len() > 10_000 {
        0
    } else {
        let now = crate::store::now_millis();
        let n = crate::store::deliveries::redeliver_ids(&state.db, app.id, &ids, now)
            .await
            .map_err(internal)?;
        state.engine.wake();
        n
    };
    let back = strip_notices(&back);
    let sep = if back.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!("{back}{sep}redelivered={count}"));
    Ok(())
}

/// `back` without the notices a previous action added.
#[cfg(feature = "ssr")]
fn strip_notices(back: &str) -> String {
    let Some((path, query)) = back.split_once('?') else {
        return back.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("redelivered=") && !p.starts_with("sent=") && !p.is_empty())
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Sends the test event through the real ingest (it reaches every enabled hook).
#[server(prefix = "/_sfn", endpoint = "send_test_event")]
pub async fn send_test_event(app_id: i64) -> Result<(), ServerFnError> {
    use crate::ui::server_fns::ssr::internal;

    let Some((state, app)) = ssr::user_and_app(app_id).await else {
        return Ok(());
    };
    let now = crate::store::rfc3339(crate::store::now_millis());
    let event = crate::delivery::event::test_event(&app.name, &now);
    state
        .engine
        .accept(app.id, vec![event])
        .await
        .map_err(internal)?;
    leptos_axum::redirect(&format!("/apps/{}/deliveries?sent=1", app.id));
    Ok(())
}
