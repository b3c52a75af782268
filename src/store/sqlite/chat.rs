//! The chat source's state and outbox on SQLite. A change begins `IMMEDIATE` (it holds the
//! write lock from its first statement, so its reads cannot go stale) after waiting for this
//! process's turn to write.

use sqlx::{QueryBuilder, Sqlite as Db, Transaction};

use super::Sqlite;
use crate::domain::{AppId, Millis};
use crate::store::chat::{
    fields_json, parse_fields, ChatChannel, ChatMember, ChatMessage, ChatUser, OutboxEvent,
};
use crate::store::StoreError;

pub struct Tx {
    tx: Transaction<'static, Db>,
    _gate: tokio::sync::OwnedMutexGuard<()>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

pub async fn begin(db: &Sqlite, app_id: AppId) -> Result<Tx, StoreError> {
    let gate = db.write_gate().await;
    let mut tx = db.writer.begin_with("BEGIN IMMEDIATE").await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM apps WHERE id = ?")
        .bind(app_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    Ok(Tx { tx, _gate: gate })
}

type UserRow = (String, String, i64, i64);

/// `cid, type, id, created_by, data, created_at, updated_at`.
type ChannelRow = (String, String, String, Option<String>, String, i64, i64);

pub async fn users(
    tx: &mut Tx,
    app_id: AppId,
    ids: &[String],
) -> Result<Vec<ChatUser>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::CHUNK) {
        let mut q = QueryBuilder::<Db>::new(
            "SELECT id, data, created_at, updated_at FROM chat_users WHERE app_id = ",
        );
        q.push_bind(app_id.0).push(" AND id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id);
        }
        q.push(")");
        let rows: Vec<UserRow> = q
            .build_query_as()
            .persistent(false)
            .fetch_all(&mut *tx.tx)
            .await?;
        for (id, data, created_at, updated_at) in rows {
            out.push(ChatUser {
                data: parse_fields(&format!("chat user {id}"), &data)?,
                id,
                created_at: Millis(created_at),
                updated_at: Millis(updated_at),
            });
        }
    }
    Ok(out)
}

