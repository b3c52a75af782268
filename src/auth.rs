//! Dashboard authentication: validated credentials, argon2id hashing, and the limiter that
//! slows down password guessing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};

use crate::dto::InputError;

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
        Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)
            .expect("argon2 hashing with default parameters cannot fail")
            .to_string()
    }
}

/// Checks `password` against a stored PHC hash (CPU-heavy: call from a blocking thread).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
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

/// Failed logins allowed per email within [`LOGIN_WINDOW`].
pub const LOGIN_MAX_FAILURES: usize = 5;

/// The sliding window of [`LOGIN_MAX_FAILURES`].
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// At most `max_failures` failed logins per email in a sliding `window`.
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Default for LoginLimiter {
    /// [`LOGIN_MAX_FAILURES`] per [`LOGIN_WINDOW`].
    fn default() -> Self {
        Self::new(LOGIN_MAX_FAILURES, LOGIN_WINDOW)
    }
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// True when this email has used up its failures in the current window.
    pub fn is_blocked(&self, email: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match map.get_mut(email) {
            Some(times) => {
                times.retain(|t| now.duration_since(*t) < self.window);
                times.len() >= self.max_failures
            }
            None => false,
        }
    }

    pub fn record_failure(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // keep the map bounded: forget emails whose failures have all expired
        if map.len() > 10_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        map.entry(email.to_string()).or_default().push(now);
    }

    pub fn clear(&self, email: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(email);
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
    }

    #[test]
    fn limiter_blocks_after_max_failures_per_email_and_clears() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        for _ in 0..4 {
            l.record_failure("a@x");
        }
        assert!(!l.is_blocked("a@x"));
        l.record_failure("a@x");
        assert!(l.is_blocked("a@x"));
        assert!(!l.is_blocked("b@x"));
        l.clear("a@x");
        assert!(!l.is_blocked("a@x"));
    }

    #[test]
    fn limiter_forgets_failures_after_the_window() {
        let l = LoginLimiter::new(1, Duration::from_millis(30));
        l.record_failure("a@x");
        assert!(l.is_blocked("a@x"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!l.is_blocked("a@x"));
    }
}
