//! The event types a hook can subscribe to (`GET /hook/events`), and how they map to the
//! Amazon Chime SDK messaging stream format used for Kinesis hooks.
//!
//! Compiles for the browser bundle too: it uses nothing but `serde`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One subscribable event type, as listed by `GET /hook/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventTypeInfo {
    /// The event's `type`, e.g. `message.new`.
    pub name: &'static str,
    /// One plain sentence saying when the event is sent.
    pub description: &'static str,
    /// The products that emit the event.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<String>))]
    pub products: &'static [&'static str],
}

const CHAT: &[&str] = &["chat"];

/// Shorthand for a chat event entry.
const fn chat(name: &'static str, description: &'static str) -> EventTypeInfo {
    EventTypeInfo {
        name,
        description,
        products: CHAT,
    }
}

/// Every event type a hook can subscribe to: the webhook events of the Stream chat API.
pub static EVENT_TYPES: &[EventTypeInfo] = &[
    // messages
    chat("message.new", "A new message was sent in a channel."),
    chat("message.read", "A user marked a channel as read."),
    chat("message.updated", "A message was edited."),
    chat("message.deleted", "A message was deleted."),
    chat("message.flagged", "A message was flagged for moderation."),
    chat("message.unflagged", "A flag was removed from a message."),
    chat(
        "message.pending",
        "A message was held as pending before being sent.",
    ),
    chat("message.undeleted", "A deleted message was restored."),
    // reactions
    chat("reaction.new", "A reaction was added to a message."),
    chat("reaction.updated", "A reaction on a message was replaced."),
    chat("reaction.deleted", "A reaction was removed from a message."),
    // members
    chat("member.added", "A member was added to a channel."),
    chat("member.updated", "A channel member was updated."),
    chat("member.removed", "A member was removed from a channel."),
    // channels
    chat("channel.created", "A channel was created."),
    chat("channel.updated", "A channel was updated."),
    chat("channel.muted", "A user muted a channel."),
    chat("channel.unmuted", "A user unmuted a channel."),
    chat(
        "channel.truncated",
        "A channel's message history was truncated.",
    ),
    chat("channel.deleted", "A channel was deleted."),
    chat("channel.hidden", "A user hid a channel."),
    chat("channel.visible", "A hidden channel was shown again."),
    chat("channel.frozen", "A channel was frozen."),
    chat("channel.unfrozen", "A frozen channel was unfrozen."),
    // users
    chat("user.deactivated", "A user was deactivated."),
    chat("user.deleted", "A user was deleted."),
    chat("user.reactivated", "A deactivated user was reactivated."),
    chat("user.updated", "A user was updated."),
    chat("user.muted", "A user muted another user."),
    chat("user.unmuted", "A user unmuted another user."),
    chat("user.banned", "A user was banned."),
    chat("user.unbanned", "A user's ban was lifted."),
    chat("user.flagged", "A user was flagged for moderation."),
    chat("user.unflagged", "A flag was removed from a user."),
    chat(
        "user.messages.deleted",
        "All messages of a user were deleted.",
    ),
    chat(
        "user.unread_message_reminder",
        "A user has had unread messages for a while.",
    ),
    // threads and notifications
    chat("thread.updated", "A thread was updated."),
    chat(
        "notification.mark_unread",
        "A user marked a message as unread.",
    ),
    chat(
        "notification.thread_message_new",
        "A new reply was posted in a thread the user takes part in.",
    ),
    chat("notification.reminder_due", "A message reminder is due."),
    // reminders
    chat("reminder.created", "A message reminder was created."),
    chat("reminder.updated", "A message reminder was updated."),
    chat("reminder.deleted", "A message reminder was deleted."),
    // exports
    chat("export.users.success", "A user export finished."),
    chat("export.users.error", "A user export failed."),
    chat("export.channels.success", "A channel export finished."),
    chat("export.channels.error", "A channel export failed."),
];

/// Whether `name` is one of [`EVENT_TYPES`].
pub fn is_known_event_type(name: &str) -> bool {
    EVENT_TYPES.iter().any(|e| e.name == name)
}

