//! Resilience: the real binary loses no accepted event when it is killed under load, nor while
//! its destination (a dedicated AWS emulator) is down for 30 s.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::ApiClient;

/// A child process killed (SIGKILL) and reaped on every exit path.
pub(crate) struct Proc {
    child: Option<Child>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Whether the process has ended (then it is reaped).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL, then wait for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (a graceful stop), then wait for the exit within `limit`.
    async fn terminate(&mut self, limit: Duration) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + limit;
        while self.exited().is_none() {
            assert!(
                Instant::now() < deadline,
                "process {pid} did not exit within {limit:?} of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = None;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Prints the last lines of the children's logs when the test fails. Declared before the
/// children, so it is dropped after them (their logs are complete by then).
pub(crate) struct TailOnPanic(pub(crate) Vec<PathBuf>);

impl Drop for TailOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for path in &self.0 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            eprintln!(
                "----- last {} lines of {} -----\n{}\n-----",
                tail.len(),
                path.display(),
                tail.join("\n")
            );
        }
    }
}

pub(crate) fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap()
}

/// Opens `path` for appending, after a line marking this start.
pub(crate) fn append_log(path: &Path, what: &str) -> File {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    writeln!(file, "===== {what} =====").unwrap();
    file
}

/// `hookrelay app create` on `data`; an API client for that app at `addr`.
fn create_app(data: &Path, addr: SocketAddr, name: &str) -> ApiClient {
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["app", "create", "--name", name])
        .env("HOOKRELAY_DATA_DIR", data)
        .env_remove("HOOKRELAY_DATABASE_URL")
        .env_remove("HOOKRELAY_MASTER_KEY")
        .output()
        .expect("run hookrelay app create");
    assert!(
        out.status.success(),
        "app create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("app create prints JSON");
    ApiClient {
        base: format!("http://{addr}"),
        api_key: created["api_key"].as_str().unwrap().to_string(),
        api_secret: created["api_secret"].as_str().unwrap().to_string(),
        app_id: created["id"].as_i64().unwrap(),
        external_id: created["external_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    }
}

/// `hookrelay serve` on `data` and `addr` with `env`, its output appended to `log`.
pub(crate) fn spawn_hookrelay(
    data: &Path,
    addr: SocketAddr,
    log: &Path,
    env: &[(&str, String)],
) -> Proc {
    let out = append_log(log, "hookrelay serve");
    let err = out.try_clone().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .arg("serve")
        .env("HOOKRELAY_DATA_DIR", data)
        .env("HOOKRELAY_LISTEN", addr.to_string())
        .env("HOOKRELAY_SITE_ROOT", data.join("site"))
        .env("HOOKRELAY_API_RATE_LIMIT", "1000000")
        .env("HOOKRELAY_ALLOW_PRIVATE_TARGETS", "true")
        .env_remove("HOOKRELAY_DATABASE_URL")
        .env_remove("HOOKRELAY_MASTER_KEY")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn hookrelay serve");
    Proc { child: Some(child) }
}

/// Polls `url` until it answers 2xx; Err when the process ends first or after `limit`.
pub(crate) async fn wait_up(
    http: &reqwest::Client,
    url: &str,
    proc: &mut Proc,
    limit: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = proc.exited() {
            return Err(format!(
                "the process exited ({status}) before {url} answered"
            ));
        }
        if let Ok(res) = http.get(url).send().await {
            if res.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{url} did not answer within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts hookrelay and waits for /healthz; a start that exits at once (the port not yet
/// free again after a kill, say) is retried a few times.
pub(crate) async fn start_hookrelay(
    data: &Path,
    addr: SocketAddr,
    log: &Path,
    env: &[(&str, String)],
) -> Proc {
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/healthz");
    let mut last = String::new();
    for _ in 0..5 {
        let mut proc = spawn_hookrelay(data, addr, log, env);
        match wait_up(&http, &url, &mut proc, Duration::from_secs(30)).await {
            Ok(()) => return proc,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("hookrelay did not start: {last}");
}

/// The webhook receiver: answers 200 after 0-5 ms, counting every event id it receives.
pub(crate) async fn webhook_receiver() -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let delay = rand::random::<u64>() % 6;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let Ok(event) = serde_json::from_slice::<Value>(&body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let id = event["id"].as_str().unwrap_or_default().to_string();
                *record.lock().unwrap().entry(id).or_default() += 1;
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// What a producer saw.
#[derive(Default)]
pub(crate) struct Produced {
    /// Ids of events in POSTs answered 201.
    pub(crate) accepted: HashSet<String>,
    /// POSTs answered 201, and other answers ("<phase>: <status or error>").
    pub(crate) ok_posts: u64,
    pub(crate) refused: Vec<String>,
    /// Accepted events whose answer was not `duplicate: false, deliveries: 1`.
    pub(crate) odd: Vec<String>,
}

/// POSTs batches of `batch` events ("{prefix}-{n}") until `stop`, pausing `pause` between
/// posts; `phase` labels refusals.
pub(crate) async fn produce(
    api: Arc<ApiClient>,
    prefix: &'static str,
    batch: usize,
    pause: Duration,
    next: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    phase: Arc<AtomicU8>,
) -> Produced {
    let mut out = Produced::default();
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<String> = (0..batch)
            .map(|_| format!("{prefix}-{}", next.fetch_add(1, Ordering::SeqCst)))
            .collect();
        let events: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "message.new", "id": id, "cid": "messaging:resilience", "text": "hi"}))
            .collect();
        let res = api
            .request(Method::POST, "/events")
            .json(&json!({ "events": events }))
            .send()
            .await;
        // the phase when the answer (or the error) came
        let phase_now = phase.load(Ordering::SeqCst);
        match res {
            Ok(res) if res.status().as_u16() == 201 => {
                out.ok_posts += 1;
                out.accepted.extend(ids.iter().cloned());
                let body: Value = res.json().await.unwrap_or(Value::Null);
                let answers = body["events"].as_array().cloned().unwrap_or_default();
                if answers.len() != ids.len() {
                    out.odd.push(format!(
                        "{} answers for {} events: {body}",
                        answers.len(),
                        ids.len()
                    ));
                }
                for (a, id) in answers.iter().zip(&ids) {
                    if a["id"] != id.as_str() || a["duplicate"] != false || a["deliveries"] != 1 {
                        out.odd.push(format!("{id}: {a}"));
                    }
                }
            }
            Ok(res) => {
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                out.refused
                    .push(format!("phase {phase_now}: {status} {body}"));
            }
            Err(e) => out.refused.push(format!("phase {phase_now}: {e}")),
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    out
}

pub(crate) fn merge(all: Vec<Produced>) -> Produced {
    let mut out = Produced::default();
    for p in all {
        out.accepted.extend(p.accepted);
        out.ok_posts += p.ok_posts;
        out.refused.extend(p.refused);
        out.odd.extend(p.odd);
    }
    out
}

/// (missing, duplicates, extra): accepted ids never received, receptions beyond the first of
/// an accepted id, and received ids that were not accepted (posts cut off by the kill).
pub(crate) fn tally(
    accepted: &HashSet<String>,
    seen: &HashMap<String, u32>,
) -> (Vec<String>, u64, usize) {
    let mut missing: Vec<String> = accepted
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .cloned()
        .collect();
    missing.sort();
    let duplicates = accepted
        .iter()
        .filter_map(|id| seen.get(id))
        .map(|n| u64::from(n.saturating_sub(1)))
        .sum();
    let extra = seen.keys().filter(|id| !accepted.contains(*id)).count();
    (missing, duplicates, extra)
}

/// GET /deliveries?status=`status` (at most 500); the deliveries.
pub(crate) async fn deliveries(api: &ApiClient, status: &str) -> Vec<Value> {
    let res = api
        .request(Method::GET, "/deliveries")
        .query(&[("status", status), ("limit", "500")])
        .send()
        .await
        .expect("GET /deliveries");
    let code = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(code, 200, "GET /deliveries?status={status}: {body}");
    body["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("no deliveries array: {body}"))
        .clone()
}

/// Per status: how many deliveries (at most 500 are listed) and the newest one; and the
/// delivery counters. What a failure message shows.
pub(crate) async fn delivery_summary(api: &ApiClient) -> String {
    let mut out = String::new();
    for status in ["pending", "retrying", "delivered", "failed", "dropped"] {
        let list = deliveries(api, status).await;
        let count = if list.len() == 500 {
            "500+".to_string()
        } else {
            list.len().to_string()
        };
        out.push_str(&format!("\n  {status}: {count}"));
        if let Some(d) = list.first() {
            out.push_str(&format!(", e.g. {d}"));
        }
    }
    let text = metrics(&api.base).await;
    for line in text.lines() {
        if line.starts_with("hookrelay_deliveries_total") || line.starts_with("hookrelay_backlog") {
            out.push_str(&format!("\n  {line}"));
        }
    }
    out
}

/// Waits until no delivery is pending or retrying.
pub(crate) async fn wait_drained(api: &ApiClient, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let pending = deliveries(api, "pending").await;
        let retrying = deliveries(api, "retrying").await;
        if pending.is_empty() && retrying.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "backlog not drained within {limit:?}: {} pending, {} retrying, e.g. {}",
            pending.len(),
            retrying.len(),
            pending.first().or(retrying.first()).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn metrics(base: &str) -> String {
    let res = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(res.status().as_u16(), 200);
    res.text().await.unwrap()
}

/// The sum of `name`'s samples whose labels include every `labels` pair.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((l, v)) => (l, v),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        if labels
            .iter()
            .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")))
        {
            if let Ok(v) = value.trim().parse::<f64>() {
                *found.get_or_insert(0.0) += v;
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_under_load_loses_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hookrelay.log");
    let _tail = TailOnPanic(vec![log.clone()]);
    let addr = free_addr();
    let api = Arc::new(create_app(dir.path(), addr, "Crash"));
    let env = [
        ("HOOKRELAY_DELIVERY_LEASE", "2s".to_string()),
        // the lease must exceed the send timeout
        ("HOOKRELAY_SEND_TIMEOUT", "1s".to_string()),
        ("HOOKRELAY_POLL_INTERVAL", "200ms".to_string()),
        (
            "HOOKRELAY_RETRY_SCHEDULE",
            "200ms,500ms,1s,1s,1s,1s".to_string(),
        ),
    ];
    let mut server = start_hookrelay(dir.path(), addr, &log, &env).await;

    let (hook_url, seen) = webhook_receiver().await;
    let (status, body) = api
        .patch_app(json!({"event_hooks": [
            {"hook_type": "webhook", "enabled": true, "webhook_url": hook_url, "event_types": []}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");

    // load: four producers posting batches of 50 back to back
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(0));
    let producers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(produce(
                api.clone(),
                "crash",
                50,
                Duration::ZERO,
                next.clone(),
                stop.clone(),
                phase.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    phase.store(1, Ordering::SeqCst);
    server.kill(); // SIGKILL while posts are in flight
    let killed_at = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    for p in producers {
        all.push(p.await.expect("producer"));
    }
    let produced = merge(all);
    let received_before_restart = seen.lock().unwrap().len();
    println!(
        "crash: killed at {killed_at:?}; {} posts answered 201 ({} events accepted), {} posts cut off; {} distinct ids received before the restart",
        produced.ok_posts,
        produced.accepted.len(),
        produced.refused.len(),
        received_before_restart
    );
    assert!(
        produced.refused.iter().all(|r| r.starts_with("phase 1")),
        "posts refused before the kill: {:?}",
        &produced.refused[..produced.refused.len().min(5)]
    );
    assert!(
        produced.odd.is_empty(),
        "unexpected answers: {:?}",
        &produced.odd[..produced.odd.len().min(5)]
    );
    assert!(!produced.accepted.is_empty(), "no event was accepted");

    let _server = start_hookrelay(dir.path(), addr, &log, &env).await;
    let restarted_at = started.elapsed();

    // every accepted event arrives
    let deadline = Instant::now() + Duration::from_secs(60);
    let (missing, duplicates, extra) = loop {
        let t = tally(&produced.accepted, &seen.lock().unwrap());
        if t.0.is_empty() || Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let all_received_at = started.elapsed();
    println!(
        "crash: accepted {}, missing {}, duplicates {duplicates}, delivered though not acknowledged {extra}; restarted at {restarted_at:?}, all received at {all_received_at:?}",
        produced.accepted.len(),
        missing.len()
    );
    if !missing.is_empty() {
        panic!(
            "{} of {} accepted events never reached the webhook, e.g. {:?}; deliveries:{}",
            missing.len(),
            produced.accepted.len(),
            &missing[..missing.len().min(10)],
            delivery_summary(&api).await
        );
    }

    // the backlog drains, and nothing was dead-lettered
    wait_drained(&api, Duration::from_secs(30)).await;
    let failed = deliveries(&api, "failed").await;
    assert!(failed.is_empty(), "failed deliveries: {failed:?}");
    let app_id = api.app_id.to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let backlog = loop {
        let text = metrics(&api.base).await;
        let backlog = metric(&text, "hookrelay_backlog", &[("app", &app_id)]);
        if backlog.unwrap_or(0.0) == 0.0 || Instant::now() > deadline {
            break backlog;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!(
        "crash: backlog metric {backlog:?}; done in {:?}",
        started.elapsed()
    );
    assert!(
        backlog.unwrap_or(0.0) == 0.0,
        "hookrelay_backlog {backlog:?} after the drain"
    );
}

/// A dedicated ministack emulator (it is stopped and restarted by the test).
struct Emulator {
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    bin: String,
}

impl Emulator {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts it (with its state persisted in `dir/state`) and waits for its health check.
    async fn start(&self) -> Proc {
        let out = append_log(&self.log, "ministack");
        let err = out.try_clone().unwrap();
        let child = Command::new(&self.bin)
            .current_dir(&self.dir)
            .env("AUTH", "true")
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", self.port.to_string())
            .env("PERSIST_STATE", "1")
            .env("STATE_DIR", self.dir.join("state"))
            .env("TMPDIR", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin));
        let mut proc = Proc { child: Some(child) };
        let url = format!("{}/_ministack/health", self.url());
        if let Err(e) = wait_up(
            &reqwest::Client::new(),
            &url,
            &mut proc,
            Duration::from_secs(60),
        )
        .await
        {
            panic!("the emulator did not start: {e}");
        }
        proc
    }

    async fn sqs(&self) -> aws_sdk_sqs::Client {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        aws_sdk_sqs::Client::new(&conf)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_outage_loses_nothing() {
    let bin = std::env::var("HOOKRELAY_TEST_MINISTACK").expect(
        "HOOKRELAY_TEST_MINISTACK is not set: run the tests through scripts/test.sh (start_emulator in scripts/lib.sh sets it to the ministack executable)",
    );
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hookrelay.log");
    let emulator = Emulator {
        port: free_addr().port(),
        dir: dir.path().join("emulator"),
        log: dir.path().join("ministack.log"),
        bin,
    };
    std::fs::create_dir_all(&emulator.dir).unwrap();
    let _tail = TailOnPanic(vec![log.clone(), emulator.log.clone()]);
    let mut aws = emulator.start().await;
    let sqs = emulator.sqs().await;
    let queue_name = format!("outage-{}", uuid::Uuid::new_v4().simple());
    let queue_url = sqs
        .create_queue()
        .queue_name(&queue_name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();

    let addr = free_addr();
    let api = Arc::new(create_app(dir.path(), addr, "Outage"));
    // Each wait is random in [0, bound] (full jitter), so 28 waits of at most 2 s add up to
    // only about 27 s on average: less than the outage. With 60 of them the sum (about 59 s
    // on average, standard deviation about 4.5 s) outlasts the ~33 s outage by far, so the
    // schedule alone keeps every delivery alive, whatever the circuit breaker does.
    let mut schedule = vec!["500ms", "1s"];
    schedule.extend(std::iter::repeat_n("2s", 58));
    let env = [
        ("AWS_ENDPOINT_URL", emulator.url()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("HOOKRELAY_RETRY_SCHEDULE", schedule.join(",")),
        ("HOOKRELAY_POLL_INTERVAL", "200ms".to_string()),
    ];
    let _server = start_hookrelay(dir.path(), addr, &log, &env).await;
    let (status, body) = api
        .patch_app(json!({"event_hooks": [{
            "hook_type": "sqs", "enabled": true, "sqs_queue_url": queue_url,
            "sqs_region": "us-east-1", "sqs_auth_type": "keys", "sqs_key": "test",
            "sqs_secret": "test", "event_types": []
        }]}))
        .await;
    assert_eq!(status, 200, "{body}");

    // phase 0: emulator up; 1: emulator down; 2: emulator back
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(0));
    let producer = tokio::spawn(produce(
        api.clone(),
        "outage",
        20,
        Duration::from_millis(100),
        next.clone(),
        stop.clone(),
        phase.clone(),
    ));

    tokio::time::sleep(Duration::from_secs(3)).await;
    let before_outage = next.load(Ordering::SeqCst);
    aws.terminate(Duration::from_secs(30)).await; // SIGTERM: it saves its state (PERSIST_STATE=1)
    phase.store(1, Ordering::SeqCst);
    let down_at = started.elapsed();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let during_outage = next.load(Ordering::SeqCst) - before_outage;

    // PERSIST_STATE=1 restores the queue and its messages (ministack's persistence.py saves
    // every service's state on SIGTERM and app.py loads it at start), so the queue is not
    // recreated: it must still be there.
    let _aws = emulator.start().await;
    phase.store(2, Ordering::SeqCst);
    let up_at = started.elapsed();
    let got = sqs
        .get_queue_url()
        .queue_name(&queue_name)
        .send()
        .await
        .expect("the queue survives the emulator's restart (PERSIST_STATE=1)");
    assert_eq!(got.queue_url(), Some(queue_url.as_str()));

    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let produced = producer.await.expect("producer");
    println!(
        "outage: emulator down at {down_at:?}, back at {up_at:?}; {} posts answered 201 ({} events accepted, about {during_outage} posted during the outage); refused {}",
        produced.ok_posts,
        produced.accepted.len(),
        produced.refused.len()
    );
    assert!(
        produced.refused.is_empty(),
        "POST /events must answer 201 whether the destination is up or not: {:?}",
        &produced.refused[..produced.refused.len().min(5)]
    );
    assert!(
        produced.odd.is_empty(),
        "unexpected answers: {:?}",
        &produced.odd[..produced.odd.len().min(5)]
    );
    assert!(during_outage > 0, "nothing was posted during the outage");

    // drain the queue
    let mut seen: HashMap<String, u32> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let b64 = base64::engine::general_purpose::STANDARD;
    loop {
        if tally(&produced.accepted, &seen).0.is_empty() || Instant::now() > deadline {
            break;
        }
        let res = match sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
        {
            Ok(res) => res,
            Err(e) => {
                eprintln!("receive: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mut delete = sqs.delete_message_batch().queue_url(&queue_url);
        let messages = res.messages();
        for (i, m) in messages.iter().enumerate() {
            let body = m.body().unwrap_or_default();
            let decoded = b64
                .decode(body)
                .unwrap_or_else(|e| panic!("message body is not base64 ({e}): {body}"));
            let event: Value = serde_json::from_slice(&decoded)
                .unwrap_or_else(|e| panic!("message body is not base64 JSON ({e}): {body}"));
            let id = event["id"].as_str().unwrap_or_default().to_string();
            *seen.entry(id).or_default() += 1;
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .unwrap(),
            );
        }
        if !messages.is_empty() {
            delete.send().await.expect("delete received messages");
        }
    }
    let (missing, duplicates, extra) = tally(&produced.accepted, &seen);
    println!(
        "outage: accepted {}, missing {}, duplicates {duplicates}, unknown ids {extra}; drained at {:?}",
        produced.accepted.len(),
        missing.len(),
        started.elapsed()
    );
    if !missing.is_empty() {
        panic!(
            "{} of {} accepted events never reached the queue, e.g. {:?}; now {}; deliveries:{}",
            missing.len(),
            produced.accepted.len(),
            &missing[..missing.len().min(10)],
            time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
            delivery_summary(&api).await
        );
    }

    // the outage was real (deliveries were retried) and nothing was dead-lettered
    let text = metrics(&api.base).await;
    let retried = metric(
        &text,
        "hookrelay_deliveries_total",
        &[("hook_type", "sqs"), ("outcome", "retried")],
    );
    let delivered = metric(
        &text,
        "hookrelay_deliveries_total",
        &[("hook_type", "sqs"), ("outcome", "delivered")],
    );
    println!("outage: sqs deliveries retried {retried:?}, delivered {delivered:?}");
    assert!(
        retried.unwrap_or(0.0) > 0.0,
        "no sqs delivery was retried: the outage was not seen\n{text}"
    );
    let failed = deliveries(&api, "failed").await;
    assert!(
        failed.is_empty(),
        "{} deliveries failed, e.g. {}",
        failed.len(),
        failed[0]
    );
}
