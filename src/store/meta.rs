//! Facts about the database itself, kept in the `meta` table: the master-key canary.
//!
//! At the first start a known value is sealed with the master key and stored; at every start
//! (and by `/readyz`) it is opened again. A key that cannot open it is not the key this
//! database's secrets were sealed with, and Hookrelay refuses to run rather than answer every
//! call with "a sealed value could not be opened".

use super::{backend, Store, StoreError};

const CANARY_KEY: &str = "master_key_canary";
const CANARY_PURPOSE: &str = "meta:master_key_canary";
const CANARY_TEXT: &str = "hookrelay master key canary";

/// What the canary says about the master key in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The canary opens: this is the database's key.
    Opens,
    /// No canary yet (a new database, or one made before canaries existed).
    Unsealed,
    /// The canary does not open: the wrong key.
    Refused,
}

impl Store {
    /// Opens the canary with the master key in use.
    pub async fn check_key(&self) -> Result<KeyCheck, StoreError> {
        let sealed = backend!(self, b => b.meta(CANARY_KEY).await)?;
        Ok(match sealed {
            None => KeyCheck::Unsealed,
            Some(sealed) => match self.key().open(&sealed, CANARY_PURPOSE) {
                Ok(_) => KeyCheck::Opens,
                Err(_) => KeyCheck::Refused,
            },
        })
    }

    /// Seals the canary with the master key in use unless one is there already (another
    /// process sharing the database may have sealed it first, with its key), then checks it.
    pub async fn seal_key_canary(&self) -> Result<KeyCheck, StoreError> {
        let sealed = self.key().seal(CANARY_TEXT, CANARY_PURPOSE);
        backend!(self, b => b.insert_meta(CANARY_KEY, &sealed).await)?;
        self.check_key().await
    }

    /// Does the database hold anything sealed with a master key (an app, hence its secret)?
    pub async fn holds_secrets(&self) -> Result<bool, StoreError> {
        backend!(self, b => b.holds_secrets().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MasterKey;

    #[tokio::test]
    async fn the_canary_opens_only_with_the_key_that_sealed_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let a = Store::connect(&url, MasterKey::from_hex(&"a1".repeat(32)).unwrap())
            .await
            .unwrap();
        assert_eq!(a.check_key().await.unwrap(), KeyCheck::Unsealed);
        assert!(!a.holds_secrets().await.unwrap());
        assert_eq!(a.seal_key_canary().await.unwrap(), KeyCheck::Opens);
        a.close().await;
        let b = Store::connect(&url, MasterKey::from_hex(&"b2".repeat(32)).unwrap())
            .await
            .unwrap();
        assert_eq!(b.check_key().await.unwrap(), KeyCheck::Refused);
        // sealing again never replaces the canary of another key
        assert_eq!(b.seal_key_canary().await.unwrap(), KeyCheck::Refused);
        b.close().await;
        let a = Store::connect(&url, MasterKey::from_hex(&"a1".repeat(32)).unwrap())
            .await
            .unwrap();
        assert_eq!(a.check_key().await.unwrap(), KeyCheck::Opens);
    }
}
