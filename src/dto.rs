//! Data shared by the server and the browser bundle (server function results).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: crate::domain::AppId,
    pub name: String,
    pub api_key: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// What Hookrelay passes as `sts:ExternalId` when it assumes this app's roles (random per
    /// app; tenants put it in their roles' trust policies).
    pub external_id: String,
}

/// An app as the dashboard shows it; `api_secret` is present only when the admin asked to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetail {
    pub app: AppSummary,
    pub api_secret: Option<String>,
    /// The app's AppInstance ARN (the Chime SDK messaging API's name for it).
    pub app_instance_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
    /// Administrators see every app and manage the users.
    pub is_admin: bool,
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
    #[error("Tick the box to confirm.")]
    ConfirmRequired,
    #[error("There is no such app.")]
    UnknownApp,
    #[error("There is no such user.")]
    UnknownUser,
    #[error("The last administrator cannot be deleted or made a member.")]
    LastAdmin,
    #[error("The request did not come from this site; reload the page and try again.")]
    Forbidden,
}

impl InputError {
    const ALL: [(InputError, &'static str); 19] = [
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
        (Self::ConfirmRequired, "confirm_required"),
        (Self::UnknownApp, "unknown_app"),
        (Self::UnknownUser, "unknown_user"),
        (Self::LastAdmin, "last_admin"),
        (Self::Forbidden, "forbidden"),
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

/// The values of the integration form, as posted (and as carried back in the session flash
/// when the form is shown again with an error or a test report). Every field is text, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookForm {
    pub app_id: i64,
    /// Empty for a new integration.
    pub hook_id: String,
    /// webhook, sqs, sns or kinesis.
    pub hook_type: String,
    /// The URL, queue URL, topic ARN or stream ARN.
    pub target: String,
    pub region: String,
    /// keys, resource or role.
    pub auth_type: String,
    pub key: String,
    pub secret: String,
    pub role_arn: String,
    pub event_types: Vec<String>,
    pub kinesis_data_types: Vec<String>,
    /// Kinesis: `chime` (Chime's record shapes) or `stream` (the Stream event as received).
    pub kinesis_payload: String,
    /// A checkbox: present when checked.
    pub enabled: Option<String>,
    /// save or test.
    pub action: String,
}

/// One step of a connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStep {
    pub name: String,
    pub ok: bool,
    pub millis: u64,
    pub detail: Option<String>,
}

/// A connection test's outcome ("Test SQS" and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub ok: bool,
    pub steps: Vec<CheckStep>,
    pub error: Option<String>,
    pub hints: Vec<String>,
}

/// A refused field of the integration form: the form's field name and the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What the integration form page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookFormView {
    pub app_id: i64,
    pub app_name: String,
    pub form: HookForm,
    pub error: Option<FieldError>,
    pub report: Option<CheckReport>,
    /// The resource policy to attach for auth type `resource` (JSON), for the typed target.
    pub policy: String,
    /// The external id Hookrelay passes when it assumes the role (random per app).
    pub external_id: String,
}

/// One integration in the app page's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSummary {
    pub id: String,
    pub hook_type: String,
    pub target: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    /// Delivered and failed (or dropped) in the last hour.
    pub delivered_1h: i64,
    pub failed_1h: i64,
    /// Deliveries still to send.
    pub pending: i64,
    /// `pending` is a lower bound: the app has more pending deliveries than the dashboard counts.
    pub pending_more: bool,
    /// When a delivery last succeeded within the last hour (unix ms).
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    /// Delivered and failed (or dropped) per 5 minutes over the last hour, oldest first.
    pub spark: Vec<(i64, i64)>,
}

/// The app page's "Webhook & Event Configuration" section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HooksOverview {
    pub hooks: Vec<HookSummary>,
    pub compression: bool,
}

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub hook_id: String,
    pub hook_type: String,
    pub event_id: String,
    pub event_type: String,
    /// delivered, pending, retrying, failed or dropped.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub latency_ms: Option<i64>,
    pub payload_preview: Option<String>,
    /// Unix milliseconds.
    pub accepted_at: i64,
}

/// The delivery log page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveriesView {
    pub app_id: i64,
    pub app_name: String,
    pub rows: Vec<DeliveryView>,
    /// (hook id, label) for the hook filter.
    pub hooks: Vec<(String, String)>,
}

/// The display name of a hook type.
pub fn hook_type_label(hook_type: &str) -> &'static str {
    hook_type
        .parse::<crate::domain::HookType>()
        .map(|t| t.label())
        .unwrap_or("Unknown")
}

impl From<crate::domain::user::InvalidEmail> for InputError {
    fn from(_: crate::domain::user::InvalidEmail) -> Self {
        InputError::EmailInvalid
    }
}
