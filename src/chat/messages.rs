//! Messages: send (`message.new`), update and partial update (`message.updated`), delete, soft
//! or hard (`message.deleted`).

use serde_json::{json, Map, Value};

use super::channels::ChannelRef;
use super::input::{MessageInput, Patch};
use super::{render, Change, Chat, ChatError};
use crate::domain::AppId;
use crate::store::chat::{ChatChannel, ChatMember, ChatMessage};
use crate::store::rfc3339;

impl Chat {
    /// `POST /channels/{type}/{id}/message`.
    pub async fn send_message(
        &self,
        app_id: AppId,
        at: ChannelRef,
        message: MessageInput,
    ) -> Result<Value, ChatError> {
        let mut change = self.begin(app_id).await?;
        let cid = at.cid();
        let channel = change.channel(&cid).await?;
        let members = change.members(&cid).await?;
        let out = send(&mut change, &channel, &members, message).await?;
        self.finish(change).await?;
        Ok(out)
    }

    /// `POST /messages/{id}`: replaces the message's text and custom fields.
    pub async fn update_message(
        &self,
        app_id: AppId,
        id: &str,
        message: MessageInput,
    ) -> Result<Value, ChatError> {
        if message.id.as_deref().is_some_and(|given| given != id) {
            return Err(ChatError::input("message.id", "must be the id in the path"));
        }
        let mut change = self.begin(app_id).await?;
        let old = existing(&mut change, id).await?;
        let actor = actor(
            &mut change,
            message.user_id.as_deref(),
            &old,
            "message.user",
        )
        .await?;
        let mut new = old.clone();
        new.data = message.fields;
        let out = updated(&mut change, old, new, &actor).await?;
        self.finish(change).await?;
        Ok(out)
    }

    /// `PUT /messages/{id}`: sets and unsets fields of the message.
    pub async fn patch_message(
        &self,
        app_id: AppId,
        id: &str,
        patch: Patch,
        user_id: Option<String>,
    ) -> Result<Value, ChatError> {
        let mut change = self.begin(app_id).await?;
        let old = existing(&mut change, id).await?;
        let actor = actor(&mut change, user_id.as_deref(), &old, "user").await?;
        let mut new = old.clone();
        patch.apply(&mut new.data);
        let out = updated(&mut change, old, new, &actor).await?;
        self.finish(change).await?;
        Ok(out)
    }

    /// `DELETE /messages/{id}`: soft (kept, typed `deleted`) or hard (gone).
    pub async fn delete_message(
        &self,
        app_id: AppId,
        id: &str,
        hard: bool,
        deleted_by: Option<String>,
    ) -> Result<Value, ChatError> {
        let mut change = self.begin(app_id).await?;
        let mut message = existing(&mut change, id).await?;
        let actor = actor(&mut change, deleted_by.as_deref(), &message, "deleted_by").await?;
        let channel = change.channel(&message.cid).await?;
        let members = change.members(&channel.cid).await?;
        message.deleted_at = Some(change.now);
        message.updated_at = change.now;
        if hard {
            change.tx.delete_message(id).await?;
        } else {
            change.tx.put_message(&message).await?;
        }
        let json = render::message(&message, &change.users);
        let mut e = change.channel_event("message.deleted", &channel, &members, Some(&actor));
        e.insert("message_id".into(), json!(message.id));
        e.insert("message".into(), json.clone());
        e.insert("hard_delete".into(), json!(hard));
        change.fire(e);
        self.finish(change).await?;
        Ok(json)
    }
}

/// The message `id`, or Stream's not-found error (a hard-deleted message is gone).
async fn existing(change: &mut Change, id: &str) -> Result<ChatMessage, ChatError> {
    let message = change
        .tx
        .message(id)
        .await?
        .ok_or_else(|| ChatError::NotFound(format!("message {id} does not exist")))?;
    change
        .load_users(std::slice::from_ref(&message.user_id), None)
        .await?;
    Ok(message)
}

/// The user acting on `message`: the one named (it must exist), else the message's author.
async fn actor(
    change: &mut Change,
    named: Option<&str>,
    message: &ChatMessage,
    field: &str,
) -> Result<String, ChatError> {
    match named {
        Some(id) => {
            let id = super::input::user_id(field, Some(&json!(id)))?;
            change
                .load_users(std::slice::from_ref(&id), Some(field))
                .await?;
            Ok(id)
        }
        None => Ok(message.user_id.clone()),
    }
}

/// Sends `message` in `channel` as its user (who must exist); fires `message.new`.
pub(super) async fn send(
    change: &mut Change,
    channel: &ChatChannel,
    members: &[ChatMember],
    message: MessageInput,
) -> Result<Value, ChatError> {
    let Some(user_id) = message.user_id else {
        return Err(ChatError::input(
            "message.user",
            "either message.user or message.user_id is required with server-side auth",
        ));
    };
    change
        .load_users(std::slice::from_ref(&user_id), Some("message.user"))
        .await?;
    let id = match message.id {
        Some(id) => {
            if change.tx.message(&id).await?.is_some() {
                return Err(ChatError::input(
                    "message.id",
                    format!("a message with id {id} already exists"),
                ));
            }
            id
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let stored = ChatMessage {
        id,
        cid: channel.cid.clone(),
        user_id: user_id.clone(),
        data: message.fields,
        created_at: change.now,
        updated_at: change.now,
        deleted_at: None,
    };
    change.tx.put_message(&stored).await?;
    let json = render::message(&stored, &change.users);
    let mut e = change.channel_event("message.new", channel, members, Some(&user_id));
    e.insert("message_id".into(), json!(stored.id));
    e.insert("message".into(), json.clone());
    e.insert("watcher_count".into(), json!(0));
    change.fire(e);
    Ok(json)
}

/// Stores the new version of a message and fires `message.updated` with what changed.
async fn updated(
    change: &mut Change,
    old: ChatMessage,
    mut new: ChatMessage,
    actor: &str,
) -> Result<Value, ChatError> {
    new.updated_at = change.now;
    let text = |m: &ChatMessage| {
        m.data
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (old_text, new_text) = (text(&old), text(&new));
    if old_text != new_text {
        new.data
            .insert("message_text_updated_at".into(), json!(rfc3339(change.now)));
    }
    change.tx.put_message(&new).await?;
    let channel = change.channel(&new.cid).await?;
    let members = change.members(&channel.cid).await?;
    let json = render::message(&new, &change.users);
    let differs = |key: &str| old.data.get(key) != new.data.get(key);
    let mut change_set = Map::new();
    change_set.insert("text".into(), json!(old_text != new_text));
    change_set.insert("html".into(), json!(old_text != new_text));
    change_set.insert(
        "custom".into(),
        json!(render::custom(&old.data) != render::custom(&new.data)),
    );
    change_set.insert("attachments".into(), json!(differs("attachments")));
    change_set.insert("mentioned_user_ids".into(), json!(false));
    change_set.insert("quoted_message_id".into(), json!(false));
    change_set.insert("silent".into(), json!(differs("silent")));
    change_set.insert("pin".into(), json!(differs("pinned")));
    let mut e = change.channel_event("message.updated", &channel, &members, Some(actor));
    e.insert("message_id".into(), json!(new.id));
    e.insert("message".into(), json.clone());
    e.insert(
        "message_update".into(),
        json!({"old_text": old_text, "change_set": change_set}),
    );
    change.fire(e);
    Ok(json)
}
