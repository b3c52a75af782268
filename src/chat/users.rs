//! `POST /users` (upsert) and `PATCH /users` (partial update): each fires `user.updated` per
//! user.

use serde_json::{json, Map, Value};

use super::input::{UserInput, UserPatch};
use super::{render, Change, Chat, ChatError};
use crate::domain::AppId;
use crate::store::rfc3339;
use crate::store::ChatUser;

impl Chat {
    /// Creates or replaces users (their fields other than the id are replaced). Returns them
    /// by id, as Stream answers.
    pub async fn upsert_users(
        &self,
        app_id: AppId,
        users: Vec<UserInput>,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut change = self.begin(app_id).await?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        change.load_users(&ids, None).await?;
        let now = change.now;
        let rows: Vec<ChatUser> = users
            .into_iter()
            .map(|u| ChatUser {
                created_at: change.users.get(&u.id).map_or(now, |old| old.created_at),
                id: u.id,
                data: u.fields,
                updated_at: now,
            })
            .collect();
        change.tx.put_users(&rows).await?;
        let out = fire_updated(&mut change, rows);
        self.finish(change).await?;
        Ok(out)
    }

    /// Sets and unsets fields of existing users.
    pub async fn patch_users(
        &self,
        app_id: AppId,
        patches: Vec<UserPatch>,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut change = self.begin(app_id).await?;
        let ids: Vec<String> = patches.iter().map(|p| p.id.clone()).collect();
        change.load_users(&ids, None).await?;
        let mut rows = Vec::with_capacity(patches.len());
        for UserPatch { id, patch } in patches {
            let Some(old) = change.users.get(&id) else {
                return Err(ChatError::NotFound(format!("user {id} does not exist")));
            };
            let mut user = old.clone();
            patch.apply(&mut user.data);
            user.updated_at = change.now;
            rows.push(user);
        }
        change.tx.put_users(&rows).await?;
        let out = fire_updated(&mut change, rows);
        self.finish(change).await?;
        Ok(out)
    }
}

/// Fires `user.updated` for each user; returns them by id as the answer shows them.
fn fire_updated(change: &mut Change, rows: Vec<ChatUser>) -> Map<String, Value> {
    let mut out = Map::new();
    for user in rows {
        let json = render::user(&user);
        change.fire(
            [
                ("type".to_string(), json!("user.updated")),
                ("user".to_string(), json.clone()),
                ("members".to_string(), json!([])),
                ("created_at".to_string(), json!(rfc3339(change.now))),
            ]
            .into_iter()
            .collect(),
        );
        change.users.insert(user.id.clone(), user.clone());
        out.insert(user.id, json);
    }
    out
}
