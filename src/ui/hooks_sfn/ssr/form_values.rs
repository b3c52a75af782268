//! The integration form's values: from a stored hook, to the hook they describe, and the form
//! field a validation error names.

use crate::domain::HookType;
use crate::dto::{FieldError, HookForm};
use crate::hooks::model::{EventHook, HookError};

/// The fields of type `t` a form field stands for: (target, region, auth, key, secret, role).
pub(super) fn fields(h: &mut EventHook) -> [&mut Option<String>; 6] {
    match h.hook_type.parse() {
        Ok(HookType::Sqs) => [
            &mut h.sqs_queue_url,
            &mut h.sqs_region,
            &mut h.sqs_auth_type,
            &mut h.sqs_key,
            &mut h.sqs_secret,
            &mut h.sqs_role_arn,
        ],
        Ok(HookType::Sns) => [
            &mut h.sns_topic_arn,
            &mut h.sns_region,
            &mut h.sns_auth_type,
            &mut h.sns_key,
            &mut h.sns_secret,
            &mut h.sns_role_arn,
        ],
        Ok(HookType::Kinesis) => [
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
    let kinesis_payload = h.kinesis_payload.take().unwrap_or_else(|| "chime".into());
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
        kinesis_payload,
        enabled,
        action: String::new(),
    };
    if hook_type != HookType::Webhook.as_str() {
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
    let webhook = h.hook_type == HookType::Webhook.as_str();
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
    let kinesis = h.hook_type == HookType::Kinesis.as_str();
    h.kinesis_data_types = if kinesis {
        form.kinesis_data_types.clone()
    } else {
        Vec::new()
    };
    h.kinesis_payload = if kinesis {
        opt(&form.kinesis_payload)
    } else {
        None
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
    } else if name == "event_types" || name == "kinesis_data_types" || name == "kinesis_payload" {
        name
    } else {
        "form"
    };
    FieldError {
        field: field.to_string(),
        message: e.message,
    }
}
