//! The API client: Hookrelay's HTTP API called as a client application would (server token,
//! hooks, events, deliveries, metrics).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::Result;

/// An error and its chain of sources on one line (reqwest's Display leaves the cause out).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The server token Stream's SDKs send: HS256 over `{"server":true}` signed with the app secret.
pub fn server_token(secret: &str) -> Result<String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(r#"{"server":true}"#)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| format!("cannot sign the server token: {e}"))?;
    mac.update(input.as_bytes());
    Ok(format!(
        "{input}.{}",
        b64.encode(mac.finalize().into_bytes())
    ))
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub api_key: String,
    pub token: String,
}

pub struct Accepted {
    pub events: usize,
    pub duplicates: usize,
    pub deliveries: u64,
}

impl Api {
    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api_key={}", self.base, self.api_key)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, String)> {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .header("Authorization", &self.token)
            .header("stream-auth-type", "jwt");
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let what = path.split('?').next().unwrap_or(path);
        let res = req
            .send()
            .await
            .map_err(|e| format!("{method} {what}: {}", chain(&e)))?;
        let status = res.status().as_u16();
        let text = res
            .text()
            .await
            .map_err(|e| format!("{method} {what}: reading the answer: {}", chain(&e)))?;
        Ok((status, text))
    }

    pub async fn patch_hooks(&self, hooks: Value) -> Result<()> {
        let body = json!({ "event_hooks": hooks }).to_string().into_bytes();
        let (status, text) = self
            .call(reqwest::Method::PATCH, "/app", Some(body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(format!("PATCH /app answered {status}: {text}"));
        }
        Ok(())
    }

    pub async fn post_events(&self, body: Vec<u8>) -> Result<Accepted> {
        let (status, text) = self
            .call(reqwest::Method::POST, "/events", Some(body))
            .await?;
        if status != 201 {
            return Err(format!("POST /events answered {status}: {text}"));
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("POST /events answered 201 without JSON ({e}): {text}"))?;
        let events = v["events"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        Ok(Accepted {
            events: events.len(),
            duplicates: events
                .iter()
                .filter(|e| e["duplicate"].as_bool() == Some(true))
                .count(),
            deliveries: events.iter().filter_map(|e| e["deliveries"].as_u64()).sum(),
        })
    }

    pub async fn metrics(&self) -> Result<String> {
        let url = format!("{}/metrics", self.base);
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET /metrics: {}", chain(&e)))?;
        let status = res.status().as_u16();
        let text = res
            .text()
            .await
            .map_err(|e| format!("GET /metrics: {}", chain(&e)))?;
        if status != 200 {
            return Err(format!("GET /metrics answered {status}: {text}"));
        }
        Ok(text)
    }

    /// A few of a hook's newest deliveries, one line each (for diagnostics).
    pub async fn recent_deliveries(&self, hook_id: &str) -> String {
        let path = format!("/deliveries?hook_id={hook_id}&limit=5");
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok((200, text)) => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let lines: Vec<String> = v["deliveries"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .map(|d| {
                        format!(
                            "    delivery {} event {} status {} attempts {} last_error {}",
                            d["id"], d["event_id"], d["status"], d["attempts"], d["last_error"]
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    "    (none)".into()
                } else {
                    lines.join("\n")
                }
            }
            Ok((status, text)) => format!("    GET /deliveries answered {status}: {text}"),
            Err(e) => format!("    {e}"),
        }
    }
}

/// The sum of a Prometheus metric's series that carry all of `labels`; None if there is none.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut total: Option<f64> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (metric, series_labels, rest) = match line.find('{') {
            Some(open) => {
                let Some(close) = line[open..].find('}').map(|c| open + c) else {
                    continue;
                };
                (&line[..open], &line[open + 1..close], &line[close + 1..])
            }
            None => match line.split_once(char::is_whitespace) {
                Some((m, rest)) => (m, "", rest),
                None => continue,
            },
        };
        if metric != name {
            continue;
        }
        let parsed: Vec<(&str, &str)> = series_labels
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        if !labels.iter().all(|l| parsed.contains(l)) {
            continue;
        }
        if let Some(Ok(x)) = rest.split_whitespace().next().map(str::parse::<f64>) {
            *total.get_or_insert(0.0) += x;
        }
    }
    total
}
