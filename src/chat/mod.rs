//! The chat source: a minimal Stream-compatible chat backend whose calls fire Stream's events
//! through the same durable ingest as `POST /events`.
//!
//! - [`input`]: the calls' bodies parsed into typed inputs.
//! - [`render`]: users, channels, members and messages in Stream's JSON.
//! - [`users`], [`channels`], [`messages`]: the calls.
//!
//! **Nothing lost.** Each call is one [`Change`]: admission first (a refused call changes
//! nothing), then one store transaction that changes the chat state and records the events it
//! fires in the chat outbox ([`crate::store::ChatTx`]); after the commit ingest accepts them,
//! and only then does the caller get its answer. Events a crash (or a failed ingest) left in
//! the outbox are accepted again by [`Chat::drain_outbox`] at the next start; ingest skips an
//! event id it already has, so none is delivered twice from there.

pub mod channels;
pub mod input;
pub mod messages;
pub mod render;
pub mod users;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::delivery::event::parse_event;
use crate::delivery::{Engine, Event, IngestError};
use crate::domain::{AppId, EventSource, Millis};
use crate::store::chat::{ChatChannel, ChatMember};
use crate::store::{rfc3339, ChatTx, ChatUser, Store, StoreError};

/// Why a chat call failed: the one error type of the chat source.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The input is wrong: the field and what is wrong with it.
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    /// A channel, message or user that does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl ChatError {
    fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Input {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The chat source of this process.
#[derive(Clone)]
pub struct Chat {
    store: Store,
    engine: Arc<Engine>,
}

/// Most events taken from the outbox at once when draining it.
const DRAIN_BATCH: usize = 500;

impl Chat {
    pub fn new(store: Store, engine: Arc<Engine>) -> Self {
        Self { store, engine }
    }

    /// Starts a change of `app_id`'s chat state, once admission lets the app's events in.
    async fn begin(&self, app_id: AppId) -> Result<Change, ChatError> {
        self.engine.admit(app_id)?;
        self.begin_unadmitted(app_id).await
    }

    /// Starts a call that may only read: it asks admission itself before its first write.
    async fn begin_unadmitted(&self, app_id: AppId) -> Result<Change, ChatError> {
        let tx = self.store.begin_chat(app_id).await?;
        Ok(Change {
            tx,
            now: Millis::now(),
            events: Vec::new(),
            users: HashMap::new(),
        })
    }

    /// Commits the change with its events, then has ingest accept them: returns once they are
    /// on disk with their deliveries.
    async fn finish(&self, change: Change) -> Result<(), ChatError> {
        let Change {
            mut tx,
            now,
            events,
            ..
        } = change;
        let app_id = tx.app_id();
        let stamp = rfc3339(now);
        let events: Vec<Event> = events
            .into_iter()
            .map(|v| parse_event("event", v, &stamp))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Corrupt(format!("a chat event: {e}")))?;
        let rows: Vec<(String, String)> = events
            .iter()
            .map(|e| (e.id().to_string(), e.json().to_string()))
            .collect();
        tx.outbox(&rows, now).await?;
        tx.commit().await?;
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = events.iter().map(|e| e.id().to_string()).collect();
        self.engine
            .accept_admitted(app_id, EventSource::Chat, events)
            .await?;
        if let Err(e) = self.store.chat_outbox_done(app_id, &ids).await {
            // they are accepted: at worst the next start offers them again, as duplicates
            tracing::warn!(error = %e, "clearing the chat outbox failed");
        }
        Ok(())
    }

    /// Accepts the events committed chat changes left in the outbox (a crash between the
    /// commit and ingest, or an ingest that failed). Returns how many were offered.
    pub async fn drain_outbox(&self) -> Result<usize, ChatError> {
        let mut offered = 0;
        loop {
            let rows = self.store.chat_outbox(DRAIN_BATCH).await?;
            if rows.is_empty() {
                return Ok(offered);
            }
            let mut by_app: HashMap<AppId, Vec<(String, Event)>> = HashMap::new();
            for row in rows {
                let event = serde_json::from_str(&row.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|v| parse_event("event", v, "").map_err(|e| e.to_string()))
                    .map_err(|e| {
                        StoreError::Corrupt(format!("chat outbox event {}: {e}", row.event_id))
                    })?;
                by_app
                    .entry(row.app_id)
                    .or_default()
                    .push((row.event_id, event));
            }
            for (app_id, events) in by_app {
                let (ids, events): (Vec<String>, Vec<Event>) = events.into_iter().unzip();
                offered += events.len();
                self.engine
                    .accept_admitted(app_id, EventSource::Chat, events)
                    .await?;
                self.store.chat_outbox_done(app_id, &ids).await?;
            }
        }
    }
}

