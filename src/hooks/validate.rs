//! Turns the `event_hooks` of a `PATCH /app` (as received, [`EventHook`]) into typed hooks
//! ([`ValidHook`]) or a [`HookError`] naming the first wrong field. Server-side only.

use std::collections::HashMap;

use url::Url;

use super::aws::{AwsTargetError, IamRoleArn, KinesisStreamArn, Region, SnsTopicArn, SqsQueueUrl};
use super::events::{is_known_event_type, ChimeDataType};
use super::model::{non_empty, EventHook, AUTH_TYPES, CALLBACK_MODES, DEFAULT_PRODUCT, PRODUCTS};
pub use super::resource_auth::{check_resource_target, resource_allowed};

pub use super::model::HookError;
use crate::domain::HookType;
use crate::egress::EgressPolicy;

/// The most hooks an app may have.
pub const MAX_HOOKS: usize = 100;

/// The most `pending_message` hooks an app may have.
pub const MAX_PENDING_MESSAGE_HOOKS: usize = 2;

/// The longest hook id accepted from a client.
pub const MAX_ID_LEN: usize = 255;

/// A hook that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidHook {
    /// The id sent by the client; `None` when it must be generated.
    pub id: Option<String>,
    /// Whether the hook receives events.
    pub enabled: bool,
    /// Known event types without duplicates, in the order given; empty means all events.
    pub event_types: Vec<String>,
    /// One of the products (`all` when none was given).
    pub product: String,
    /// Where the events go.
    pub target: HookTarget,
}

/// What a Kinesis record's `Payload` holds (`kinesis_payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KinesisPayload {
    /// Amazon Chime's message, channel and membership shapes (`delivery::chime`).
    #[default]
    Chime,
    /// The Stream event as received.
    Stream,
}

/// Where a hook delivers, with everything it needs already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookTarget {
    /// HTTP POST to a URL.
    Webhook {
        /// An `http` or `https` URL with a host (normalised by the URL parser).
        url: String,
    },
    /// Amazon SQS `SendMessage`.
    Sqs {
        /// The queue.
        queue_url: SqsQueueUrl,
        /// The region to call.
        region: String,
        /// How to authenticate.
        auth: AwsAuth,
    },
    /// Amazon SNS `Publish`.
    Sns {
        /// The topic.
        topic_arn: SnsTopicArn,
        /// The region to call.
        region: String,
        /// How to authenticate.
        auth: AwsAuth,
    },
    /// Amazon Kinesis `PutRecord` in the Amazon Chime messaging stream format.
    Kinesis {
        /// The stream.
        stream_arn: KinesisStreamArn,
        /// The region to call.
        region: String,
        /// How to authenticate.
        auth: AwsAuth,
        /// The Chime data types to stream (never empty; both when none were given).
        data_types: Vec<ChimeDataType>,
        /// What the records' `Payload` holds.
        payload: KinesisPayload,
    },
    /// Pending messages: the application decides whether a held message is sent.
    PendingMessage {
        /// Callback base URL; `None` only with `CALLBACK_MODE_NONE`.
        url: Option<String>,
        /// How long a message stays pending, in milliseconds (> 0).
        timeout_ms: i64,
        /// One of `CALLBACK_MODE_NONE`, `CALLBACK_MODE_REST`, `CALLBACK_MODE_TWIRP`.
        callback_mode: String,
    },
}

impl HookTarget {
    /// The hook type this target belongs to.
    pub fn hook_type(&self) -> HookType {
        match self {
            HookTarget::Webhook { .. } => HookType::Webhook,
            HookTarget::Sqs { .. } => HookType::Sqs,
            HookTarget::Sns { .. } => HookType::Sns,
            HookTarget::Kinesis { .. } => HookType::Kinesis,
            HookTarget::PendingMessage { .. } => HookType::PendingMessage,
        }
    }
}

/// How Hookrelay authenticates to AWS for a hook. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum AwsAuth {
    /// An access key pair of the hook's owner.
    Keys {
        /// The access key id.
        key: String,
        /// The secret access key.
        secret: String,
    },
    /// Hookrelay's own credentials; the owner grants access with a resource policy.
    Resource,
    /// Hookrelay assumes this role of the owner's account.
    Role {
        /// The role to assume.
        role_arn: IamRoleArn,
    },
}

impl std::fmt::Debug for AwsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AwsAuth::Keys { key, .. } => f
                .debug_struct("Keys")
                .field("key", key)
                .field("secret", &"****")
                .finish(),
            AwsAuth::Resource => f.write_str("Resource"),
            AwsAuth::Role { role_arn } => {
                f.debug_struct("Role").field("role_arn", role_arn).finish()
            }
        }
    }
}

/// Server settings that validation depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateContext<'a> {
    /// The AWS endpoint override (an emulator); queue URLs on its origin are accepted.
    pub endpoint_override: Option<&'a str>,
    /// The region used when neither the hook nor its URL/ARN names one.
    pub default_region: Option<&'a str>,
    /// Which addresses webhook and callback URLs may name.
    pub egress: &'a EgressPolicy,
    /// The AWS accounts (12 digits) and ARNs that `resource` auth may send to with the
    /// server's own identity; empty: any.
    pub resource_allow: &'a [String],
}

impl Default for ValidateContext<'_> {
    /// No endpoint override, no default region, the strict egress guard.
    fn default() -> Self {
        Self {
            endpoint_override: None,
            default_region: None,
            egress: &crate::egress::STRICT,
            resource_allow: &[],
        }
    }
}

/// [`resource_allowed`] for a hook whose auth resolved to `auth`.
fn guard_resource(
    f: &Fields,
    aws: &AwsFields,
    auth: &AwsAuth,
    (account, arn): (&str, &str),
    ctx: &ValidateContext,
) -> Result<(), HookError> {
    if *auth == AwsAuth::Resource {
        resource_allowed(ctx.resource_allow, account, arn)
            .map_err(|m| f.err(&aws.name("auth_type"), m))?;
    }
    Ok(())
}

