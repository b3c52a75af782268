//! The webhook throughput run: batches of events to one webhook hook pointing at the sink,
//! until the sink has every event.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::api::{metric_value, Api};
use crate::cli::Args;
use crate::events::{post_batches, BATCH};
use crate::report::{per_second, thousands};
use crate::sink::Sink;
use crate::Result;

pub fn webhook_hook(url: &str) -> Value {
    json!([{
        "id": "wh",
        "hook_type": "webhook",
        "enabled": true,
        "webhook_url": url,
        "event_types": [],
    }])
}

pub struct WebhookResult {
    pub n: usize,
    pub end_to_end: Option<f64>,
    pub accept_rate: f64,
    pub missing: usize,
    pub duplicates: u64,
}

pub async fn webhook_run(
    args: &Args,
    api: &Arc<Api>,
    sink: &Sink,
    url: &str,
) -> Result<WebhookResult> {
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
