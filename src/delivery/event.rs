//! An event as accepted: parsed once at the edge into a type that delivery can trust.

use std::sync::Arc;

use serde_json::{Map, Value};

/// Most events in one `POST /events`.
pub const MAX_EVENTS_PER_CALL: usize = 1000;

/// Longest event type and id.
pub const MAX_NAME_LEN: usize = 255;

/// The type of the test events the dashboard and the checks send.
pub const TEST_EVENT_TYPE: &str = "hookrelay.test";

/// An accepted event: its id, type, channel and the JSON that is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    /// The channel (`cid`, or `channel.cid`): FIFO group and Kinesis partition key.
    pub cid: Option<String>,
    /// The event JSON as delivered, with `id` and `created_at` filled in.
    pub json: Arc<str>,
}

/// Why an event was refused: the field (`events[2].type`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    pub field: String,
    pub message: String,
}

fn err(field: String, message: impl Into<String>) -> EventError {
    EventError {
        field,
        message: message.into(),
    }
}

/// Parses one event object found at `field` (for error messages). `now_rfc3339` fills a
/// missing `created_at`; a missing `id` gets a new UUID (v7: time-ordered).
pub fn parse_event(field: &str, value: Value, now_rfc3339: &str) -> Result<Event, EventError> {
    let Value::Object(mut map) = value else {
        return Err(err(field.to_string(), "an event must be a JSON object"));
    };
    let event_type = match map.get("type") {
        Some(Value::String(t)) if valid_name(t) => t.clone(),
        Some(Value::String(t)) if t.is_empty() => {
            return Err(err(format!("{field}.type"), "must not be empty"))
        }
        Some(Value::String(_)) => {
            return Err(err(
                format!("{field}.type"),
                format!(
                "must be at most {MAX_NAME_LEN} characters without spaces or control characters"
            ),
            ))
        }
        Some(_) => return Err(err(format!("{field}.type"), "must be a string")),
        None => {
            return Err(err(
                format!("{field}.type"),
                "is required (e.g. \"message.new\")",
            ))
        }
    };
    let id = match map.get("id") {
        None | Some(Value::Null) => {
            let id = uuid::Uuid::now_v7().to_string();
            map.insert("id".into(), Value::String(id.clone()));
            id
        }
        Some(Value::String(id)) if valid_name(id) => id.clone(),
        Some(Value::String(_)) => {
            return Err(err(
                format!("{field}.id"),
                format!(
                    "must be 1 to {MAX_NAME_LEN} characters without spaces or control characters"
                ),
            ))
        }
        Some(_) => return Err(err(format!("{field}.id"), "must be a string")),
    };
    match map.get("created_at") {
        None | Some(Value::Null) => {
            map.insert("created_at".into(), Value::String(now_rfc3339.to_string()));
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(err(
                format!("{field}.created_at"),
                "must be an RFC 3339 timestamp string",
            ))
        }
    }
    let cid = cid_of(&map);
    let json = serde_json::to_string(&Value::Object(map)).expect("JSON values serialise");
    Ok(Event {
        id,
        event_type,
        cid,
        json: json.into(),
    })
}

