//! Channels: the query that creates one (`channel.created`), update with members added or
//! removed (`member.added` / `member.removed`, one per user; `channel.updated`; `message.new`),
//! partial update (`channel.updated`) and delete (`channel.deleted`).

use serde_json::{json, Map, Value};

use super::input::{self, ChannelData, ChannelUpdate, MemberInput, Patch};
use super::{render, Change, Chat, ChatError};
use crate::domain::AppId;
use crate::store::chat::{ChatChannel, ChatMember};
use crate::store::rfc3339;

/// Most messages a channel query returns (the latest).
pub const QUERY_MESSAGES: usize = 25;

/// The channel a call names: its type and id (checked), and its `cid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub channel_type: String,
    pub id: String,
}

impl ChannelRef {
    /// Parses the path's type and id.
    pub fn parse(channel_type: &str, id: &str) -> Result<Self, ChatError> {
        Ok(Self {
            channel_type: input::channel_part("type", channel_type, false)?,
            id: input::channel_part("id", id, true)?,
        })
    }

    /// A new channel of `channel_type` with an id chosen here.
    pub fn generated(channel_type: &str) -> Result<Self, ChatError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self::parse(channel_type, &id)
    }

    pub fn cid(&self) -> String {
        format!("{}:{}", self.channel_type, self.id)
    }
}

impl Chat {
    /// `POST /channels/{type}/{id}/query`: the channel's state, creating it (with `data`'s
    /// fields and members) if it does not exist.
    pub async fn query_channel(
        &self,
        app_id: AppId,
        at: ChannelRef,
        data: ChannelData,
    ) -> Result<Map<String, Value>, ChatError> {
        // reading an existing channel fires nothing: only creating one asks admission
        let mut change = self.begin_unadmitted(app_id).await?;
        let cid = at.cid();
        let channel = match change.tx.channel(&cid).await? {
            Some(channel) => channel,
            None => {
                self.engine.admit(app_id)?;
                create(&mut change, at, data).await?
            }
        };
        let members = change.members(&cid).await?;
        let messages = change.tx.messages(&cid, QUERY_MESSAGES).await?;
        let authors: Vec<String> = messages.iter().map(|m| m.user_id.clone()).collect();
        change.load_users(&authors, None).await?;
        let mut out = Map::new();
        out.insert(
            "channel".into(),
            render::channel(&channel, members.len(), &change.users, None),
        );
        out.insert(
            "members".into(),
            json!(render::members(&members, &change.users)),
        );
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| render::message(m, &change.users))
            .collect();
        out.insert("messages".into(), json!(messages));
        for key in ["pinned_messages", "read", "watchers"] {
            out.insert(key.into(), json!([]));
        }
        out.insert("watcher_count".into(), json!(0));
        self.finish(change).await?;
        Ok(out)
    }

    /// `POST /channels/{type}/{id}`: adds and removes members, replaces the custom data,
    /// sends a message — any of them.
    pub async fn update_channel(
        &self,
        app_id: AppId,
        at: ChannelRef,
        update: ChannelUpdate,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut change = self.begin(app_id).await?;
        let cid = at.cid();
        let mut channel = change.channel(&cid).await?;
        let mut members = change.members(&cid).await?;
        let actor = update.message.as_ref().and_then(|m| m.user_id.clone());
        if let Some(data) = update.data {
            channel.data = data.fields;
            channel.updated_at = change.now;
            change.tx.put_channel(&channel).await?;
            let mut e =
                change.channel_event("channel.updated", &channel, &members, actor.as_deref());
            e.insert("channel".into(), change.channel_json(&channel, &members));
            change.fire(e);
        }
        if !update.add.is_empty() {
            add_members(&mut change, &channel, &mut members, update.add).await?;
        }
        if !update.remove.is_empty() {
            remove_members(&mut change, &channel, &mut members, &update.remove).await?;
        }
        let message = match update.message {
            Some(message) => {
                Some(super::messages::send(&mut change, &channel, &members, message).await?)
            }
            None => None,
        };
        let mut out = channel_answer(&change, &channel, &members);
        if let Some(message) = message {
            out.insert("message".into(), message);
        }
        self.finish(change).await?;
        Ok(out)
    }

    /// `PATCH /channels/{type}/{id}`: sets and unsets custom fields.
    pub async fn patch_channel(
        &self,
        app_id: AppId,
        at: ChannelRef,
        patch: Patch,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut change = self.begin(app_id).await?;
        let cid = at.cid();
        let mut channel = change.channel(&cid).await?;
        let members = change.members(&cid).await?;
        patch.apply(&mut channel.data);
        channel.updated_at = change.now;
        change.tx.put_channel(&channel).await?;
        let mut e = change.channel_event("channel.updated", &channel, &members, None);
        e.insert("channel".into(), change.channel_json(&channel, &members));
        change.fire(e);
        let out = channel_answer(&change, &channel, &members);
        self.finish(change).await?;
        Ok(out)
    }

    /// `DELETE /channels/{type}/{id}`: removes the channel with its members and messages.
    pub async fn delete_channel(
        &self,
        app_id: AppId,
        at: ChannelRef,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut change = self.begin(app_id).await?;
        let cid = at.cid();
        let channel = change.channel(&cid).await?;
        let members = change.members(&cid).await?;
        change.tx.delete_channel(&cid).await?;
        let mut shown = change.channel_json(&channel, &members);
        shown["deleted_at"] = json!(rfc3339(change.now));
        let mut e = change.channel_event("channel.deleted", &channel, &members, None);
        e.insert("channel".into(), shown.clone());
        change.fire(e);
        if let Value::Object(m) = &mut shown {
            m.remove("members");
        }
        let mut out = Map::new();
        out.insert("channel".into(), shown);
        self.finish(change).await?;
        Ok(out)
    }
}

