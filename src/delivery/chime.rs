//! Stream events translated into Amazon Chime SDK messaging streaming records.
//!
//! A consumer written for real Chime reads `Payload.ChannelArn`, `MessageId`, `Content`,
//! `Sender.Arn` and so on; [`chime_record`] builds that payload from a Stream-style event:
//!
//! - `message.*` → a `ChannelMessage` (`CREATE_`/`UPDATE_CHANNEL_MESSAGE`; a hard delete is
//!   `DELETE_CHANNEL_MESSAGE`, a soft delete `REDACT_CHANNEL_MESSAGE`);
//! - `channel.*` → a `Channel`;
//! - `member.added`/`member.removed` → `{"ChannelMembership": …}`;
//! - `user.banned`/`user.unbanned` → a ban `{Member, ChannelArn, CreatedTimestamp, CreatedBy}`.
//!
//! ARNs are `{app_instance_arn}/channel/{cid}` and `{app_instance_arn}/user/{user id}`.
//! Timestamps are UTC with millisecond precision (`2026-12-01T08:56:27.123Z`). Fields whose
//! source is absent (or of the wrong type) are left out; no field is ever `null`. Stream custom
//! fields travel in `Metadata` as a JSON string.

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::hooks::chime_event_type;

/// One Kinesis record in Chime's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChimeRecord {
    /// The Chime `EventType`, e.g. `CREATE_CHANNEL_MESSAGE`.
    pub event_type: &'static str,
    /// the JSON text of the Payload object
    pub payload: String,
}

/// The Chime `EventType` of a Stream event without building its payload (for records that
/// carry the Stream event as it is): [`chime_event_type`], except that a soft delete
/// (`hard_delete` not `true`) is `REDACT_CHANNEL_MESSAGE`. `None` when the event type has no
/// Chime counterpart.
pub fn record_type(event_type: &str, event_json: &str) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct Flag {
        #[serde(default)]
        hard_delete: bool,
    }
    let (base, _) = chime_event_type(event_type)?;
    if base != DELETE_MESSAGE {
        return Some(base);
    }
    let hard = serde_json::from_str::<Flag>(event_json).is_ok_and(|f| f.hard_delete);
    Some(resolve(base, hard))
}

/// Translates a Stream event (`event_json`, of type `event_type`) into a Chime streaming
/// record of the AppInstance `app_instance_arn`.
///
/// `None` when the event type has no Chime counterpart (or the JSON is not an object).
pub fn chime_record(
    app_instance_arn: &str,
    event_type: &str,
    event_json: &str,
) -> Option<ChimeRecord> {
    let (base, _) = chime_event_type(event_type)?;
    let event = match serde_json::from_str::<Value>(event_json) {
        Ok(Value::Object(map)) => map,
        _ => return None,
    };
    let cx = Cx {
        arns: Arns::new(app_instance_arn),
        event: &event,
    };
    let chime_type = resolve(base, cx.bool("hard_delete"));
    let payload = match chime_type {
        "CREATE_CHANNEL_MESSAGE" | "UPDATE_CHANNEL_MESSAGE" | DELETE_MESSAGE | REDACT_MESSAGE => {
            to_json(&cx.message(chime_type))
        }
        "CREATE_CHANNEL_MEMBERSHIP" | "DELETE_CHANNEL_MEMBERSHIP" => to_json(&MembershipPayload {
            channel_membership: cx.membership(),
        }),
        "CREATE_CHANNEL_BAN" | "DELETE_CHANNEL_BAN" => to_json(&cx.ban()),
        // CREATE_CHANNEL, UPDATE_CHANNEL, DELETE_CHANNEL
        _ => to_json(&cx.channel(chime_type)),
    };
    Some(ChimeRecord {
        event_type: chime_type,
        payload,
    })
}

const DELETE_MESSAGE: &str = "DELETE_CHANNEL_MESSAGE";
const REDACT_MESSAGE: &str = "REDACT_CHANNEL_MESSAGE";

