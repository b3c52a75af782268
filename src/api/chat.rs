//! The chat source's calls, as Stream's server SDKs make them: users (`POST` / `PATCH
//! /users`), channels (query, update, partial update, delete), messages (send, update, partial
//! update, delete). Each parses its input (`chat::input`), calls `chat::Chat` and answers
//! Stream's shapes with the request's `duration`; the events the call fires are committed
//! before the answer.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::chat::channels::ChannelRef;
use crate::chat::{input, ChatError};
use crate::server::AppState;

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Input { field, message } => Self::field(field, message),
            ChatError::NotFound(what) => Self::not_found(what),
            ChatError::Store(e) => e.into(),
            ChatError::Ingest(e) => e.into(),
        }
    }
}

type Answer = Result<(StatusCode, Json<Map<String, Value>>), ApiError>;

/// The answer: `body` with the request's `duration`.
fn answer(status: StatusCode, auth: &ServerAuth, mut body: Map<String, Value>) -> Answer {
    body.insert("duration".into(), json!(auth.started.duration()));
    Ok((status, Json(body)))
}

fn one(key: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), value);
    m
}

/// Creates or replaces users.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "UpsertUsers",
    tag = "chat",
    request_body(content = super::chat_schema::UpsertUsersRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The users, by id", body = super::chat_schema::UsersResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn upsert_users(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body = super::json_object(body)?;
    let users = input::upsert_users(&body)?;
    let users = state.chat.upsert_users(auth.app.id, users).await?;
    let mut out = one("users", Value::Object(users));
    out.insert("membership_deletion_task_id".into(), json!(""));
    answer(StatusCode::CREATED, &auth, out)
}

/// Sets and unsets fields of existing users.
#[utoipa::path(
    patch,
    path = "/users",
    operation_id = "UpdateUsersPartial",
    tag = "chat",
    request_body(content = super::chat_schema::PatchUsersRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The users, by id", body = super::chat_schema::UsersResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn patch_users(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body = super::json_object(body)?;
    let patches = input::patch_users(&body)?;
    let users = state.chat.patch_users(auth.app.id, patches).await?;
    answer(StatusCode::OK, &auth, one("users", Value::Object(users)))
}

/// Queries a channel, creating it if it does not exist.
#[utoipa::path(
    post,
    path = "/channels/{type}/{id}/query",
    operation_id = "QueryChannel",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type"), ("id" = String, Path, description = "The channel id")),
    request_body(content = Option<super::chat_schema::QueryChannelRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The channel's state", body = super::chat_schema::ChannelStateResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn query_channel(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path((channel_type, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let at = ChannelRef::parse(&channel_type, &id)?;
    query(auth, state, at, body).await
}

/// Creates a channel whose id the server picks.
#[utoipa::path(
    post,
    path = "/channels/{type}/query",
    operation_id = "QueryNewChannel",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type")),
    request_body(content = Option<super::chat_schema::QueryChannelRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The new channel's state", body = super::chat_schema::ChannelStateResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn query_new_channel(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path(channel_type): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let at = ChannelRef::generated(&channel_type)?;
    query(auth, state, at, body).await
}

async fn query(
    auth: ServerAuth,
    state: AppState,
    at: ChannelRef,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body = super::json_object(body)?;
    let data = input::channel_data(body.get("data"))?;
    let out = state.chat.query_channel(auth.app.id, at, data).await?;
    answer(StatusCode::CREATED, &auth, out)
}

/// Adds or removes members, replaces the channel's data, sends a message with it.
#[utoipa::path(
    post,
    path = "/channels/{type}/{id}",
    operation_id = "UpdateChannel",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type"), ("id" = String, Path, description = "The channel id")),
    request_body(content = Option<super::chat_schema::UpdateChannelRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The channel and its members", body = super::chat_schema::ChannelResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn update_channel(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path((channel_type, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let at = ChannelRef::parse(&channel_type, &id)?;
    let update = input::channel_update(&super::json_object(body)?)?;
    let out = state.chat.update_channel(auth.app.id, at, update).await?;
    answer(StatusCode::CREATED, &auth, out)
}

/// Sets and unsets the channel's custom fields.
#[utoipa::path(
    patch,
    path = "/channels/{type}/{id}",
    operation_id = "UpdateChannelPartial",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type"), ("id" = String, Path, description = "The channel id")),
    request_body(content = Option<super::chat_schema::PatchRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The channel and its members", body = super::chat_schema::ChannelResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn patch_channel(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path((channel_type, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let at = ChannelRef::parse(&channel_type, &id)?;
    let patch = input::channel_patch(&super::json_object(body)?)?;
    let out = state.chat.patch_channel(auth.app.id, at, patch).await?;
    answer(StatusCode::OK, &auth, out)
}