/// `{channel, members}` as the update calls answer.
fn channel_answer(
    change: &Change,
    channel: &ChatChannel,
    members: &[ChatMember],
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "channel".into(),
        render::channel(channel, members.len(), &change.users, None),
    );
    out.insert(
        "members".into(),
        json!(render::members(members, &change.users)),
    );
    out
}

/// Creates the channel a query names: `created_by` and the members must be existing users.
async fn create(
    change: &mut Change,
    at: ChannelRef,
    data: ChannelData,
) -> Result<ChatChannel, ChatError> {
    let Some(creator) = data.created_by else {
        return Err(ChatError::input(
            "data.created_by",
            "either data.created_by or data.created_by_id is required to create a channel with server-side auth",
        ));
    };
    change
        .load_users(std::slice::from_ref(&creator), Some("data.created_by"))
        .await?;
    let ids: Vec<String> = data.members.iter().map(|m| m.user_id.clone()).collect();
    change.load_users(&ids, Some("data.members")).await?;
    let channel = ChatChannel {
        cid: at.cid(),
        channel_type: at.channel_type,
        id: at.id,
        created_by: Some(creator.clone()),
        data: data.fields,
        created_at: change.now,
        updated_at: change.now,
    };
    change.tx.put_channel(&channel).await?;
    let members: Vec<ChatMember> = data
        .members
        .into_iter()
        .map(|m| new_member(m, change.now))
        .collect();
    change.tx.put_members(&channel.cid, &members).await?;
    let mut e = change.channel_event("channel.created", &channel, &members, Some(&creator));
    e.insert("channel".into(), change.channel_json(&channel, &members));
    change.fire(e);
    Ok(channel)
}

fn new_member(m: MemberInput, now: crate::domain::Millis) -> ChatMember {
    ChatMember {
        user_id: m.user_id,
        data: m.fields,
        created_at: now,
        updated_at: now,
    }
}

/// Adds the users not yet members; fires `member.added` for each.
async fn add_members(
    change: &mut Change,
    channel: &ChatChannel,
    members: &mut Vec<ChatMember>,
    add: Vec<MemberInput>,
) -> Result<(), ChatError> {
    let ids: Vec<String> = add.iter().map(|m| m.user_id.clone()).collect();
    change.load_users(&ids, Some("add_members")).await?;
    let fresh: Vec<ChatMember> = add
        .into_iter()
        .filter(|m| !members.iter().any(|old| old.user_id == m.user_id))
        .map(|m| new_member(m, change.now))
        .collect();
    change.tx.put_members(&channel.cid, &fresh).await?;
    members.extend(fresh.iter().cloned());
    for m in &fresh {
        fire_member(change, "member.added", channel, members, m);
    }
    Ok(())
}

/// Removes the users that are members; fires `member.removed` for each.
async fn remove_members(
    change: &mut Change,
    channel: &ChatChannel,
    members: &mut Vec<ChatMember>,
    remove: &[String],
) -> Result<(), ChatError> {
    let gone: Vec<ChatMember> = members
        .iter()
        .filter(|m| remove.contains(&m.user_id))
        .cloned()
        .collect();
    let ids: Vec<String> = gone.iter().map(|m| m.user_id.clone()).collect();
    change.tx.delete_members(&channel.cid, &ids).await?;
    members.retain(|m| !remove.contains(&m.user_id));
    for m in &gone {
        fire_member(change, "member.removed", channel, members, m);
    }
    Ok(())
}

/// `member.added` / `member.removed`: the member, its user (as `user`) and the channel.
fn fire_member(
    change: &mut Change,
    kind: &str,
    channel: &ChatChannel,
    members: &[ChatMember],
    member: &ChatMember,
) {
    let mut e = change.channel_event(kind, channel, members, Some(&member.user_id));
    e.insert("member".into(), render::member(member, &change.users));
    e.insert("channel".into(), change.channel_json(channel, members));
    change.fire(e);
}
