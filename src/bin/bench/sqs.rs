//! The SQS throughput run against the AWS emulator, next to the emulator's own ceiling measured
//! with a bare SDK client.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::json;

use crate::api::{metric_value, Api};
use crate::cli::Args;
use crate::events::{event_json, post_batches};
use crate::report::{per_second, thousands};
use crate::{Result, STALL};

pub struct SqsResult {
    pub m: usize,
    pub rate: Option<f64>,
    pub ceiling: f64,
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

pub async fn sqs_run(args: &Args, api: &Arc<Api>, endpoint: &str) -> Result<SqsResult> {
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