/// Validates the hook at position `index` of `event_hooks`; errors name the field as
/// `event_hooks[index].FIELD`. Empty strings count as absent everywhere.
///
/// - `hook_type` must be one of `HOOK_TYPES`; `product` one of `PRODUCTS` (empty: `all`);
///   every `event_types` entry a known event type (duplicates are dropped).
/// - AWS hooks need a well-formed queue URL / topic ARN / stream ARN. The region is the
///   `*_region` field, else the URL's/ARN's, else `ctx.default_region`; the field and the
///   URL/ARN must agree. Without `*_auth_type`, a key or secret means `keys` (then both are
///   required), a role ARN alone means `role`, and nothing means `resource`.
/// - `kinesis_data_types` entries must be `ChannelMessage` or `Channel` (empty: both).
/// - `pending_message` needs `timeout_ms` in `1..=i32::MAX`, a known `callback.mode`, and
///   `webhook_url` unless the mode is `CALLBACK_MODE_NONE`.
pub fn validate_hook(
    index: usize,
    hook: &EventHook,
    ctx: &ValidateContext,
) -> Result<ValidHook, HookError> {
    let f = Fields { index: Some(index) };
    let id = validate_id(&f, &hook.id)?;
    let Ok(hook_type) = hook.hook_type.parse::<HookType>() else {
        let message = if hook.hook_type.is_empty() {
            "hook_type is required".to_owned()
        } else {
            format!("unknown hook type \"{}\"", hook.hook_type)
        };
        let allowed: Vec<&str> = HookType::ALL.iter().map(|t| t.as_str()).collect();
        return Err(f.err(
            "hook_type",
            format!("{message}; allowed: {}", allowed.join(", ")),
        ));
    };
    let product = validate_product(&f, &hook.product)?;
    let event_types = validate_event_types(&f, &hook.event_types)?;
    let target = match hook_type {
        HookType::Webhook => HookTarget::Webhook {
            url: webhook_url(&f, non_empty(&hook.webhook_url), "webhook", ctx.egress)?,
        },
        HookType::Sqs => validate_sqs(&f, hook, ctx)?,
        HookType::Sns => validate_sns(&f, hook, ctx)?,
        HookType::Kinesis => validate_kinesis(&f, hook, ctx)?,
        HookType::PendingMessage => validate_pending_message(&f, hook, ctx)?,
    };
    Ok(ValidHook {
        id,
        enabled: hook.enabled,
        event_types,
        product,
        target,
    })
}

/// Validates a whole `event_hooks` array: every hook, at most [`MAX_HOOKS`] hooks and
/// [`MAX_PENDING_MESSAGE_HOOKS`] `pending_message` hooks, and no id used twice.
///
/// Entries with `delete: true` (explicit deletion) only need an id: they are checked for that
/// and for duplicate ids, but not validated as hooks, not counted, and not returned. The
/// limits apply to this array; with explicit deletion the caller must also check the total
/// after merging with the stored hooks.
pub fn validate_hooks(
    hooks: &[EventHook],
    ctx: &ValidateContext,
) -> Result<Vec<ValidHook>, HookError> {
    let kept = hooks.iter().filter(|h| !h.delete).count();
    if kept > MAX_HOOKS {
        return Err(HookError::new(
            "event_hooks",
            format!("at most {MAX_HOOKS} hooks are allowed, got {kept}"),
        ));
    }
    let mut seen_ids: HashMap<&str, usize> = HashMap::new();
    let mut valid = Vec::with_capacity(kept);
    let mut pending = 0;
    for (index, hook) in hooks.iter().enumerate() {
        let f = Fields { index: Some(index) };
        if hook.delete {
            if validate_id(&f, &hook.id)?.is_none() {
                return Err(f.err(
                    "id",
                    "a hook marked delete needs the id of the hook to delete",
                ));
            }
        } else {
            let hook = validate_hook(index, hook, ctx)?;
            if matches!(hook.target, HookTarget::PendingMessage { .. }) {
                pending += 1;
                if pending > MAX_PENDING_MESSAGE_HOOKS {
                    return Err(f.err(
                        "hook_type",
                        format!(
                            "at most {MAX_PENDING_MESSAGE_HOOKS} pending_message hooks are allowed"
                        ),
                    ));
                }
            }
            valid.push(hook);
        }
        if !hook.id.is_empty() {
            if let Some(first) = seen_ids.insert(&hook.id, index) {
                return Err(f.err(
                    "id",
                    format!(
                        "duplicate id \"{}\", already used by event_hooks[{first}]",
                        hook.id
                    ),
                ));
            }
        }
    }
    Ok(valid)
}

/// Builds the field paths of one hook: `event_hooks[index].FIELD`, or the bare field name for
/// the fields of a check request.
struct Fields {
    index: Option<usize>,
}

impl Fields {
    fn path(&self, field: &str) -> String {
        match self.index {
            Some(index) => format!("event_hooks[{index}].{field}"),
            None => field.to_owned(),
        }
    }

    fn err(&self, field: &str, message: impl Into<String>) -> HookError {
        HookError::new(self.path(field), message)
    }
}

fn validate_id(f: &Fields, id: &str) -> Result<Option<String>, HookError> {
    if id.is_empty() {
        return Ok(None);
    }
    if id.chars().count() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(f.err(
            "id",
            format!("the id must be at most {MAX_ID_LEN} characters without control characters"),
        ));
    }
    Ok(Some(id.to_owned()))
}

fn validate_product(f: &Fields, product: &str) -> Result<String, HookError> {
    if product.is_empty() {
        return Ok(DEFAULT_PRODUCT.to_owned());
    }
    if PRODUCTS.contains(&product) {
        Ok(product.to_owned())
    } else {
        Err(f.err(
            "product",
            format!(
                "unknown product \"{product}\"; allowed: {}",
                PRODUCTS.join(", ")
            ),
        ))
    }
}

fn validate_event_types(f: &Fields, event_types: &[String]) -> Result<Vec<String>, HookError> {
    let mut out: Vec<String> = Vec::with_capacity(event_types.len());
    for event_type in event_types {
        if !is_known_event_type(event_type) {
            return Err(f.err(
                "event_types",
                format!("unknown event type \"{event_type}\""),
            ));
        }
        if !out.contains(event_type) {
            out.push(event_type.clone());
        }
    }
    Ok(out)
}

