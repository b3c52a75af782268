//! The dashboard run: the server-rendered app page under concurrent load from logged-in
//! clients, then at a paced rate.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::chain;
use crate::cli::Args;
use crate::report::{per_second, spread, thousands};
use crate::Result;

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench password 1";

/// `hookrelay user create`: the administrator the dashboard run logs in as.
pub fn create_admin(bin: &Path, dir: &Path) -> Result<()> {
    let out = std::process::Command::new(bin)
        .args(["user", "create", "--email", ADMIN_EMAIL, "--data-dir"])
        .arg(dir)
        .env("HOOKRELAY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HOOKRELAY_LOG", "warn")
        .env("HOOKRELAY_DATABASE_URL", crate::server::database_url())
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

pub struct PageResult {
    pub rate: f64,
    pub concurrency: usize,
    pub latencies: Vec<Duration>,
    pub bytes: usize,
    /// The paced run: its rate and its latencies (sorted).
    pub paced_rate: u32,
    pub paced: Vec<Duration>,
}

/// Logs in through the login form (no JavaScript: a form post answered with a redirect and
/// the session cookie), then requests the app page `args.pages` times from
/// `args.page_concurrency` clients, checking each answer is the full page.
pub async fn dashboard_run(args: &Args, base: &str, app_id: &str) -> Result<PageResult> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.page_concurrency * 2)
        .build()
        .map_err(|e| format!("HTTP client: {}", chain(&e)))?;
    let res = http
        .post(format!("{base}/_sfn/login"))
        // as a browser posts the site's own form (others are refused as cross-site)
        .header(reqwest::header::ORIGIN, base)
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
