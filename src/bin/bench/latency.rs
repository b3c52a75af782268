//! The latency run: single-event posts at a fixed rate, accept → delivered at the sink.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::Api;
use crate::cli::Args;
use crate::events::event_json;
use crate::report::{ms, per_second, percentile, spread};
use crate::sink::Sink;
use crate::webhook::webhook_hook;
use crate::Result;

pub struct LatencyResult {
    pub rate: u32,
    pub sent: usize,
    pub achieved_rate: f64,
    pub missing: usize,
    pub duplicates: u64,
    pub delivered: Vec<Duration>,
    pub post: Vec<Duration>,
}

pub async fn latency_run(
    args: &Args,
    api: &Arc<Api>,
    sink: &Sink,
    url: &str,
) -> Result<LatencyResult> {
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