/// The Amazon Chime SDK messaging data type of a Kinesis record (which stream scope it is in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChimeDataType {
    /// Message events (`CREATE_CHANNEL_MESSAGE`, ...).
    ChannelMessage,
    /// Channel, membership and ban events (`CREATE_CHANNEL`, `CREATE_CHANNEL_BAN`, ...).
    Channel,
}

impl ChimeDataType {
    /// Both data types, in their canonical order.
    pub const ALL: [ChimeDataType; 2] = [ChimeDataType::ChannelMessage, ChimeDataType::Channel];

    /// The wire name (`ChannelMessage` or `Channel`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChimeDataType::ChannelMessage => "ChannelMessage",
            ChimeDataType::Channel => "Channel",
        }
    }
}

impl fmt::Display for ChimeDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`ChimeDataType`] from an unknown name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChimeDataType(pub String);

impl fmt::Display for UnknownChimeDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown Kinesis data type {:?}; allowed: ChannelMessage, Channel",
            self.0
        )
    }
}

impl std::error::Error for UnknownChimeDataType {}

impl FromStr for ChimeDataType {
    type Err = UnknownChimeDataType;

    /// Parses the exact wire names `ChannelMessage` and `Channel`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ChannelMessage" => Ok(ChimeDataType::ChannelMessage),
            "Channel" => Ok(ChimeDataType::Channel),
            other => Err(UnknownChimeDataType(other.to_owned())),
        }
    }
}

