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
//! then the server's peak RSS and its exit on SIGTERM,
//! 5. retention: POST /events latency while 1,000,000 finished deliveries are pruned, beside
//!    the same load without pruning (on the same database, with that server stopped),
//!
//! and prints a markdown summary. It uses no Hookrelay internals — only the CLI and the HTTP
//! API — but for seeding the retention run's rows (see `prune.rs`).

mod api;
mod cli;
mod dashboard;
mod events;
mod latency;
mod prune;
mod report;
mod server;
mod sink;
mod sqs;
mod webhook;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use api::{chain, server_token, Api};
use cli::Args;
use dashboard::{create_admin, dashboard_run};
use latency::latency_run;
use report::{print_summary, Report};
use server::{create_app, DataDir, Server};
use sink::Sink;
use sqs::sqs_run;
use webhook::webhook_run;

type Result<T> = std::result::Result<T, String>;

/// How long a wait for deliveries may go without any progress before it gives up.
const STALL: Duration = Duration::from_secs(30);

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

    let _ = server::DATABASE_URL.set(args.database_url.trim().to_string());
    let dir = DataDir::create()?;
    let creds = create_app(&args.bin, &dir.0)?;
    create_admin(&args.bin, &dir.0)?;
    let (sink, sink_url) = Sink::start(&creds.api_secret).await?;
    let prune_target = prune::Target {
        bin: &args.bin,
        dir: &dir.0,
        http: http.clone(),
        creds: &creds,
        sink_url: &sink_url,
    };
    if args.prune_only {
        prune::prune_run(
            &prune_target,
            args.prune_rows,
            args.rate,
            args.latency_seconds,
        )
        .await?;
        return Ok(true);
    }
    let mut server = Server::start(&args.bin, &dir.0, &http).await?;
    eprintln!(
        "hookrelay (pid {}, {}) on {}, app {}, data in {}, webhook sink {sink_url}",
        server.pid,
        server::backend_name(),
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
    let prune = if args.prune_rows > 0 {
        let r = prune::prune_run(
            &prune_target,
            args.prune_rows,
            args.rate,
            args.latency_seconds,
        )
        .await;
        if let Err(e) = &r {
            eprintln!("retention run: {e}");
        }
        Some(r)
    } else {
        None
    };
    let report = Report {
        posters: args.posters,
        sqs_senders: args.sqs_senders,
        webhook,
        sqs,
        latency,
        pages,
        rss,
        exit,
        prune,
        sink_requests: sink.requests.load(Ordering::Relaxed),
        bad_signature: sink.bad_signature.load(Ordering::Relaxed),
        unreadable: sink.unreadable.load(Ordering::Relaxed),
    };
    Ok(print_summary(&report))
}
