//! The chat calls' bodies, parsed at the edge into typed inputs ("parse, don't validate"):
//! ids checked, users and members given as strings or objects made one form, Stream's
//! read-only fields dropped from what is stored.

use serde_json::{Map, Value};

use super::ChatError;
use crate::store::chat::Fields;

/// Longest user, channel and message id.
pub const MAX_ID_LEN: usize = 255;

/// Longest channel id and type (Stream's limit).
pub const MAX_CHANNEL_ID_LEN: usize = 64;

/// Fields of a user the server sets: never stored from input.
const USER_READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "online",
    "last_active",
    "deactivated_at",
    "deleted_at",
];

/// Fields of a channel the server sets or keeps apart.
const CHANNEL_READ_ONLY: &[&str] = &[
    "id",
    "type",
    "cid",
    "members",
    "created_by",
    "created_by_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "member_count",
    "config",
    "own_capabilities",
    "last_message_at",
];

/// Fields of a message the server sets or keeps apart.
const MESSAGE_READ_ONLY: &[&str] = &[
    "id",
    "user",
    "user_id",
    "cid",
    "type",
    "html",
    "created_at",
    "updated_at",
    "deleted_at",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reply_count",
    "mentioned_users",
    "shadowed",
    "message_text_updated_at",
];

/// Fields of a member the server sets or keeps apart.
const MEMBER_READ_ONLY: &[&str] = &["user_id", "user", "created_at", "updated_at"];

fn input(field: impl Into<String>, message: impl Into<String>) -> ChatError {
    ChatError::Input {
        field: field.into(),
        message: message.into(),
    }
}

fn without(mut map: Map<String, Value>, read_only: &[&str]) -> Fields {
    for key in read_only {
        map.remove(*key);
    }
    map
}

/// A user id: 1–255 characters of letters, digits, `@`, `_` and `-` (Stream's rule).
pub fn user_id(field: &str, v: Option<&Value>) -> Result<String, ChatError> {
    match v {
        Some(Value::String(id))
            if !id.is_empty()
                && id.len() <= MAX_ID_LEN
                && id
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '@' | '_' | '-')) =>
        {
            Ok(id.clone())
        }
        Some(Value::String(_)) => Err(input(
            field,
            format!("must be 1 to {MAX_ID_LEN} letters, digits, @, _ or -"),
        )),
        Some(_) => Err(input(field, "must be a string")),
        None => Err(input(field, "is required")),
    }
}

/// A channel type or id: 1–64 letters, digits, `_`, `-` (and `!` in ids).
pub fn channel_part(field: &str, s: &str, bang: bool) -> Result<String, ChatError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_CHANNEL_ID_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (bang && c == '!'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(input(
            field,
            format!("must be 1 to {MAX_CHANNEL_ID_LEN} letters, digits, _ or -"),
        ))
    }
}

/// A message id chosen by the client: 1–255 characters without spaces or control characters.
pub fn message_id(field: &str, s: &str) -> Result<String, ChatError> {
    if !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        Ok(s.to_string())
    } else {
        Err(input(
            field,
            format!("must be 1 to {MAX_ID_LEN} characters without spaces"),
        ))
    }
}

fn object(field: &str, v: Option<&Value>) -> Result<Option<Map<String, Value>>, ChatError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(input(field, "must be an object")),
    }
}

fn strings(field: &str, v: Option<&Value>) -> Result<Vec<String>, ChatError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(input(format!("{field}[{i}]"), "must be a string")),
            })
            .collect(),
        Some(_) => Err(input(field, "must be a list of field names")),
    }
}

/// A user to upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub id: String,
    /// Name, role and custom fields.
    pub fields: Fields,
}

/// `POST /users`: `{"users": {id: user, …}}` (a list of users is accepted too).
pub fn upsert_users(body: &Map<String, Value>) -> Result<Vec<UserInput>, ChatError> {
    let users: Vec<(String, &Value)> = match body.get("users") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (format!("users.{k}"), v)).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("users[{i}]"), v))
            .collect(),
        Some(_) => return Err(input("users", "must be an object of users by id")),
        None => return Err(input("users", "is required")),
    };
    if users.is_empty() {
        return Err(input("users", "must name at least one user"));
    }
    users
        .into_iter()
        .map(|(field, v)| {
            let map = object(&field, Some(v))?.unwrap_or_default();
            let id = user_id(&format!("{field}.id"), map.get("id"))?;
            if let Some(role) = map.get("role") {
                if !role.is_string() {
                    return Err(input(format!("{field}.role"), "must be a string"));
                }
            }
            Ok(UserInput {
                id,
                fields: without(map, USER_READ_ONLY),
            })
        })
        .collect()
}

/// A partial change: fields to set and fields to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub set: Fields,
    pub unset: Vec<String>,
}

