//! Where deliveries go: one [`Destination`] per hook type. A destination is built from a
//! validated hook ([`ValidHook`]) and the app's delivery settings; it sends a batch and answers
//! one [`SendResult`] per item, so that a partial failure retries only the failed items,. Testing
//! a connection is the checker's job (`crate::check`), not a destination's.

mod kinesis;
mod sns;
mod sqs;
mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use secrecy::SecretString;

use super::event::Event;
use crate::aws::{sdk_config, CallLimits};
use crate::hooks::{HookTarget, KinesisPayload, ValidHook};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The largest SQS message or SNS notification (Stream's limit; bigger ones are dropped).
pub const MAX_QUEUE_MESSAGE_BYTES: usize = 256 * 1024;

/// One delivery to send.
#[derive(Debug, Clone)]
pub struct Item {
    pub delivery_id: crate::domain::DeliveryId,
    pub event: Event,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Delivered,
    /// Worth retrying (throttling, 5xx, timeout, network).
    Transient(String),
    /// Not worth retrying (4xx, access denied, target missing).
    Permanent(String),
    /// Bigger than the destination accepts: dropped, never retried.
    TooBig {
        size: usize,
        limit: usize,
    },
}

/// How a destination wants its work cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items per [`Destination::deliver`] call.
    pub max_batch: usize,
    /// Most `deliver` calls running at once for one hook.
    pub concurrency: usize,
    /// Send one batch at a time, in order (FIFO queues and topics).
    pub ordered: bool,
}

/// A hook's target, ready to send.
pub trait Destination: Send + Sync {
    fn limits(&self) -> Limits;
    /// Sends `items` (at most `limits().max_batch`); one result per item, in order.
    fn deliver<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Vec<SendResult>>;
}

/// What every destination of an app shares.
#[derive(Clone)]
pub struct AppContext {
    pub app_id: crate::domain::AppId,
    pub api_key: String,
    pub api_secret: SecretString,
    /// `enable_hook_payload_compression`: gzip the event JSON before sending (and base64 it
    /// for SQS/SNS).
    pub compress: bool,
    pub http: reqwest::Client,
    pub send_timeout: Duration,
    pub webhook_concurrency: usize,
    /// The AWS endpoint override (an emulator), for the checker's URL validation.
    pub aws_endpoint: Option<String>,
    /// The app's random external id, passed when assuming its roles.
    pub external_id: String,
    /// The app's AppInstance ARN (the prefix of the ARNs in Chime-shaped Kinesis records).
    pub app_instance_arn: String,
}

/// Builds the destination of a hook; `None` for hooks that are not delivered to
/// (`pending_message`).
pub async fn build(
    hook_id: &str,
    hook: &ValidHook,
    app: &AppContext,
) -> Option<Arc<dyn Destination>> {
    let external_id = app.external_id.clone();
    let limits = CallLimits::delivery(app.send_timeout);
    Some(match &hook.target {
        HookTarget::Webhook { url } => Arc::new(webhook::Webhook::new(hook_id, url, app)),
        HookTarget::Sqs {
            queue_url,
            region,
            auth,
        } => {
            let conf = sdk_config(auth, region, &external_id, limits).await;
            Arc::new(sqs::Sqs::new(queue_url.clone(), &conf, app))
        }
        HookTarget::Sns {
            topic_arn,
            region,
            auth,
        } => {
            let conf = sdk_config(auth, region, &external_id, limits).await;
            Arc::new(sns::Sns::new(topic_arn.clone(), &conf, app))
        }
        HookTarget::Kinesis {
            stream_arn,
            region,
            auth,
            data_types: _,
            payload,
        } => {
            let conf = sdk_config(auth, region, &external_id, limits).await;
            let shape = match payload {
                KinesisPayload::Chime => kinesis::Shape::Chime {
                    app_instance_arn: app.app_instance_arn.clone(),
                },
                KinesisPayload::Stream => kinesis::Shape::Stream,
            };
            Arc::new(kinesis::Kinesis::new(stream_arn.clone(), &conf, shape))
        }
        HookTarget::PendingMessage { .. } => return None,
    })
}

/// The event JSON, gzipped when `compress` is set.
pub fn body_bytes(json: &str, compress: bool) -> Vec<u8> {
    if !compress {
        return json.as_bytes().to_vec();
    }
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 3 + 32),
        flate2::Compression::fast(),
    );
    gz.write_all(json.as_bytes())
        .and_then(|()| gz.finish())
        .expect("writing to memory does not fail")
}

/// An SQS body or SNS message: base64 of the (possibly gzipped) event JSON, as the Stream
/// SDKs' `parse_sqs` / `parse_sns` expect.
pub fn queue_message(json: &str, compress: bool) -> String {
    base64::engine::general_purpose::STANDARD.encode(body_bytes(json, compress))
}

/// Splits `sizes` (bytes per item, in order) into runs of at most `max_items` items and
/// `max_bytes` bytes; an item alone over `max_bytes` forms its own run.
pub fn runs(sizes: &[usize], max_items: usize, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == max_items || bytes + size > max_bytes) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Entries per `SendMessageBatch` / `PublishBatch` (the APIs' limit).
const QUEUE_BATCH_ENTRIES: usize = 10;

/// An item with its encoded message: `(index in the batch, item, message)`.
pub type Encoded<'a> = (usize, &'a Item, String);