/// Checks an `http`/`https` URL with a host that the egress guard allows; `hook_type` only
/// words the error.
fn webhook_url(
    f: &Fields,
    raw: Option<&str>,
    hook_type: &str,
    egress: &EgressPolicy,
) -> Result<String, HookError> {
    let Some(raw) = raw else {
        return Err(f.err(
            "webhook_url",
            format!("webhook_url is required for {hook_type} hooks"),
        ));
    };
    let url = Url::parse(raw)
        .map_err(|e| f.err("webhook_url", format!("\"{raw}\" is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(f.err("webhook_url", format!("\"{raw}\" must use http or https")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(f.err("webhook_url", format!("\"{raw}\" has no host")));
    }
    egress
        .check_url(&url)
        .map_err(|e| f.err("webhook_url", e.to_string()))?;
    Ok(url.into())
}

/// The message of a refused AWS target: the `Display` text and the reason.
fn target_message(e: &AwsTargetError) -> String {
    format!("{e}: {}", e.reason())
}

/// The field names of one AWS service (`sqs`, `sns`, `kinesis`) and the fields' values.
struct AwsFields<'a> {
    prefix: &'static str,
    region: Option<&'a str>,
    auth_type: Option<&'a str>,
    key: Option<&'a str>,
    secret: Option<&'a str>,
    role_arn: Option<&'a str>,
}

impl AwsFields<'_> {
    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }
}

/// Picks the region: the `*_region` field, else the one in the URL/ARN, else the default;
/// the field and the URL/ARN must agree. `target_field` words the errors.
fn resolve_region(
    f: &Fields,
    aws: &AwsFields,
    from_target: Option<&str>,
    target_field: &str,
    ctx: &ValidateContext,
) -> Result<String, HookError> {
    let region_field = aws.name("region");
    match (aws.region, from_target) {
        (Some(given), target) => {
            let given = Region::parse(given).map_err(|e| f.err(&region_field, e.to_string()))?;
            match target {
                Some(target) if target != given.as_str() => Err(f.err(
                    &region_field,
                    format!("{region_field} is {given} but {target_field} is in region {target}"),
                )),
                _ => Ok(given.as_str().to_owned()),
            }
        }
        (None, Some(target)) => Ok(target.to_owned()),
        (None, None) => match ctx.default_region {
            Some(default) => Region::parse(default)
                .map(|r| r.as_str().to_owned())
                .map_err(|e| {
                    f.err(
                        &region_field,
                        format!("the default region is not valid: {e}"),
                    )
                }),
            None => Err(f.err(
                &region_field,
                format!("region missing and not derivable from {target_field}; set {region_field}"),
            )),
        },
    }
}

/// The AWS authentication of a check request (`POST /check_sqs`, the dashboard's Test), by
/// the same rules as a hook's (see [`resolve_auth`]); errors name the bare field
/// (`sqs_key`). `hook_type` is the AWS hook type the fields belong to.
pub fn check_auth(
    hook_type: HookType,
    auth_type: Option<&str>,
    key: Option<&str>,
    secret: Option<&str>,
    role_arn: Option<&str>,
) -> Result<AwsAuth, HookError> {
    let aws = AwsFields {
        prefix: hook_type.as_str(),
        region: None,
        auth_type,
        key,
        secret,
        role_arn,
    };
    resolve_auth(&Fields { index: None }, &aws)
}

/// Picks the authentication. Without an auth type: `keys` when a key or secret is given
/// (both are then required), `role` when only a role ARN is given, else `resource`.
fn resolve_auth(f: &Fields, aws: &AwsFields) -> Result<AwsAuth, HookError> {
    let auth_type_field = aws.name("auth_type");
    let auth_type = match aws.auth_type {
        Some(t) => t,
        None if aws.key.is_some() || aws.secret.is_some() => "keys",
        None if aws.role_arn.is_some() => "role",
        None => "resource",
    };
    match auth_type {
        // `key` appears in an SDK doc comment; accept it as a spelling of `keys`.
        "keys" | "key" => {
            let key_field = aws.name("key");
            let secret_field = aws.name("secret");
            let why = if aws.auth_type.is_some() {
                format!("when {auth_type_field} is keys")
            } else {
                format!("when {key_field} or {secret_field} is given (auth type keys)")
            };
            let key = aws
                .key
                .ok_or_else(|| f.err(&key_field, format!("{key_field} is required {why}")))?;
            let secret = aws
                .secret
                .ok_or_else(|| f.err(&secret_field, format!("{secret_field} is required {why}")))?;
            Ok(AwsAuth::Keys {
                key: key.to_owned(),
                secret: secret.to_owned(),
            })
        }
        "resource" => Ok(AwsAuth::Resource),
        "role" => {
            let role_field = aws.name("role_arn");
            let raw = aws.role_arn.ok_or_else(|| {
                f.err(
                    &role_field,
                    format!("{role_field} is required when {auth_type_field} is role"),
                )
            })?;
            let role_arn =
                IamRoleArn::parse(raw).map_err(|e| f.err(&role_field, target_message(&e)))?;
            Ok(AwsAuth::Role { role_arn })
        }
        other => Err(f.err(
            &auth_type_field,
            format!(
                "unknown auth type \"{other}\"; allowed: {}",
                AUTH_TYPES.join(", ")
            ),
        )),
    }
}

fn validate_sqs(
    f: &Fields,
    hook: &EventHook,
    ctx: &ValidateContext,
) -> Result<HookTarget, HookError> {
    let raw = non_empty(&hook.sqs_queue_url)
        .ok_or_else(|| f.err("sqs_queue_url", "sqs_queue_url is required for sqs hooks"))?;
    let queue_url = SqsQueueUrl::parse(raw, ctx.endpoint_override)
        .map_err(|e| f.err("sqs_queue_url", target_message(&e)))?;
    let aws = AwsFields {
        prefix: HookType::Sqs.as_str(),
        region: non_empty(&hook.sqs_region),
        auth_type: non_empty(&hook.sqs_auth_type),
        key: non_empty(&hook.sqs_key),
        secret: non_empty(&hook.sqs_secret),
        role_arn: non_empty(&hook.sqs_role_arn),
    };
    let region = resolve_region(f, &aws, queue_url.region(), "the queue url", ctx)?;
    let auth = resolve_auth(f, &aws)?;
    let arn = queue_url.queue_arn(&region);
    guard_resource(f, &aws, &auth, (queue_url.account(), &arn), ctx)?;
    Ok(HookTarget::Sqs {
        queue_url,
        region,
        auth,
    })
}