impl Patch {
    fn parse(field: &str, map: &Map<String, Value>, read_only: &[&str]) -> Result<Self, ChatError> {
        let set = object(&format!("{field}set"), map.get("set"))?.unwrap_or_default();
        let unset = strings(&format!("{field}unset"), map.get("unset"))?;
        for key in set.keys().chain(unset.iter()) {
            if read_only.contains(&key.as_str()) {
                return Err(input(
                    format!("{field}set.{key}"),
                    "is set by the server and cannot be changed",
                ));
            }
        }
        Ok(Self { set, unset })
    }

    /// Applies the change to `data`.
    pub fn apply(&self, data: &mut Fields) {
        for key in &self.unset {
            data.remove(key);
        }
        for (k, v) in &self.set {
            data.insert(k.clone(), v.clone());
        }
    }
}

/// A partial change of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPatch {
    pub id: String,
    pub patch: Patch,
}

/// `PATCH /users`: `{"users": [{"id", "set", "unset"}]}`.
pub fn patch_users(body: &Map<String, Value>) -> Result<Vec<UserPatch>, ChatError> {
    let Some(Value::Array(list)) = body.get("users") else {
        return Err(input("users", "must be a list of {id, set, unset}"));
    };
    if list.is_empty() {
        return Err(input("users", "must name at least one user"));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("users[{i}]");
            let map = object(&field, Some(v))?.unwrap_or_default();
            Ok(UserPatch {
                id: user_id(&format!("{field}.id"), map.get("id"))?,
                patch: Patch::parse(&format!("{field}."), &map, USER_READ_ONLY)?,
            })
        })
        .collect()
}

/// A member to add: the user and the membership's own fields (`channel_role`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberInput {
    pub user_id: String,
    pub fields: Fields,
}

/// Members as Stream's SDKs send them: user ids, or `{user_id, …}` objects.
pub fn members(field: &str, v: Option<&Value>) -> Result<Vec<MemberInput>, ChatError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(input(
                field,
                "must be a list of user ids or {user_id} objects",
            ))
        }
    };
    let mut out: Vec<MemberInput> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let member = match item {
            Value::String(_) => MemberInput {
                user_id: user_id(&field, Some(item))?,
                fields: Fields::new(),
            },
            Value::Object(map) => {
                let id = map
                    .get("user_id")
                    .or_else(|| map.get("user").and_then(|u| u.get("id")));
                MemberInput {
                    user_id: user_id(&format!("{field}.user_id"), id)?,
                    fields: without(map.clone(), MEMBER_READ_ONLY),
                }
            }
            _ => return Err(input(field, "must be a user id or a {user_id} object")),
        };
        if !out.iter().any(|m| m.user_id == member.user_id) {
            out.push(member);
        }
    }
    Ok(out)
}

/// The user acting: `user: {id}` or `user_id` in `map`.
fn actor(prefix: &str, map: &Map<String, Value>) -> Result<Option<String>, ChatError> {
    if let Some(user) = map.get("user").filter(|v| !v.is_null()) {
        let Value::Object(user) = user else {
            return Err(input(
                format!("{prefix}user"),
                "must be an object with an id",
            ));
        };
        return user_id(&format!("{prefix}user.id"), user.get("id")).map(Some);
    }
    match map.get("user_id").filter(|v| !v.is_null()) {
        Some(v) => user_id(&format!("{prefix}user_id"), Some(v)).map(Some),
        None => Ok(None),
    }
}

/// A channel's data as a query creates it or an update replaces it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelData {
    /// Custom fields (and `name`, `image`, `frozen`, …).
    pub fields: Fields,
    pub members: Vec<MemberInput>,
    /// `created_by: {id}` or `created_by_id`.
    pub created_by: Option<String>,
}

/// The `data` of a channel query or update.
pub fn channel_data(v: Option<&Value>) -> Result<ChannelData, ChatError> {
    let Some(map) = object("data", v)? else {
        return Ok(ChannelData::default());
    };
    let created_by = match map.get("created_by").filter(|v| !v.is_null()) {
        Some(Value::Object(user)) => Some(user_id("data.created_by.id", user.get("id"))?),
        Some(_) => return Err(input("data.created_by", "must be an object with an id")),
        None => match map.get("created_by_id").filter(|v| !v.is_null()) {
            Some(v) => Some(user_id("data.created_by_id", Some(v))?),
            None => None,
        },
    };
    Ok(ChannelData {
        members: members("data.members", map.get("members"))?,
        created_by,
        fields: without(map, CHANNEL_READ_ONLY),
    })
}

/// A message as sent or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageInput {
    /// The id the client chose, if any.
    pub id: Option<String>,
    pub user_id: Option<String>,
    /// `text`, `attachments` and custom fields.
    pub fields: Fields,
}

/// The message object at `field` (`message`).
pub fn message(field: &str, v: Option<&Value>) -> Result<Option<MessageInput>, ChatError> {
    let Some(map) = object(field, v)? else {
        return Ok(None);
    };
    let id = match map.get("id").filter(|v| !v.is_null()) {
        Some(Value::String(id)) => Some(message_id(&format!("{field}.id"), id)?),
        Some(_) => return Err(input(format!("{field}.id"), "must be a string")),
        None => None,
    };
    match map.get("text") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err(input(format!("{field}.text"), "must be a string")),
    }
    match map.get("attachments") {
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(_) => return Err(input(format!("{field}.attachments"), "must be a list")),
    }
    let user_id = actor(&format!("{field}."), &map)?;
    Ok(Some(MessageInput {
        id,
        user_id,
        fields: without(map, MESSAGE_READ_ONLY),
    }))
}

