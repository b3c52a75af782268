//! The chat objects in Stream's JSON: users, channels, members, messages (custom fields flat).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::store::chat::{ChatChannel, ChatMember, ChatMessage, ChatUser, Fields};
use crate::store::rfc3339;

/// Most members an event carries (Stream's cap).
pub const EVENT_MEMBERS: usize = 50;

/// Puts `key: value` unless the object has it (custom data may set `role`, `frozen`, …).
fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    map.entry(key.to_string()).or_insert(value);
}

pub fn user(u: &ChatUser) -> Value {
    let mut m = u.data.clone();
    m.insert("id".into(), json!(u.id));
    default(&mut m, "role", json!("user"));
    default(&mut m, "banned", json!(false));
    default(&mut m, "online", json!(false));
    m.insert("created_at".into(), json!(rfc3339(u.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(u.updated_at)));
    Value::Object(m)
}

/// A user known only by id (deleted since, or never upserted).
pub fn user_by_id(users: &HashMap<String, ChatUser>, id: &str) -> Value {
    match users.get(id) {
        Some(u) => user(u),
        None => json!({"id": id, "role": "user", "banned": false, "online": false}),
    }
}

pub fn member(m: &ChatMember, users: &HashMap<String, ChatUser>) -> Value {
    let mut out = m.data.clone();
    out.insert("user_id".into(), json!(m.user_id));
    out.insert("user".into(), user_by_id(users, &m.user_id));
    default(&mut out, "channel_role", json!("channel_member"));
    default(&mut out, "role", json!("member"));
    default(&mut out, "banned", json!(false));
    default(&mut out, "shadow_banned", json!(false));
    default(&mut out, "notifications_muted", json!(false));
    out.insert("created_at".into(), json!(rfc3339(m.created_at)));
    out.insert("updated_at".into(), json!(rfc3339(m.updated_at)));
    Value::Object(out)
}

pub fn members(members: &[ChatMember], users: &HashMap<String, ChatUser>) -> Vec<Value> {
    members.iter().map(|m| member(m, users)).collect()
}

/// A channel; `members` (as rendered) are included when given (events carry them).
pub fn channel(
    c: &ChatChannel,
    member_count: usize,
    users: &HashMap<String, ChatUser>,
    members: Option<&[Value]>,
) -> Value {
    let mut m = c.data.clone();
    m.insert("id".into(), json!(c.id));
    m.insert("type".into(), json!(c.channel_type));
    m.insert("cid".into(), json!(c.cid));
    m.insert("created_at".into(), json!(rfc3339(c.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(c.updated_at)));
    m.insert(
        "created_by".into(),
        c.created_by
            .as_deref()
            .map_or(Value::Null, |id| user_by_id(users, id)),
    );
    default(&mut m, "frozen", json!(false));
    default(&mut m, "disabled", json!(false));
    m.insert("member_count".into(), json!(member_count));
    m.insert("config".into(), config(&c.channel_type));
    if let Some(members) = members {
        m.insert("members".into(), json!(members));
    }
    Value::Object(m)
}

/// A channel type's configuration as the SDKs read it: the chat source keeps one for all.
fn config(channel_type: &str) -> Value {
    json!({
        "name": channel_type,
        "typing_events": true,
        "read_events": true,
        "connect_events": true,
        "search": true,
        "reactions": true,
        "replies": true,
        "mutes": true,
        "uploads": true,
        "url_enrichment": false,
        "max_message_length": 5000,
        "commands": [],
    })
}

/// `text` as HTML, as Stream renders plain text: one escaped paragraph.
pub fn html(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!("<p>{escaped}</p>\n")
}

pub fn message(msg: &ChatMessage, users: &HashMap<String, ChatUser>) -> Value {
    let mut m = msg.data.clone();
    let text = m
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    m.insert("id".into(), json!(msg.id));
    m.insert("text".into(), json!(text));
    m.insert("html".into(), json!(html(&text)));
    let kind = if msg.deleted_at.is_some() {
        "deleted"
    } else {
        "regular"
    };
    m.insert("type".into(), json!(kind));
    m.insert("user".into(), user_by_id(users, &msg.user_id));
    m.insert("cid".into(), json!(msg.cid));
    m.insert("created_at".into(), json!(rfc3339(msg.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(msg.updated_at)));
    if let Some(at) = msg.deleted_at {
        m.insert("deleted_at".into(), json!(rfc3339(at)));
    }
    default(&mut m, "attachments", json!([]));
    for key in ["latest_reactions", "own_reactions", "mentioned_users"] {
        m.insert(key.into(), json!([]));
    }
    m.insert("reaction_counts".into(), json!({}));
    m.insert("reaction_scores".into(), json!({}));
    m.insert("reply_count".into(), json!(0));
    default(&mut m, "silent", json!(false));
    default(&mut m, "pinned", json!(false));
    m.insert("shadowed".into(), json!(false));
    Value::Object(m)
}

/// The custom fields of a message: all but what every message has.
pub fn custom(data: &Fields) -> Fields {
    data.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "text" | "attachments" | "silent" | "pinned" | "message_text_updated_at"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Millis;

    #[test]
    fn custom_fields_are_flat_and_defaults_yield_to_them() {
        let mut data = Fields::new();
        data.insert("favorite_color".into(), json!("blue"));
        data.insert("role".into(), json!("admin"));
        let u = ChatUser {
            id: "alice".into(),
            data,
            created_at: Millis(0),
            updated_at: Millis(1),
        };
        let v = user(&u);
        assert_eq!(v["favorite_color"], "blue");
        assert_eq!(v["role"], "admin");
        assert_eq!(v["created_at"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_message_has_every_field_the_sdks_read() {
        let mut data = Fields::new();
        data.insert("text".into(), json!("a <b>"));
        data.insert("awesome".into(), json!(true));
        let msg = ChatMessage {
            id: "m1".into(),
            cid: "messaging:general".into(),
            user_id: "alice".into(),
            data,
            created_at: Millis(0),
            updated_at: Millis(0),
            deleted_at: Some(Millis(5)),
        };
        let v = message(&msg, &HashMap::new());
        assert_eq!(v["html"], "<p>a &lt;b&gt;</p>\n");
        assert_eq!(v["type"], "deleted");
        assert_eq!(v["user"]["id"], "alice");
        assert_eq!(v["awesome"], true);
        assert!(v["attachments"].is_array() && v["latest_reactions"].is_array());
        assert_eq!(custom(&msg.data).len(), 1);
    }
}