/// One chat call in progress: its transaction, its time, the events it fires and the users it
/// has read.
pub struct Change {
    tx: ChatTx,
    now: Millis,
    events: Vec<Value>,
    users: HashMap<String, ChatUser>,
}

impl Change {
    /// Loads the users with these ids; with `required`, a missing one is an input error of
    /// `field`.
    async fn load_users(
        &mut self,
        ids: &[String],
        required: Option<&str>,
    ) -> Result<(), ChatError> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.users.contains_key(*id))
            .cloned()
            .collect();
        for u in self.tx.users(&missing).await? {
            self.users.insert(u.id.clone(), u);
        }
        if let Some(field) = required {
            let absent: Vec<&str> = ids
                .iter()
                .filter(|id| !self.users.contains_key(*id))
                .map(String::as_str)
                .collect();
            if !absent.is_empty() {
                return Err(ChatError::input(
                    field,
                    format!("these users do not exist: {}", absent.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The channel `cid`, or Stream's not-found error.
    async fn channel(&mut self, cid: &str) -> Result<ChatChannel, ChatError> {
        self.tx
            .channel(cid)
            .await?
            .ok_or_else(|| ChatError::NotFound(format!("channel {cid} does not exist")))
    }

    /// The channel's members, with their users loaded.
    async fn members(&mut self, cid: &str) -> Result<Vec<ChatMember>, ChatError> {
        let members = self.tx.members(cid).await?;
        let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        self.load_users(&ids, None).await?;
        Ok(members)
    }

    fn user_json(&self, id: &str) -> Value {
        render::user_by_id(&self.users, id)
    }

    /// A channel-scoped event: `type`, the channel's ids, the actor, up to 50 members.
    fn channel_event(
        &self,
        kind: &str,
        channel: &ChatChannel,
        members: &[ChatMember],
        actor: Option<&str>,
    ) -> Map<String, Value> {
        let mut e = Map::new();
        e.insert("type".into(), json!(kind));
        e.insert("cid".into(), json!(channel.cid));
        e.insert("channel_type".into(), json!(channel.channel_type));
        e.insert("channel_id".into(), json!(channel.id));
        e.insert("channel_member_count".into(), json!(members.len()));
        if let Some(actor) = actor {
            let mut user = self.user_json(actor);
            if let Value::Object(u) = &mut user {
                for key in [
                    "channel_unread_count",
                    "total_unread_count",
                    "unread_channels",
                    "unread_count",
                ] {
                    u.insert(key.into(), json!(0));
                }
                u.insert("channel_last_read_at".into(), json!(rfc3339(self.now)));
            }
            e.insert("user".into(), user);
        }
        let shown = &members[..members.len().min(render::EVENT_MEMBERS)];
        e.insert("members".into(), json!(render::members(shown, &self.users)));
        e.insert("created_at".into(), json!(rfc3339(self.now)));
        e
    }

    /// The channel as events show it (with its members).
    fn channel_json(&self, channel: &ChatChannel, members: &[ChatMember]) -> Value {
        let shown = &members[..members.len().min(render::EVENT_MEMBERS)];
        let rendered = render::members(shown, &self.users);
        render::channel(channel, members.len(), &self.users, Some(&rendered))
    }

    fn fire(&mut self, event: Map<String, Value>) {
        self.events.push(Value::Object(event));
    }
}
