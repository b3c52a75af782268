//! The retention run: ingest latency while `--prune-rows` (1,000,000) finished deliveries are
//! pruned, beside the same load without pruning.
//!
//! With the other runs' server stopped, it seeds the rows (events accepted and delivered two
//! days ago, one delivery each) straight into the server's database through the library's
//! `Store::seed_finished_deliveries` — the one place the benchmark uses Hookrelay's internals:
//! posting a million events would take minutes. Then it starts `hookrelay serve` twice on that
//! database, with the pruner's log lines on:
//!
//! 1. with the default retention (7 days): the pruner's run at start finds nothing to delete;
//!    once it has logged that, single-event `POST /events` at `--rate` for `--latency-seconds`
//!    give the figure without pruning;
//! 2. with a retention of one day: the pruner's run at start deletes the seeded rows. The same
//!    load runs from the start until the server logs "pruned the delivery log"; the POSTs sent
//!    before then give the figure while pruning.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookrelay::domain::{AppId, HookId, Millis};
use hookrelay::secrets::MasterKey;
use hookrelay::store::retention::Seed;
use hookrelay::store::Store;

use crate::api::{server_token, Api};
use crate::events::event_json;
use crate::report::{ms, percentile, thousands};
use crate::server::{AppCreds, Server};
use crate::webhook::webhook_hook;
use crate::Result;

/// The server's log filter in this run: warnings, and the pruner's lines.
const LOG: &str = "warn,hookrelay::delivery::dispatch::pruner=debug";
/// How long the pruning phase may last before the run gives up on it.
const PRUNE_LIMIT: Duration = Duration::from_secs(300);
/// How old the seeded rows are.
const SEED_AGE: Duration = Duration::from_secs(2 * 86_400);

pub struct PruneResult {
    pub rows: u64,
    pub seeded_in: Duration,
    pub rate: u32,
    /// POST /events latencies without pruning, sorted.
    pub without: Vec<Duration>,
    /// POST /events latencies of the POSTs sent while the prune ran, sorted.
    pub during: Vec<Duration>,
    /// What the server logged: deliveries and events deleted, and the prune's seconds.
    pub pruned: Option<PruneLine>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PruneLine {
    pub deliveries: u64,
    pub events: u64,
    pub seconds: f64,
}

/// What the run needs of the benchmark: the server binary, its data directory, the app and
/// the webhook sink its hook points at.
pub struct Target<'a> {
    pub bin: &'a Path,
    pub dir: &'a Path,
    pub http: reqwest::Client,
    pub creds: &'a AppCreds,
    pub sink_url: &'a str,
}

pub async fn prune_run(t: &Target<'_>, rows: u64, rate: u32, seconds: u64) -> Result<PruneResult> {
    eprintln!(
        "retention run: seeding {} finished deliveries",
        thousands(rows as f64)
    );
    let started = Instant::now();
    seed(t.dir, &t.creds.id, rows).await?;
    let seeded_in = started.elapsed();
    eprintln!("  seeded in {:.1} s", seeded_in.as_secs_f64());

    // 1. nothing to prune
    let mut server = Server::start_with(t.bin, t.dir, &t.http, &[("HOOKRELAY_LOG", LOG)]).await?;
    let result = async {
        let api = api(t, &server)?;
        api.patch_hooks(webhook_hook(t.sink_url)).await?;
        wait_for_line(&server, "nothing to prune", Duration::from_secs(120)).await?;
        eprintln!("  POST /events at {rate}/s for {seconds} s, without pruning");
        let stop = Arc::new(AtomicBool::new(false));
        let timer = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let posts = paced_posts(&api, rate, "prune-a-", &stop).await;
        timer.abort();
        posts
    }
    .await;
    let exit = server.terminate().await;
    let without = latencies(result?, None);
    if !exit.1 {
        return Err(format!("hookrelay: {} on SIGTERM", exit.0));
    }

    // 2. pruning
    let mut server = Server::start_with(
        t.bin,
        t.dir,
        &t.http,
        &[("HOOKRELAY_LOG", LOG), ("HOOKRELAY_RETENTION", "1d")],
    )
    .await?;
    eprintln!("  POST /events at {rate}/s while the server prunes");
    let result = async {
        let api = api(t, &server)?;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (stop, log) = (stop.clone(), server.log_path());
            tokio::spawn(async move {
                let line = wait_for_file_line(&log, "pruned the delivery log", PRUNE_LIMIT).await;
                let ended = Instant::now();
                stop.store(true, Ordering::Relaxed);
                line.map(|l| (l, ended))
            })
        };
        let posts = paced_posts(&api, rate, "prune-b-", &stop).await?;
        let (line, ended) = watcher
            .await
            .map_err(|e| format!("the log watcher failed: {e}"))??;
        Ok::<_, String>((posts, parse_line(&line), ended))
    }
    .await;
    let exit = server.terminate().await;
    let (posts, pruned, ended) = result?;
    if !exit.1 {
        return Err(format!("hookrelay: {} on SIGTERM", exit.0));
    }
    let r = PruneResult {
        rows,
        seeded_in,
        rate,
        without,
        during: latencies(posts, Some(ended)),
        pruned,
    };
    println!("{}", summary_line(&r));
    Ok(r)
}

