//! HTTP webhooks: one signed `POST` per event, as Stream sends them.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{body_bytes, join_all, AppContext, BoxFuture, Destination, Item, Limits, SendResult};
use crate::check::root_cause;

pub struct Webhook {
    url: String,
    /// Parsed once, not on every request.
    parsed: Option<reqwest::Url>,
    app_id: crate::domain::AppId,
    hook_id: String,
    api_key: String,
    api_secret: SecretString,
    compress: bool,
    http: reqwest::Client,
    timeout: Duration,
    concurrency: usize,
}

impl Webhook {
    pub fn new(hook_id: &str, url: &str, app: &AppContext) -> Self {
        Self {
            url: url.to_string(),
            parsed: reqwest::Url::parse(url).ok(),
            app_id: app.app_id,
            hook_id: hook_id.to_string(),
            api_key: app.api_key.clone(),
            api_secret: app.api_secret.clone(),
            compress: app.compress,
            http: app.http.clone(),
            timeout: app.send_timeout,
            concurrency: app.webhook_concurrency.max(1),
        }
    }

    /// `X-Webhook-Id`: a UUID derived from the app, the hook and the event, so it is the same
    /// on every retry (the receiver's deduplication key).
    fn webhook_id(&self, event_id: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.app_id.0.to_be_bytes())
            .chain_update(self.hook_id.as_bytes())
            .chain_update([0])
            .chain_update(event_id.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Uuid::new_v8(bytes).to_string()
    }

    async fn post(&self, item: &Item) -> SendResult {
        let json = item.event.json();
        let mut mac = Hmac::<Sha256>::new_from_slice(self.api_secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(json.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let Some(url) = self.parsed.clone() else {
            return SendResult::Permanent(format!("invalid webhook url {}", self.url));
        };
        let mut req = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .header("x-webhook-id", self.webhook_id(item.event.id()))
            .header("x-webhook-attempt", item.attempt.to_string())
            .header("x-api-key", &self.api_key);
        if self.compress {
            req = req.header("content-encoding", "gzip");
        }
        match req.body(body_bytes(json, self.compress)).send().await {
            Ok(res) => classify_status(res.status()),
            // the name resolved to addresses the egress guard refuses: not worth retrying
            Err(e) if crate::egress::refusal_in(&e).is_some() => {
                SendResult::Permanent(root_cause(&e))
            }
            Err(e) if e.is_timeout() => SendResult::Transient(format!(
                "the endpoint did not answer within {} ms (timeout)",
                self.timeout.as_millis()
            )),
            Err(e) if e.is_connect() => SendResult::Transient(format!(
                "cannot connect to the endpoint: {}",
                root_cause(&e)
            )),
            Err(e) => SendResult::Transient(format!("the request failed: {}", root_cause(&e))),
        }
    }
}

/// 2xx is delivered; 408, 429 and 5xx are retried; anything else (other 4xx, redirects,
/// which are not followed) fails at once.
pub fn classify_status(status: reqwest::StatusCode) -> SendResult {
    let code = status.as_u16();
    if status.is_success() {
        SendResult::Delivered
    } else if code == 408 || code == 429 || status.is_server_error() {
        SendResult::Transient(format!("the endpoint answered HTTP {status}"))
    } else if status.is_redirection() {
        SendResult::Permanent(format!(
            "the endpoint answered HTTP {status}: redirects are not followed, use the final URL"
        ))
    } else {
        SendResult::Permanent(format!("the endpoint answered HTTP {status}"))
    }
}

impl Destination for Webhook {
    fn limits(&self) -> Limits {
        // one request per call: a slow request holds up no other
        Limits {
            max_batch: 1,
            concurrency: self.concurrency,
            ordered: false,
        }
    }

    fn deliver<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Vec<SendResult>> {
        Box::pin(async move {
            let sends = items.iter().map(|item| self.post(item));
            join_all(sends).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn statuses() {
        assert_eq!(
            classify_status(StatusCode::NO_CONTENT),
            SendResult::Delivered
        );
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(
                classify_status(StatusCode::from_u16(s).unwrap()),
                SendResult::Transient(_)
            ));
        }
        for s in [301, 400, 401, 403, 404, 410] {
            assert!(matches!(
                classify_status(StatusCode::from_u16(s).unwrap()),
                SendResult::Permanent(_)
            ));
        }
    }
}
