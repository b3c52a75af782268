//! The chat source's state (`chat_users`, `chat_channels`, `chat_members`, `chat_messages`) and
//! its outbox (`chat_outbox`).
//!
//! A chat change is one [`ChatTx`]: it reads and writes the app's chat rows and records the
//! events the change fires in the outbox, all in one transaction, so a committed change always
//! has its events on disk. Ingest then takes them (the caller's answer waits for it) and they
//! leave the outbox; events a crash left there are accepted at the next start. Chat changes of
//! one app run one at a time (SQLite: the write lock; PostgreSQL: a transaction-level advisory
//! lock per app).
//!
//! Every row keeps its keys apart and the rest of its object (custom fields flat, as Stream's
//! SDKs send them) as a JSON object in `data`.

use serde_json::{Map, Value};

use super::{postgres, sqlite, Backend, Store, StoreError};
use crate::domain::{AppId, Millis};

/// A JSON object: a chat row's fields other than its keys and times.
pub type Fields = Map<String, Value>;

/// A chat user.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatUser {
    pub id: String,
    pub data: Fields,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A channel (`cid` is `type:id`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatChannel {
    pub cid: String,
    pub channel_type: String,
    pub id: String,
    /// The id of the user who created it.
    pub created_by: Option<String>,
    pub data: Fields,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A channel member.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMember {
    pub user_id: String,
    pub data: Fields,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub id: String,
    pub cid: String,
    pub user_id: String,
    pub data: Fields,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// When it was soft deleted.
    pub deleted_at: Option<Millis>,
}

/// An event of a committed chat change, waiting for ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub app_id: AppId,
    pub event_id: String,
    /// The event JSON.
    pub payload: String,
}

/// A chat row as the backends read and write it: the `data` object as JSON text.
pub(super) fn parse_fields(what: &str, json: &str) -> Result<Fields, StoreError> {
    match serde_json::from_str(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Corrupt(format!(
            "{what}: data is not an object"
        ))),
        Err(e) => Err(StoreError::Corrupt(format!("{what}: {e}"))),
    }
}

pub(super) fn fields_json(data: &Fields) -> String {
    serde_json::to_string(data).expect("JSON objects serialise")
}

impl Store {
    /// Starts a chat change of `app_id`'s state, waiting for any other change of that app (see
    /// the module's documentation). Nothing is written unless [`ChatTx::commit`] is called.
    pub async fn begin_chat(&self, app_id: AppId) -> Result<ChatTx, StoreError> {
        let tx = match &self.backend {
            Backend::Sqlite(b) => Tx::Sqlite(sqlite::chat::begin(b, app_id).await?),
            Backend::Postgres(b) => Tx::Postgres(postgres::chat::begin(b, app_id).await?),
        };
        Ok(ChatTx { tx, app_id })
    }

    /// Up to `limit` events waiting in the chat outbox (left by a crash, or by an ingest that
    /// failed), oldest first.
    pub async fn chat_outbox(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        super::backend!(self, b => b.chat_outbox(limit).await)
    }

    /// Removes events ingest has accepted from the chat outbox.
    pub async fn chat_outbox_done(
        &self,
        app_id: AppId,
        event_ids: &[String],
    ) -> Result<(), StoreError> {
        if event_ids.is_empty() {
            return Ok(());
        }
        super::backend!(self, b => b.chat_outbox_done(app_id, event_ids).await)
    }
}

enum Tx {
    Sqlite(sqlite::chat::Tx),
    Postgres(postgres::chat::Tx),
}

/// `on_tx!(self, module::function(args))`: calls the backend's function with its transaction
/// and the app id as the first two arguments.
macro_rules! on_tx {
    ($self:ident, $f:ident($($arg:expr),*)) => {
        match &mut $self.tx {
            Tx::Sqlite(tx) => sqlite::chat::$f(tx, $self.app_id $(, $arg)*).await,
            Tx::Postgres(tx) => postgres::chat::$f(tx, $self.app_id $(, $arg)*).await,
        }
    };
}

/// One chat change in progress (see [`Store::begin_chat`]).
pub struct ChatTx {
    tx: Tx,
    app_id: AppId,
}

impl ChatTx {
    pub fn app_id(&self) -> AppId {
        self.app_id
    }

    /// The users with these ids that exist (in no particular order).
    pub async fn users(&mut self, ids: &[String]) -> Result<Vec<ChatUser>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        on_tx!(self, users(ids))
    }

    /// Inserts or replaces users.
    pub async fn put_users(&mut self, users: &[ChatUser]) -> Result<(), StoreError> {
        on_tx!(self, put_users(users))
    }

    pub async fn channel(&mut self, cid: &str) -> Result<Option<ChatChannel>, StoreError> {
        on_tx!(self, channel(cid))
    }

    /// Inserts or replaces a channel.
    pub async fn put_channel(&mut self, channel: &ChatChannel) -> Result<(), StoreError> {
        on_tx!(self, put_channel(channel))
    }

    /// Deletes a channel with its members and messages.
    pub async fn delete_channel(&mut self, cid: &str) -> Result<(), StoreError> {
        on_tx!(self, delete_channel(cid))
    }

    /// The channel's members, oldest first.
    pub async fn members(&mut self, cid: &str) -> Result<Vec<ChatMember>, StoreError> {
        on_tx!(self, members(cid))
    }

    /// Inserts or replaces members of a channel.
    pub async fn put_members(
        &mut self,
        cid: &str,
        members: &[ChatMember],
    ) -> Result<(), StoreError> {
        on_tx!(self, put_members(cid, members))
    }

    /// Removes members from a channel.
    pub async fn delete_members(
        &mut self,
        cid: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        on_tx!(self, delete_members(cid, user_ids))
    }

    pub async fn message(&mut self, id: &str) -> Result<Option<ChatMessage>, StoreError> {
        on_tx!(self, message(id))
    }

    /// The channel's latest `limit` messages, oldest first.
    pub async fn messages(
        &mut self,
        cid: &str,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        on_tx!(self, messages(cid, limit))
    }

    /// Inserts or replaces a message.
    pub async fn put_message(&mut self, message: &ChatMessage) -> Result<(), StoreError> {
        on_tx!(self, put_message(message))
    }

    pub async fn delete_message(&mut self, id: &str) -> Result<(), StoreError> {
        on_tx!(self, delete_message(id))
    }

    /// Records the change's events, `(id, JSON)`, in the outbox.
    pub async fn outbox(
        &mut self,
        events: &[(String, String)],
        now: Millis,
    ) -> Result<(), StoreError> {
        on_tx!(self, outbox(events, now))
    }

    /// Makes the change and its events durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => Ok(tx.commit().await?),
        }
    }
}
