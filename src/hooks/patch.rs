//! What a `PATCH /app` with `event_hooks` does to an app's stored hooks (Stream's multi-event
//! hook semantics), as pure functions: the store runs them inside one transaction.
//!
//! - Default: the array is the new list. Hooks are matched by `id` (updated in place), hooks
//!   without an id get a new one, stored hooks missing from the array are deleted, `[]` clears.
//! - `explicit_event_hooks_deletion`: stored hooks missing from the array are kept,
//!   `{"id": X, "delete": true}` deletes X, a known id updates, an unknown id creates.
//! - Secrets: a key or secret that is absent or still masked (`****abcd`, as `GET /app` shows
//!   it) keeps the stored value of the hook with the same id.

use super::model::{is_masked, EventHook, HookError};
use super::validate::{AwsAuth, HookTarget, KinesisPayload, ValidHook};
use crate::domain::HookType;

/// The key and secret fields, per AWS hook type.
const CREDENTIAL_FIELDS: [(&str, &str); 3] = [
    ("sqs_key", "sqs_secret"),
    ("sns_key", "sns_secret"),
    ("kinesis_key", "kinesis_secret"),
];

fn credential_field<'a>(hook: &'a mut EventHook, name: &str) -> &'a mut Option<String> {
    match name {
        "sqs_key" => &mut hook.sqs_key,
        "sqs_secret" => &mut hook.sqs_secret,
        "sns_key" => &mut hook.sns_key,
        "sns_secret" => &mut hook.sns_secret,
        "kinesis_key" => &mut hook.kinesis_key,
        _ => &mut hook.kinesis_secret,
    }
}

/// Fills absent or masked credentials of `incoming` from `stored` (the same hook as stored).
/// A mask with nothing stored behind it is refused: it cannot be a real secret.
fn keep_stored_credentials(
    index: usize,
    incoming: &mut EventHook,
    stored: Option<&EventHook>,
) -> Result<(), HookError> {
    for (key, secret) in CREDENTIAL_FIELDS {
        for name in [key, secret] {
            let given = credential_field(incoming, name).clone();
            let keep = match given.as_deref() {
                None | Some("") => true,
                Some(v) => is_masked(v),
            };
            if !keep {
                continue;
            }
            let mut stored = stored.cloned();
            let previous = stored
                .as_mut()
                .and_then(|s| credential_field(s, name).clone());
            match (previous, given) {
                (Some(previous), _) => *credential_field(incoming, name) = Some(previous),
                (None, Some(mask)) if !mask.is_empty() => return Err(HookError::new(
                    format!("event_hooks[{index}].{name}"),
                    "is a masked value but no secret is stored for this hook; send the real value",
                )),
                (None, _) => *credential_field(incoming, name) = None,
            }
        }
    }
    Ok(())
}

/// A planned hook and, when it comes from the request, its index in the request's array (so
/// that validation errors name the caller's field, not a position in the merged list).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub hook: EventHook,
    pub from_request: Option<usize>,
}