/// The base table's type, with a soft message delete turned into a redaction.
fn resolve(base: &'static str, hard_delete: bool) -> &'static str {
    if base == DELETE_MESSAGE && !hard_delete {
        REDACT_MESSAGE
    } else {
        base
    }
}

/// Stream's own message fields; everything else on a message is a custom field.
const STANDARD_MESSAGE_FIELDS: &[&str] = &[
    "id",
    "text",
    "html",
    "type",
    "user",
    "user_id",
    "cid",
    "created_at",
    "updated_at",
    "deleted_at",
    "message_text_updated_at",
    "attachments",
    "mentioned_users",
    "mentioned_channel",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reaction_groups",
    "reply_count",
    "deleted_reply_count",
    "silent",
    "shadowed",
    "pinned",
    "pinned_at",
    "pinned_by",
    "pin_expires",
    "parent_id",
    "show_in_channel",
    "thread_participants",
    "quoted_message_id",
    "quoted_message",
    "command",
    "args",
    "i18n",
    "image_labels",
    "mml",
    "poll_id",
    "poll",
    "restricted_visibility",
    "before_message_send_failed",
    "channel",
    "member",
    "status",
    "moderation",
    "moderation_details",
    "reminder",
    "shared_location",
    "draft",
    "deleted_for_me",
];

/// Stream's own channel fields (`name` becomes `Name`); everything else is a custom field.
const STANDARD_CHANNEL_FIELDS: &[&str] = &[
    "id",
    "type",
    "cid",
    "name",
    "created_at",
    "updated_at",
    "deleted_at",
    "created_by",
    "created_by_id",
    "frozen",
    "disabled",
    "member_count",
    "members",
    "config",
    "config_overrides",
    "own_capabilities",
    "last_message_at",
    "truncated_at",
    "truncated_by",
    "truncated_by_id",
    "team",
    "hidden",
    "hide_messages_before",
    "cooldown",
    "auto_translation_enabled",
    "auto_translation_language",
    "muted",
    "mute_expires_at",
    "message_count",
    "blocked",
    "filter_tags",
    "membership",
    "messages",
    "pinned_messages",
    "read",
    "watchers",
    "watcher_count",
    "partition_size",
    "partition_ttl",
];

/// `{Arn, Name}` of a user.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Identity {
    arn: String,
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Status {
    value: &'static str,
}

/// The `ChannelMessage` payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChannelMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_edited_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<Identity>,
    redacted: bool,
    persistence: &'static str,
    status: Status,
}

/// The `Channel` payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Channel {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_arn: Option<String>,
    mode: &'static str,
    privacy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_message_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_timestamp: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MembershipPayload {
    channel_membership: Membership,
}

/// The `ChannelMembership` object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Membership {
    #[serde(skip_serializing_if = "Option::is_none")]
    invited_by: Option<Identity>,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_timestamp: Option<String>,
}

/// The channel ban payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ban {
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<Identity>,
}

/// The ARNs under one AppInstance.
struct Arns<'a> {
    app_instance: &'a str,
}

impl<'a> Arns<'a> {
    fn new(app_instance_arn: &'a str) -> Self {
        Self {
            app_instance: app_instance_arn.trim_end_matches('/'),
        }
    }

    fn channel(&self, cid: &str) -> String {
        format!("{}/channel/{cid}", self.app_instance)
    }

    fn user(&self, id: &str) -> String {
        format!("{}/user/{id}", self.app_instance)
    }

    /// The identity of a Stream user object (or a bare user id); `None` without an id.
    fn identity(&self, user: Option<&Value>) -> Option<Identity> {
        let (id, name) = match user? {
            Value::String(id) => (id.as_str(), None),
            Value::Object(u) => (str_of(u, "id")?, str_of(u, "name")),
            _ => return None,
        };
        if id.is_empty() {
            return None;
        }
        Some(Identity {
            arn: self.user(id),
            name: name.filter(|n| !n.is_empty()).unwrap_or(id).to_owned(),
        })
    }
}

/// One event being translated.
struct Cx<'a> {
    arns: Arns<'a>,
    event: &'a Map<String, Value>,
}