/// `PUT /messages/{id}`: `{"set", "unset", "user": {id} | "user_id"}`.
pub fn message_patch(body: &Map<String, Value>) -> Result<(Patch, Option<String>), ChatError> {
    Ok((Patch::parse("", body, MESSAGE_READ_ONLY)?, actor("", body)?))
}

/// `PATCH /channels/{type}/{id}`: `{"set", "unset"}`.
pub fn channel_patch(body: &Map<String, Value>) -> Result<Patch, ChatError> {
    Patch::parse("", body, CHANNEL_READ_ONLY)
}

/// `POST /channels/{type}/{id}`: members to add or remove, new data, a message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelUpdate {
    pub add: Vec<MemberInput>,
    pub remove: Vec<String>,
    /// Replaces the channel's custom fields.
    pub data: Option<ChannelData>,
    pub message: Option<MessageInput>,
}

pub fn channel_update(body: &Map<String, Value>) -> Result<ChannelUpdate, ChatError> {
    let remove = members("remove_members", body.get("remove_members"))?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let data = match body.get("data") {
        None | Some(Value::Null) => None,
        v => Some(channel_data(v)?),
    };
    Ok(ChannelUpdate {
        add: members("add_members", body.get("add_members"))?,
        remove,
        data,
        message: message("message", body.get("message"))?,
    })
}

/// A boolean query parameter as the SDKs send it (`true` / `false`, also `1` / `0`).
pub fn flag(field: &str, v: Option<&str>) -> Result<bool, ChatError> {
    match v {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(input(field, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn users_come_keyed_by_id_with_custom_fields_and_no_read_only_ones() {
        let users = upsert_users(&map(json!({"users": {"alice": {
            "id": "alice", "name": "Alice", "favorite_color": "blue", "created_at": "x"}}})))
        .unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].id, "alice");
        assert_eq!(users[0].fields["favorite_color"], "blue");
        assert!(!users[0].fields.contains_key("created_at"));
        let e = upsert_users(&map(json!({"users": {"x": {"id": "bad id"}}}))).unwrap_err();
        assert!(e.to_string().starts_with("users.x.id:"), "{e}");
    }

    #[test]
    fn members_are_strings_or_objects_and_repeat_once() {
        let m = members(
            "data.members",
            Some(
                &json!(["alice", {"user_id": "bob", "channel_role": "channel_moderator"}, "alice"]),
            ),
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].user_id, "bob");
        assert_eq!(m[1].fields["channel_role"], "channel_moderator");
        let e = members("add_members", Some(&json!([{"role": "x"}]))).unwrap_err();
        assert!(e.to_string().starts_with("add_members[0].user_id:"), "{e}");
    }

    #[test]
    fn channel_data_takes_the_creator_from_either_sdk() {
        let py = channel_data(Some(
            &json!({"members": ["a"], "created_by": {"id": "a"}, "color": "red"}),
        ))
        .unwrap();
        let js = channel_data(Some(&json!({"created_by_id": "a"}))).unwrap();
        assert_eq!(py.created_by.as_deref(), Some("a"));
        assert_eq!(js.created_by.as_deref(), Some("a"));
        assert_eq!(py.fields.len(), 1, "{:?}", py.fields);
    }

    #[test]
    fn messages_name_their_user_either_way_and_check_their_fields() {
        let py = message(
            "message",
            Some(&json!({"text": "hi", "user": {"id": "alice"}})),
        )
        .unwrap()
        .unwrap();
        let js = message(
            "message",
            Some(&json!({"text": "hi", "user_id": "alice", "pinned": false})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(py.user_id.as_deref(), Some("alice"));
        assert_eq!(js.user_id, py.user_id);
        assert_eq!(py.fields["text"], "hi");
        let e = message("message", Some(&json!({"text": 5}))).unwrap_err();
        assert!(e.to_string().starts_with("message.text:"), "{e}");
        assert!(message("message", Some(&Value::Null)).unwrap().is_none());
    }

    #[test]
    fn a_patch_may_not_touch_what_the_server_sets() {
        let (p, user) = message_patch(&map(
            json!({"set": {"awesome": true}, "unset": ["x"], "user": {"id": "a"}}),
        ))
        .unwrap();
        let mut data = map(json!({"x": 1, "text": "hi"}));
        p.apply(&mut data);
        assert_eq!(Value::Object(data), json!({"text": "hi", "awesome": true}));
        assert_eq!(user.as_deref(), Some("a"));
        assert!(message_patch(&map(json!({"set": {"cid": "x"}}))).is_err());
    }

    #[test]
    fn flags_are_lowercase_booleans() {
        assert!(flag("hard", Some("true")).unwrap());
        assert!(!flag("hard", None).unwrap());
        assert!(flag("hard", Some("yes")).is_err());
    }
}