/// The event "Send test event" sends: type `hookrelay.test`, delivered to every enabled hook.
pub fn test_event(app_name: &str, now_rfc3339: &str) -> Event {
    let body = serde_json::json!({
        "type": TEST_EVENT_TYPE,
        "message": format!("Test event from Hookrelay for the app {app_name}. It is safe to ignore."),
    });
    parse_event("event", body, now_rfc3339).expect("the test event is valid")
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn cid_of(map: &Map<String, Value>) -> Option<String> {
    let direct = map.get("cid").and_then(Value::as_str);
    let nested = || {
        map.get("channel")
            .and_then(|c| c.get("cid"))
            .and_then(Value::as_str)
    };
    direct
        .or_else(nested)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// Parses a `POST /events` body: one event, or `{"events": [...]}` with 1 to
/// [`MAX_EVENTS_PER_CALL`] events. Event ids must be unique within the call.
pub fn parse_batch(body: Value, now_rfc3339: &str) -> Result<Vec<Event>, EventError> {
    let list = match body {
        Value::Object(mut map) if !map.contains_key("type") && map.contains_key("events") => {
            match map.remove("events") {
                Some(Value::Array(list)) => list,
                _ => return Err(err("events".into(), "must be an array of event objects")),
            }
        }
        Value::Object(map) => {
            return parse_event("event", Value::Object(map), now_rfc3339).map(|e| vec![e])
        }
        _ => {
            return Err(err(
                "body".into(),
                "must be an event object or {\"events\": [...]}",
            ))
        }
    };
    if list.is_empty() {
        return Err(err("events".into(), "must contain at least one event"));
    }
    if list.len() > MAX_EVENTS_PER_CALL {
        return Err(err(
            "events".into(),
            format!(
                "at most {MAX_EVENTS_PER_CALL} events per call, got {}",
                list.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    list.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let e = parse_event(&format!("events[{i}]"), v, now_rfc3339)?;
            if !seen.insert(e.id.clone()) {
                return Err(err(
                    format!("events[{i}].id"),
                    format!("duplicate id {:?} in this call", e.id),
                ));
            }
            Ok(e)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-11-23T10:00:00Z";

    #[test]
    fn fills_id_and_created_at_and_keeps_the_payload() {
        let e = parse_event(
            "event",
            json!({"type": "message.new", "message": {"text": "hi"}}),
            NOW,
        )
        .unwrap();
        assert_eq!(e.event_type, "message.new");
        let v: Value = serde_json::from_str(&e.json).unwrap();
        assert_eq!(v["id"], e.id);
        assert_eq!(v["created_at"], NOW);
        assert_eq!(v["message"]["text"], "hi");
        assert!(uuid::Uuid::parse_str(&e.id).is_ok());
    }

    #[test]
    fn keeps_given_id_and_time_and_finds_the_channel() {
        let e = parse_event(
            "event",
            json!({"type": "message.new", "id": "e1", "created_at": "2020-01-01T00:00:00Z", "channel": {"cid": "messaging:x"}}),
            NOW,
        )
        .unwrap();
        assert_eq!(e.id, "e1");
        assert_eq!(e.cid.as_deref(), Some("messaging:x"));
        assert!(e.json.contains("2020-01-01T00:00:00Z"));
        let e = parse_event("event", json!({"type": "t", "cid": "a:b"}), NOW).unwrap();
        assert_eq!(e.cid.as_deref(), Some("a:b"));
    }

    #[test]
    fn refuses_bad_events_naming_the_field() {
        let cases = [
            (json!({"events": [{"id": "x"}]}), "events[0].type"),
            (json!({"events": [{"type": 3}]}), "events[0].type"),
            (json!({"events": [{"type": ""}]}), "events[0].type"),
            (json!({"events": [{"type": "a b"}]}), "events[0].type"),
            (
                json!({"events": [{"type": "t"}, {"type": "t", "id": 5}]}),
                "events[1].id",
            ),
            (
                json!({"events": [{"type": "t", "created_at": 5}]}),
                "events[0].created_at",
            ),
            (
                json!({"events": [{"type": "t", "id": "a"}, {"type": "t", "id": "a"}]}),
                "events[1].id",
            ),
            (json!({"events": []}), "events"),
            (json!({"events": {}}), "events"),
            (json!({"events": [3]}), "events[0]"),
            (json!([1]), "body"),
        ];
        for (body, field) in cases {
            let e = parse_batch(body.clone(), NOW).unwrap_err();
            assert_eq!(e.field, field, "{body}");
        }
        let many = Value::Array((0..1001).map(|_| json!({"type": "t"})).collect());
        let e = parse_batch(json!({ "events": many }), NOW).unwrap_err();
        assert!(e.message.contains("at most 1000"), "{}", e.message);
    }

    #[test]
    fn one_event_or_a_list() {
        assert_eq!(parse_batch(json!({"type": "t"}), NOW).unwrap().len(), 1);
        let list = parse_batch(json!({"events": [{"type": "a"}, {"type": "b"}]}), NOW).unwrap();
        assert_eq!(
            list.iter()
                .map(|e| e.event_type.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        // an event that has both "type" and a payload field named "events" is one event
        let one = parse_batch(json!({"type": "t", "events": [1]}), NOW).unwrap();
        assert_eq!(one.len(), 1);
    }
}
