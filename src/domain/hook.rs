//! The wire form of an event hook, shared by the REST API (`GET/PATCH /app`) and the dashboard.
//!
//! This module also compiles for the browser bundle, so it only uses `serde`, `serde_json` and
//! `thiserror`. Deserialisation is deliberately lenient — the official SDKs send `null`, `""`,
//! zero dates and keys we do not know — and the real checks happen in `validate` on the server.

use serde::{Deserialize, Deserializer, Serialize};

/// The products a hook may be limited to (`product`); `all` is the default.
pub const PRODUCTS: &[&str] = &["chat", "video", "moderation", "feeds", "all"];

/// The product a hook gets when none is given.
pub const DEFAULT_PRODUCT: &str = "all";

/// The AWS authentication types (`sqs_auth_type`, `sns_auth_type`, `kinesis_auth_type`).
pub const AUTH_TYPES: &[&str] = &["keys", "resource", "role"];

/// The callback modes of a `pending_message` hook (`callback.mode`).
pub const CALLBACK_MODES: &[&str] = &[
    "CALLBACK_MODE_NONE",
    "CALLBACK_MODE_REST",
    "CALLBACK_MODE_TWIRP",
];

/// The prefix that marks a masked secret (see [`mask_secret`]).
pub const MASK_PREFIX: &str = "****";

/// One entry of the `event_hooks` array.
///
/// Unknown keys are ignored, `null` is read like an absent key, and an empty string in an
/// optional text field is read as `None` (and never written out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct EventHook {
    /// The hook's id; empty on create (the server then generates one).
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// `webhook`, `sqs`, `sns`, `kinesis` or `pending_message` (see [`HookType`](super::HookType)). Kept as
    /// text so that an unknown value is reported by validation instead of failing to parse.
    #[serde(deserialize_with = "null_as_default")]
    pub hook_type: String,
    /// Whether the hook receives events; `true` when absent or `null`.
    #[serde(deserialize_with = "null_as_true")]
    pub enabled: bool,
    /// The event types the hook receives; empty means all current and future events.
    #[serde(deserialize_with = "null_as_default")]
    pub event_types: Vec<String>,
    /// `chat`, `video`, `moderation`, `feeds` or `all` (see [`PRODUCTS`]); `all` when absent.
    #[serde(deserialize_with = "null_as_all")]
    pub product: String,

    /// Target of `webhook` hooks, and the callback base URL of `pending_message` hooks.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub webhook_url: Option<String>,

    /// The SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_queue_url: Option<String>,
    /// The queue's region; derived from the URL when absent.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_region: Option<String>,
    /// `keys`, `resource` or `role`.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_auth_type: Option<String>,
    /// AWS access key id (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_key: Option<String>,
    /// AWS secret access key (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_secret: Option<String>,
    /// IAM role to assume (auth type `role`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sqs_role_arn: Option<String>,

    /// The SNS topic ARN (`arn:aws:sns:REGION:ACCOUNT:TOPIC`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_topic_arn: Option<String>,
    /// The topic's region; derived from the ARN when absent.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_region: Option<String>,
    /// `keys`, `resource` or `role`.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_auth_type: Option<String>,
    /// AWS access key id (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_key: Option<String>,
    /// AWS secret access key (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_secret: Option<String>,
    /// IAM role to assume (auth type `role`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub sns_role_arn: Option<String>,

    /// The Kinesis stream ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_stream_arn: Option<String>,
    /// The stream's region; derived from the ARN when absent.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_region: Option<String>,
    /// `keys`, `resource` or `role`.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_auth_type: Option<String>,
    /// AWS access key id (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_key: Option<String>,
    /// AWS secret access key (auth type `keys`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_secret: Option<String>,
    /// IAM role to assume (auth type `role`).
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_role_arn: Option<String>,
    /// Amazon Chime data types to stream (`ChannelMessage`, `Channel`); empty means both.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kinesis_data_types: Vec<String>,
    /// What a Kinesis record's `Payload` holds: `chime` (the default) for Amazon Chime's
    /// message and channel shapes, or `stream` for the Stream event as received.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub kinesis_payload: Option<String>,

    /// `pending_message` only: how long a message stays pending, in milliseconds.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_ms: Option<i64>,
    /// `pending_message` only: how the application is called back.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback: Option<Callback>,

    /// When the hook was created (RFC 3339). Output only: read leniently (any non-text value,
    /// such as the numbers of the v2 API, becomes `None`) and never trusted on input.
    #[serde(
        deserialize_with = "lenient_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<String>,
    /// When the hook was last changed (RFC 3339). Output only, like `created_at`.
    #[serde(
        deserialize_with = "lenient_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<String>,

    /// Write-only marker of `explicit_event_hooks_deletion`: delete the hook with this `id`.
    /// Never serialised.
    #[serde(deserialize_with = "null_as_default", skip_serializing)]
    pub delete: bool,
}