impl Cx<'_> {
    fn bool(&self, key: &str) -> bool {
        self.event
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A nested object of the event (`message`, `channel`, `member`), empty when absent.
    fn object(&self, key: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match self.event.get(key) {
            Some(Value::Object(m)) => m,
            _ => EMPTY.get_or_init(Map::new),
        }
    }

    fn channel_arn(&self) -> Option<String> {
        let channel = self.object("channel");
        let message = self.object("message");
        let cid = str_of(self.event, "cid")
            .or_else(|| str_of(channel, "cid"))
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                let t = str_of(self.event, "channel_type").filter(|s| !s.is_empty())?;
                let id = str_of(self.event, "channel_id").filter(|s| !s.is_empty())?;
                Some(format!("{t}:{id}"))
            })
            .or_else(|| str_of(message, "cid").map(str::to_owned))
            .filter(|c| !c.is_empty())?;
        Some(self.arns.channel(&cid))
    }

    fn message(&self, chime_type: &'static str) -> ChannelMessage {
        let m = self.object("message");
        let deleted = matches!(chime_type, DELETE_MESSAGE | REDACT_MESSAGE);
        let last_updated = if deleted {
            time_of(m, "deleted_at").or_else(|| time_of(m, "updated_at"))
        } else {
            time_of(m, "updated_at")
        };
        ChannelMessage {
            channel_arn: self.channel_arn(),
            message_id: str_of(m, "id")
                .or_else(|| str_of(self.event, "message_id"))
                .map(str::to_owned),
            content: str_of(m, "text").map(str::to_owned),
            metadata: custom_fields(m, STANDARD_MESSAGE_FIELDS),
            kind: if str_of(m, "type") == Some("system") {
                "CONTROL"
            } else {
                "STANDARD"
            },
            created_timestamp: time_of(m, "created_at"),
            last_edited_timestamp: if chime_type == "UPDATE_CHANNEL_MESSAGE" {
                time_of(m, "updated_at")
            } else {
                None
            },
            last_updated_timestamp: last_updated,
            sender: self.arns.identity(m.get("user")),
            redacted: chime_type == REDACT_MESSAGE,
            persistence: "PERSISTENT",
            status: Status { value: "SENT" },
        }
    }

    fn channel(&self, chime_type: &'static str) -> Channel {
        let c = self.object("channel");
        let last_updated = if chime_type == "DELETE_CHANNEL" {
            time_of(c, "deleted_at").or_else(|| time_of(c, "updated_at"))
        } else {
            time_of(c, "updated_at")
        };
        let created_by = self
            .arns
            .identity(c.get("created_by"))
            .or_else(|| self.arns.identity(c.get("created_by_id")))
            .or_else(|| self.arns.identity(self.event.get("user")));
        Channel {
            name: str_of(c, "name").map(str::to_owned),
            channel_arn: self.channel_arn(),
            mode: "RESTRICTED",
            privacy: "PUBLIC",
            metadata: custom_fields(c, STANDARD_CHANNEL_FIELDS),
            created_by,
            created_timestamp: time_of(c, "created_at"),
            last_message_timestamp: time_of(c, "last_message_at"),
            last_updated_timestamp: last_updated,
        }
    }

    fn membership(&self) -> Membership {
        let m = self.object("member");
        let actor = self.arns.identity(self.event.get("user"));
        let member = self
            .arns
            .identity(m.get("user"))
            .or_else(|| self.arns.identity(m.get("user_id")))
            .or_else(|| self.arns.identity(self.event.get("user")));
        let invited_by = match (&actor, &member) {
            (Some(a), Some(mb)) if a.arn == mb.arn => None,
            _ => actor,
        };
        Membership {
            invited_by,
            kind: "DEFAULT",
            member,
            channel_arn: self.channel_arn(),
            created_timestamp: time_of(m, "created_at")
                .or_else(|| time_of(self.event, "created_at")),
            last_updated_timestamp: time_of(m, "updated_at")
                .or_else(|| time_of(self.event, "created_at")),
        }
    }

    fn ban(&self) -> Ban {
        Ban {
            member: self.arns.identity(self.event.get("user")),
            channel_arn: self.channel_arn(),
            created_timestamp: time_of(self.event, "created_at"),
            created_by: self.arns.identity(self.event.get("created_by")),
        }
    }
}

