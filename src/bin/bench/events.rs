//! The benchmark's events: realistic `message.new` events, posted in batches from concurrent
//! posters.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::Api;
use crate::Result;

/// Events per `POST /events` in the throughput runs (the API's maximum).
pub const BATCH: usize = 1000;

/// Message text of the benchmark events: with it an event is about 400 bytes as posted.
const TEXT: &str = "Hey team, the release candidate is ready for testing. Please run the \
                    checkout and onboarding flows and report anything odd here before Thursday.";

/// A realistic `message.new` event of about 400 bytes (created_at is left to Hookrelay).
pub fn event_json(id: &str, i: usize) -> String {
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

pub struct Posted {
    /// From the first POST's start to the last POST's answer.
    pub elapsed: Duration,
    pub duplicates: usize,
    pub deliveries: u64,
}

/// Posts events `{prefix}0 .. {prefix}{n-1}` in batches of [`BATCH`] from `posters` tasks.
/// `started` is when the first POST began.
pub async fn post_batches(
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
