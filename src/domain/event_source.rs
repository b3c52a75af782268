//! Where an accepted event came from.

use serde::{Deserialize, Serialize};

/// Where an event came from: `POST /events` or a call of the chat source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Posted to `POST /events`.
    #[default]
    Api,
    /// Fired by a chat call (`POST /channels/…/message` and the others).
    Chat,
}

impl EventSource {
    /// The stored and wire name (`api`, `chat`).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventSource::Api => "api",
            EventSource::Chat => "chat",
        }
    }

    /// Reads a stored name; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(EventSource::Api),
            "chat" => Some(EventSource::Chat),
            _ => None,
        }
    }

    /// The name people read.
    pub const fn label(self) -> &'static str {
        match self {
            EventSource::Api => "API",
            EventSource::Chat => "Chat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [EventSource::Api, EventSource::Chat] {
            assert_eq!(EventSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(EventSource::parse("API"), None);
    }
}