/// The Amazon Chime `EventType` and data type a Stream event is streamed as, or `None` when
/// the event has no Chime counterpart (it is then not sent to Kinesis).
pub fn chime_event_type(stream_event: &str) -> Option<(&'static str, ChimeDataType)> {
    use ChimeDataType::{Channel, ChannelMessage};
    let mapped = match stream_event {
        "message.new" => ("CREATE_CHANNEL_MESSAGE", ChannelMessage),
        "message.updated" => ("UPDATE_CHANNEL_MESSAGE", ChannelMessage),
        "message.deleted" => ("DELETE_CHANNEL_MESSAGE", ChannelMessage),
        "channel.created" => ("CREATE_CHANNEL", Channel),
        "channel.updated" => ("UPDATE_CHANNEL", Channel),
        "channel.deleted" => ("DELETE_CHANNEL", Channel),
        "member.added" => ("CREATE_CHANNEL_MEMBERSHIP", Channel),
        "member.removed" => ("DELETE_CHANNEL_MEMBERSHIP", Channel),
        "user.banned" => ("CREATE_CHANNEL_BAN", Channel),
        "user.unbanned" => ("DELETE_CHANNEL_BAN", Channel),
        _ => return None,
    };
    Some(mapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The webhook list of the wire spec (§7), plus the extra events it names.
    const EXPECTED: &[&str] = &[
        "message.new",
        "message.read",
        "message.updated",
        "message.deleted",
        "reaction.new",
        "reaction.deleted",
        "reaction.updated",
        "member.added",
        "member.updated",
        "member.removed",
        "channel.created",
        "channel.updated",
        "channel.muted",
        "channel.unmuted",
        "channel.truncated",
        "channel.deleted",
        "channel.hidden",
        "channel.frozen",
        "channel.unfrozen",
        "channel.visible",
        "user.deactivated",
        "user.deleted",
        "user.reactivated",
        "user.updated",
        "user.muted",
        "user.unmuted",
        "user.banned",
        "user.messages.deleted",
        "user.unbanned",
        "user.flagged",
        "user.unread_message_reminder",
        "export.users.success",
        "export.users.error",
        "export.channels.success",
        "export.channels.error",
        "reminder.created",
        "reminder.updated",
        "reminder.deleted",
        "notification.reminder_due",
        "message.flagged",
        "message.unflagged",
        "user.unflagged",
        "message.pending",
        "message.undeleted",
        "thread.updated",
        "notification.mark_unread",
        "notification.thread_message_new",
    ];

    #[test]
    fn list_is_exactly_the_spec_list() {
        let listed: HashSet<&str> = EVENT_TYPES.iter().map(|e| e.name).collect();
        let expected: HashSet<&str> = EXPECTED.iter().copied().collect();
        assert_eq!(listed.len(), EVENT_TYPES.len(), "duplicate names");
        assert_eq!(expected.len(), EXPECTED.len());
        assert_eq!(listed, expected);
        assert_eq!(EVENT_TYPES.len(), 47);
    }

    #[test]
    fn entries_are_chat_with_one_sentence() {
        for e in EVENT_TYPES {
            assert_eq!(e.products, ["chat"], "{}", e.name);
            assert!(e.description.ends_with('.'), "{}", e.name);
            assert_eq!(e.description.matches(". ").count(), 0, "{}", e.name);
            assert!(e.description.starts_with(char::is_uppercase), "{}", e.name);
        }
    }

    #[test]
    fn known_event_types() {
        assert!(is_known_event_type("message.new"));
        assert!(is_known_event_type("user.messages.deleted"));
        assert!(is_known_event_type("notification.thread_message_new"));
        assert!(!is_known_event_type("message.created"));
        assert!(!is_known_event_type("MESSAGE.NEW"));
        assert!(!is_known_event_type(""));
        assert!(!is_known_event_type("*"));
    }

    #[test]
    fn serializes_like_the_hook_events_endpoint() {
        let v = serde_json::to_value(EVENT_TYPES[0]).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({
                "name": "message.new",
                "description": "A new message was sent in a channel.",
                "products": ["chat"]
            })
        );
    }

    #[test]
    fn chime_mapping() {
        use ChimeDataType::{Channel, ChannelMessage};
        let cases = [
            ("message.new", "CREATE_CHANNEL_MESSAGE", ChannelMessage),
            ("message.updated", "UPDATE_CHANNEL_MESSAGE", ChannelMessage),
            ("message.deleted", "DELETE_CHANNEL_MESSAGE", ChannelMessage),
            ("channel.created", "CREATE_CHANNEL", Channel),
            ("channel.updated", "UPDATE_CHANNEL", Channel),
            ("channel.deleted", "DELETE_CHANNEL", Channel),
            ("member.added", "CREATE_CHANNEL_MEMBERSHIP", Channel),
            ("member.removed", "DELETE_CHANNEL_MEMBERSHIP", Channel),
            ("user.banned", "CREATE_CHANNEL_BAN", Channel),
            ("user.unbanned", "DELETE_CHANNEL_BAN", Channel),
        ];
        for (stream, chime, data_type) in cases {
            assert_eq!(
                chime_event_type(stream),
                Some((chime, data_type)),
                "{stream}"
            );
            assert!(is_known_event_type(stream), "{stream}");
        }
        let mapped = EVENT_TYPES
            .iter()
            .filter(|e| chime_event_type(e.name).is_some())
            .count();
        assert_eq!(mapped, cases.len());
        assert_eq!(chime_event_type("message.read"), None);
        assert_eq!(chime_event_type("member.updated"), None);
        assert_eq!(chime_event_type(""), None);
    }

    #[test]
    fn chime_data_type_parses_exact_names() {
        assert_eq!(
            "ChannelMessage".parse::<ChimeDataType>(),
            Ok(ChimeDataType::ChannelMessage)
        );
        assert_eq!(
            "Channel".parse::<ChimeDataType>(),
            Ok(ChimeDataType::Channel)
        );
        for bad in ["channel", "CHANNEL", "ChannelMembership", "", " Channel"] {
            let err = bad.parse::<ChimeDataType>().expect_err(bad);
            assert!(err.to_string().contains("allowed: ChannelMessage, Channel"));
        }
        for t in ChimeDataType::ALL {
            assert_eq!(t.to_string().parse::<ChimeDataType>(), Ok(t));
        }
    }

    #[test]
    fn chime_data_type_serde_uses_wire_names() {
        let json = serde_json::to_string(&ChimeDataType::ALL).expect("serialize");
        assert_eq!(json, r#"["ChannelMessage","Channel"]"#);
        let back: Vec<ChimeDataType> = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, ChimeDataType::ALL);
    }
}
