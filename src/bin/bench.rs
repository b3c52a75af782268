//! `hookrelay-bench`: an end-to-end benchmark of a built Hookrelay.
//!
//! It starts `hookrelay serve` as a subprocess with a fresh data directory, talks to it over
//! HTTP exactly as a client application would, and measures
//!
//! 1. webhook throughput: `POST /events` in batches of 1,000 from a few concurrent posters to
//!    one webhook hook pointing at an in-process sink, until the sink has every event;
//! 2. SQS throughput against the AWS emulator (`AWS_ENDPOINT_URL`), next to the emulator's own
//!    ceiling measured with a bare SDK client;
//! 3. latency at a fixed rate: single-event `POST /events`, accept → delivered at the sink;
//! 4. the dashboard: the app page (credentials, integrations with their health over the last
//!    hour, which by then covers every delivery above) rendered on the server, from a number
//!    of concurrent logged-in clients;
//!
//! then the server's peak RSS and its exit on SIGTERM, and prints a markdown summary.
//! It uses no Hookrelay internals: only the CLI and the HTTP API.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use clap::Parser;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

type Result<T> = std::result::Result<T, String>;

/// Events per `POST /events` in the throughput runs (the API's maximum).
const BATCH: usize = 1000;
/// How long a wait for deliveries may go without any progress before it gives up.
const STALL: Duration = Duration::from_secs(30);
/// Message text of the benchmark events: with it an event is about 400 bytes as posted.
const TEXT: &str = "Hey team, the release candidate is ready for testing. Please run the \
                    checkout and onboarding flows and report anything odd here before Thursday.";

#[derive(Debug, Parser)]
#[command(
    name = "hookrelay-bench",
    about = "End-to-end benchmark of a built Hookrelay: webhook and SQS throughput, latency, memory"
)]
struct Args {
    /// The hookrelay binary to benchmark.
    #[arg(long = "bin", default_value = "target/release/hookrelay")]
    bin: PathBuf,
    /// Events in the webhook throughput run.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Concurrent posters (each sends batches of 1,000 events) in the throughput runs.
    #[arg(long, default_value_t = 4)]
    posters: usize,
    /// Events in the SQS run (and messages in the emulator ceiling run).
    #[arg(long, default_value_t = 20_000)]
    sqs_events: usize,
    /// Concurrent SendMessageBatch senders for the emulator ceiling run.
    #[arg(long, default_value_t = 16)]
    sqs_senders: usize,
    /// Events per second in the latency run (one event per POST).
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Duration of the latency run.
    #[arg(long, default_value_t = 10)]
    latency_seconds: u64,
    /// App page requests in the dashboard run.
    #[arg(long, default_value_t = 5000)]
    pages: usize,
    /// Concurrent clients in the dashboard run.
    #[arg(long, default_value_t = 50)]
    page_concurrency: usize,
    /// App pages per second in the paced dashboard run that follows (each request sent on
    /// time, however many are in flight); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    page_rate: u32,
    /// Skip the SQS run (it is skipped anyway when AWS_ENDPOINT_URL is not set).
    #[arg(long)]
    skip_sqs: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hookrelay-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// An error and its chain of sources on one line (reqwest's Display leaves the cause out).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 1234567.8 -> "1,234,568"
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "p50 A ms, p90 B ms, p99 C ms, max D ms" of sorted latencies (the runs' log lines).
fn spread(sorted: &[Duration]) -> String {
    format!(
        "p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.90)),
        ms(percentile(sorted, 0.99)),
        ms(percentile(sorted, 1.0)),
    )
}

/// "A / B ms": p50 and p99 of sorted latencies (the summary table's cells).
fn p50_p99(sorted: &[Duration]) -> String {
    format!(
        "{} / {} ms",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.99))
    )
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

fn hmac_hex(secret: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// The server token Stream's SDKs send: HS256 over `{"server":true}` signed with the app secret.
fn server_token(secret: &str) -> Result<String> {
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

/// A realistic `message.new` event of about 400 bytes (created_at is left to Hookrelay).
fn event_json(id: &str, i: usize) -> String {
    let ch = i % 64;
    let u = i % 1000;
    format!(
        r#"{{"id":"{id}","type":"message.new","cid":"messaging:bench-{ch}","channel_type":"messaging","channel_id":"bench-{ch}","message":{{"id":"m-{id}","type":"regular","text":"{TEXT}","user":{{"id":"user-{u}","name":"Bench User {u}"}}}},"user":{{"id":"user-{u}"}}}}"#
    )
}

fn batch_body(prefix: &str, range: std::ops::Range<usize>) -> Vec<u8> {
    let mut body = String::with_capacity(range.len() * 420 + 16);
    body.push_str(r#"{"events":["#);
    for i in range.clone() {
        if i > range.start {
            body.push(',');
        }
        body.push_str(&event_json(&format!("{prefix}{i}"), i));
    }
    body.push_str("]}");
    body.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The data directory and the server subprocess

/// A fresh directory under the system temp dir, removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn create() -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("hookrelay-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct AppCreds {
    id: String,
    api_key: String,
    api_secret: String,
}

/// `hookrelay app create --name bench --data-dir DIR`.
fn create_app(bin: &Path, dir: &Path) -> Result<AppCreds> {
    let out = std::process::Command::new(bin)
        .args(["app", "create", "--name", "bench", "--data-dir"])
        .arg(dir)
        .env("HOOKRELAY_LOG", "warn")
        .env_remove("HOOKRELAY_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (build it first: cargo build --release --features ssr --bin hookrelay)",
                bin.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "`hookrelay app create` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "`hookrelay app create` printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout).trim()
        )
    })?;
    let field = |name: &str| -> Result<String> {
        match &v[name] {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("`hookrelay app create` printed no \"{name}\": {v}")),
        }
    };
    Ok(AppCreds {
        id: field("id")?,
        api_key: field("api_key")?,
        api_secret: field("api_secret")?,
    })
}

struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl Server {
    async fn start(bin: &Path, dir: &Path, http: &reqwest::Client) -> Result<Self> {
        let port = free_port()?;
        let log = dir.join("hookrelay.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let file2 = file
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let child = tokio::process::Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .env("HOOKRELAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKRELAY_LOG", "warn")
            // The default budget (6,000 requests a minute) would refuse the latency run.
            .env("HOOKRELAY_API_RATE_LIMIT", "4000000000")
            .env_remove("HOOKRELAY_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| "the server exited at once".to_string())?;
        let mut server = Self {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "hookrelay serve exited during start-up ({status}); its log:\n{}",
                    server.log_tail(30)
                ));
            }
            let url = format!("{}/healthz", server.base);
            if let Ok(res) = http.get(&url).send().await {
                if res.status().is_success() {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "hookrelay did not answer GET /healthz on {} within 60 s; its log:\n{}",
                    server.base,
                    server.log_tail(30)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        if tail.is_empty() {
            "(empty)".into()
        } else {
            tail.join("\n")
        }
    }

    /// Peak resident set size (VmHWM) in bytes.
    fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// SIGTERM, then waits (30 s at most) for the exit; returns its description and whether
    /// the server exited with code 0.
    async fn terminate(&mut self) -> (String, bool) {
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if !matches!(sent, Ok(s) if s.success()) {
            return (format!("could not send SIGTERM ({sent:?})"), false);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) => {
                let took = ms(started.elapsed());
                match status.code() {
                    Some(code) => (format!("exit code {code} after {took} ms"), code == 0),
                    None => {
                        use std::os::unix::process::ExitStatusExt;
                        (
                            format!("killed by signal {:?} after {took} ms", status.signal()),
                            false,
                        )
                    }
                }
            }
            Ok(Err(e)) => (format!("waiting for the exit failed: {e}"), false),
            Err(_) => {
                let _ = self.child.start_kill();
                ("did not exit within 30 s of SIGTERM (killed)".into(), false)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The API client

struct Api {
    http: reqwest::Client,
    base: String,
    api_key: String,
    token: String,
}

struct Accepted {
    events: usize,
    duplicates: usize,
    deliveries: u64,
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

    async fn patch_hooks(&self, hooks: Value) -> Result<()> {
        let body = json!({ "event_hooks": hooks }).to_string().into_bytes();
        let (status, text) = self
            .call(reqwest::Method::PATCH, "/app", Some(body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(format!("PATCH /app answered {status}: {text}"));
        }
        Ok(())
    }

    async fn post_events(&self, body: Vec<u8>) -> Result<Accepted> {
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

    async fn metrics(&self) -> Result<String> {
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
    async fn recent_deliveries(&self, hook_id: &str) -> String {
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
fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
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

// ---------------------------------------------------------------------------------------------
// The webhook sink

struct Seen {
    count: u32,
    first: Instant,
}

struct Sink {
    secret: Vec<u8>,
    seen: Mutex<HashMap<String, Seen>>,
    requests: AtomicU64,
    unique: AtomicU64,
    bad_signature: AtomicU64,
    unreadable: AtomicU64,
}

impl Sink {
    async fn start(secret: &str) -> Result<(Arc<Self>, String)> {
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

    fn unique(&self) -> u64 {
        self.unique.load(Ordering::Relaxed)
    }

    /// Waits until `n` more distinct events than `base` arrived, or nothing new arrived for
    /// [`STALL`]. Returns whether all arrived.
    async fn wait_for(&self, base: u64, n: usize, what: &str) -> bool {
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
    fn arrivals(&self, prefix: &str, n: usize) -> (Vec<Option<Instant>>, u64) {
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

// ---------------------------------------------------------------------------------------------
// Posting

struct Posted {
    /// From the first POST's start to the last POST's answer.
    elapsed: Duration,
    duplicates: usize,
    deliveries: u64,
}

/// Posts events `{prefix}0 .. {prefix}{n-1}` in batches of [`BATCH`] from `posters` tasks.
/// `started` is when the first POST began.
async fn post_batches(
    api: &Arc<Api>,
    prefix: &str,
    n: usize,
    posters: usize,
    started: Instant,
) -> Result<Posted> {
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..posters {
        let (api, next, stop, prefix) =
            (api.clone(), next.clone(), stop.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut duplicates, mut deliveries) = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                let start = next.fetch_add(1, Ordering::Relaxed) * BATCH;
                if start >= n {
                    break;
                }
                let range = start..(start + BATCH).min(n);
                let expected = range.len();
                let answer = match api.post_events(batch_body(&prefix, range)).await {
                    Ok(a) => a,
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                if answer.events != expected {
                    stop.store(true, Ordering::Relaxed);
                    return Err(format!(
                        "POST /events with {expected} events answered with {} entries",
                        answer.events
                    ));
                }
                duplicates += answer.duplicates;
                deliveries += answer.deliveries;
            }
            Ok::<_, String>((duplicates, deliveries))
        }));
    }
    let mut posted = Posted {
        elapsed: Duration::ZERO,
        duplicates: 0,
        deliveries: 0,
    };
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok((d, del))) => {
                posted.duplicates += d;
                posted.deliveries += del;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("a poster task failed: {e}"));
            }
        }
    }
    posted.elapsed = started.elapsed();
    match first_error {
        Some(e) => Err(e),
        None => Ok(posted),
    }
}

fn webhook_hook(url: &str) -> Value {
    json!([{
        "id": "wh",
        "hook_type": "webhook",
        "enabled": true,
        "webhook_url": url,
        "event_types": [],
    }])
}

// ---------------------------------------------------------------------------------------------
// The runs

struct WebhookResult {
    n: usize,
    end_to_end: Option<f64>,
    accept_rate: f64,
    missing: usize,
    duplicates: u64,
}

async fn webhook_run(args: &Args, api: &Arc<Api>, sink: &Sink, url: &str) -> Result<WebhookResult> {
    let n = args.events;
    api.patch_hooks(webhook_hook(url)).await?;
    let base = sink.unique();
    eprintln!(
        "webhook run: {n} events in batches of {BATCH} from {} posters",
        args.posters
    );
    let started = Instant::now();
    let posted = post_batches(api, "wh-", n, args.posters, started).await?;
    let accept_rate = per_second(n, posted.elapsed);
    let complete = sink.wait_for(base, n, "webhook").await;
    let (firsts, duplicates) = sink.arrivals("wh-", n);
    let missing = firsts.iter().filter(|f| f.is_none()).count();
    let last = firsts.iter().flatten().max().copied();
    let end_to_end = last.map(|l| l.saturating_duration_since(started));
    match (complete, end_to_end) {
        (true, Some(d)) => println!(
            "webhook: {n} events in {:.2} s = {} events/s end to end (accept rate {} events/s)",
            d.as_secs_f64(),
            thousands(per_second(n, d)),
            thousands(accept_rate)
        ),
        _ => println!(
            "webhook: only {} of {n} events arrived (accept rate {} events/s)",
            n - missing,
            thousands(accept_rate)
        ),
    }
    println!("webhook: missing {missing}, duplicates {duplicates}");
    if posted.duplicates > 0 || posted.deliveries != n as u64 {
        println!(
            "webhook: note: POST /events reported {} duplicates and {} deliveries for {n} new events",
            posted.duplicates, posted.deliveries
        );
    }
    if let Ok(text) = api.metrics().await {
        if let (Some(accepted), Some(commits)) = (
            metric_value(&text, "hookrelay_events_accepted_total", &[]),
            metric_value(&text, "hookrelay_ingest_commits_total", &[]),
        ) {
            if commits > 0.0 {
                println!(
                    "webhook: ingest {} events in {} group commits = {:.1} events per commit",
                    thousands(accepted),
                    thousands(commits),
                    accepted / commits
                );
            }
        }
    }
    if !complete {
        let recent = api.recent_deliveries("wh").await;
        println!("webhook: newest deliveries:\n{recent}");
    }
    Ok(WebhookResult {
        n,
        end_to_end: if complete {
            end_to_end.map(|d| per_second(n, d))
        } else {
            None
        },
        accept_rate,
        missing,
        duplicates,
    })
}

struct SqsResult {
    m: usize,
    rate: Option<f64>,
    ceiling: f64,
}

async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "hookrelay-bench",
        ))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&conf)
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String> {
    let name = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    let out = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "CreateQueue {name} on the emulator: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?;
    out.queue_url()
        .map(str::to_owned)
        .ok_or_else(|| format!("CreateQueue {name} answered without a queue URL"))
}

fn string_attr(v: &str) -> Result<aws_sdk_sqs::types::MessageAttributeValue> {
    aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .map_err(|e| e.to_string())
}

/// The emulator's ceiling: `m` messages like Hookrelay's (base64 of a stored event, with the
/// two attributes) in SendMessageBatch calls of 10 from `senders` tasks. Returns msgs/s.
async fn sqs_ceiling(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    m: usize,
    senders: usize,
) -> Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (sqs, queue, next, failed) =
            (sqs.clone(), queue.to_string(), next.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let b64 = base64::engine::general_purpose::STANDARD;
            loop {
                let start = next.fetch_add(1, Ordering::Relaxed) * 10;
                if start >= m {
                    return Ok::<_, String>(());
                }
                let mut entries = Vec::with_capacity(10);
                for i in start..(start + 10).min(m) {
                    let id = format!("raw-{i}");
                    // The stored event: what was posted plus the assigned created_at.
                    let mut event = event_json(&id, i);
                    event.pop();
                    event.push_str(r#","created_at":"2025-01-01T00:00:00.000000000Z"}"#);
                    let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id((i - start).to_string())
                        .message_body(b64.encode(event))
                        .message_attributes("X-Hookrelay-Event-Id", string_attr(&id)?)
                        .message_attributes("X-Hookrelay-Event-Type", string_attr("message.new")?)
                        .build()
                        .map_err(|e| e.to_string())?;
                    entries.push(entry);
                }
                let out = sqs
                    .send_message_batch()
                    .queue_url(&queue)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "SendMessageBatch to the emulator: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(&e)
                        )
                    })?;
                failed.fetch_add(out.failed().len() as u64, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| format!("an SQS sender task failed: {e}"))??;
    }
    let elapsed = started.elapsed();
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        println!("sqs: note: the emulator refused {failed} of {m} messages in the ceiling run");
    }
    Ok(per_second(m - failed as usize, elapsed))
}

async fn sqs_delivered(api: &Api, outcome: &str) -> Result<f64> {
    let text = api.metrics().await?;
    Ok(metric_value(
        &text,
        "hookrelay_deliveries_total",
        &[("hook_type", "sqs"), ("outcome", outcome)],
    )
    .unwrap_or(0.0))
}

async fn sqs_run(args: &Args, api: &Arc<Api>, endpoint: &str) -> Result<SqsResult> {
    let m = args.sqs_events;
    let sqs = sqs_client(endpoint).await;
    let raw_queue = create_queue(&sqs, "hookrelay-bench-raw").await?;
    eprintln!(
        "sqs run: emulator ceiling with {m} messages from {} concurrent senders",
        args.sqs_senders
    );
    let ceiling = sqs_ceiling(&sqs, &raw_queue, m, args.sqs_senders).await?;
    let queue = create_queue(&sqs, "hookrelay-bench").await?;
    api.patch_hooks(json!([{
        "id": "q",
        "hook_type": "sqs",
        "enabled": true,
        "sqs_queue_url": queue.as_str(),
        "sqs_region": "us-east-1",
        "sqs_auth_type": "keys",
        "sqs_key": "test",
        "sqs_secret": "test",
        "event_types": [],
    }]))
    .await?;
    let base = sqs_delivered(api, "delivered").await?;
    eprintln!("sqs run: {m} events through Hookrelay to one SQS hook");
    let started = Instant::now();
    let posted = post_batches(api, "sqs-", m, args.posters, started).await?;
    if posted.duplicates > 0 || posted.deliveries != m as u64 {
        println!(
            "sqs: note: POST /events reported {} duplicates and {} deliveries for {m} new events",
            posted.duplicates, posted.deliveries
        );
    }
    let mut last = 0.0;
    let mut last_change = Instant::now();
    let mut last_report = Instant::now();
    let done = loop {
        let delivered = sqs_delivered(api, "delivered").await? - base;
        if delivered >= m as f64 {
            break Some(started.elapsed());
        }
        if delivered != last {
            last = delivered;
            last_change = Instant::now();
        } else if last_change.elapsed() > STALL {
            eprintln!(
                "  sqs: no delivery for {} s with {delivered} of {m} delivered; giving up",
                STALL.as_secs()
            );
            break None;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("  sqs: {delivered}/{m} delivered");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut others = Vec::new();
    for outcome in ["retried", "failed", "dropped"] {
        let x = sqs_delivered(api, outcome).await?;
        if x > 0.0 {
            others.push(format!("{outcome} {x}"));
        }
    }
    if !others.is_empty() {
        println!("sqs: note: deliveries {}", others.join(", "));
    }
    let rate = done.map(|d| per_second(m, d));
    match (done, rate) {
        (Some(d), Some(r)) => println!(
            "sqs: {m} events in {:.2} s = {} events/s; emulator raw ceiling {} msgs/s; ratio {:.0} %",
            d.as_secs_f64(),
            thousands(r),
            thousands(ceiling),
            100.0 * r / ceiling
        ),
        _ => {
            let recent = api.recent_deliveries("q").await;
            println!(
                "sqs: only {last} of {m} events delivered; emulator raw ceiling {} msgs/s\nsqs: newest deliveries:\n{recent}",
                thousands(ceiling),
            );
        }
    }
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await;
    if let Ok(out) = attrs {
        let held = out
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|v| v.parse::<usize>().ok());
        match held {
            Some(h) if h == m => {}
            Some(h) => println!("sqs: note: the queue holds {h} messages, {m} expected"),
            None => {}
        }
    }
    Ok(SqsResult { m, rate, ceiling })
}

struct LatencyResult {
    rate: u32,
    sent: usize,
    achieved_rate: f64,
    missing: usize,
    duplicates: u64,
    delivered: Vec<Duration>,
    post: Vec<Duration>,
}

async fn latency_run(args: &Args, api: &Arc<Api>, sink: &Sink, url: &str) -> Result<LatencyResult> {
    api.patch_hooks(webhook_hook(url)).await?;
    let total = (u64::from(args.rate) * args.latency_seconds) as usize;
    eprintln!(
        "latency run: {} events/s, one event per POST, for {} s",
        args.rate, args.latency_seconds
    );
    let base = sink.unique();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let stop = Arc::new(AtomicBool::new(false));
    let mut sends: Vec<Instant> = Vec::with_capacity(total);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = event_json(&format!("lat-{i}"), i).into_bytes();
        let (api, stop) = (api.clone(), stop.clone());
        let sent = Instant::now();
        sends.push(sent);
        tasks.push(tokio::spawn(async move {
            let result = api.post_events(body).await;
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            result.map(|_| sent.elapsed())
        }));
    }
    let schedule = match (sends.first(), sends.last()) {
        (Some(a), Some(b)) if sends.len() > 1 => per_second(sends.len() - 1, *b - *a),
        _ => 0.0,
    };
    let mut post = Vec::with_capacity(total);
    for task in tasks {
        post.push(
            task.await
                .map_err(|e| format!("a POST task failed: {e}"))??,
        );
    }
    let sent = sends.len();
    sink.wait_for(base, sent, "latency").await;
    let (firsts, duplicates) = sink.arrivals("lat-", sent);
    let mut delivered: Vec<Duration> = firsts
        .iter()
        .zip(&sends)
        .filter_map(|(r, s)| r.map(|r| r.saturating_duration_since(*s)))
        .collect();
    let missing = sent - delivered.len();
    delivered.sort();
    post.sort();
    let r = LatencyResult {
        rate: args.rate,
        sent,
        achieved_rate: schedule,
        missing,
        duplicates,
        delivered,
        post,
    };
    println!(
        "latency: {sent} events at {} events/s (achieved {:.0}/s): accept→delivered {}; POST /events p50 {} ms, p99 {} ms",
        r.rate,
        r.achieved_rate,
        spread(&r.delivered),
        ms(percentile(&r.post, 0.50)),
        ms(percentile(&r.post, 0.99)),
    );
    println!("latency: missing {missing}, duplicates {duplicates}");
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// The dashboard: server-rendered app page under concurrent load

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench password 1";

/// `hookrelay user create`: the administrator the dashboard run logs in as.
fn create_admin(bin: &Path, dir: &Path) -> Result<()> {
    let out = std::process::Command::new(bin)
        .args(["user", "create", "--email", ADMIN_EMAIL, "--data-dir"])
        .arg(dir)
        .env("HOOKRELAY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HOOKRELAY_LOG", "warn")
        .env_remove("HOOKRELAY_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`hookrelay user create` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

struct PageResult {
    rate: f64,
    concurrency: usize,
    latencies: Vec<Duration>,
    bytes: usize,
    /// The paced run: its rate and its latencies (sorted).
    paced_rate: u32,
    paced: Vec<Duration>,
}

/// Logs in through the login form (no JavaScript: a form post answered with a redirect and
/// the session cookie), then requests the app page `args.pages` times from
/// `args.page_concurrency` clients, checking each answer is the full page.
async fn dashboard_run(args: &Args, base: &str, app_id: &str) -> Result<PageResult> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.page_concurrency * 2)
        .build()
        .map_err(|e| format!("HTTP client: {}", chain(&e)))?;
    let res = http
        .post(format!("{base}/_sfn/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .map_err(|e| format!("POST /_sfn/login: {}", chain(&e)))?;
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        return Err(format!(
            "logging in gave no session cookie (HTTP {})",
            res.status()
        ));
    }
    let url = format!("{base}/apps/{app_id}");
    let fetch = {
        let (http, url, cookie) = (http.clone(), url.clone(), cookie.clone());
        move || {
            let (http, url, cookie) = (http.clone(), url.clone(), cookie.clone());
            async move {
                let started = Instant::now();
                let res = http
                    .get(&url)
                    .header(reqwest::header::COOKIE, cookie)
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {}", chain(&e)))?;
                let status = res.status();
                let body = res
                    .text()
                    .await
                    .map_err(|e| format!("GET {url}: {}", chain(&e)))?;
                let took = started.elapsed();
                if !status.is_success()
                    || !body.contains("Event Configuration")
                    || !body.contains("delivered")
                {
                    return Err(format!(
                        "GET {url}: HTTP {status}, not the app page with its integrations ({} bytes)",
                        body.len()
                    ));
                }
                Ok::<_, String>((took, body.len()))
            }
        }
    };
    // warm-up: connections, the page's first render
    for _ in 0..20 {
        fetch().await?;
    }
    eprintln!(
        "dashboard run: {} app page requests from {} concurrent clients",
        args.pages, args.page_concurrency
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.page_concurrency {
        let (next, fetch, total) = (next.clone(), fetch.clone(), args.pages);
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut bytes = 0;
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let (took, n) = fetch().await?;
                mine.push(took);
                bytes = n;
            }
            Ok::<_, String>((mine, bytes))
        }));
    }
    let mut latencies = Vec::with_capacity(args.pages);
    let mut bytes = 0;
    for w in workers {
        let (mine, n) = w
            .await
            .map_err(|e| format!("a page client failed: {e}"))??;
        latencies.extend(mine);
        bytes = bytes.max(n);
    }
    let rate = per_second(latencies.len(), started.elapsed());
    latencies.sort();
    println!(
        "dashboard: {} app pages ({} bytes each) from {} clients, {} pages/s: {}",
        latencies.len(),
        bytes,
        args.page_concurrency,
        thousands(rate),
        spread(&latencies),
    );
    let paced = paced_pages(args, &fetch).await?;
    Ok(PageResult {
        paced_rate: args.page_rate,
        paced,
        rate,
        concurrency: args.page_concurrency,
        latencies,
        bytes,
    })
}