/// `DELETE /channels/{type}/{id}`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteChannelQuery {
    /// `true` or `false`: the chat source removes the channel, its members and messages either
    /// way.
    #[param(value_type = Option<bool>)]
    hard_delete: Option<String>,
}

/// Deletes the channel with its members and messages.
#[utoipa::path(
    delete,
    path = "/channels/{type}/{id}",
    operation_id = "DeleteChannel",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type"), ("id" = String, Path, description = "The channel id"), DeleteChannelQuery),
    responses(
        (status = 200, description = "The deleted channel", body = super::chat_schema::ChannelResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn delete_channel(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path((channel_type, id)): Path<(String, String)>,
    query: Result<Query<DeleteChannelQuery>, QueryRejection>,
) -> Answer {
    let at = ChannelRef::parse(&channel_type, &id)?;
    let Query(q) = query.map_err(|e| ApiError::input(e.body_text()))?;
    input::flag("hard_delete", q.hard_delete.as_deref())?;
    let out = state.chat.delete_channel(auth.app.id, at).await?;
    answer(StatusCode::OK, &auth, out)
}

/// Sends a message to the channel.
#[utoipa::path(
    post,
    path = "/channels/{type}/{id}/message",
    operation_id = "SendMessage",
    tag = "chat",
    params(("type" = String, Path, description = "The channel type"), ("id" = String, Path, description = "The channel id")),
    request_body(content = super::chat_schema::MessageRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The message", body = super::chat_schema::MessageResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn send_message(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path((channel_type, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let at = ChannelRef::parse(&channel_type, &id)?;
    let message = required_message(&super::json_object(body)?)?;
    let message = state.chat.send_message(auth.app.id, at, message).await?;
    answer(StatusCode::CREATED, &auth, one("message", message))
}

fn required_message(body: &Map<String, Value>) -> Result<input::MessageInput, ApiError> {
    input::message("message", body.get("message"))?
        .ok_or_else(|| ApiError::field("message", "is required"))
}

/// Replaces a message's text and custom fields.
#[utoipa::path(
    post,
    path = "/messages/{id}",
    operation_id = "UpdateMessage",
    tag = "chat",
    params(("id" = String, Path, description = "The message id")),
    request_body(content = super::chat_schema::MessageRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The message", body = super::chat_schema::MessageResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn update_message(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let id = input::message_id("id", &id)?;
    let message = required_message(&super::json_object(body)?)?;
    let message = state.chat.update_message(auth.app.id, &id, message).await?;
    answer(StatusCode::CREATED, &auth, one("message", message))
}

/// Sets and unsets fields of a message.
#[utoipa::path(
    put,
    path = "/messages/{id}",
    operation_id = "UpdateMessagePartial",
    tag = "chat",
    params(("id" = String, Path, description = "The message id")),
    request_body(content = Option<super::chat_schema::PatchRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The merged message", body = super::chat_schema::MessageResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn patch_message(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let id = input::message_id("id", &id)?;
    let (patch, user) = input::message_patch(&super::json_object(body)?)?;
    let message = state
        .chat
        .patch_message(auth.app.id, &id, patch, user)
        .await?;
    answer(StatusCode::CREATED, &auth, one("message", message))
}

/// `DELETE /messages/{id}`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteMessageQuery {
    /// `true`: the message is removed; otherwise it is kept, typed `deleted`.
    #[param(value_type = Option<bool>)]
    hard: Option<String>,
    /// The user deleting it (an existing user; the author when absent).
    deleted_by: Option<String>,
}

/// Deletes a message, soft or hard.
#[utoipa::path(
    delete,
    path = "/messages/{id}",
    operation_id = "DeleteMessage",
    tag = "chat",
    params(("id" = String, Path, description = "The message id"), DeleteMessageQuery),
    responses(
        (status = 200, description = "The deleted message", body = super::chat_schema::MessageResponse),
        super::openapi::NotFoundError,
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn delete_message(
    auth: ServerAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<DeleteMessageQuery>, QueryRejection>,
) -> Answer {
    let id = input::message_id("id", &id)?;
    let Query(q) = query.map_err(|e| ApiError::input(e.body_text()))?;
    let hard = input::flag("hard", q.hard.as_deref())?;
    let deleted_by = q.deleted_by.filter(|s| !s.is_empty());
    let message = state
        .chat
        .delete_message(auth.app.id, &id, hard, deleted_by)
        .await?;
    answer(StatusCode::OK, &auth, one("message", message))
}
