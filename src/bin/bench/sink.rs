//! The webhook sink: an in-process endpoint that checks each delivery's signature and records
//! when each event first arrived and how often.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::{Result, STALL};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn hmac_hex(secret: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(hex::encode(mac.finalize().into_bytes()))
}

struct Seen {
    count: u32,
    first: Instant,
}

pub struct Sink {
    secret: Vec<u8>,
    seen: Mutex<HashMap<String, Seen>>,
    pub requests: AtomicU64,
    unique: AtomicU64,
    pub bad_signature: AtomicU64,
    pub unreadable: AtomicU64,
}

impl Sink {
    pub async fn start(secret: &str) -> Result<(Arc<Self>, String)> {
        let sink = Arc::new(Self {
            secret: secret.as_bytes().to_vec(),
            seen: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            unique: AtomicU64::new(0),
            bad_signature: AtomicU64::new(0),
            unreadable: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot bind the webhook sink on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("webhook sink: {e}"))?;
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(sink.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("hookrelay-bench: the webhook sink stopped: {e}");
            }
        });
        Ok((sink, format!("http://{addr}/hook")))
    }

    pub fn unique(&self) -> u64 {
        self.unique.load(Ordering::Relaxed)
    }

    /// Waits until `n` more distinct events than `base` arrived, or nothing new arrived for
    /// [`STALL`]. Returns whether all arrived.
    pub async fn wait_for(&self, base: u64, n: usize, what: &str) -> bool {
        let target = base + n as u64;
        let mut last = self.unique();
        let mut last_change = Instant::now();
        let mut last_report = Instant::now();
        loop {
            let now_unique = self.unique();
            if now_unique >= target {
                return true;
            }
            if now_unique != last {
                last = now_unique;
                last_change = Instant::now();
            } else if last_change.elapsed() > STALL {
                eprintln!(
                    "  {what}: no delivery for {} s with {} of {n} events received; giving up",
                    STALL.as_secs(),
                    now_unique - base
                );
                return false;
            }
            if last_report.elapsed() > Duration::from_secs(5) {
                eprintln!("  {what}: {}/{n} events received", now_unique - base);
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// First receive time of `{prefix}{i}` for i in 0..n, plus the phase's duplicate count.
    pub fn arrivals(&self, prefix: &str, n: usize) -> (Vec<Option<Instant>>, u64) {
        let seen = lock(&self.seen);
        let mut duplicates = 0;
        let firsts = (0..n)
            .map(|i| {
                seen.get(&format!("{prefix}{i}")).map(|s| {
                    duplicates += u64::from(s.count - 1);
                    s.first
                })
            })
            .collect();
        (firsts, duplicates)
    }
}

async fn receive(State(sink): State<Arc<Sink>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = Instant::now();
    sink.requests.fetch_add(1, Ordering::Relaxed);
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let plain: Vec<u8> = if gzip {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            sink.unreadable.fetch_add(1, Ordering::Relaxed);
            return StatusCode::OK;
        }
        out
    } else {
        body.to_vec()
    };
    let signature = headers.get("x-signature").and_then(|v| v.to_str().ok());
    if signature.is_none() || signature != hmac_hex(&sink.secret, &plain).as_deref() {
        sink.bad_signature.fetch_add(1, Ordering::Relaxed);
    }
    let id = serde_json::from_slice::<Value>(&plain)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    let Some(id) = id else {
        sink.unreadable.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK;
    };
    match lock(&sink.seen).entry(id) {
        Entry::Occupied(mut e) => {
            e.get_mut().count += 1;
        }
        Entry::Vacant(e) => {
            e.insert(Seen {
                count: 1,
                first: now,
            });
            sink.unique.fetch_add(1, Ordering::Relaxed);
        }
    }
    StatusCode::OK
}