/// "ingest while pruning 1,000,000 deliveries: p50 … p99 … ms (without: …), pruned in … s".
pub fn summary_line(r: &PruneResult) -> String {
    let p = |v: &[Duration]| {
        format!(
            "p50 {} ms, p99 {} ms, max {} ms ({} POSTs)",
            ms(percentile(v, 0.50)),
            ms(percentile(v, 0.99)),
            ms(percentile(v, 1.0)),
            v.len()
        )
    };
    let pruned = r
        .pruned
        .map_or("the prune's log line was unreadable".into(), |l| {
            format!(
                "pruned {} deliveries and {} events in {:.1} s",
                thousands(l.deliveries as f64),
                thousands(l.events as f64),
                l.seconds
            )
        });
    format!(
        "retention: ingest at {}/s while pruning {} deliveries: {}; without pruning: {}; {pruned} (seeded in {:.1} s)",
        thousands(f64::from(r.rate)),
        thousands(r.rows as f64),
        p(&r.during),
        p(&r.without),
        r.seeded_in.as_secs_f64()
    )
}

/// The seeded rows, through the library (the server is not running).
async fn seed(dir: &Path, app_id: &str, rows: u64) -> Result<()> {
    let url = match crate::server::database_url() {
        "" => format!("sqlite://{}", dir.join("hookrelay.db").display()),
        url => url.to_string(),
    };
    let key = MasterKey::load(None, dir)
        .map_err(|e| format!("the master key in {}: {e}", dir.display()))?
        .ok_or_else(|| format!("no master key in {}", dir.display()))?;
    let store = Store::connect(&url, key)
        .await
        .map_err(|e| format!("opening the database to seed it: {e}"))?;
    let app_id: AppId = app_id
        .parse()
        .map_err(|e| format!("app id {app_id:?}: {e}"))?;
    let payload = event_json("seeded", 0);
    let hook_id = HookId::from("wh");
    let result = store
        .seed_finished_deliveries(&Seed {
            app_id,
            hook_id: &hook_id,
            prefix: "seeded-",
            n: rows,
            at: Millis::now().minus(SEED_AGE),
            payload: &payload,
        })
        .await
        .map_err(|e| format!("seeding the database: {e}"));
    store.close().await;
    result
}

fn api(t: &Target<'_>, server: &Server) -> Result<Arc<Api>> {
    Ok(Arc::new(Api {
        http: t.http.clone(),
        base: server.base.clone(),
        api_key: t.creds.api_key.clone(),
        token: server_token(&t.creds.api_secret)?,
    }))
}

/// Single-event POSTs at `rate` until `stop`: each one's send time and latency.
async fn paced_posts(
    api: &Arc<Api>,
    rate: u32,
    prefix: &str,
    stop: &AtomicBool,
) -> Result<Vec<(Instant, Duration)>> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let failed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) && !failed.load(Ordering::Relaxed) {
        ticker.tick().await;
        let body = event_json(&format!("{prefix}{i}"), i).into_bytes();
        i += 1;
        let (api, failed) = (api.clone(), failed.clone());
        let sent = Instant::now();
        tasks.push(tokio::spawn(async move {
            let result = api.post_events(body).await;
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            result.map(|_| (sent, sent.elapsed()))
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(
            task.await
                .map_err(|e| format!("a POST task failed: {e}"))??,
        );
    }
    Ok(out)
}

/// The latencies of the POSTs sent before `until` (all without), sorted.
fn latencies(posts: Vec<(Instant, Duration)>, until: Option<Instant>) -> Vec<Duration> {
    let mut out: Vec<Duration> = posts
        .into_iter()
        .filter(|(sent, _)| until.is_none_or(|u| *sent <= u))
        .map(|(_, d)| d)
        .collect();
    out.sort();
    out
}

async fn wait_for_line(server: &Server, needle: &str, limit: Duration) -> Result<String> {
    wait_for_file_line(&server.log_path(), needle, limit).await
}

/// Polls the log until a line contains `needle`; returns that line without colours.
async fn wait_for_file_line(log: &PathBuf, needle: &str, limit: Duration) -> Result<String> {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read(log)
            .map(|b| strip_ansi(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return Ok(line.to_string());
        }
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("pruning the delivery log failed"))
        {
            return Err(format!("the server could not prune: {line}"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server did not log {needle:?} within {} s",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text without ANSI colour sequences (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `… pruned the delivery log deliveries=N events=M seconds=S`.
fn parse_line(line: &str) -> Option<PruneLine> {
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    Some(PruneLine {
        deliveries: field("deliveries")?.parse().ok()?,
        events: field("events")?.parse().ok()?,
        seconds: field("seconds")?.parse().ok()?,
    })
}
