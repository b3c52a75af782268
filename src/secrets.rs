//! Encryption at rest for secrets (app secrets, AWS keys).
//!
//! A 32-byte master key lives in `<data dir>/master.key` (created with mode 0600 on first
//! start) or comes from `HOOKRELAY_MASTER_KEY` (64 hex characters). Values are sealed with
//! XChaCha20-Poly1305 under a random 24-byte nonce; the "associated data" binds a sealed value
//! to where it is stored (e.g. `app:7:api_secret`), so a ciphertext copied into another row
//! does not open.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("master key: {0}")]
    Key(String),
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("a sealed value could not be opened (wrong master key or corrupted data)")]
    Open,
}

/// The master key. Its bytes never leave this module and `Debug` does not print them.
#[derive(Clone)]
pub struct MasterKey(XChaCha20Poly1305);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_hex(hex_key: &str) -> Result<Self, SecretsError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| SecretsError::Key("expected 64 hexadecimal characters".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SecretsError::Key("expected 32 bytes (64 hex characters)".into()))?;
        Ok(Self(XChaCha20Poly1305::new(&bytes.into())))
    }

    /// The key given in the environment, else the key file in `data_dir`, else `None` (there
    /// is no key yet: the caller decides whether a new one may be made, see [`NewKey`]).
    pub fn load(
        given: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<Option<Self>, SecretsError> {
        if let Some(given) = given {
            return Self::from_hex(given.expose_secret()).map(Some);
        }
        let path = key_path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SecretsError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Seals `plain` for the place named by `aad`.
    pub fn seal(&self, plain: &str, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(24 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value sealed by [`MasterKey::seal`] for the same `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<SecretString, SecretsError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|raw| raw.len() > 24)
            .ok_or(SecretsError::Open)?;
        let (nonce, ct) = raw.split_at(24);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Open)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretsError::Open)
    }
}

/// Where the master key file lives in a data directory.
pub fn key_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("master.key")
}

/// A freshly generated master key, not yet written anywhere: it is kept (in
/// `<data dir>/master.key`, mode 0600) only once the database turns out to be empty, so a lost
/// key file is never silently replaced for a database whose secrets it sealed.
pub struct NewKey {
    key: MasterKey,
    hex: SecretString,
}

impl NewKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = MasterKey(XChaCha20Poly1305::new(&bytes.into()));
        let hex = SecretString::from(hex::encode(bytes));
        bytes.fill(0);
        Self { key, hex }
    }

    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// Writes the key to `<data_dir>/master.key` (mode 0600; never over an existing file).
    pub fn save(&self, data_dir: &Path) -> Result<(), SecretsError> {
        let path = key_path(data_dir);
        write_private(&path, self.hex.expose_secret().as_bytes()).map_err(|source| {
            SecretsError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Random alphanumeric text of `len` characters (5.95 bits each), from the OS generator.
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    random_from(ALPHABET, len)
}

/// Random lowercase alphanumeric text of `len` characters.
pub fn random_lower_token(len: usize) -> String {
    random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", len)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_the_plaintext() {
        let k = key();
        let sealed = k.seal("my-secret-value", "app:1:api_secret");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("my-secret-value"));
        let opened = k.open(&sealed, "app:1:api_secret").unwrap();
        assert_eq!(opened.expose_secret(), "my-secret-value");
        // same plaintext, fresh nonce: different ciphertext
        assert_ne!(sealed, k.seal("my-secret-value", "app:1:api_secret"));
    }

    #[test]
    fn open_fails_for_another_place_key_or_tampering() {
        let k = key();
        let sealed = k.seal("s3cret", "app:1:api_secret");
        assert!(k.open(&sealed, "app:2:api_secret").is_err());
        let other = MasterKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.open(&sealed, "app:1:api_secret").is_err());
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(k.open(&tampered, "app:1:api_secret").is_err());
        assert!(k.open("not sealed", "app:1:api_secret").is_err());
    }

    #[test]
    fn bad_hex_keys_are_rejected_with_a_reason() {
        assert!(MasterKey::from_hex("zz").is_err());
        assert!(MasterKey::from_hex(&"ab".repeat(31)).is_err());
        assert!(format!("{:?}", key()).contains(".."));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(MasterKey::load(None, dir.path()).unwrap().is_none());
        let k1 = NewKey::generate();
        k1.save(dir.path()).unwrap();
        let sealed = k1.key().seal("x", "a");
        let k2 = MasterKey::load(None, dir.path()).unwrap().unwrap();
        assert_eq!(k2.open(&sealed, "a").unwrap().expose_secret(), "x");
        // a saved key is never overwritten
        assert!(NewKey::generate().save(dir.path()).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn tokens_have_the_requested_length_and_alphabet() {
        let t = random_token(48);
        assert_eq!(t.len(), 48);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(t, random_token(48));
        assert!(random_lower_token(12)
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
