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
///
/// All four live in one shared block of text: a copy is a reference count, and an event
/// waiting in memory for its deliveries (up to `--max-in-flight` of them) costs one allocation
/// of about its own size (four separate strings and their header took a third more).
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    /// The id, the type, the channel (empty when none) and the JSON, one after the other.
    text: Arc<str>,
    id_end: usize,
    type_end: usize,
    cid_end: usize,
}

impl Event {
    /// An event from its parts; an empty `cid` is no channel.
    pub fn new(id: &str, event_type: &str, cid: Option<&str>, json: &str) -> Self {
        let cid = cid.unwrap_or("");
        let mut text = String::with_capacity(id.len() + event_type.len() + cid.len() + json.len());
        for part in [id, event_type, cid, json] {
            text.push_str(part);
        }
        Self {
            text: text.into(),
            id_end: id.len(),
            type_end: id.len() + event_type.len(),
            cid_end: id.len() + event_type.len() + cid.len(),
        }
    }

    pub fn id(&self) -> &str {
        &self.text[..self.id_end]
    }

    pub fn event_type(&self) -> &str {
        &self.text[self.id_end..self.type_end]
    }

    /// The channel (`cid`, or `channel.cid`): FIFO group and Kinesis partition key.
    pub fn cid(&self) -> Option<&str> {
        Some(&self.text[self.type_end..self.cid_end]).filter(|c| !c.is_empty())
    }

