//! An app's settings outside `event_hooks`: Stream's legacy single-hook fields (apps not
//! migrated to `event_hooks`) and the app's options.

use serde::{Deserialize, Serialize};

use super::hook::mask_secret;

/// Stream's legacy single-hook settings, and app options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacySettings {
    pub webhook_url: String,
    pub webhook_events: Vec<String>,
    pub sqs_url: String,
    pub sns_topic_arn: String,
    pub enable_hook_payload_compression: bool,
    /// Never stored in this JSON: sealed separately.
    #[serde(skip)]
    pub secrets: LegacySecrets,
}

/// The keys and secrets of the legacy settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacySecrets {
    pub sqs_key: String,
    pub sqs_secret: String,
    pub sns_key: String,
    pub sns_secret: String,
}

impl LegacySecrets {
    /// The field named `name` (`sqs_key`, `sqs_secret`, `sns_key`, `sns_secret`).
    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "sqs_key" => Some(&mut self.sqs_key),
            "sqs_secret" => Some(&mut self.sqs_secret),
            "sns_key" => Some(&mut self.sns_key),
            "sns_secret" => Some(&mut self.sns_secret),
            _ => None,
        }
    }

    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The secrets as shown by the API: masked, empty when unset.
    pub fn masked(&self) -> Self {
        let m = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                mask_secret(s)
            }
        };
        Self {
            sqs_key: m(&self.sqs_key),
            sqs_secret: m(&self.sqs_secret),
            sns_key: m(&self.sns_key),
            sns_secret: m(&self.sns_secret),
        }
    }
}
