//! The connection checker behind "Test SQS / SNS / Kinesis / webhook" and `POST /check_*`.
//! Each check runs real calls against the target with the hook's credentials and returns a
//! [`Report`]: the steps with their outcome and timing, the error in plain words, and hints.
//! Every check is bounded (`budget`), and nothing in here panics on a target's answer.

mod targets;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use targets::{check_kinesis, check_sns, check_sqs, check_webhook, root_cause, WebhookCheck};

/// One step of a check: what was tried, whether it worked, how long it took.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Step {
    pub name: String,
    pub ok: bool,
    pub millis: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A check's outcome: its steps, the error in plain words and hints.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq, utoipa::ToSchema)]
pub struct Report {
    pub ok: bool,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub hints: Vec<String>,
}

impl Report {
    /// Records a step that ran from `since` until now.
    fn step(&mut self, name: &str, since: Instant, result: Result<Option<String>, String>) -> bool {
        let millis = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ok = result.is_ok();
        let detail = match result {
            Ok(d) => d,
            Err(e) => {
                self.error.get_or_insert(e.clone());
                Some(e)
            }
        };
        self.steps.push(Step {
            name: name.to_string(),
            ok,
            millis,
            detail,
        });
        ok
    }

    fn fail(mut self, error: impl Into<String>) -> Self {
        self.ok = false;
        self.error = Some(error.into());
        self
    }

    fn finish(mut self) -> Self {
        self.ok = self.error.is_none() && self.steps.iter().all(|s| s.ok);
        self
    }

    fn hint(&mut self, hint: impl Into<String>) {
        self.hints.push(hint.into());
    }
}

/// The time a whole interactive check may take (the REST API's `check_*` and the dashboard's
/// Test), below the JS SDK's 3 s request timeout.
pub const CHECK_BUDGET: Duration = Duration::from_millis(2500);

/// The time a webhook check's request may take, inside [`CHECK_BUDGET`].
pub const WEBHOOK_CHECK_TIMEOUT: Duration = Duration::from_millis(2000);

/// Runs `check` within `budget`; past it, the report says which step was still running.
pub async fn bounded<F>(budget: Duration, what: &str, check: F) -> Report
where
    F: std::future::Future<Output = Report>,
{
    match tokio::time::timeout(budget, check).await {
        Ok(report) => report,
        Err(_) => Report::default().fail(format!(
            "the {what} did not answer within {:.1} s (timeout); check that the endpoint is reachable from this server",
            budget.as_secs_f64()
        )),
    }
}