/// A string field of an object (`None` when absent or not a string).
fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// A timestamp field of an object in Chime's form.
fn time_of(obj: &Map<String, Value>, key: &str) -> Option<String> {
    str_of(obj, key).map(chime_time)
}

/// An RFC 3339 timestamp as UTC with millisecond precision (`2026-12-01T08:56:27.123Z`);
/// anything that does not parse is passed through unchanged.
fn chime_time(s: &str) -> String {
    const MILLIS: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(UtcOffset::UTC).format(MILLIS).ok())
        .unwrap_or_else(|| s.to_owned())
}

/// The custom fields of a Stream object (those not in `standard`) as a JSON string, or `None`
/// when there are none.
fn custom_fields(obj: &Map<String, Value>, standard: &[&str]) -> Option<String> {
    let custom: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !standard.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!custom.is_empty()).then(|| Value::Object(custom).to_string())
}

fn to_json<T: Serialize>(payload: &T) -> String {
    // the payload types hold only strings, booleans and nested structs: this cannot fail
    serde_json::to_string(payload).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APP: &str = "arn:aws:chime:us-east-1:123456789012:app-instance/abc";
    const CH: &str =
        "arn:aws:chime:us-east-1:123456789012:app-instance/abc/channel/messaging:general";

    fn user(id: &str) -> String {
        format!("{APP}/user/{id}")
    }

    /// Translates `event` and parses the payload back.
    fn translate(event_type: &str, event: &Value) -> (&'static str, Value) {
        let r = chime_record(APP, event_type, &event.to_string()).expect("mapped");
        let payload: Value = serde_json::from_str(&r.payload).expect("payload is JSON");
        assert!(payload.is_object());
        assert_no_nulls(&payload);
        (r.event_type, payload)
    }

    fn assert_no_nulls(v: &Value) {
        match v {
            Value::Null => panic!("null in payload"),
            Value::Array(a) => a.iter().for_each(assert_no_nulls),
            Value::Object(m) => m.values().for_each(assert_no_nulls),
            _ => {}
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        k.sort_unstable();
        k
    }

    fn stream_message(extra: Value) -> Value {
        let mut m = json!({
            "id": "alice-5f0e1a2b",
            "text": "hi there",
            "html": "<p>hi there</p>\n",
            "type": "regular",
            "user": {"id": "alice", "name": "Alice", "role": "user", "online": true,
                     "created_at": "2026-11-30T10:00:00.000000Z", "favorite_color": "blue"},
            "attachments": [],
            "latest_reactions": [],
            "own_reactions": [],
            "reaction_counts": {},
            "reaction_scores": {},
            "reply_count": 0,
            "cid": "messaging:general",
            "created_at": "2026-12-01T08:56:27.123456789Z",
            "updated_at": "2026-12-01T08:56:27.123456789Z",
            "mentioned_users": [],
            "silent": false,
            "pinned": false,
            "pinned_at": null,
            "pinned_by": null,
            "pin_expires": null,
            "shadowed": false
        });
        if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
            m.extend(extra);
        }
        m
    }

    fn message_event(event_type: &str, message: Value, extra: Value) -> Value {
        let mut e = json!({
            "type": event_type,
            "cid": "messaging:general",
            "channel_type": "messaging",
            "channel_id": "general",
            "message_id": message["id"],
            "message": message,
            "user": {"id": "alice", "name": "Alice", "total_unread_count": 0,
                     "unread_channels": 0, "unread_count": 0},
            "created_at": "2026-12-01T08:56:27.200000000Z",
            "request_info": {"type": "server", "ip": "10.0.0.1", "user_agent": "stream-python-client-4.0.0"}
        });
        if let (Some(e), Value::Object(extra)) = (e.as_object_mut(), extra) {
            e.extend(extra);
        }
        e
    }

    #[test]
    fn message_new_has_every_chime_field() {
        let msg = stream_message(json!({
            "priority": "high",
            "tags": ["a", "b"],
            "custom_obj": {"nested": true}
        }));
        let ev = message_event("message.new", msg, json!({"watcher_count": 2}));
        let (t, p) = translate("message.new", &ev);
        assert_eq!(t, "CREATE_CHANNEL_MESSAGE");
        assert_eq!(
            keys(&p),
            [
                "ChannelArn",
                "Content",
                "CreatedTimestamp",
                "LastUpdatedTimestamp",
                "MessageId",
                "Metadata",
                "Persistence",
                "Redacted",
                "Sender",
                "Status",
                "Type"
            ]
        );
        assert_eq!(p["ChannelArn"], CH);
        assert_eq!(p["MessageId"], "alice-5f0e1a2b");
        assert_eq!(p["Content"], "hi there");
        assert_eq!(p["Type"], "STANDARD");
        assert_eq!(p["CreatedTimestamp"], "2026-12-01T08:56:27.123Z");
        assert_eq!(p["LastUpdatedTimestamp"], "2026-12-01T08:56:27.123Z");
        assert_eq!(p["Sender"], json!({"Arn": user("alice"), "Name": "Alice"}));
        assert_eq!(p["Redacted"], false);
        assert_eq!(p["Persistence"], "PERSISTENT");
        assert_eq!(p["Status"], json!({"Value": "SENT"}));
        let meta: Value =
            serde_json::from_str(p["Metadata"].as_str().expect("string")).expect("JSON");
        assert_eq!(
            meta,
            json!({"priority": "high", "tags": ["a", "b"], "custom_obj": {"nested": true}})
        );
    }

    #[test]
    fn message_updated_and_system_messages() {
        let msg = stream_message(json!({
            "type": "system",
            "text": "edited",
            "updated_at": "2026-12-01T10:56:27.5+02:00",
            "message_text_updated_at": "2026-12-01T08:56:27.5Z",
            "user": {"id": "bob"}
        }));
        let ev = message_event(
            "message.updated",
            msg,
            json!({"message_update": {"old_text": "hi there", "change_set": {"text": true}}}),
        );
        let (t, p) = translate("message.updated", &ev);
        assert_eq!(t, "UPDATE_CHANNEL_MESSAGE");
        assert_eq!(p["Type"], "CONTROL");
        assert_eq!(p["Content"], "edited");
        assert_eq!(p["LastEditedTimestamp"], "2026-12-01T08:56:27.500Z");
        assert_eq!(p["LastUpdatedTimestamp"], "2026-12-01T08:56:27.500Z");
        // no name: the id is the name
        assert_eq!(p["Sender"], json!({"Arn": user("bob"), "Name": "bob"}));
        // only standard fields: no Metadata
        assert!(p.get("Metadata").is_none());
    }

    #[test]
    fn soft_delete_is_a_redaction_and_hard_delete_a_delete() {
        let msg = stream_message(json!({
            "type": "deleted",
            "deleted_at": "2026-12-01T09:00:00.987654Z"
        }));
        let soft = message_event(
            "message.deleted",
            msg.clone(),
            json!({"hard_delete": false}),
        );
        let (t, p) = translate("message.deleted", &soft);
        assert_eq!(t, "REDACT_CHANNEL_MESSAGE");
        assert_eq!(p["Redacted"], true);
        assert_eq!(p["LastUpdatedTimestamp"], "2026-12-01T09:00:00.987Z");
        assert!(p.get("LastEditedTimestamp").is_none());

        let hard = message_event("message.deleted", msg.clone(), json!({"hard_delete": true}));
        let (t, p) = translate("message.deleted", &hard);
        assert_eq!(t, "DELETE_CHANNEL_MESSAGE");
        assert_eq!(p["Redacted"], false);
        assert_eq!(p["MessageId"], "alice-5f0e1a2b");
        assert_eq!(p["LastUpdatedTimestamp"], "2026-12-01T09:00:00.987Z");

        // no flag (or not a bool): Stream's default, a soft delete
        let odd = message_event("message.deleted", msg, json!({"hard_delete": "yes"}));
        assert_eq!(
            translate("message.deleted", &odd).0,
            "REDACT_CHANNEL_MESSAGE"
        );
    }

    #[test]
    fn event_types_agree_with_the_hooks_table() {
        let ev = json!({"type": "x", "cid": "messaging:general"});
        for stream in [
            "message.new",
            "message.updated",
            "channel.created",
            "channel.updated",
            "channel.deleted",
            "member.added",
            "member.removed",
            "user.banned",
            "user.unbanned",
        ] {
            let expected = chime_event_type(stream).map(|(n, _)| n);
            assert!(expected.is_some(), "{stream}");
            assert_eq!(translate(stream, &ev).0, expected.unwrap_or(""), "{stream}");
        }
        let hard = json!({"hard_delete": true});
        assert_eq!(
            Some(translate("message.deleted", &hard).0),
            chime_event_type("message.deleted").map(|(n, _)| n)
        );
    }

    #[test]
    fn record_type_matches_chime_record() {
        let cases = [
            ("message.new", json!({"message": {"id": "m"}})),
            ("message.deleted", json!({"hard_delete": true})),
            ("message.deleted", json!({"hard_delete": false})),
            ("message.deleted", json!({"hard_delete": "true"})),
            ("message.deleted", json!({})),
            ("channel.deleted", json!({"hard_delete": false})),
            ("user.unbanned", json!({})),
        ];
        for (t, ev) in cases {
            let json = ev.to_string();
            let full = chime_record(APP, t, &json).map(|r| r.event_type);
            assert_eq!(record_type(t, &json), full, "{t} {json}");
        }
        assert_eq!(
            record_type("message.deleted", r#"{"hard_delete":true}"#),
            Some("DELETE_CHANNEL_MESSAGE")
        );
        assert_eq!(
            record_type("message.deleted", r#"{"hard_delete":false}"#),
            Some("REDACT_CHANNEL_MESSAGE")
        );
        // not an object: the Stream event still streams, as a soft delete
        assert_eq!(
            record_type("message.deleted", "[]"),
            Some("REDACT_CHANNEL_MESSAGE")
        );
        assert_eq!(
            record_type("message.new", "[]"),
            Some("CREATE_CHANNEL_MESSAGE")
        );
        assert_eq!(record_type("reaction.new", "{}"), None);
    }

    #[test]
    fn member_added_is_a_channel_membership() {
        let ev = json!({
            "type": "member.added",
            "cid": "messaging:general",
            "channel_type": "messaging",
            "channel_id": "general",
            "member": {
                "user_id": "carol",
                "user": {"id": "carol", "name": "Carol", "role": "user"},
                "created_at": "2026-12-01T08:00:00.000001Z",
                "updated_at": "2026-12-01T08:00:01Z",
                "channel_role": "channel_member",
                "notifications_muted": false
            },
            "user": {"id": "alice", "name": "Alice"},
            "channel": {"id": "general", "type": "messaging", "cid": "messaging:general"},
            "created_at": "2026-12-01T08:00:02.000000000Z"
        });
        let (t, p) = translate("member.added", &ev);
        assert_eq!(t, "CREATE_CHANNEL_MEMBERSHIP");
        assert_eq!(keys(&p), ["ChannelMembership"]);
        assert_eq!(
            p["ChannelMembership"],
            json!({
                "InvitedBy": {"Arn": user("alice"), "Name": "Alice"},
                "Type": "DEFAULT",
                "Member": {"Arn": user("carol"), "Name": "Carol"},
                "ChannelArn": CH,
                "CreatedTimestamp": "2026-12-01T08:00:00.000Z",
                "LastUpdatedTimestamp": "2026-12-01T08:00:01.000Z"
            })
        );

        // a removal with only `user` (the docs' example): the member is the user, no inviter
        let ev = json!({
            "type": "member.removed",
            "channel_type": "messaging",
            "channel_id": "general",
            "user": {"id": "carol"},
            "created_at": "2026-12-01T08:00:03Z"
        });
        let (t, p) = translate("member.removed", &ev);
        assert_eq!(t, "DELETE_CHANNEL_MEMBERSHIP");
        assert_eq!(
            p["ChannelMembership"],
            json!({
                "Type": "DEFAULT",
                "Member": {"Arn": user("carol"), "Name": "carol"},
                "ChannelArn": CH,
                "CreatedTimestamp": "2026-12-01T08:00:03.000Z",
                "LastUpdatedTimestamp": "2026-12-01T08:00:03.000Z"
            })
        );
    }

    #[test]
    fn channel_updated_without_created_by_uses_the_actor() {
        let ev = json!({
            "type": "channel.updated",
            "cid": "messaging:general",
            "channel_type": "messaging",
            "channel_id": "general",
            "channel": {
                "id": "general",
                "type": "messaging",
                "cid": "messaging:general",
                "name": "General",
                "image": "https://example.com/g.png",
                "topic": "anything",
                "created_at": "2026-11-01T00:00:00Z",
                "updated_at": "2026-12-01T08:00:00.1234Z",
                "last_message_at": "2026-12-01T07:59:59.999999Z",
                "frozen": false,
                "disabled": false,
                "member_count": 2,
                "config": {"typing_events": true}
            },
            "user": {"id": "alice", "name": "Alice"},
            "created_at": "2026-12-01T08:00:00.2Z"
        });
        let (t, p) = translate("channel.updated", &ev);
        assert_eq!(t, "UPDATE_CHANNEL");
        let meta = p["Metadata"].as_str().expect("Metadata");
        assert_eq!(
            serde_json::from_str::<Value>(meta).expect("JSON"),
            json!({"image": "https://example.com/g.png", "topic": "anything"})
        );
        let mut p = p;
        p.as_object_mut().map(|m| m.remove("Metadata"));
        assert_eq!(
            p,
            json!({
                "Name": "General",
                "ChannelArn": CH,
                "Mode": "RESTRICTED",
                "Privacy": "PUBLIC",
                "CreatedBy": {"Arn": user("alice"), "Name": "Alice"},
                "CreatedTimestamp": "2026-11-01T00:00:00.000Z",
                "LastMessageTimestamp": "2026-12-01T07:59:59.999Z",
                "LastUpdatedTimestamp": "2026-12-01T08:00:00.123Z"
            })
        );
    }

    #[test]
    fn channel_created_by_wins_over_the_actor() {
        let ev = json!({
            "type": "channel.deleted",
            "channel": {"cid": "messaging:general", "created_by": {"id": "bob", "name": "Bob"},
                        "updated_at": "2026-12-01T08:00:00Z", "deleted_at": "2026-12-02T08:00:00Z"},
            "user": {"id": "alice"}
        });
        let (t, p) = translate("channel.deleted", &ev);
        assert_eq!(t, "DELETE_CHANNEL");
        assert_eq!(p["ChannelArn"], CH);
        assert_eq!(p["CreatedBy"], json!({"Arn": user("bob"), "Name": "Bob"}));
        assert_eq!(p["LastUpdatedTimestamp"], "2026-12-02T08:00:00.000Z");
        assert!(p.get("Name").is_none());
        assert!(p.get("Metadata").is_none());
    }

    #[test]
    fn bans_name_member_and_moderator() {
        let ev = json!({
            "type": "user.banned",
            "cid": "messaging:general",
            "channel_type": "messaging",
            "channel_id": "general",
            "user": {"id": "mallory", "name": "Mallory"},
            "created_by": {"id": "admin"},
            "reason": "spam",
            "shadow": false,
            "created_at": "2026-12-01T08:00:00.000000000Z"
        });
        let (t, p) = translate("user.banned", &ev);
        assert_eq!(t, "CREATE_CHANNEL_BAN");
        assert_eq!(
            p,
            json!({
                "Member": {"Arn": user("mallory"), "Name": "Mallory"},
                "ChannelArn": CH,
                "CreatedTimestamp": "2026-12-01T08:00:00.000Z",
                "CreatedBy": {"Arn": user("admin"), "Name": "admin"}
            })
        );
        let ev = json!({"type": "user.unbanned", "user": {"id": "mallory"}});
        let (t, p) = translate("user.unbanned", &ev);
        assert_eq!(t, "DELETE_CHANNEL_BAN");
        assert_eq!(keys(&p), ["Member"]);
    }

    #[test]
    fn unmapped_types_and_non_objects_are_none() {
        let ev = message_event("reaction.new", stream_message(json!({})), json!({}));
        assert!(chime_record(APP, "reaction.new", &ev.to_string()).is_none());
        assert!(chime_record(APP, "member.updated", "{}").is_none());
        assert!(chime_record(APP, "", "{}").is_none());
        for bad in ["[1,2]", "\"message.new\"", "null", "42", "not json", ""] {
            assert!(chime_record(APP, "message.new", bad).is_none(), "{bad}");
        }
        // an object is enough
        assert!(chime_record(APP, "message.new", "{}").is_some());
    }

    #[test]
    fn custom_metadata_round_trips() {
        let custom = json!({
            "awesome": true,
            "score": 1.5,
            "emoji": "héllo \"quoted\" ✓",
            "list": [1, {"a": null}],
            "nested": {"deep": {"x": "y"}}
        });
        let msg = stream_message(custom.clone());
        let ev = message_event("message.new", msg, json!({}));
        let (_, p) = translate("message.new", &ev);
        let meta = p["Metadata"].as_str().expect("Metadata is a JSON string");
        assert_eq!(serde_json::from_str::<Value>(meta).expect("JSON"), custom);
    }

    #[test]
    fn timestamps_are_utc_millis_or_passed_through() {
        assert_eq!(
            chime_time("2026-12-01T08:56:27.123456789Z"),
            "2026-12-01T08:56:27.123Z"
        );
        assert_eq!(
            chime_time("2026-12-01T08:56:27Z"),
            "2026-12-01T08:56:27.000Z"
        );
        assert_eq!(
            chime_time("2026-12-01T00:30:00.5-01:00"),
            "2026-12-01T01:30:00.500Z"
        );
        assert_eq!(
            chime_time("2026-12-01T00:30:00+05:30"),
            "2026-11-30T19:00:00.000Z"
        );
        assert_eq!(chime_time("yesterday"), "yesterday");
        assert_eq!(chime_time(""), "");
    }

    #[test]
    fn odd_input_does_not_panic_and_yields_what_it_can() {
        let ev = json!({
            "type": "message.new",
            "cid": 7,
            "channel_type": "messaging",
            "channel_id": "general",
            "message": {"id": 12, "text": ["no"], "user": 5, "created_at": 123,
                        "updated_at": "not a time", "type": null},
            "user": "alice"
        });
        let (_, p) = translate("message.new", &ev);
        assert_eq!(
            p,
            json!({
                "ChannelArn": CH,
                "Type": "STANDARD",
                "LastUpdatedTimestamp": "not a time",
                "Redacted": false,
                "Persistence": "PERSISTENT",
                "Status": {"Value": "SENT"}
            })
        );
        // message not an object; user without id; channel a string
        let ev = json!({"message": "x", "channel": "y", "member": [], "user": {"name": "n"},
                        "message_id": "m1"});
        for t in [
            "message.deleted",
            "channel.created",
            "member.added",
            "user.banned",
        ] {
            let (_, p) = translate(t, &ev);
            assert!(p.get("ChannelArn").is_none(), "{t}");
        }
        let (_, p) = translate("message.new", &ev);
        assert_eq!(p["MessageId"], "m1");
        // a trailing slash on the AppInstance ARN is not doubled
        let r = chime_record(
            &format!("{APP}/"),
            "user.banned",
            r#"{"user":"u","cid":"a:b"}"#,
        )
        .expect("mapped");
        assert!(
            r.payload.contains(&format!("\"{APP}/channel/a:b\"")),
            "{}",
            r.payload
        );
    }
}