/// Requests the app page `args.page_rate` times a second for 5 s, each on time whatever the
/// earlier ones are doing: the page's latency when the server is busy but not saturated.
async fn paced_pages<F, Fut>(args: &Args, fetch: &F) -> Result<Vec<Duration>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(Duration, usize)>> + Send + 'static,
{
    if args.page_rate == 0 {
        return Ok(Vec::new());
    }
    let total = args.page_rate as usize * 5;
    eprintln!(
        "paced dashboard run: {} app pages/s for 5 s",
        args.page_rate
    );
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.page_rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for _ in 0..total {
        ticker.tick().await;
        tasks.push(tokio::spawn(fetch()));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        let (took, _) = task
            .await
            .map_err(|e| format!("a paced page request failed: {e}"))??;
        latencies.push(took);
    }
    latencies.sort();
    println!(
        "dashboard: {} app pages at {}/s: {}",
        latencies.len(),
        args.page_rate,
        spread(&latencies),
    );
    Ok(latencies)
}

// ---------------------------------------------------------------------------------------------

struct Report {
    posters: usize,
    sqs_senders: usize,
    webhook: WebhookResult,
    sqs: std::result::Result<SqsResult, String>,
    latency: LatencyResult,
    pages: PageResult,
    rss: Option<u64>,
    exit: (String, bool),
    sink_requests: u64,
    bad_signature: u64,
    unreadable: u64,
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

fn print_summary(r: &Report) -> bool {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut met = 0;
    let mut targets = 0;

    let w = &r.webhook;
    targets += 1;
    let w_ok = w.end_to_end.is_some_and(|x| x >= 20_000.0);
    met += usize::from(w_ok);
    rows.push((
        format!(
            "webhook throughput, end to end ({} events)",
            thousands(w.n as f64)
        ),
        w.end_to_end.map_or("incomplete".into(), |x| {
            format!("{} events/s", thousands(x))
        }),
        format!("≥ 20,000 events/s ({})", verdict(w_ok)),
    ));
    rows.push((
        "webhook accept rate (POST /events, 1,000 per batch)".into(),
        format!("{} events/s", thousands(w.accept_rate)),
        "—".into(),
    ));
    match &r.sqs {
        Ok(s) => {
            targets += 1;
            let ratio = s.rate.map(|x| 100.0 * x / s.ceiling);
            let ok = ratio.is_some_and(|p| p >= 90.0);
            met += usize::from(ok);
            rows.push((
                format!(
                    "SQS throughput ({} events, emulator)",
                    thousands(s.m as f64)
                ),
                s.rate.map_or("incomplete".into(), |x| {
                    format!("{} events/s", thousands(x))
                }),
                "—".into(),
            ));
            rows.push((
                format!(
                    "emulator raw ceiling (SendMessageBatch ×10, {} senders)",
                    r.sqs_senders
                ),
                format!("{} msgs/s", thousands(s.ceiling)),
                "—".into(),
            ));
            rows.push((
                "SQS throughput / emulator ceiling".into(),
                ratio.map_or("—".into(), |p| format!("{p:.0} %")),
                format!("≥ 90 % ({})", verdict(ok)),
            ));
        }
        Err(why) => rows.push((
            "SQS throughput".into(),
            format!("skipped ({why})"),
            "≥ 90 % of emulator ceiling".into(),
        )),
    }
    let l = &r.latency;
    targets += 1;
    let p99 = percentile(&l.delivered, 0.99);
    let l_ok = l.missing == 0 && !l.delivered.is_empty() && p99 <= Duration::from_millis(10);
    met += usize::from(l_ok);
    rows.push((
        format!(
            "accept → delivered at {}/s, p50 / p90 / p99 / max",
            thousands(f64::from(l.rate))
        ),
        format!(
            "{} / {} / {} / {} ms",
            ms(percentile(&l.delivered, 0.50)),
            ms(percentile(&l.delivered, 0.90)),
            ms(p99),
            ms(percentile(&l.delivered, 1.0))
        ),
        format!("p99 ≤ 10 ms ({})", verdict(l_ok)),
    ));
    rows.push((
        "POST /events (1 event) p50 / p99".into(),
        p50_p99(&l.post),
        "—".into(),
    ));
    let p = &r.pages;
    targets += 1;
    let page_p99 = percentile(&p.latencies, 0.99);
    let p_ok = !p.latencies.is_empty() && page_p99 <= Duration::from_millis(10);
    met += usize::from(p_ok);
    rows.push((
        format!(
            "app page SSR ({} bytes), {} concurrent, p50 / p99",
            thousands(p.bytes as f64),
            p.concurrency
        ),
        format!("{} ({} pages/s)", p50_p99(&p.latencies), thousands(p.rate)),
        format!("p99 ≤ 10 ms ({})", verdict(p_ok)),
    ));
    if !p.paced.is_empty() {
        rows.push((
            format!(
                "app page SSR at {}/s (paced), p50 / p99",
                thousands(f64::from(p.paced_rate))
            ),
            p50_p99(&p.paced),
            "—".into(),
        ));
    }
    rows.push((
        "peak RSS of hookrelay (VmHWM)".into(),
        r.rss.map_or("unknown".into(), |b| {
            format!("{:.1} MB", b as f64 / 1_048_576.0)
        }),
        "—".into(),
    ));
    let missing = w.missing + l.missing;
    let duplicates = w.duplicates + l.duplicates;
    rows.push((
        "webhook deliveries missing / duplicated".into(),
        format!("{missing} / {duplicates}"),
        "0 / 0".into(),
    ));
    rows.push((
        "exit on SIGTERM".into(),
        r.exit.0.clone(),
        "exit code 0".into(),
    ));

    println!();
    println!(
        "## Benchmark ({} cores; {} posters; latency run {} events at {}/s)",
        cores, r.posters, l.sent, l.rate
    );
    println!();
    println!("| metric | value | target |");
    println!("|---|---|---|");
    for (metric, value, target) in &rows {
        println!("| {metric} | {value} | {target} |");
    }
    println!();
    println!("targets met: {met} of {targets}");
    if r.bad_signature > 0 || r.unreadable > 0 {
        println!(
            "sink: {} requests, {} with a wrong or missing x-signature, {} unreadable",
            r.sink_requests, r.bad_signature, r.unreadable
        );
    }
    missing == 0 && r.exit.1 && r.bad_signature == 0 && r.unreadable == 0
}

/// Runs everything; Ok(false) when the benchmark completed but deliveries were missing or the
/// server did not exit cleanly.
async fn run(args: Args) -> Result<bool> {
    if args.events == 0 || args.posters == 0 || args.rate == 0 || args.latency_seconds == 0 {
        return Err("--events, --posters, --rate and --latency-seconds must be positive".into());
    }
    if args.sqs_senders == 0 || args.pages == 0 || args.page_concurrency == 0 {
        return Err("--sqs-senders, --pages and --page-concurrency must be positive".into());
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| format!("HTTP client: {}", chain(&e)))?;

    let dir = DataDir::create()?;
    let creds = create_app(&args.bin, &dir.0)?;
    create_admin(&args.bin, &dir.0)?;
    let (sink, sink_url) = Sink::start(&creds.api_secret).await?;
    let mut server = Server::start(&args.bin, &dir.0, &http).await?;
    eprintln!(
        "hookrelay (pid {}) on {}, app {}, data in {}, webhook sink {sink_url}",
        server.pid,
        server.base,
        creds.id,
        dir.0.display()
    );
    let api = Arc::new(Api {
        http,
        base: server.base.clone(),
        api_key: creds.api_key.clone(),
        token: server_token(&creds.api_secret)?,
    });

    let result = async {
        let webhook = webhook_run(&args, &api, &sink, &sink_url).await?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let sqs = match (args.skip_sqs, endpoint) {
            (true, _) => {
                println!("sqs: skipped (--skip-sqs)");
                Err("--skip-sqs".to_string())
            }
            (false, None) => {
                println!("sqs: skipped (AWS_ENDPOINT_URL is not set; scripts/bench.sh starts the emulator)");
                Err("AWS_ENDPOINT_URL not set".to_string())
            }
            (false, Some(endpoint)) => Ok(sqs_run(&args, &api, &endpoint).await?),
        };
        let latency = latency_run(&args, &api, &sink, &sink_url).await?;
        let pages = dashboard_run(&args, &server.base, &creds.id).await?;
        Ok::<_, String>((webhook, sqs, latency, pages))
    }
    .await;
    let (webhook, sqs, latency, pages) = match result {
        Ok(r) => r,
        Err(e) => {
            let tail = server.log_tail(30);
            let _ = server.terminate().await;
            return Err(format!("{e}\nlast lines of the hookrelay log:\n{tail}"));
        }
    };

    let rss = server.peak_rss();
    let exit = server.terminate().await;
    println!("hookrelay: {} on SIGTERM", exit.0);
    if !exit.1 {
        eprintln!("last lines of the hookrelay log:\n{}", server.log_tail(30));
    }
    let report = Report {
        posters: args.posters,
        sqs_senders: args.sqs_senders,
        webhook,
        sqs,
        latency,
        pages,
        rss,
        exit,
        sink_requests: sink.requests.load(Ordering::Relaxed),
        bad_signature: sink.bad_signature.load(Ordering::Relaxed),
        unreadable: sink.unreadable.load(Ordering::Relaxed),
    };
    Ok(print_summary(&report))
}
