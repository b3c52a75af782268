//! Which hooks an event goes to: every enabled, delivering hook whose `event_types` contain the
//! event's type (empty means all); Kinesis hooks only take events with an Amazon Chime
//! counterpart in their data types. Test events (`hookrelay.test`) go to every enabled hook.

use std::str::FromStr;

use super::event::TEST_EVENT_TYPE;
use crate::domain::{HookId, HookType};
use crate::hooks::{chime_event_type, ChimeDataType, EventHook};

/// The part of a hook that routing needs (no target, no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFilter {
    pub hook_id: HookId,
    pub hook_type: HookType,
    pub event_types: Vec<String>,
    /// Kinesis only: the data types streamed (both when the hook names none).
    pub kinesis_data_types: Vec<ChimeDataType>,
}

impl HookFilter {
    /// The filter of a stored hook; `None` when the hook receives nothing (disabled, or a
    /// `pending_message` hook, which is not an event destination).
    pub fn of(hook: &EventHook) -> Option<Self> {
        let hook_type = hook.hook_type.parse::<HookType>().ok()?;
        if !hook.enabled || !hook_type.delivers() {
            return None;
        }
        let mut kinesis_data_types: Vec<ChimeDataType> = hook
            .kinesis_data_types
            .iter()
            .filter_map(|t| ChimeDataType::from_str(t).ok())
            .collect();
        if kinesis_data_types.is_empty() {
            kinesis_data_types = ChimeDataType::ALL.to_vec();
        }
        Some(Self {
            hook_id: HookId::from(hook.id.clone()),
            hook_type,
            event_types: hook.event_types.clone(),
            kinesis_data_types,
        })
    }

    /// Whether an event of `event_type` goes to this hook.
    pub fn matches(&self, event_type: &str) -> bool {
        if event_type == TEST_EVENT_TYPE {
            return true;
        }
        if !self.event_types.is_empty() && !self.event_types.iter().any(|t| t == event_type) {
            return false;
        }
        if self.hook_type == HookType::Kinesis {
            return chime_event_type(event_type)
                .is_some_and(|(_, data_type)| self.kinesis_data_types.contains(&data_type));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(hook_type: &str, enabled: bool, types: &[&str], kinesis: &[&str]) -> EventHook {
        EventHook {
            id: "h".into(),
            hook_type: hook_type.into(),
            enabled,
            event_types: types.iter().map(|s| s.to_string()).collect(),
            kinesis_data_types: kinesis.iter().map(|s| s.to_string()).collect(),
            ..EventHook::default()
        }
    }

    #[test]
    fn empty_types_mean_all_and_lists_filter() {
        let all = HookFilter::of(&hook("webhook", true, &[], &[])).unwrap();
        assert!(all.matches("message.new") && all.matches("custom.thing"));
        let some = HookFilter::of(&hook("sqs", true, &["message.new"], &[])).unwrap();
        assert!(some.matches("message.new"));
        assert!(!some.matches("channel.created"));
        assert!(some.matches(TEST_EVENT_TYPE));
    }

    #[test]
    fn disabled_and_pending_message_hooks_receive_nothing() {
        assert!(HookFilter::of(&hook("webhook", false, &[], &[])).is_none());
        assert!(HookFilter::of(&hook("pending_message", true, &[], &[])).is_none());
    }

    #[test]
    fn kinesis_takes_chime_events_of_its_data_types() {
        let messages = HookFilter::of(&hook("kinesis", true, &[], &["ChannelMessage"])).unwrap();
        assert!(messages.matches("message.new"));
        assert!(messages.matches("message.deleted"));
        assert!(!messages.matches("channel.created"));
        assert!(!messages.matches("reaction.new"));
        let both = HookFilter::of(&hook("kinesis", true, &[], &[])).unwrap();
        assert!(both.matches("member.added") && both.matches("user.banned"));
        assert!(!both.matches("user.updated"));
        let filtered = HookFilter::of(&hook("kinesis", true, &["channel.created"], &[])).unwrap();
        assert!(filtered.matches("channel.created"));
        assert!(!filtered.matches("message.new"));
    }
}
