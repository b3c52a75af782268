//! The chat calls' bodies and answers as the OpenAPI document describes them. The handlers
//! read their bodies leniently (`chat::input`): these types describe, they do not parse.
#![allow(dead_code)] // descriptions of what `api::chat` reads and answers

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A user named by id.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserRef {
    id: String,
}

/// A user to create or replace: its fields other than `id` replace the stored ones; custom
/// fields are flat.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserRequest {
    /// 1–255 letters, digits, `@`, `_` or `-`.
    id: String,
    name: Option<String>,
    /// `user` when absent.
    role: Option<String>,
    #[serde(flatten)]
    custom: BTreeMap<String, Value>,
}

/// `POST /users`: the users by id (a list is accepted too).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpsertUsersRequest {
    users: BTreeMap<String, UserRequest>,
}

/// One user's partial change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatchRequest {
    id: String,
    #[schema(value_type = Option<Object>)]
    set: Option<Value>,
    unset: Option<Vec<String>>,
}

/// `PATCH /users`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchUsersRequest {
    users: Vec<UserPatchRequest>,
}

/// Users by id, as Stream shows them (custom fields flat).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UsersResponse {
    #[schema(value_type = BTreeMap<String, Object>)]
    users: BTreeMap<String, Value>,
    /// Always empty (Stream's field).
    membership_deletion_task_id: Option<String>,
    duration: String,
}

/// A channel's data: custom fields flat, with the members and creator of a new channel.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChannelDataRequest {
    /// User ids, or `{user_id, channel_role, …}` objects; every user must exist.
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<Vec<Value>>,
    /// Who creates the channel (the Python SDK's form).
    created_by: Option<UserRef>,
    /// Who creates the channel (the JavaScript SDK's form).
    created_by_id: Option<String>,
    #[serde(flatten)]
    custom: BTreeMap<String, Value>,
}

/// `POST /channels/{type}[/{id}]/query`: `data` creates the channel if it does not exist (it
/// then needs a creator).
#[derive(Debug, Deserialize, ToSchema)]
pub struct QueryChannelRequest {
    data: Option<ChannelDataRequest>,
    state: Option<bool>,
    watch: Option<bool>,
    presence: Option<bool>,
}

/// A message: `text`, `attachments` and custom fields flat; its user as `user` or `user_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageBody {
    /// Chosen by the client, or by the server when absent.
    id: Option<String>,
    text: Option<String>,
    user: Option<UserRef>,
    user_id: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    attachments: Option<Vec<Value>>,
    #[serde(flatten)]
    custom: BTreeMap<String, Value>,
}

/// `POST /channels/{type}/{id}/message` and `POST /messages/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageRequest {
    message: MessageBody,
    skip_push: Option<bool>,
}

/// `POST /channels/{type}/{id}`: any of these.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateChannelRequest {
    /// User ids or `{user_id, …}` objects.
    #[schema(value_type = Option<Vec<Object>>)]
    add_members: Option<Vec<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    remove_members: Option<Vec<Value>>,
    /// Replaces the channel's custom fields.
    data: Option<ChannelDataRequest>,
    /// A message sent with the change.
    message: Option<MessageBody>,
}

/// A partial change: fields to set and to remove, and the user making it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchRequest {
    #[schema(value_type = Option<Object>)]
    set: Option<Value>,
    unset: Option<Vec<String>>,
    user: Option<UserRef>,
    user_id: Option<String>,
}

/// A channel's state as a query answers it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChannelStateResponse {
    /// `{id, type, cid, created_at, updated_at, created_by, frozen, disabled, member_count,
    /// config, …custom}`.
    #[schema(value_type = Object)]
    channel: Value,
    #[schema(value_type = Vec<Object>)]
    members: Vec<Value>,
    /// The latest messages, oldest first.
    #[schema(value_type = Vec<Object>)]
    messages: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pinned_messages: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    read: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    watchers: Vec<Value>,
    watcher_count: i64,
    duration: String,
}

/// A channel, with its members (all of them) unless it was deleted.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChannelResponse {
    #[schema(value_type = Object)]
    channel: Value,
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<Vec<Value>>,
    /// The message sent with the change, if any.
    #[schema(value_type = Option<Object>)]
    message: Option<Value>,
    duration: String,
}

/// A message: `{id, text, html, type, user, cid, created_at, updated_at, attachments, …custom}`
/// (`deleted_at` once deleted).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageResponse {
    #[schema(value_type = Object)]
    message: Value,
    duration: String,
}
