//! Hook types, the states of a delivery and the outcome of sending one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::DeliveryId;
use super::time::Millis;

/// What kind of target a hook has (`hook_type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HookType {
    Webhook,
    Sqs,
    Sns,
    Kinesis,
    /// Stream's pending-message callback: configured like a hook, never sent events.
    PendingMessage,
}

impl HookType {
    /// Every hook type, in the order the API documents them.
    pub const ALL: [HookType; 5] = [
        HookType::Webhook,
        HookType::Sqs,
        HookType::Sns,
        HookType::Kinesis,
        HookType::PendingMessage,
    ];

    /// The hook types that receive events.
    pub const DELIVERING: [HookType; 4] = [
        HookType::Webhook,
        HookType::Sqs,
        HookType::Sns,
        HookType::Kinesis,
    ];

    /// The wire name (`webhook`, `sqs`, `sns`, `kinesis`, `pending_message`).
    pub const fn as_str(self) -> &'static str {
        match self {
            HookType::Webhook => "webhook",
            HookType::Sqs => "sqs",
            HookType::Sns => "sns",
            HookType::Kinesis => "kinesis",
            HookType::PendingMessage => "pending_message",
        }
    }

    /// The name people read (`Amazon SQS`).
    pub const fn label(self) -> &'static str {
        match self {
            HookType::Webhook => "Webhook",
            HookType::Sqs => "Amazon SQS",
            HookType::Sns => "Amazon SNS",
            HookType::Kinesis => "Amazon Kinesis",
            HookType::PendingMessage => "Pending message",
        }
    }

    /// Whether hooks of this type are sent events.
    pub const fn delivers(self) -> bool {
        !matches!(self, HookType::PendingMessage)
    }

    /// Whether hooks of this type sign in to AWS (keys, resource policy or role).
    pub const fn is_aws(self) -> bool {
        matches!(self, HookType::Sqs | HookType::Sns | HookType::Kinesis)
    }

    /// A small index (0–4) for per-type counters, in the order of [`HookType::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for HookType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `hook_type` that is none of [`HookType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hook_type {0:?}: use webhook, sqs, sns, kinesis or pending_message")]
pub struct UnknownHookType(pub String);

impl FromStr for HookType {
    type Err = UnknownHookType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HookType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownHookType(s.to_string()))
    }
}

/// Where a delivery stands, as the log shows it. The store keeps `pending`, `delivered`,
/// `failed` and `dropped`; `retrying` is a pending delivery that has been attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// Attempted, failed for a reason worth retrying, due again later.
    Retrying,
    Delivered,
    /// Dead-lettered: a permanent failure or no attempts left.
    Failed,
    /// Not sendable (too big, hook deleted or disabled).
    Dropped,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Dropped,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dropped => "dropped",
        }
    }

    /// The state of a stored row: its stored status and how many attempts it had.
    pub fn of_row(stored: &str, attempts: i64) -> Option<Self> {
        Some(match stored {
            "pending" if attempts > 0 => DeliveryStatus::Retrying,
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            "dropped" => DeliveryStatus::Dropped,
            _ => return None,
        })
    }

    /// Whether nothing more will happen to it (unless it is redelivered).
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Delivered | DeliveryStatus::Failed | DeliveryStatus::Dropped
        )
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status that is none of [`DeliveryStatus::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: use pending, retrying, delivered, failed or dropped")]
pub struct UnknownStatus(pub String);

impl FromStr for DeliveryStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// What one send attempt (or the decision not to attempt) means for a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    /// A transient failure: try again at `next_at`.
    Retry {
        next_at: Millis,
        error: String,
    },
    /// Dead-lettered: permanent failure or no attempts left.
    Failed {
        error: String,
    },
    /// Not sendable (too big, hook gone or disabled).
    Dropped {
        error: String,
    },
    /// Not attempted (the hook's circuit breaker is open, or the hook could not be loaded):
    /// wait until `next_at` without using an attempt.
    Postpone {
        next_at: Millis,
    },
}

impl Finish {
    /// The error it records, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Finish::Retry { error, .. } | Finish::Failed { error } | Finish::Dropped { error } => {
                Some(error)
            }
            Finish::Delivered | Finish::Postpone { .. } => None,
        }
    }
}

/// One delivery's outcome, on its way from the sender to the store (which records `id`,
/// `finish` and `size`) and the metrics (which count by `hook_type` and time from
/// `accepted_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub id: DeliveryId,
    pub hook_type: HookType,
    pub accepted_at: Millis,
    pub finish: Finish,
    /// The size the destination counted, when it refused the message for it.
    pub size: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in HookType::ALL {
            assert_eq!(t.as_str().parse::<HookType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!("ftp".parse::<HookType>().is_err());
        for s in DeliveryStatus::ALL {
            assert_eq!(s.as_str().parse::<DeliveryStatus>(), Ok(s));
        }
        assert!("lost".parse::<DeliveryStatus>().is_err());
    }

    #[test]
    fn retrying_is_a_pending_row_with_attempts() {
        assert_eq!(
            DeliveryStatus::of_row("pending", 0),
            Some(DeliveryStatus::Pending)
        );
        assert_eq!(
            DeliveryStatus::of_row("pending", 2),
            Some(DeliveryStatus::Retrying)
        );
        assert_eq!(
            DeliveryStatus::of_row("failed", 3),
            Some(DeliveryStatus::Failed)
        );
        assert_eq!(DeliveryStatus::of_row("weird", 0), None);
        assert!(!DeliveryStatus::Retrying.is_finished());
        assert!(DeliveryStatus::Dropped.is_finished());
    }

    #[test]
    fn indexes_follow_all() {
        for (i, t) in HookType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        assert!(!HookType::PendingMessage.delivers());
        assert!(HookType::Kinesis.is_aws() && !HookType::Webhook.is_aws());
    }
}
