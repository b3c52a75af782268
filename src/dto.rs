//! Data shared by the server and the browser bundle (server function results).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An app as the dashboard shows it; `api_secret` is present only when the admin asked to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetail {
    pub app: AppSummary,
    pub api_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
}

/// Formats unix milliseconds as `YYYY-MM-DD HH:MM UTC` without a date library (it runs in wasm too).
pub fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_millis;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_millis(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(
            format_millis(1_795_392_000_000 + 3_723_000),
            "2026-11-23 01:02 UTC"
        );
    }
}

/// Why a dashboard form was refused. Forms post to server functions that answer with a
/// redirect (so they work with and without JavaScript); the redirect carries only the code
/// (`?error=invalid_login`), and the page shows the fixed message for it, so nobody can put
/// words of their own on our pages through a crafted link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum InputError {
    #[error("Invalid email or password")]
    InvalidLogin,
    #[error("Too many failed attempts for this email. Wait a minute and try again.")]
    RateLimited,
    #[error("That is not an email address.")]
    EmailInvalid,
    #[error("The password must have at least 8 characters.")]
    PasswordTooShort,
    #[error("The password is longer than 1024 characters.")]
    PasswordTooLong,
    #[error("The two passwords are not the same.")]
    PasswordMismatch,
    #[error("The admin account already exists; log in instead.")]
    AdminExists,
    #[error("A user with this email already exists.")]
    EmailTaken,
    #[error("The app name is required.")]
    AppNameRequired,
    #[error("The app name is longer than 100 characters.")]
    AppNameTooLong,
    #[error("The app name contains control characters.")]
    AppNameInvalid,
    #[error("An app with this name already exists.")]
    AppNameTaken,
    #[error("Your session has ended. Log in again.")]
    NotLoggedIn,
    #[error("Something went wrong on the server; the details are in its log.")]
    Internal,
}

impl InputError {
    const ALL: [(InputError, &'static str); 14] = [
        (Self::InvalidLogin, "invalid_login"),
        (Self::RateLimited, "rate_limited"),
        (Self::EmailInvalid, "email_invalid"),
        (Self::PasswordTooShort, "password_too_short"),
        (Self::PasswordTooLong, "password_too_long"),
        (Self::PasswordMismatch, "password_mismatch"),
        (Self::AdminExists, "admin_exists"),
        (Self::EmailTaken, "email_taken"),
        (Self::AppNameRequired, "app_name_required"),
        (Self::AppNameTooLong, "app_name_too_long"),
        (Self::AppNameInvalid, "app_name_invalid"),
        (Self::AppNameTaken, "app_name_taken"),
        (Self::NotLoggedIn, "not_logged_in"),
        (Self::Internal, "internal"),
    ];

    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, c)| *c)
            .unwrap_or("internal")
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(e, _)| *e)
    }
}

#[cfg(test)]
mod input_error_tests {
    use super::InputError;

    #[test]
    fn every_code_round_trips_and_codes_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for (e, code) in InputError::ALL {
            assert_eq!(e.code(), code);
            assert_eq!(InputError::from_code(code), Some(e));
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(InputError::from_code("<script>"), None);
    }
}