    /// The event JSON as delivered, with `id` and `created_at` filled in.
    pub fn json(&self) -> &str {
        &self.text[self.cid_end..]
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .field("cid", &self.cid())
            .field("json", &self.json())
            .finish()
    }
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
    Ok(Event::new(&id, &event_type, cid.as_deref(), &json))
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

/// Largest event, as posted: the largest message a destination takes (a Kinesis record,
/// 1 MiB). An event is parsed into a JSON tree of its own, so this also bounds the memory one
/// event can take while it is parsed (about 30 times its size for a list of tiny numbers).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Why a `POST /events` body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("invalid JSON in the request body: {0}")]
    Json(serde_json::Error),
    #[error(transparent)]
    Event(#[from] EventError),
}

/// Parses a `POST /events` body: one event, or `{"events": [...]}` with 1 to
/// [`MAX_EVENTS_PER_CALL`] events. Event ids must be unique within the call.
///
/// Memory stays proportional to the body: the body is first checked and split without
/// building anything (the list's items are borrowed slices of it), the 1,001st item is refused
/// as soon as it is seen, and only then is each event, within [`MAX_EVENT_BYTES`], parsed on
/// its own.
pub fn parse_batch(body: &[u8], now_rfc3339: &str) -> Result<Vec<Event>, BatchError> {
    parse_batch_counting(body, now_rfc3339, &std::cell::Cell::new(0))
}

/// [`parse_batch`], counting the list items visited in `visited`.
fn parse_batch_counting(
    body: &[u8],
    now_rfc3339: &str,
    visited: &std::cell::Cell<usize>,
) -> Result<Vec<Event>, BatchError> {
    let top: split::Top = match serde_json::from_slice(body) {
        Ok(top) => top,
        // valid JSON, but not an object
        Err(e)
            if e.classify() == serde_json::error::Category::Data
                && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() =>
        {
            return Err(err(
                "body".into(),
                "must be an event object or {\"events\": [...]}",
            )
            .into())
        }
        Err(e) => return Err(BatchError::Json(e)),
    };
    let list = match top.events {
        Some(list) if !top.has_type => list,
        // one event: the body itself
        _ => return Ok(vec![parse_raw("event", body, now_rfc3339)?]),
    };
    let list = split::items(list, visited)?;
    if list.is_empty() {
        return Err(err("events".into(), "must contain at least one event").into());
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    let mut events = Vec::with_capacity(list.len());
    for (i, raw) in list.into_iter().enumerate() {
        let e = parse_raw(&format!("events[{i}]"), raw.get().as_bytes(), now_rfc3339)?;
        if !seen.insert(e.id().to_string()) {
            return Err(err(
                format!("events[{i}].id"),
                format!("duplicate id {:?} in this call", e.id()),
            )
            .into());
        }
        events.push(e);
    }
    Ok(events)
}

/// One event's JSON (already known to be valid), within [`MAX_EVENT_BYTES`].
fn parse_raw(field: &str, json: &[u8], now_rfc3339: &str) -> Result<Event, EventError> {
    if json.len() > MAX_EVENT_BYTES {
        return Err(err(
            field.to_string(),
            format!(
                "is {} bytes, over the limit of {MAX_EVENT_BYTES} bytes (1 MiB) per event",
                json.len()
            ),
        ));
    }
    let value = serde_json::from_slice(json)
        .map_err(|e| err(field.to_string(), format!("invalid JSON: {e}")))?;
    parse_event(field, value, now_rfc3339)
}

/// The body split without building anything: borrowed slices of the input.
mod split {
    use std::cell::Cell;
    use std::fmt;

    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    use super::{err, EventError, MAX_EVENTS_PER_CALL};

    /// The top-level object: whether it has `type`, and its `events` (the last one, as a JSON
    /// object's duplicate keys are read).
    pub struct Top<'a> {
        pub has_type: bool,
        pub events: Option<&'a RawValue>,
    }

    impl<'de> de::Deserialize<'de> for Top<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(TopVisitor)
        }
    }

    struct TopVisitor;

    impl<'de> Visitor<'de> for TopVisitor {
        type Value = Top<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event object or {\"events\": [...]}")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
            let mut top = Top {
                has_type: false,
                events: None,
            };
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Type => {
                        top.has_type = true;
                        map.next_value::<IgnoredAny>()?;
                    }
                    Key::Events => top.events = Some(map.next_value()?),
                    Key::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(top)
        }
    }

    enum Key {
        Type,
        Events,
        Other,
    }

    impl<'de> de::Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_identifier(KeyVisitor)
        }
    }

    struct KeyVisitor;

    impl Visitor<'_> for KeyVisitor {
        type Value = Key;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
            Ok(match key {
                "type" => Key::Type,
                "events" => Key::Events,
                _ => Key::Other,
            })
        }
    }

    /// The items of the `events` list, refusing a list that is not one, and the
    /// [`MAX_EVENTS_PER_CALL`]` + 1`th item as soon as it is seen (`visited` counts the items).
    pub fn items<'a>(
        list: &'a RawValue,
        visited: &Cell<usize>,
    ) -> Result<Vec<&'a RawValue>, EventError> {
        let too_many = Cell::new(false);
        let mut de = serde_json::Deserializer::from_str(list.get());
        let visitor = ItemsVisitor {
            visited,
            too_many: &too_many,
        };
        match de.deserialize_seq(visitor) {
            Ok(items) => Ok(items),
            Err(_) if too_many.get() => Err(err(
                "events".into(),
                format!("at most {MAX_EVENTS_PER_CALL} events per call"),
            )),
            Err(_) => Err(err("events".into(), "must be an array of event objects")),
        }
    }

    struct ItemsVisitor<'c> {
        visited: &'c Cell<usize>,
        too_many: &'c Cell<bool>,
    }

    impl<'de> Visitor<'de> for ItemsVisitor<'_> {
        type Value = Vec<&'de RawValue>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of event objects")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<&'de RawValue>()? {
                self.visited.set(self.visited.get() + 1);
                if items.len() == MAX_EVENTS_PER_CALL {
                    self.too_many.set(true);
                    return Err(de::Error::custom("too many events"));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
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
        assert_eq!(e.event_type(), "message.new");
        let v: Value = serde_json::from_str(e.json()).unwrap();
        assert_eq!(v["id"], e.id());
        assert_eq!(v["created_at"], NOW);
        assert_eq!(v["message"]["text"], "hi");
        assert!(uuid::Uuid::parse_str(e.id()).is_ok());
    }

    #[test]
    fn an_event_keeps_its_parts_apart_and_a_copy_shares_them() {
        let e = Event::new("e1", "message.new", Some("messaging:x"), r#"{"a":1}"#);
        assert_eq!(
            (e.id(), e.event_type(), e.cid(), e.json()),
            ("e1", "message.new", Some("messaging:x"), r#"{"a":1}"#)
        );
        let copy = e.clone();
        assert_eq!(copy, e);
        assert!(
            std::ptr::eq(copy.json(), e.json()),
            "a copy shares the text"
        );
        let none = Event::new("e2", "t", None, "{}");
        assert_eq!(
            (none.id(), none.event_type(), none.cid(), none.json()),
            ("e2", "t", None, "{}")
        );
        assert_eq!(Event::new("e2", "t", Some(""), "{}"), none);
    }

    #[test]
    fn keeps_given_id_and_time_and_finds_the_channel() {
        let e = parse_event(
            "event",
            json!({"type": "message.new", "id": "e1", "created_at": "2020-01-01T00:00:00Z", "channel": {"cid": "messaging:x"}}),
            NOW,
        )
        .unwrap();
        assert_eq!(e.id(), "e1");
        assert_eq!(e.cid(), Some("messaging:x"));
        assert!(e.json().contains("2020-01-01T00:00:00Z"));
        let e = parse_event("event", json!({"type": "t", "cid": "a:b"}), NOW).unwrap();
        assert_eq!(e.cid(), Some("a:b"));
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
            let e = field_error(batch(&body));
            assert_eq!(e.field, field, "{body}");
        }
        let many = Value::Array((0..1001).map(|_| json!({"type": "t"})).collect());
        let e = field_error(batch(&json!({ "events": many })));
        assert_eq!(e.field, "events");
        assert!(e.message.contains("at most 1000"), "{}", e.message);
    }

    fn batch(body: &Value) -> Result<Vec<Event>, BatchError> {
        parse_batch(body.to_string().as_bytes(), NOW)
    }

    fn field_error(r: Result<Vec<Event>, BatchError>) -> EventError {
        match r {
            Err(BatchError::Event(e)) => e,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn one_event_or_a_list() {
        assert_eq!(batch(&json!({"type": "t"})).unwrap().len(), 1);
        let list = batch(&json!({"events": [{"type": "a"}, {"type": "b"}]})).unwrap();
        assert_eq!(
            list.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        // an event that has both "type" and a payload field named "events" is one event,
        // wherever the keys are
        for body in [
            json!({"type": "t", "events": [1]}),
            r#"{"events": [1, 2], "type": "t"}"#.parse().unwrap(),
        ] {
            let one = batch(&body).unwrap();
            assert_eq!(one.len(), 1);
            let stored: Value = serde_json::from_str(one[0].json()).unwrap();
            assert!(stored["events"].is_array());
        }
    }

    #[test]
    fn stores_each_event_as_parsing_its_value_did() {
        let body = r#"{ "events": [
            {"type": "message.new", "id": "a", "z": {"b": 1, "a": [1.0, 2e3, "\u0041"]}},
            {"type": "t", "cid": "x:y", "created_at": null}
        ] }"#;
        let events = parse_batch(body.as_bytes(), NOW).unwrap();
        let list: Value = serde_json::from_str(body).unwrap();
        for (i, e) in events.iter().enumerate() {
            let before = parse_event("e", list["events"][i].clone(), NOW).unwrap();
            if i == 0 {
                assert_eq!(e, &before);
            } else {
                // a generated id differs; all else is the same
                assert_eq!(
                    e.json().replace(e.id(), ""),
                    before.json().replace(before.id(), "")
                );
                assert_eq!(e.cid(), Some("x:y"));
            }
        }
        let one = parse_batch(br#"{"type": "t", "id": "i", "b": 2, "a": 1}"#, NOW).unwrap();
        assert_eq!(
            one[0].json(),
            r#"{"a":1,"b":2,"created_at":"2026-11-23T10:00:00Z","id":"i","type":"t"}"#
        );
    }

    #[test]
    fn refuses_bad_json_and_not_objects() {
        for body in [&b"{"[..], b"", b"{\"events\": [1,]}", b"[1,}", b"{} x"] {
            assert!(
                matches!(parse_batch(body, NOW), Err(BatchError::Json(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [&b"[1]"[..], b"3", b"\"x\"", b"null"] {
            assert_eq!(field_error(parse_batch(body, NOW)).field, "body");
        }
    }

    #[test]
    fn stops_at_the_1001st_event_without_reading_further() {
        // the 14 MB body of tiny numbers that once cost 425 MB: refused after 1,001 items
        let mut body = String::from(r#"{"events":["#);
        for i in 0..7_000_000 {
            body.push_str(if i == 0 { "0" } else { ",0" });
        }
        body.push_str("]}");
        assert!(body.len() > 14_000_000);
        let visited = std::cell::Cell::new(0);
        let e = match parse_batch_counting(body.as_bytes(), NOW, &visited) {
            Err(BatchError::Event(e)) => e,
            other => panic!("expected the count error, got {other:?}"),
        };
        assert_eq!(e.field, "events");
        assert!(e.message.contains("at most 1000"), "{}", e.message);
        assert_eq!(visited.get(), MAX_EVENTS_PER_CALL + 1);
        // exactly the limit is fine
        let list = vec![json!({"type": "t"}); MAX_EVENTS_PER_CALL];
        let visited = std::cell::Cell::new(0);
        let ok = parse_batch_counting(
            json!({ "events": list }).to_string().as_bytes(),
            NOW,
            &visited,
        );
        assert_eq!(ok.unwrap().len(), MAX_EVENTS_PER_CALL);
        assert_eq!(visited.get(), MAX_EVENTS_PER_CALL);
    }

    #[test]
    fn refuses_an_event_over_the_size_cap_before_parsing_it() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let e = field_error(batch(
            &json!({"events": [{"type": "t"}, {"type": "t", "big": big}]}),
        ));
        assert_eq!(e.field, "events[1]");
        assert!(e.message.contains("over the limit"), "{}", e.message);
        let e = field_error(batch(&json!({"type": "t", "big": big})));
        assert_eq!(e.field, "event");
        // just under the cap is accepted
        let fits = "x".repeat(MAX_EVENT_BYTES - 100);
        assert_eq!(batch(&json!({"type": "t", "big": fits})).unwrap().len(), 1);
    }
}
