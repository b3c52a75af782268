//! Dashboard authentication: validated credentials, argon2id hashing, and the limiter that
//! slows down password guessing.

use std::net::IpAddr;
use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};

use crate::dto::InputError;
use crate::limits::Budget;

pub use crate::domain::user::Email;

/// A new password: at least 8 and at most 1024 characters.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let n = raw.chars().count();
        if n < 8 {
            return Err(InputError::PasswordTooShort);
        }
        if n > 1024 {
            return Err(InputError::PasswordTooLong);
        }
        Ok(Self(SecretString::from(raw.to_string())))
    }

    /// The argon2id PHC string for this password (CPU-heavy: call from a blocking thread).
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)
            .expect("argon2 hashing with valid parameters cannot fail")
            .to_string()
    }
}

/// argon2id memory per hash, in KiB: OWASP's 7 MiB / 5 passes / 1 lane setting, which it
/// rates equal to argon2's default 19 MiB / 2 passes, at a third of the memory (two logins
/// hashing at once held 38 MiB, the server's largest allocation).
pub const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
/// argon2id passes over that memory.
pub const ARGON2_PASSES: u32 = 5;

/// The argon2id hasher of new passwords. Stored hashes carry their own parameters: older
/// ones (argon2's defaults) still verify.
fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, None)
        .expect("constant argon2 parameters are valid");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Checks `password` against a stored PHC hash (CPU-heavy: call from a blocking thread).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so both paths cost the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        NewPassword::parse("not-a-real-password")
            .expect("valid")
            .hash()
    })
}

/// Login attempts allowed per client address per minute; beyond them the address is refused
/// (`rate_limited`) for the rest of the minute.
pub const LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 30;

/// Failed logins per email per minute answered at once; each further failure is answered only
/// after [`LOGIN_SLOWDOWN`]. The account is never locked: the right password always works.
pub const LOGIN_FREE_FAILURES: u32 = 5;

/// How long a failed login beyond [`LOGIN_FREE_FAILURES`] waits before its answer.
pub const LOGIN_SLOWDOWN: Duration = Duration::from_secs(2);

/// Password hashes computed at once (argon2id takes 7 MiB and a core's worth of time each);
/// further logins wait their turn, at most [`HASHING_WAIT`].
pub const MAX_CONCURRENT_HASHES: usize = 2;

/// How long a login waits for a free hashing slot before it is answered `rate_limited`.
pub const HASHING_WAIT: Duration = Duration::from_secs(5);

/// Slows password guessing without locking anyone out: a per-address budget of attempts, a
/// delay on an email's failures beyond a few a minute, and a global cap on concurrent hashing.
pub struct LoginGuard {
    per_address: Budget<IpAddr>,
    failures: Budget<String>,
    hashing: tokio::sync::Semaphore,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self {
            per_address: Budget::per_minute(LOGIN_ATTEMPTS_PER_ADDRESS),
            failures: Budget::per_minute(LOGIN_FREE_FAILURES),
            hashing: tokio::sync::Semaphore::new(MAX_CONCURRENT_HASHES),
        }
    }
}

/// Why a login was not even tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address used up its attempts.
    TooManyAttempts,
    /// Every hashing slot stayed busy for [`HASHING_WAIT`].
    Busy,
}

impl LoginGuard {
    /// Counts an attempt from `addr`; refused beyond [`LOGIN_ATTEMPTS_PER_ADDRESS`] a minute.
    pub fn admit(&self, addr: IpAddr) -> Result<(), Refusal> {
        if self.per_address.hit(&addr).allowed {
            Ok(())
        } else {
            Err(Refusal::TooManyAttempts)
        }
    }

    /// Runs `f` (a password hash or verification) on a blocking thread once a hashing slot is
    /// free.
    pub async fn hash<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let _permit = tokio::time::timeout(HASHING_WAIT, self.hashing.acquire())
            .await
            .map_err(|_| Refusal::Busy)?
            .map_err(|_| Refusal::Busy)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| Refusal::Busy)
    }

    /// Counts a failed login for `email`; the delay to wait before answering it.
    pub fn failed(&self, email: &str) -> Duration {
        if self.failures.hit(&email.to_string()).allowed {
            Duration::ZERO
        } else {
            LOGIN_SLOWDOWN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Admin@Example.COM ").unwrap().as_str(),
            "admin@example.com"
        );
        for bad in ["", "admin", "@example.com", "admin@", "a b@c.d", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        assert!(NewPassword::parse("short").is_err());
        let hash = NewPassword::parse("correct horse").unwrap().hash();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        // new hashes use the 7 MiB setting; hashes made with argon2's defaults still verify
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(old.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{old}");
        assert!(verify_password("correct horse", &old));
        assert!(!verify_password("wrong horse", &old));
    }

    #[test]
    fn failures_beyond_the_free_ones_are_slowed_not_refused() {
        let g = LoginGuard::default();
        for _ in 0..LOGIN_FREE_FAILURES {
            assert_eq!(g.failed("a@x"), Duration::ZERO);
        }
        assert_eq!(g.failed("a@x"), LOGIN_SLOWDOWN);
        assert_eq!(
            g.failed("b@x"),
            Duration::ZERO,
            "other emails are not slowed"
        );
    }

    #[test]
    fn an_address_is_refused_beyond_its_attempts() {
        let g = LoginGuard::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..LOGIN_ATTEMPTS_PER_ADDRESS {
            assert_eq!(g.admit(a), Ok(()));
        }
        assert_eq!(g.admit(a), Err(Refusal::TooManyAttempts));
        assert_eq!(g.admit("192.0.2.2".parse().unwrap()), Ok(()));
    }

    #[tokio::test]
    async fn hashing_is_capped_globally() {
        let g = std::sync::Arc::new(LoginGuard::default());
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (g, running, most) = (g.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                g.hash(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, SeqCst);
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(()));
        }
        assert_eq!(
            most.load(std::sync::atomic::Ordering::SeqCst),
            MAX_CONCURRENT_HASHES
        );
    }
}