fn validate_sns(
    f: &Fields,
    hook: &EventHook,
    ctx: &ValidateContext,
) -> Result<HookTarget, HookError> {
    let raw = non_empty(&hook.sns_topic_arn)
        .ok_or_else(|| f.err("sns_topic_arn", "sns_topic_arn is required for sns hooks"))?;
    let topic_arn =
        SnsTopicArn::parse(raw).map_err(|e| f.err("sns_topic_arn", target_message(&e)))?;
    let aws = AwsFields {
        prefix: HookType::Sns.as_str(),
        region: non_empty(&hook.sns_region),
        auth_type: non_empty(&hook.sns_auth_type),
        key: non_empty(&hook.sns_key),
        secret: non_empty(&hook.sns_secret),
        role_arn: non_empty(&hook.sns_role_arn),
    };
    let region = resolve_region(f, &aws, Some(topic_arn.region()), "the topic arn", ctx)?;
    let auth = resolve_auth(f, &aws)?;
    guard_resource(
        f,
        &aws,
        &auth,
        (topic_arn.account(), topic_arn.as_str()),
        ctx,
    )?;
    Ok(HookTarget::Sns {
        topic_arn,
        region,
        auth,
    })
}

fn validate_kinesis(
    f: &Fields,
    hook: &EventHook,
    ctx: &ValidateContext,
) -> Result<HookTarget, HookError> {
    let raw = non_empty(&hook.kinesis_stream_arn).ok_or_else(|| {
        f.err(
            "kinesis_stream_arn",
            "kinesis_stream_arn is required for kinesis hooks",
        )
    })?;
    let stream_arn = KinesisStreamArn::parse(raw)
        .map_err(|e| f.err("kinesis_stream_arn", target_message(&e)))?;
    let aws = AwsFields {
        prefix: HookType::Kinesis.as_str(),
        region: non_empty(&hook.kinesis_region),
        auth_type: non_empty(&hook.kinesis_auth_type),
        key: non_empty(&hook.kinesis_key),
        secret: non_empty(&hook.kinesis_secret),
        role_arn: non_empty(&hook.kinesis_role_arn),
    };
    let region = resolve_region(f, &aws, Some(stream_arn.region()), "the stream arn", ctx)?;
    let auth = resolve_auth(f, &aws)?;
    guard_resource(
        f,
        &aws,
        &auth,
        (stream_arn.account(), stream_arn.as_str()),
        ctx,
    )?;
    let mut data_types = Vec::with_capacity(2);
    for raw in &hook.kinesis_data_types {
        let data_type: ChimeDataType = raw
            .parse()
            .map_err(|e| f.err("kinesis_data_types", format!("{e}")))?;
        if !data_types.contains(&data_type) {
            data_types.push(data_type);
        }
    }
    if data_types.is_empty() {
        data_types.extend(ChimeDataType::ALL);
    }
    let payload = match non_empty(&hook.kinesis_payload) {
        None | Some("chime") => KinesisPayload::Chime,
        Some("stream") => KinesisPayload::Stream,
        Some(other) => {
            return Err(f.err(
                "kinesis_payload",
                format!("unknown payload {other:?}; allowed: chime, stream"),
            ))
        }
    };
    Ok(HookTarget::Kinesis {
        stream_arn,
        region,
        auth,
        data_types,
        payload,
    })
}