/// The common part of SQS and SNS delivery: encodes each item as a queue message, drops those
/// over [`MAX_QUEUE_MESSAGE_BYTES`] (`size` counts a message as the service does), cuts the rest
/// into batches of at most 10 entries and 256 KB, and sends them with `send` — one after the
/// other when `ordered` (FIFO), else concurrently. `send` answers `(index, result)` pairs.
pub async fn queue_batches<'a, F>(
    items: &'a [Item],
    compress: bool,
    ordered: bool,
    size: fn(&Item, &str) -> usize,
    send: F,
) -> Vec<SendResult>
where
    F: for<'b> Fn(&'b [Encoded<'a>]) -> BoxFuture<'b, Vec<(usize, SendResult)>>,
{
    let mut results = vec![SendResult::Transient("not sent".into()); items.len()];
    let mut sendable: Vec<Encoded<'a>> = Vec::with_capacity(items.len());
    let mut sizes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let body = queue_message(item.event.json(), compress);
        let bytes = size(item, &body);
        if bytes > MAX_QUEUE_MESSAGE_BYTES {
            results[i] = SendResult::TooBig {
                size: bytes,
                limit: MAX_QUEUE_MESSAGE_BYTES,
            };
        } else {
            sendable.push((i, item, body));
            sizes.push(bytes);
        }
    }
    let batches = runs(&sizes, QUEUE_BATCH_ENTRIES, MAX_QUEUE_MESSAGE_BYTES);
    let sent: Vec<(usize, SendResult)> = if ordered {
        // one after the other: a later batch must not overtake an earlier one of its group
        let mut all = Vec::new();
        for run in batches {
            all.extend(send(&sendable[run]).await);
        }
        all
    } else {
        join_all(batches.into_iter().map(|run| send(&sendable[run])))
            .await
            .into_iter()
            .flatten()
            .collect()
    };
    for (i, result) in sent {
        if let Some(slot) = results.get_mut(i) {
            *slot = result;
        }
    }
    results
}

/// The per-entry results of a batch call (`SendMessageBatch`, `PublishBatch`): entries are
/// identified by their index; a failed entry is permanent when the sender is at fault.
pub fn entry_results<'a>(
    service: &str,
    ok: impl Iterator<Item = &'a str>,
    failed: impl Iterator<Item = (&'a str, bool, &'a str, &'a str)>,
) -> Vec<(usize, SendResult)> {
    let mut results: Vec<(usize, SendResult)> = ok
        .filter_map(|id| id.parse().ok())
        .map(|i| (i, SendResult::Delivered))
        .collect();
    for (id, sender_fault, code, message) in failed {
        let Ok(i) = id.parse() else { continue };
        let why = format!("{service} refused the message: {code}: {message}");
        results.push((
            i,
            if sender_fault {
                SendResult::Permanent(why)
            } else {
                SendResult::Transient(why)
            },
        ));
    }
    results
}

/// The same failure for every entry of a batch whose call failed as a whole.
pub fn all_failed(items: &[Encoded<'_>], permanent: bool, why: &str) -> Vec<(usize, SendResult)> {
    items
        .iter()
        .map(|(i, _, _)| {
            let why = why.to_string();
            (
                *i,
                if permanent {
                    SendResult::Permanent(why)
                } else {
                    SendResult::Transient(why)
                },
            )
        })
        .collect()
}

/// The group of an item in a FIFO queue or topic: its channel, else its type. SQS and SNS
/// take at most 128 printable ASCII characters; a longer (or non-ASCII) one becomes the hex
/// SHA-256 of it, so one channel still maps to one group and its order holds.
pub fn message_group(event: &Event) -> std::borrow::Cow<'_, str> {
    let group = event.cid().unwrap_or(event.event_type());
    if group.len() <= 128 && group.chars().all(|c| c.is_ascii_graphic()) {
        std::borrow::Cow::Borrowed(group)
    } else {
        use sha2::{Digest, Sha256};
        std::borrow::Cow::Owned(hex::encode(Sha256::digest(group.as_bytes())))
    }
}

/// Runs the futures concurrently; results in order.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in out.iter_mut().zip(set.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("every future finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_base64_is_standard() {
        let json = r#"{"type":"message.new","id":"x"}"#;
        let gz = body_bytes(json, true);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .unwrap();
        assert_eq!(out, json);
        let plain = queue_message(json, false);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(plain)
                .unwrap(),
            json.as_bytes()
        );
    }

    #[tokio::test]
    async fn join_all_keeps_order() {
        let futs = (0..5u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(10 * (5 - i))).await;
            i
        });
        assert_eq!(join_all(futs).await, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn long_or_odd_fifo_groups_are_hashed_to_one_group_per_channel() {
        let event = |cid: &str| Event::new("e", "message.new", Some(cid), "{}");
        assert_eq!(
            message_group(&event("messaging:general")),
            "messaging:general"
        );
        let long = format!("messaging:{}", "x".repeat(200));
        let (a, b) = (event(&long), event(&long));
        let group = message_group(&a);
        assert_eq!(group.len(), 64);
        assert!(group.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(group, message_group(&b));
        assert_ne!(group, message_group(&event(&format!("{long}y"))));
        assert_eq!(message_group(&event("messaging:café")).len(), 64);
        assert_eq!(message_group(&event(&"a".repeat(128))), "a".repeat(128));
    }

    #[test]
    fn runs_respect_counts_and_bytes() {
        assert_eq!(runs(&[1; 25], 10, 1000), vec![0..10, 10..20, 20..25]);
        assert_eq!(runs(&[400, 400, 400], 10, 1000), vec![0..2, 2..3]);
        assert_eq!(runs(&[2000, 1, 1], 10, 1000), vec![0..1, 1..3]);
        assert_eq!(runs(&[], 10, 1000), Vec::<std::ops::Range<usize>>::new());
    }
}