pub async fn put_users(tx: &mut Tx, app_id: AppId, users: &[ChatUser]) -> Result<(), StoreError> {
    for user in users {
        sqlx::query(
            "INSERT INTO chat_users (app_id, id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (app_id, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(app_id.0)
        .bind(&user.id)
        .bind(fields_json(&user.data))
        .bind(user.created_at.0)
        .bind(user.updated_at.0)
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(())
}

pub async fn channel(
    tx: &mut Tx,
    app_id: AppId,
    cid: &str,
) -> Result<Option<ChatChannel>, StoreError> {
    let row: Option<ChannelRow> = sqlx::query_as(
        "SELECT cid, type, id, created_by, data, created_at, updated_at FROM chat_channels WHERE app_id = ? AND cid = ?",
    )
    .bind(app_id.0)
    .bind(cid)
    .fetch_optional(&mut *tx.tx)
    .await?;
    row.map(
        |(cid, channel_type, id, created_by, data, created_at, updated_at)| {
            Ok(ChatChannel {
                data: parse_fields(&format!("channel {cid}"), &data)?,
                cid,
                channel_type,
                id,
                created_by,
                created_at: Millis(created_at),
                updated_at: Millis(updated_at),
            })
        },
    )
    .transpose()
}

pub async fn put_channel(tx: &mut Tx, app_id: AppId, c: &ChatChannel) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO chat_channels (app_id, cid, type, id, created_by, data, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, cid) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
    )
    .bind(app_id.0)
    .bind(&c.cid)
    .bind(&c.channel_type)
    .bind(&c.id)
    .bind(&c.created_by)
    .bind(fields_json(&c.data))
    .bind(c.created_at.0)
    .bind(c.updated_at.0)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

pub async fn delete_channel(tx: &mut Tx, app_id: AppId, cid: &str) -> Result<(), StoreError> {
    // members and messages go with it (ON DELETE CASCADE)
    sqlx::query("DELETE FROM chat_channels WHERE app_id = ? AND cid = ?")
        .bind(app_id.0)
        .bind(cid)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

pub async fn members(tx: &mut Tx, app_id: AppId, cid: &str) -> Result<Vec<ChatMember>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(
        "SELECT user_id, data, created_at, updated_at FROM chat_members
         WHERE app_id = ? AND cid = ? ORDER BY created_at, user_id",
    )
    .bind(app_id.0)
    .bind(cid)
    .fetch_all(&mut *tx.tx)
    .await?;
    rows.into_iter()
        .map(|(user_id, data, created_at, updated_at)| {
            Ok(ChatMember {
                data: parse_fields(&format!("member {user_id} of {cid}"), &data)?,
                user_id,
                created_at: Millis(created_at),
                updated_at: Millis(updated_at),
            })
        })
        .collect()
}

pub async fn put_members(
    tx: &mut Tx,
    app_id: AppId,
    cid: &str,
    members: &[ChatMember],
) -> Result<(), StoreError> {
    for m in members {
        sqlx::query(
            "INSERT INTO chat_members (app_id, cid, user_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, cid, user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(app_id.0)
        .bind(cid)
        .bind(&m.user_id)
        .bind(fields_json(&m.data))
        .bind(m.created_at.0)
        .bind(m.updated_at.0)
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(())
}

pub async fn delete_members(
    tx: &mut Tx,
    app_id: AppId,
    cid: &str,
    user_ids: &[String],
) -> Result<(), StoreError> {
    for user_id in user_ids {
        sqlx::query("DELETE FROM chat_members WHERE app_id = ? AND cid = ? AND user_id = ?")
            .bind(app_id.0)
            .bind(cid)
            .bind(user_id)
            .execute(&mut *tx.tx)
            .await?;
    }
    Ok(())
}

type MessageRow = (String, String, String, String, i64, i64, Option<i64>);

fn message_row(row: MessageRow) -> Result<ChatMessage, StoreError> {
    let (id, cid, user_id, data, created_at, updated_at, deleted_at) = row;
    Ok(ChatMessage {
        data: parse_fields(&format!("message {id}"), &data)?,
        id,
        cid,
        user_id,
        created_at: Millis(created_at),
        updated_at: Millis(updated_at),
        deleted_at: deleted_at.map(Millis),
    })
}

pub async fn message(
    tx: &mut Tx,
    app_id: AppId,
    id: &str,
) -> Result<Option<ChatMessage>, StoreError> {
    let row: Option<MessageRow> = sqlx::query_as(
        "SELECT id, cid, user_id, data, created_at, updated_at, deleted_at FROM chat_messages
         WHERE app_id = ? AND id = ?",
    )
    .bind(app_id.0)
    .bind(id)
    .fetch_optional(&mut *tx.tx)
    .await?;
    row.map(message_row).transpose()
}

pub async fn messages(
    tx: &mut Tx,
    app_id: AppId,
    cid: &str,
    limit: usize,
) -> Result<Vec<ChatMessage>, StoreError> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, cid, user_id, data, created_at, updated_at, deleted_at FROM chat_messages
         WHERE app_id = ? AND cid = ? ORDER BY created_at DESC, id DESC LIMIT ?",
    )
    .bind(app_id.0)
    .bind(cid)
    .bind(limit as i64)
    .fetch_all(&mut *tx.tx)
    .await?;
    let mut out = rows
        .into_iter()
        .map(message_row)
        .collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

pub async fn put_message(tx: &mut Tx, app_id: AppId, m: &ChatMessage) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO chat_messages (app_id, id, cid, user_id, data, created_at, updated_at, deleted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at,
           deleted_at = excluded.deleted_at",
    )
    .bind(app_id.0)
    .bind(&m.id)
    .bind(&m.cid)
    .bind(&m.user_id)
    .bind(fields_json(&m.data))
    .bind(m.created_at.0)
    .bind(m.updated_at.0)
    .bind(m.deleted_at.map(|t| t.0))
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

pub async fn delete_message(tx: &mut Tx, app_id: AppId, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM chat_messages WHERE app_id = ? AND id = ?")
        .bind(app_id.0)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

pub async fn outbox(
    tx: &mut Tx,
    app_id: AppId,
    events: &[(String, String)],
    now: Millis,
) -> Result<(), StoreError> {
    for (id, payload) in events {
        sqlx::query(
            "INSERT INTO chat_outbox (app_id, event_id, payload, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(app_id.0)
        .bind(id)
        .bind(payload)
        .bind(now.0)
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(())
}

impl Sqlite {
    pub async fn chat_outbox(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT app_id, event_id, payload FROM chat_outbox ORDER BY created_at, rowid LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(app_id, event_id, payload)| OutboxEvent {
                app_id: AppId(app_id),
                event_id,
                payload,
            })
            .collect())
    }

    pub async fn chat_outbox_done(&self, app_id: AppId, ids: &[String]) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        for chunk in ids.chunks(super::CHUNK) {
            let mut q = QueryBuilder::<Db>::new("DELETE FROM chat_outbox WHERE app_id = ");
            q.push_bind(app_id.0).push(" AND event_id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            q.push(")");
            q.build().persistent(false).execute(&self.writer).await?;
        }
        Ok(())
    }
}