fn validate_pending_message(
    f: &Fields,
    hook: &EventHook,
    ctx: &ValidateContext,
) -> Result<HookTarget, HookError> {
    let timeout_ms = match hook.timeout_ms {
        None => {
            return Err(f.err(
                "timeout_ms",
                "timeout_ms is required for pending_message hooks",
            ))
        }
        Some(t) if t <= 0 => {
            return Err(f.err(
                "timeout_ms",
                format!("timeout_ms must be greater than 0, got {t}"),
            ))
        }
        Some(t) if t > i64::from(i32::MAX) => {
            return Err(f.err(
                "timeout_ms",
                format!("timeout_ms must be at most {}, got {t}", i32::MAX),
            ))
        }
        Some(t) => t,
    };
    let mode = hook
        .callback
        .as_ref()
        .map(|c| c.mode.as_str())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            f.err(
                "callback.mode",
                format!(
                    "callback.mode is required for pending_message hooks; allowed: {}",
                    CALLBACK_MODES.join(", ")
                ),
            )
        })?;
    if !CALLBACK_MODES.contains(&mode) {
        return Err(f.err(
            "callback.mode",
            format!(
                "unknown callback mode \"{mode}\"; allowed: {}",
                CALLBACK_MODES.join(", ")
            ),
        ));
    }
    let url = match non_empty(&hook.webhook_url) {
        None if mode == "CALLBACK_MODE_NONE" => None,
        raw => Some(webhook_url(f, raw, "pending_message", ctx.egress)?),
    };
    Ok(HookTarget::PendingMessage {
        url,
        timeout_ms,
        callback_mode: mode.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::Callback;
    use super::*;

    const CTX: ValidateContext<'static> = ValidateContext {
        endpoint_override: None,
        default_region: None,
        egress: &crate::egress::STRICT,
        resource_allow: &[],
    };
    const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:sns-topic";
    const STREAM: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/chime-messaging-x";
    const ROLE: &str = "arn:aws:iam::123456789012:role/StreamHooks";

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    fn webhook(url: &str) -> EventHook {
        EventHook {
            hook_type: "webhook".into(),
            webhook_url: s(url),
            ..EventHook::default()
        }
    }

    fn sqs_hook() -> EventHook {
        EventHook {
            hook_type: "sqs".into(),
            sqs_queue_url: s(QUEUE),
            ..EventHook::default()
        }
    }

    fn sns_hook() -> EventHook {
        EventHook {
            hook_type: "sns".into(),
            sns_topic_arn: s(TOPIC),
            ..EventHook::default()
        }
    }

    fn kinesis_hook() -> EventHook {
        EventHook {
            hook_type: "kinesis".into(),
            kinesis_stream_arn: s(STREAM),
            ..EventHook::default()
        }
    }

    fn pending(mode: &str, url: Option<&str>) -> EventHook {
        EventHook {
            hook_type: "pending_message".into(),
            webhook_url: url.map(str::to_owned),
            timeout_ms: Some(5000),
            callback: Some(Callback {
                mode: mode.into(),
                server_url: None,
            }),
            ..EventHook::default()
        }
    }

    fn ok(hook: &EventHook) -> ValidHook {
        validate_hook(0, hook, &CTX).expect("hook should be valid")
    }

    fn err(hook: &EventHook) -> HookError {
        validate_hook(0, hook, &CTX).expect_err("hook should be refused")
    }

    fn target(hook: &EventHook) -> HookTarget {
        ok(hook).target
    }

    #[test]
    fn webhook_is_accepted() {
        let valid = ok(&webhook("https://example.com/hooks"));
        assert_eq!(valid.id, None);
        assert!(valid.enabled);
        assert_eq!(valid.product, "all");
        assert!(valid.event_types.is_empty());
        assert_eq!(
            valid.target,
            HookTarget::Webhook {
                url: "https://example.com/hooks".into()
            }
        );
        assert!(ok(&webhook("http://93.184.216.34:8080/x?y=1")).enabled);
    }

    #[test]
    fn webhook_urls_of_private_addresses_are_refused_unless_allowed() {
        for (url, message) in [
            (
                "http://127.0.0.1:5432/",
                "refused: 127.0.0.1 is a loopback address",
            ),
            (
                "http://169.254.169.254/latest/meta-data/",
                "refused: 169.254.169.254 is a cloud metadata address",
            ),
            (
                "http://10.0.0.1:8080/x",
                "refused: 10.0.0.1 is a private address",
            ),
            (
                "http://localhost:3000/",
                "refused: localhost is a loopback address",
            ),
        ] {
            let e = err(&webhook(url));
            assert_eq!(e.field, "event_hooks[0].webhook_url", "{url}");
            assert_eq!(e.message, message, "{url}");
        }
        let open = crate::egress::EgressPolicy::new(true, vec![]);
        let ctx = ValidateContext {
            egress: &open,
            ..CTX
        };
        assert!(validate_hook(0, &webhook("http://127.0.0.1:5432/"), &ctx).is_ok());
        // a pending-message callback is a tenant URL too
        let e = err(&pending("CALLBACK_MODE_REST", Some("http://127.0.0.1/cb")));
        assert_eq!(e.message, "refused: 127.0.0.1 is a loopback address");
    }

    #[test]
    fn resource_auth_is_limited_to_the_listed_accounts_and_arns() {
        let hook = sqs_hook();
        assert!(
            validate_hook(0, &hook, &CTX).is_ok(),
            "unrestricted by default"
        );
        let allow = ["123456789012".to_string()];
        let ctx = ValidateContext {
            resource_allow: &allow,
            ..CTX
        };
        assert!(validate_hook(0, &hook, &ctx).is_ok(), "the listed account");
        let other = ["999999999999".to_string()];
        let ctx = ValidateContext {
            resource_allow: &other,
            ..CTX
        };
        let e = validate_hook(0, &hook, &ctx).expect_err("another account");
        assert_eq!(e.field, "event_hooks[0].sqs_auth_type");
        assert!(e.message.starts_with("refused: resource auth"), "{e}");
        let arn = [TOPIC.to_string()];
        let ctx = ValidateContext {
            resource_allow: &arn,
            ..CTX
        };
        assert!(
            validate_hook(0, &sns_hook(), &ctx).is_ok(),
            "the listed ARN"
        );
        // keys are the tenant's own identity: not restricted
        let keys = EventHook {
            sqs_key: s("AKIA"),
            sqs_secret: s("secret"),
            ..sqs_hook()
        };
        let ctx = ValidateContext {
            resource_allow: &other,
            ..CTX
        };
        assert!(validate_hook(0, &keys, &ctx).is_ok());
    }

    #[test]
    fn webhook_url_rules() {
        let e = err(&EventHook {
            hook_type: "webhook".into(),
            ..EventHook::default()
        });
        assert_eq!(e.field, "event_hooks[0].webhook_url");
        assert!(e.message.contains("required"));
        // Some("") is treated as missing
        let e = err(&webhook(""));
        assert!(e.message.contains("required"), "{e}");
        for (bad, word) in [
            ("ftp://example.com/x", "http or https"),
            ("mailto:a@example.com", "http or https"),
            ("example.com/hook", "not a valid URL"),
            ("https://", "not a valid URL"),
            ("not a url", "not a valid URL"),
        ] {
            let e = err(&webhook(bad));
            assert_eq!(e.field, "event_hooks[0].webhook_url", "{bad}");
            assert!(e.message.contains(word), "{bad}: {e}");
        }
    }

    #[test]
    fn hook_type_rules() {
        let e = err(&EventHook {
            hook_type: "ftp".into(),
            ..EventHook::default()
        });
        assert_eq!(e.field, "event_hooks[0].hook_type");
        assert!(e.message.contains("\"ftp\""));
        assert!(e
            .message
            .contains("allowed: webhook, sqs, sns, kinesis, pending_message"));
        let e = err(&EventHook::default());
        assert_eq!(e.field, "event_hooks[0].hook_type");
        assert!(e.message.contains("required"));
        let e = err(&EventHook {
            hook_type: "SQS".into(),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].hook_type");
    }

    #[test]
    fn product_rules() {
        for p in ["chat", "video", "moderation", "feeds", "all"] {
            let hook = EventHook {
                product: p.into(),
                ..webhook("https://e.com")
            };
            assert_eq!(ok(&hook).product, p);
        }
        let hook = EventHook {
            product: String::new(),
            ..webhook("https://e.com")
        };
        assert_eq!(ok(&hook).product, "all");
        let e = err(&EventHook {
            product: "Chat".into(),
            ..webhook("https://e.com")
        });
        assert_eq!(e.field, "event_hooks[0].product");
        assert!(e.message.contains("\"Chat\""));
        assert!(e.message.contains("chat, video, moderation, feeds, all"));
    }

    #[test]
    fn event_type_rules() {
        let hook = EventHook {
            event_types: vec![
                "message.new".into(),
                "user.banned".into(),
                "message.new".into(),
            ],
            ..webhook("https://e.com")
        };
        assert_eq!(ok(&hook).event_types, ["message.new", "user.banned"]);
        let e = err(&EventHook {
            event_types: vec!["message.new".into(), "message.exploded".into()],
            ..webhook("https://e.com")
        });
        assert_eq!(e.field, "event_hooks[0].event_types");
        assert!(e.message.contains("\"message.exploded\""));
    }

    #[test]
    fn id_and_enabled_are_kept() {
        let hook = EventHook {
            id: "abc-123".into(),
            enabled: false,
            ..webhook("https://e.com")
        };
        let valid = ok(&hook);
        assert_eq!(valid.id.as_deref(), Some("abc-123"));
        assert!(!valid.enabled);
        let e = err(&EventHook {
            id: "x".repeat(256),
            ..webhook("https://e.com")
        });
        assert_eq!(e.field, "event_hooks[0].id");
        let e = err(&EventHook {
            id: "a\nb".into(),
            ..webhook("https://e.com")
        });
        assert_eq!(e.field, "event_hooks[0].id");
    }

    #[test]
    fn sqs_resource_auth_with_region_from_url() {
        let t = target(&sqs_hook());
        let HookTarget::Sqs {
            queue_url,
            region,
            auth,
        } = t
        else {
            panic!("not sqs: {t:?}");
        };
        assert_eq!(queue_url.as_str(), QUEUE);
        assert_eq!(region, "us-east-1");
        assert_eq!(auth, AwsAuth::Resource);
    }

    #[test]
    fn sqs_docs_example_with_keys() {
        // the SDK docs example (seed 001)
        let hook: EventHook = serde_json::from_value(serde_json::json!({
            "enabled": true, "hook_type": "sqs", "sqs_queue_url": QUEUE,
            "sqs_region": "us-east-1", "sqs_auth_type": "keys",
            "sqs_key": "yourkey", "sqs_secret": "yoursecret", "event_types": []
        }))
        .expect("deserialize");
        let HookTarget::Sqs { auth, region, .. } = target(&hook) else {
            panic!("not sqs");
        };
        assert_eq!(region, "us-east-1");
        assert_eq!(
            auth,
            AwsAuth::Keys {
                key: "yourkey".into(),
                secret: "yoursecret".into()
            }
        );
    }

    #[test]
    fn sqs_url_rules() {
        let e = err(&EventHook {
            sqs_queue_url: None,
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_queue_url");
        assert!(e.message.contains("required"));
        let bad = "https://foobar.com/123456789012/MyQueue";
        let e = err(&EventHook {
            sqs_queue_url: s(bad),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_queue_url");
        assert!(e.message.contains(&format!("invalid SQS url {bad}")), "{e}");
        assert!(e.message.contains("not an Amazon SQS endpoint"), "{e}");
    }

    #[test]
    fn sqs_emulator_url_needs_override_and_region() {
        let emu = "http://127.0.0.1:4566/000000000000/q";
        let hook = EventHook {
            sqs_queue_url: s(emu),
            ..sqs_hook()
        };
        // not accepted without the override
        assert!(err(&hook).message.contains("invalid SQS url"));
        let ctx = ValidateContext {
            endpoint_override: Some("http://127.0.0.1:4566"),
            ..CTX
        };
        let e = validate_hook(0, &hook, &ctx).expect_err("no region");
        assert_eq!(e.field, "event_hooks[0].sqs_region");
        assert!(
            e.message.contains("region missing and not derivable"),
            "{e}"
        );
        // the default region fills in
        let ctx = ValidateContext {
            default_region: Some("eu-central-1"),
            ..ctx
        };
        let Ok(ValidHook {
            target: HookTarget::Sqs { region, .. },
            ..
        }) = validate_hook(0, &hook, &ctx)
        else {
            panic!("should be valid");
        };
        assert_eq!(region, "eu-central-1");
        // the hook's own region wins over the default
        let with_region = EventHook {
            sqs_region: s("us-west-2"),
            ..hook.clone()
        };
        let Ok(ValidHook {
            target: HookTarget::Sqs { region, .. },
            ..
        }) = validate_hook(0, &with_region, &ctx)
        else {
            panic!("should be valid");
        };
        assert_eq!(region, "us-west-2");
        // an invalid default region is reported, not used
        let bad_ctx = ValidateContext {
            default_region: Some("Frankfurt"),
            ..ctx
        };
        let e = validate_hook(0, &hook, &bad_ctx).expect_err("bad default");
        assert!(e.message.contains("default region"), "{e}");
    }

    #[test]
    fn region_mismatch_is_refused() {
        let e = err(&EventHook {
            sqs_region: s("eu-west-1"),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_region");
        assert!(
            e.message.contains("eu-west-1") && e.message.contains("us-east-1"),
            "{e}"
        );
        let e = err(&EventHook {
            sns_region: s("us-west-2"),
            ..sns_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sns_region");
        assert!(
            e.message.contains("us-west-2") && e.message.contains("us-east-1"),
            "{e}"
        );
        let e = err(&EventHook {
            kinesis_region: s("us-east-1"),
            ..kinesis_hook()
        });
        assert_eq!(e.field, "event_hooks[0].kinesis_region");
        // a matching region is fine
        let HookTarget::Sns { region, .. } = target(&EventHook {
            sns_region: s("us-east-1"),
            ..sns_hook()
        }) else {
            panic!("not sns");
        };
        assert_eq!(region, "us-east-1");
        // a malformed region is named as such
        let e = err(&EventHook {
            sqs_region: s("US East"),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_region");
        assert!(e.message.contains("invalid AWS region US East"), "{e}");
    }

    #[test]
    fn auth_defaults() {
        // key + secret, no auth type: keys
        let HookTarget::Sqs { auth, .. } = target(&EventHook {
            sqs_key: s("k"),
            sqs_secret: s("s"),
            ..sqs_hook()
        }) else {
            panic!("not sqs");
        };
        assert_eq!(
            auth,
            AwsAuth::Keys {
                key: "k".into(),
                secret: "s".into()
            }
        );
        // nothing: resource
        let HookTarget::Sns { auth, .. } = target(&sns_hook()) else {
            panic!("not sns");
        };
        assert_eq!(auth, AwsAuth::Resource);
        // empty strings count as nothing
        let HookTarget::Sns { auth, .. } = target(&EventHook {
            sns_key: s(""),
            sns_secret: s(""),
            sns_auth_type: s(""),
            ..sns_hook()
        }) else {
            panic!("not sns");
        };
        assert_eq!(auth, AwsAuth::Resource);
        // only a role arn: role
        let HookTarget::Kinesis { auth, .. } = target(&EventHook {
            kinesis_role_arn: s(ROLE),
            ..kinesis_hook()
        }) else {
            panic!("not kinesis");
        };
        assert!(matches!(auth, AwsAuth::Role { role_arn } if role_arn.as_str() == ROLE));
        // half a key pair without an auth type is an error, not silently dropped
        let e = err(&EventHook {
            sqs_key: s("k"),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_secret");
        assert!(
            e.message.contains("when sqs_key or sqs_secret is given"),
            "{e}"
        );
    }

    #[test]
    fn keys_auth_needs_key_and_secret() {
        let e = err(&EventHook {
            sqs_auth_type: s("keys"),
            sqs_secret: s("s"),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_key");
        assert!(e.message.contains("sqs_key is required"), "{e}");
        let e = err(&EventHook {
            sns_auth_type: s("keys"),
            sns_key: s("k"),
            sns_secret: s(""),
            ..sns_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sns_secret");
        assert!(e.message.contains("sns_secret is required"), "{e}");
        // "key" is read as "keys"
        let HookTarget::Sqs { auth, .. } = target(&EventHook {
            sqs_auth_type: s("key"),
            sqs_key: s("k"),
            sqs_secret: s("s"),
            ..sqs_hook()
        }) else {
            panic!("not sqs");
        };
        assert!(matches!(auth, AwsAuth::Keys { .. }));
    }

    #[test]
    fn auth_debug_hides_the_secret() {
        let auth = AwsAuth::Keys {
            key: "AKIAEXAMPLE".into(),
            secret: "wJalrXUtnFEMI".into(),
        };
        let text = format!("{auth:?}");
        assert!(text.contains("AKIAEXAMPLE"));
        assert!(!text.contains("wJalrXUtnFEMI"));
        assert_eq!(format!("{:?}", AwsAuth::Resource), "Resource");
    }

    #[test]
    fn resource_auth_ignores_keys() {
        let HookTarget::Sqs { auth, .. } = target(&EventHook {
            sqs_auth_type: s("resource"),
            sqs_key: s("k"),
            ..sqs_hook()
        }) else {
            panic!("not sqs");
        };
        assert_eq!(auth, AwsAuth::Resource);
    }

    #[test]
    fn role_auth_needs_a_valid_role_arn() {
        let e = err(&EventHook {
            sqs_auth_type: s("role"),
            ..sqs_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sqs_role_arn");
        assert!(e.message.contains("required"), "{e}");
        let e = err(&EventHook {
            sns_auth_type: s("role"),
            sns_role_arn: s("arn:aws:iam::123456789012:user/bob"),
            ..sns_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sns_role_arn");
        assert!(e.message.contains("invalid IAM role arn"), "{e}");
        let HookTarget::Sns { auth, .. } = target(&EventHook {
            sns_auth_type: s("role"),
            sns_role_arn: s(ROLE),
            ..sns_hook()
        }) else {
            panic!("not sns");
        };
        assert!(matches!(auth, AwsAuth::Role { role_arn } if role_arn.name() == "StreamHooks"));
    }

    #[test]
    fn unknown_auth_type_is_refused() {
        let e = err(&EventHook {
            kinesis_auth_type: s("password"),
            ..kinesis_hook()
        });
        assert_eq!(e.field, "event_hooks[0].kinesis_auth_type");
        assert!(e.message.contains("\"password\""));
        assert!(e.message.contains("keys, resource, role"));
    }

    #[test]
    fn sns_arn_rules() {
        let e = err(&EventHook {
            sns_topic_arn: None,
            ..sns_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sns_topic_arn");
        assert!(e.message.contains("required"));
        let e = err(&EventHook {
            sns_topic_arn: s("arn:aws:sqs:us-east-1:123456789012:q"),
            ..sns_hook()
        });
        assert_eq!(e.field, "event_hooks[0].sns_topic_arn");
        assert!(e
            .message
            .contains("invalid SNS topic arn arn:aws:sqs:us-east-1:123456789012:q"));
    }

    #[test]
    fn kinesis_rules() {
        let HookTarget::Kinesis {
            stream_arn,
            region,
            auth,
            data_types,
            payload,
        } = target(&kinesis_hook())
        else {
            panic!("not kinesis");
        };
        assert_eq!(stream_arn.name(), "chime-messaging-x");
        assert_eq!(region, "eu-west-1");
        assert_eq!(auth, AwsAuth::Resource);
        assert_eq!(data_types, ChimeDataType::ALL);
        assert_eq!(payload, KinesisPayload::Chime);

        let HookTarget::Kinesis { payload, .. } = target(&EventHook {
            kinesis_payload: s("stream"),
            ..kinesis_hook()
        }) else {
            panic!("not kinesis");
        };
        assert_eq!(payload, KinesisPayload::Stream);
        let e = err(&EventHook {
            kinesis_payload: s("xml"),
            ..kinesis_hook()
        });
        assert_eq!(e.field, "event_hooks[0].kinesis_payload");
        assert!(e.message.contains("chime, stream"), "{e}");

        let HookTarget::Kinesis { data_types, .. } = target(&EventHook {
            kinesis_data_types: vec!["Channel".into(), "Channel".into()],
            ..kinesis_hook()
        }) else {
            panic!("not kinesis");
        };
        assert_eq!(data_types, [ChimeDataType::Channel]);

        let e = err(&EventHook {
            kinesis_data_types: vec!["ChannelMessage".into(), "Membership".into()],
            ..kinesis_hook()
        });
        assert_eq!(e.field, "event_hooks[0].kinesis_data_types");
        assert!(e.message.contains("\"Membership\""), "{e}");

        let e = err(&EventHook {
            kinesis_stream_arn: None,
            ..kinesis_hook()
        });
        assert_eq!(e.field, "event_hooks[0].kinesis_stream_arn");
        let e = err(&EventHook {
            kinesis_stream_arn: s("arn:aws:kinesis:eu-west-1:123456789012:chime"),
            ..kinesis_hook()
        });
        assert!(e.message.contains("invalid Kinesis stream arn"), "{e}");
    }

    #[test]
    fn pending_message_is_accepted() {
        let t = target(&pending(
            "CALLBACK_MODE_REST",
            Some("https://app.example.com/pm"),
        ));
        assert_eq!(
            t,
            HookTarget::PendingMessage {
                url: Some("https://app.example.com/pm".into()),
                timeout_ms: 5000,
                callback_mode: "CALLBACK_MODE_REST".into()
            }
        );
        let t = target(&pending("CALLBACK_MODE_NONE", None));
        assert_eq!(
            t,
            HookTarget::PendingMessage {
                url: None,
                timeout_ms: 5000,
                callback_mode: "CALLBACK_MODE_NONE".into()
            }
        );
        assert!(matches!(
            target(&pending("CALLBACK_MODE_TWIRP", Some("http://h:1"))),
            HookTarget::PendingMessage { .. }
        ));
    }

    #[test]
    fn pending_message_rules() {
        let e = err(&pending("CALLBACK_MODE_REST", None));
        assert_eq!(e.field, "event_hooks[0].webhook_url");
        assert!(e.message.contains("required"));
        let e = err(&pending("CALLBACK_MODE_TWIRP", Some("ftp://x")));
        assert_eq!(e.field, "event_hooks[0].webhook_url");

        for (timeout, word) in [
            (None, "required"),
            (Some(0), "greater than 0"),
            (Some(-5), "greater than 0"),
            (Some(1_i64 << 40), "at most"),
        ] {
            let e = err(&EventHook {
                timeout_ms: timeout,
                ..pending("CALLBACK_MODE_NONE", None)
            });
            assert_eq!(e.field, "event_hooks[0].timeout_ms");
            assert!(e.message.contains(word), "{e}");
        }

        let e = err(&EventHook {
            callback: None,
            ..pending("CALLBACK_MODE_NONE", None)
        });
        assert_eq!(e.field, "event_hooks[0].callback.mode");
        assert!(e.message.contains("required"));
        let e = err(&pending("", None));
        assert_eq!(e.field, "event_hooks[0].callback.mode");
        let e = err(&pending("REST", Some("https://e.com")));
        assert_eq!(e.field, "event_hooks[0].callback.mode");
        assert!(e.message.contains("\"REST\""));
        assert!(e
            .message
            .contains("CALLBACK_MODE_NONE, CALLBACK_MODE_REST, CALLBACK_MODE_TWIRP"));
    }

    #[test]
    fn hook_error_display() {
        let e = err(&webhook("ftp://x"));
        assert_eq!(
            e.to_string(),
            format!("event_hooks[0].webhook_url: {}", e.message)
        );
    }

    #[test]
    fn validate_hooks_accepts_the_python_test_set() {
        // 2 webhooks + 1 pending_message, no `enabled` (the Python SDK test)
        let hooks = vec![
            webhook("https://example.com/a"),
            webhook("https://example.com/b"),
            pending("CALLBACK_MODE_REST", Some("https://example.com/pm")),
        ];
        let valid = validate_hooks(&hooks, &CTX).expect("valid");
        assert_eq!(valid.len(), 3);
        assert!(validate_hooks(&[], &CTX).expect("empty").is_empty());
    }

    #[test]
    fn validate_hooks_names_the_index() {
        let hooks = vec![
            webhook("https://e.com"),
            EventHook {
                sqs_queue_url: s("https://foobar.com/123456789012/MyQueue"),
                ..sqs_hook()
            },
        ];
        let e = validate_hooks(&hooks, &CTX).expect_err("second is bad");
        assert_eq!(e.field, "event_hooks[1].sqs_queue_url");
        assert!(e
            .to_string()
            .starts_with("event_hooks[1].sqs_queue_url: invalid SQS url "));
    }

    #[test]
    fn at_most_two_pending_message_hooks() {
        let two = vec![
            pending("CALLBACK_MODE_NONE", None),
            pending("CALLBACK_MODE_NONE", None),
        ];
        assert_eq!(validate_hooks(&two, &CTX).map(|v| v.len()), Ok(2));
        let mut three = two;
        three.insert(1, webhook("https://e.com"));
        three.push(pending("CALLBACK_MODE_NONE", None));
        let e = validate_hooks(&three, &CTX).expect_err("three");
        assert_eq!(e.field, "event_hooks[3].hook_type");
        assert!(e.message.contains("at most 2 pending_message"));
    }

    #[test]
    fn at_most_one_hundred_hooks() {
        let hooks = vec![webhook("https://e.com"); 100];
        assert_eq!(validate_hooks(&hooks, &CTX).map(|v| v.len()), Ok(100));
        let hooks = vec![webhook("https://e.com"); 101];
        let e = validate_hooks(&hooks, &CTX).expect_err("too many");
        assert_eq!(e.field, "event_hooks");
        assert!(e.message.contains("at most 100"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let with_id = |id: &str| EventHook {
            id: id.into(),
            ..webhook("https://e.com")
        };
        // empty ids are not duplicates
        let hooks = vec![with_id(""), with_id(""), with_id("a"), with_id("b")];
        assert!(validate_hooks(&hooks, &CTX).is_ok());
        let hooks = vec![with_id("a"), with_id("b"), with_id("a")];
        let e = validate_hooks(&hooks, &CTX).expect_err("dup");
        assert_eq!(e.field, "event_hooks[2].id");
        assert!(
            e.message.contains("\"a\"") && e.message.contains("event_hooks[0]"),
            "{e}"
        );
    }

    #[test]
    fn delete_markers_need_only_an_id() {
        let marker = |id: &str| EventHook {
            id: id.into(),
            delete: true,
            ..EventHook::default()
        };
        let hooks = vec![marker("old"), webhook("https://e.com")];
        let valid = validate_hooks(&hooks, &CTX).expect("valid");
        assert_eq!(valid.len(), 1);
        let e = validate_hooks(&[marker("")], &CTX).expect_err("no id");
        assert_eq!(e.field, "event_hooks[0].id");
        // deleting and updating the same id at once is contradictory
        let hooks = vec![
            marker("x"),
            EventHook {
                id: "x".into(),
                ..webhook("https://e.com")
            },
        ];
        assert_eq!(
            validate_hooks(&hooks, &CTX).map_err(|e| e.field),
            Err("event_hooks[1].id".to_owned())
        );
        // markers do not count towards the limit
        let mut many = vec![webhook("https://e.com"); 100];
        many.push(marker("gone"));
        assert!(validate_hooks(&many, &CTX).is_ok());
    }
}