/// The complete new list of hooks, in order, with ids assigned and stored secrets kept.
pub fn plan(
    stored: &[EventHook],
    incoming: Vec<EventHook>,
    explicit_deletion: bool,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<Planned>, HookError> {
    let find = |id: &str| stored.iter().find(|h| !id.is_empty() && h.id == id);
    let mut result: Vec<Planned> = if explicit_deletion {
        stored
            .iter()
            .map(|hook| Planned {
                hook: hook.clone(),
                from_request: None,
            })
            .collect()
    } else {
        Vec::new()
    };
    for (index, mut hook) in incoming.into_iter().enumerate() {
        hook.id = hook.id.trim().to_string();
        if hook.delete {
            if hook.id.is_empty() {
                return Err(HookError::new(
                    format!("event_hooks[{index}].id"),
                    "is required to delete a hook",
                ));
            }
            result.retain(|p| p.hook.id != hook.id);
            continue;
        }
        let previous = find(&hook.id);
        keep_stored_credentials(index, &mut hook, previous)?;
        hook.created_at = previous.and_then(|p| p.created_at.clone());
        if hook.id.is_empty() {
            hook.id = new_id();
        }
        let planned = Planned {
            hook,
            from_request: Some(index),
        };
        match result.iter_mut().find(|p| p.hook.id == planned.hook.id) {
            Some(slot) if explicit_deletion => *slot = planned,
            _ => result.push(planned),
        }
    }
    Ok(result)
}

/// The canonical stored form of a validated hook: derived values made explicit (region, auth
/// type, normalised URL), and its AWS key and secret split off to be sealed.
pub fn canonical(valid: &ValidHook, id: &str) -> (EventHook, Option<(String, String)>) {
    let mut hook = EventHook {
        id: id.to_string(),
        hook_type: valid.target.hook_type().as_str().to_string(),
        enabled: valid.enabled,
        event_types: valid.event_types.clone(),
        product: valid.product.clone(),
        ..EventHook::default()
    };
    let mut credentials = None;
    let mut auth_fields =
        |auth: &AwsAuth, auth_type: &mut Option<String>, role: &mut Option<String>| match auth {
            AwsAuth::Keys { key, secret } => {
                *auth_type = Some("keys".into());
                credentials = Some((key.clone(), secret.clone()));
            }
            AwsAuth::Resource => *auth_type = Some("resource".into()),
            AwsAuth::Role { role_arn } => {
                *auth_type = Some("role".into());
                *role = Some(role_arn.as_str().to_string());
            }
        };
    match &valid.target {
        HookTarget::Webhook { url } => {
            hook.webhook_url = Some(url.clone());
        }
        HookTarget::Sqs {
            queue_url,
            region,
            auth,
        } => {
            hook.sqs_queue_url = Some(queue_url.as_str().to_string());
            hook.sqs_region = Some(region.clone());
            auth_fields(auth, &mut hook.sqs_auth_type, &mut hook.sqs_role_arn);
        }
        HookTarget::Sns {
            topic_arn,
            region,
            auth,
        } => {
            hook.sns_topic_arn = Some(topic_arn.as_str().to_string());
            hook.sns_region = Some(region.clone());
            auth_fields(auth, &mut hook.sns_auth_type, &mut hook.sns_role_arn);
        }
        HookTarget::Kinesis {
            stream_arn,
            region,
            auth,
            data_types,
            payload,
        } => {
            hook.kinesis_stream_arn = Some(stream_arn.as_str().to_string());
            hook.kinesis_region = Some(region.clone());
            auth_fields(
                auth,
                &mut hook.kinesis_auth_type,
                &mut hook.kinesis_role_arn,
            );
            hook.kinesis_data_types = data_types.iter().map(|d| d.as_str().to_string()).collect();
            // the default is not written out, so hooks made before the option are unchanged
            hook.kinesis_payload = (*payload == KinesisPayload::Stream).then(|| "stream".into());
        }
        HookTarget::PendingMessage {
            url,
            timeout_ms,
            callback_mode,
        } => {
            hook.webhook_url = url.clone();
            hook.timeout_ms = Some(*timeout_ms);
            hook.callback = Some(super::model::Callback {
                mode: callback_mode.clone(),
                server_url: None,
            });
        }
    }
    (hook, credentials)
}

/// Puts a sealed-apart key and secret back into a stored hook's fields.
pub fn with_credentials(mut hook: EventHook, credentials: Option<(String, String)>) -> EventHook {
    if let Some((key, secret)) = credentials {
        let (k, s) = match hook.hook_type.parse() {
            Ok(HookType::Sqs) => ("sqs_key", "sqs_secret"),
            Ok(HookType::Sns) => ("sns_key", "sns_secret"),
            _ => ("kinesis_key", "kinesis_secret"),
        };
        *credential_field(&mut hook, k) = Some(key);
        *credential_field(&mut hook, s) = Some(secret);
    }
    hook
}

/// The hook as the API and the dashboard show it: keys and secrets masked.
pub fn masked(mut hook: EventHook) -> EventHook {
    for (key, secret) in CREDENTIAL_FIELDS {
        for name in [key, secret] {
            let field = credential_field(&mut hook, name);
            if let Some(v) = field.as_deref() {
                *field = Some(super::model::mask_secret(v));
            }
        }
    }
    hook
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqs(id: &str, key: Option<&str>, secret: Option<&str>) -> EventHook {
        EventHook {
            id: id.into(),
            hook_type: "sqs".into(),
            sqs_queue_url: Some("https://sqs.us-east-1.amazonaws.com/123456789012/q".into()),
            sqs_key: key.map(Into::into),
            sqs_secret: secret.map(Into::into),
            ..EventHook::default()
        }
    }

    fn webhook(id: &str) -> EventHook {
        EventHook {
            id: id.into(),
            hook_type: "webhook".into(),
            webhook_url: Some("https://example.com/hook".into()),
            ..EventHook::default()
        }
    }

    fn ids(planned: &[Planned]) -> Vec<&str> {
        planned.iter().map(|p| p.hook.id.as_str()).collect()
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("new-{n}")
        }
    }

    #[test]
    fn default_mode_replaces_the_list_and_assigns_ids() {
        let stored = vec![webhook("a"), webhook("b")];
        let out = plan(
            &stored,
            vec![webhook("b"), webhook(""), webhook("zz")],
            false,
            counter(),
        )
        .unwrap();
        assert_eq!(ids(&out), ["b", "new-1", "zz"]);
        assert!(plan(&stored, vec![], false, counter()).unwrap().is_empty());
    }

    #[test]
    fn explicit_mode_keeps_omitted_hooks_and_deletes_only_marked_ones() {
        let stored = vec![webhook("a"), webhook("b"), webhook("c")];
        let mut changed = webhook("b");
        changed.event_types = vec!["message.new".into()];
        let delete = EventHook {
            id: "a".into(),
            delete: true,
            ..EventHook::default()
        };
        let out = plan(
            &stored,
            vec![delete, changed, webhook("d")],
            true,
            counter(),
        )
        .unwrap();
        assert_eq!(ids(&out), ["b", "c", "d"]);
        assert_eq!(out[0].hook.event_types, ["message.new"]);
        let origins: Vec<_> = out.iter().map(|p| p.from_request).collect();
        assert_eq!(
            origins,
            [Some(1), None, Some(2)],
            "request indices, not list positions"
        );
        let no_id = EventHook {
            delete: true,
            ..EventHook::default()
        };
        assert!(plan(&stored, vec![no_id], true, counter()).is_err());
    }

    #[test]
    fn masked_or_absent_secrets_keep_the_stored_ones() {
        let stored = vec![sqs("q", Some("AKIAOLDKEY"), Some("old-secret-value"))];
        let masked_back = masked(stored[0].clone());
        assert_eq!(masked_back.sqs_secret.as_deref(), Some("****alue"));
        let out = plan(&stored, vec![masked_back], false, counter()).unwrap();
        assert_eq!(out[0].hook.sqs_key.as_deref(), Some("AKIAOLDKEY"));
        assert_eq!(out[0].hook.sqs_secret.as_deref(), Some("old-secret-value"));

        let out = plan(&stored, vec![sqs("q", None, None)], false, counter()).unwrap();
        assert_eq!(out[0].hook.sqs_secret.as_deref(), Some("old-secret-value"));

        let out = plan(
            &stored,
            vec![sqs("q", Some("AKIANEW"), Some("new-secret"))],
            false,
            counter(),
        )
        .unwrap();
        assert_eq!(out[0].hook.sqs_secret.as_deref(), Some("new-secret"));
    }

    #[test]
    fn a_mask_without_a_stored_secret_is_refused() {
        let err = plan(
            &[],
            vec![sqs("", Some("AKIA"), Some("****cret"))],
            false,
            counter(),
        )
        .unwrap_err();
        assert_eq!(err.field, "event_hooks[0].sqs_secret");
        let err = plan(
            &[sqs("other", Some("k"), Some("s"))],
            vec![sqs("new", Some("****"), Some("x"))],
            false,
            counter(),
        )
        .unwrap_err();
        assert_eq!(err.field, "event_hooks[0].sqs_key");
    }

    #[test]
    fn credentials_round_trip_through_canonical_and_back() {
        use super::super::validate::{validate_hook, ValidateContext};
        let hook = sqs("q", Some("AKIAKEY"), Some("the-secret-1"));
        let valid = validate_hook(0, &hook, &ValidateContext::default()).unwrap();
        let (stored, creds) = canonical(&valid, "q");
        assert_eq!(stored.sqs_key, None);
        assert_eq!(stored.sqs_secret, None);
        assert_eq!(stored.sqs_auth_type.as_deref(), Some("keys"));
        assert_eq!(stored.sqs_region.as_deref(), Some("us-east-1"));
        let back = with_credentials(stored, creds);
        assert_eq!(back.sqs_secret.as_deref(), Some("the-secret-1"));
        let shown = masked(back);
        assert_eq!(shown.sqs_key.as_deref(), Some("****"));
        assert_eq!(shown.sqs_secret.as_deref(), Some("****et-1"));
    }
}