impl Default for EventHook {
    fn default() -> Self {
        Self {
            id: String::new(),
            hook_type: String::new(),
            enabled: true,
            event_types: Vec::new(),
            product: DEFAULT_PRODUCT.to_owned(),
            webhook_url: None,
            sqs_queue_url: None,
            sqs_region: None,
            sqs_auth_type: None,
            sqs_key: None,
            sqs_secret: None,
            sqs_role_arn: None,
            sns_topic_arn: None,
            sns_region: None,
            sns_auth_type: None,
            sns_key: None,
            sns_secret: None,
            sns_role_arn: None,
            kinesis_stream_arn: None,
            kinesis_region: None,
            kinesis_auth_type: None,
            kinesis_key: None,
            kinesis_secret: None,
            kinesis_role_arn: None,
            kinesis_data_types: Vec::new(),
            kinesis_payload: None,
            timeout_ms: None,
            callback: None,
            created_at: None,
            updated_at: None,
            delete: false,
        }
    }
}

/// The callback of a `pending_message` hook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Callback {
    /// One of [`CALLBACK_MODES`].
    #[serde(deserialize_with = "null_as_default")]
    pub mode: String,
    /// Optional server URL of the callback.
    #[serde(deserialize_with = "empty_as_none", skip_serializing_if = "is_blank")]
    pub server_url: Option<String>,
}

/// A rejected hook: which field is wrong and why. Displays as `field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct HookError {
    /// The JSON path of the field, e.g. `event_hooks[1].sqs_queue_url`.
    pub field: String,
    /// What is wrong, in plain English.
    pub message: String,
}

impl HookError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The value of an optional text field, with `Some("")` read as `None`.
pub fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// Masks a secret for display: `****` plus its last 4 characters when it is longer than 8
/// characters, else just `****` (a short secret would be given away by its tail).
pub fn mask_secret(s: &str) -> String {
    let len = s.chars().count();
    if len > 8 {
        let tail: String = s.chars().skip(len - 4).collect();
        format!("{MASK_PREFIX}{tail}")
    } else {
        MASK_PREFIX.to_owned()
    }
}

/// Whether `s` is a masked secret (as produced by [`mask_secret`]) rather than a real one.
pub fn is_masked(s: &str) -> bool {
    s.starts_with(MASK_PREFIX)
}

/// `skip_serializing_if` for optional text: leaves out `None` and `Some("")`.
fn is_blank(value: &Option<String>) -> bool {
    non_empty(value).is_none()
}

/// Reads `null` like an absent key (the type's default).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads `null` as `true` (the default of `enabled`).
fn null_as_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// Reads `null` as [`DEFAULT_PRODUCT`].
fn null_as_all<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| DEFAULT_PRODUCT.to_owned()))
}

