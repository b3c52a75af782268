//! The `meta` table on SQLite.

use super::Sqlite;
use crate::store::StoreError;

impl Sqlite {
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Inserts `key` unless it is there already.
    pub async fn insert_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn holds_secrets(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM apps)")
            .fetch_one(&self.pool)
            .await?)
    }
}