/// Reads `null` and `""` as `None`.
fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// Reads a string as `Some`, and anything else (null, numbers, objects) as `None`.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> EventHook {
        serde_json::from_value(value).expect("hook should deserialize")
    }

    #[test]
    fn empty_object_gives_defaults() {
        let hook = parse(json!({}));
        assert_eq!(hook, EventHook::default());
        assert!(hook.enabled);
        assert_eq!(hook.product, "all");
        assert!(hook.event_types.is_empty());
        assert!(!hook.delete);
    }

    #[test]
    fn enabled_defaults_to_true_and_keeps_false() {
        assert!(parse(json!({"hook_type": "webhook"})).enabled);
        assert!(parse(json!({"enabled": null})).enabled);
        assert!(!parse(json!({"enabled": false})).enabled);
    }

    #[test]
    fn null_event_types_read_as_empty() {
        let hook = parse(json!({"hook_type": "sqs", "event_types": null}));
        assert!(hook.event_types.is_empty());
        let hook = parse(json!({"event_types": ["message.new", "user.banned"]}));
        assert_eq!(hook.event_types, ["message.new", "user.banned"]);
    }

    #[test]
    fn nulls_read_as_absent() {
        let hook = parse(json!({
            "id": null, "hook_type": null, "product": null, "kinesis_data_types": null,
            "timeout_ms": null, "callback": null, "delete": null, "sqs_key": null
        }));
        assert_eq!(hook, EventHook::default());
    }

    #[test]
    fn empty_strings_read_as_none() {
        let hook = parse(json!({
            "id": "", "hook_type": "sqs", "webhook_url": "", "sqs_queue_url": "",
            "sqs_region": "", "sqs_key": "", "sns_topic_arn": "", "kinesis_role_arn": ""
        }));
        assert_eq!(hook.webhook_url, None);
        assert_eq!(hook.sqs_queue_url, None);
        assert_eq!(hook.sqs_region, None);
        assert_eq!(hook.sqs_key, None);
        assert_eq!(hook.sns_topic_arn, None);
        assert_eq!(hook.kinesis_role_arn, None);
    }

    #[test]
    fn unknown_keys_and_go_zero_dates_are_accepted() {
        // What the Go SDK sends for a new SQS hook: every key, zero values, zero time.
        let hook = parse(json!({
            "id": "", "hook_type": "sqs", "enabled": true, "event_types": null,
            "webhook_url": "", "sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue",
            "sqs_region": "us-east-1", "sqs_auth_type": "keys", "sqs_key": "yourkey",
            "sqs_secret": "yoursecret", "sqs_role_arn": "", "sns_topic_arn": "",
            "sns_event_based_message_group_id_enabled": false, "should_send_custom_events": true,
            "failover_config": {"type": "gcs"}, "product": "",
            "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z"
        }));
        assert_eq!(hook.hook_type, "sqs");
        assert_eq!(hook.product, "");
        assert_eq!(hook.sqs_key.as_deref(), Some("yourkey"));
        assert_eq!(hook.created_at.as_deref(), Some("0001-01-01T00:00:00Z"));
    }

    #[test]
    fn numeric_dates_are_ignored_not_rejected() {
        let hook = parse(json!({"created_at": 1_700_000_000_000_i64, "updated_at": {"x": 1}}));
        assert_eq!(hook.created_at, None);
        assert_eq!(hook.updated_at, None);
    }

    #[test]
    fn wrong_types_in_known_fields_are_rejected() {
        assert!(serde_json::from_value::<EventHook>(json!({"enabled": "yes"})).is_err());
        assert!(
            serde_json::from_value::<EventHook>(json!({"event_types": "message.new"})).is_err()
        );
    }

    #[test]
    fn delete_is_read_but_never_written() {
        let hook = parse(json!({"id": "abc", "delete": true}));
        assert!(hook.delete);
        let out = serde_json::to_value(&hook).expect("serialize");
        assert!(out.get("delete").is_none());
    }

    #[test]
    fn none_and_empty_options_are_left_out() {
        let hook = EventHook {
            hook_type: "webhook".into(),
            webhook_url: Some("https://example.com/hook".into()),
            sqs_key: Some(String::new()),
            ..EventHook::default()
        };
        let out = serde_json::to_value(&hook).expect("serialize");
        assert_eq!(
            out,
            json!({
                "id": "", "hook_type": "webhook", "enabled": true, "event_types": [],
                "product": "all", "webhook_url": "https://example.com/hook"
            })
        );
    }

    #[test]
    fn full_hook_round_trips() {
        let hook = EventHook {
            id: "7d2c".into(),
            hook_type: "pending_message".into(),
            enabled: false,
            event_types: vec!["message.new".into()],
            product: "chat".into(),
            webhook_url: Some("https://example.com".into()),
            sqs_queue_url: Some("https://sqs.us-east-1.amazonaws.com/123456789012/q".into()),
            sqs_region: Some("us-east-1".into()),
            sqs_auth_type: Some("keys".into()),
            sqs_key: Some("AKIA".into()),
            sqs_secret: Some("s3cr3t".into()),
            sqs_role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            sns_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()),
            sns_region: Some("us-east-1".into()),
            sns_auth_type: Some("resource".into()),
            sns_key: Some("k".into()),
            sns_secret: Some("s".into()),
            sns_role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            kinesis_stream_arn: Some("arn:aws:kinesis:us-east-1:123456789012:stream/s".into()),
            kinesis_region: Some("us-east-1".into()),
            kinesis_auth_type: Some("role".into()),
            kinesis_key: Some("k".into()),
            kinesis_secret: Some("s".into()),
            kinesis_role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            kinesis_data_types: vec!["Channel".into()],
            kinesis_payload: Some("stream".into()),
            timeout_ms: Some(5000),
            callback: Some(Callback {
                mode: "CALLBACK_MODE_REST".into(),
                server_url: Some("https://cb.example.com".into()),
            }),
            created_at: Some("2024-01-02T03:04:05Z".into()),
            updated_at: Some("2024-01-02T03:04:06Z".into()),
            delete: false,
        };
        let text = serde_json::to_string(&hook).expect("serialize");
        let back: EventHook = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, hook);
    }

    #[test]
    fn callback_reads_leniently() {
        let hook = parse(json!({"callback": {"mode": "CALLBACK_MODE_NONE", "server_url": ""}}));
        assert_eq!(
            hook.callback,
            Some(Callback {
                mode: "CALLBACK_MODE_NONE".into(),
                server_url: None
            })
        );
        let hook = parse(json!({"callback": {}}));
        assert_eq!(hook.callback, Some(Callback::default()));
    }

    #[test]
    fn non_empty_treats_empty_as_none() {
        assert_eq!(non_empty(&None), None);
        assert_eq!(non_empty(&Some(String::new())), None);
        assert_eq!(non_empty(&Some("x".into())), Some("x"));
    }

    #[test]
    fn mask_keeps_last_four_of_long_secrets() {
        assert_eq!(mask_secret("abcdefghij"), "****ghij");
        assert_eq!(mask_secret("123456789"), "****6789");
        assert_eq!(mask_secret("12345678"), "****");
        assert_eq!(mask_secret("abc"), "****");
        assert_eq!(mask_secret(""), "****");
        // counts characters, not bytes, and never splits one
        assert_eq!(mask_secret("ééééééééé"), "****éééé");
        assert_eq!(mask_secret("éééé"), "****");
    }

    #[test]
    fn masked_values_are_recognised() {
        assert!(is_masked(&mask_secret("wJalrXUtnFEMI/K7MDENG")));
        assert!(is_masked(&mask_secret("short")));
        assert!(!is_masked("wJalrXUtnFEMI/K7MDENG"));
        assert!(!is_masked("***x"));
        assert!(!is_masked(""));
    }

    #[test]
    fn hook_error_displays_field_and_message() {
        let err = HookError::new("event_hooks[1].sqs_queue_url", "is required");
        assert_eq!(err.to_string(), "event_hooks[1].sqs_queue_url: is required");
    }
}
