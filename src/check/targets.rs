//! The four checks. Each validates the target, then talks to it as delivery will.

use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Report;
use crate::aws::{classify, resolve_credentials, sdk_config, AwsFailure, CallLimits};
use crate::config::AwsSettings;
use crate::hooks::{AwsAuth, KinesisStreamArn, SnsTopicArn, SqsQueueUrl};

/// The region of a queue URL that names none when no default region is set.
const FALLBACK_REGION: &str = "us-east-1";

/// The body of a test message: an event of type `hookrelay.test`, base64 as deliveries are.
fn test_event(target: &str) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let event = serde_json::json!({
        "type": "hookrelay.test",
        "id": id,
        "created_at": crate::store::rfc3339(crate::domain::Millis::now()),
        "message": format!("Test message from Hookrelay to {target}. It is safe to ignore."),
    });
    (id, event.to_string())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The IAM policy statement that grants the permission the check found missing.
fn policy_hint(action: &str, resource: &str) -> String {
    format!(
        "Attach a policy that allows {action} on the target, for example: {}",
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": action, "Resource": resource }]
        })
    )
}

/// Test SQS: URL, region, `GetQueueAttributes` (exists, FIFO, size, DLQ), `SendMessage`.
pub async fn check_sqs(
    url: &str,
    region: Option<&str>,
    auth: &AwsAuth,
    external_id: &str,
    aws: &AwsSettings,
) -> Report {
    let endpoint = aws.endpoint.as_deref();
    let mut report = Report::default();
    let t = Instant::now();
    let queue = match SqsQueueUrl::parse(url, endpoint) {
        Ok(q) => q,
        Err(e) => {
            report.step("validate the queue URL", t, Err(e.to_string()));
            return report.finish();
        }
    };
    let region = match (region, queue.region()) {
        (Some(given), Some(from_url)) if given != from_url => {
            report.step(
                "resolve the region",
                t,
                Err(format!(
                    "the region {given} differs from the queue URL's region {from_url}"
                )),
            );
            return report.finish();
        }
        (Some(r), _) | (None, Some(r)) => r.to_string(),
        (None, None) => aws
            .default_region
            .clone()
            .unwrap_or_else(|| FALLBACK_REGION.into()),
    };
    report.step(
        "validate the queue URL",
        t,
        Ok(Some(format!("region {region}"))),
    );

    let Some(conf) = connect(&mut report, auth, &region, external_id).await else {
        return report.finish();
    };
    let client = aws_sdk_sqs::Client::new(&conf);
    let arn = queue.queue_arn(&region);

    let t = Instant::now();
    let attrs = client
        .get_queue_attributes()
        .queue_url(queue.as_str())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await;
    match attrs {
        Ok(out) => {
            use aws_sdk_sqs::types::QueueAttributeName as A;
            let get = |k: A| out.attributes().and_then(|m| m.get(&k)).cloned();
            let fifo = get(A::FifoQueue).as_deref() == Some("true") || queue.is_fifo();
            let max = get(A::MaximumMessageSize).and_then(|v| v.parse::<u64>().ok());
            report.step(
                "read the queue attributes",
                t,
                Ok(Some(format!(
                    "{} queue{}",
                    if fifo { "FIFO" } else { "standard" },
                    max.map(|m| format!(", maximum message size {} KB", m / 1024))
                        .unwrap_or_default()
                ))),
            );
            if max.is_some_and(|m| m < 262_144) {
                report.hint("Set the queue's maximum message size to 256 KB: events larger than the queue accepts are dropped.");
            }
            if get(A::RedrivePolicy).is_none() {
                report.hint("Set up a dead-letter queue (a redrive policy) so that messages your consumer cannot process are kept, not lost.");
            }
            if fifo {
                report.hint("FIFO queue: events are grouped by channel (MessageGroupId = cid) and deduplicated by event id.");
            }
        }
        Err(e) => {
            let failure = classify(&e);
            match failure {
                // reading attributes is optional: a resource policy may grant only SendMessage
                AwsFailure::AccessDenied(_) => {
                    report.steps.push(super::Step {
                        name: "read the queue attributes".into(),
                        ok: true,
                        millis: u64::try_from(t.elapsed().as_millis()).unwrap_or(0),
                        detail: Some("skipped: not allowed sqs:GetQueueAttributes".into()),
                    });
                    report.hint("Allow sqs:GetQueueAttributes too, so that Hookrelay can check the queue's settings (FIFO, size, dead-letter queue).");
                }
                other => {
                    report.step(
                        "read the queue attributes",
                        t,
                        Err(other.describe(
                            "sqs:GetQueueAttributes",
                            &format!("the queue {}", queue.as_str()),
                        )),
                    );
                    return report.finish();
                }
            }
        }
    }

    let t = Instant::now();
    let (id, body) = test_event(queue.as_str());
    let mut send = client
        .send_message()
        .queue_url(queue.as_str())
        .message_body(b64(&body))
        .message_attributes(
            "X-Hookrelay-Event-Type",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("hookrelay.test")
                .build()
                .expect("data type is set"),
        );
    if queue.is_fifo() {
        send = send
            .message_group_id("hookrelay-test")
            .message_deduplication_id(&id);
    }
    match send.send().await {
        Ok(out) => {
            report.step(
                "send a test message",
                t,
                Ok(Some(format!(
                    "message id {}",
                    out.message_id().unwrap_or("?")
                ))),
            );
        }
        Err(e) => {
            let failure = classify(&e);
            if matches!(failure, AwsFailure::AccessDenied(_)) {
                report.hint(policy_hint("sqs:SendMessage", &arn));
            }
            report.step(
                "send a test message",
                t,
                Err(failure.describe("sqs:SendMessage", &format!("the queue {}", queue.as_str()))),
            );
        }
    }
    report.finish()
}

/// The SDK configuration for `auth`, after the "get credentials" step proved it can sign;
/// `None` (with the step failed) when it cannot.
async fn connect(
    report: &mut Report,
    auth: &AwsAuth,
    region: &str,
    external_id: &str,
) -> Option<aws_config::SdkConfig> {
    let conf = sdk_config(auth, region, external_id, CallLimits::CHECK).await;
    let t = Instant::now();
    let resolved = resolve_credentials(&conf, auth, external_id)
        .await
        .map(Some);
    report.step("get credentials", t, resolved).then_some(conf)
}

/// The "validate the <what> ARN" step: the parsed ARN, or `None` (with the step failed) when it
/// is malformed or names another region than the one given.
fn validate_arn<T>(
    report: &mut Report,
    what: &str,
    parsed: Result<T, crate::hooks::AwsTargetError>,
    given_region: Option<&str>,
    region_of: fn(&T) -> &str,
) -> Option<T> {
    let step = format!("validate the {what} ARN");
    let t = Instant::now();
    let result = parsed
        .map_err(|e| e.to_string())
        .and_then(|target| match given_region {
            Some(given) if given != region_of(&target) => Err(format!(
                "the region {given} differs from the {what} ARN's region {}",
                region_of(&target)
            )),
            _ => Ok(target),
        });
    match result {
        Ok(target) => {
            report.step(&step, t, Ok(Some(format!("region {}", region_of(&target)))));
            Some(target)
        }
        Err(e) => {
            report.step(&step, t, Err(e));
            None
        }
    }
}

/// Test SNS: ARN, `Publish` of a test message, then `GetTopicAttributes` for hints.
/// Any publish failure reads "publishing the message failed. <cause>" (Stream's wording).
pub async fn check_sns(
    arn: &str,
    region: Option<&str>,
    auth: &AwsAuth,
    external_id: &str,
) -> Report {
    let mut report = Report::default();
    let Some(topic) = validate_arn(
        &mut report,
        "topic",
        SnsTopicArn::parse(arn),
        region,
        SnsTopicArn::region,
    ) else {
        return report.finish();
    };
    let Some(conf) = connect(&mut report, auth, topic.region(), external_id).await else {
        return report.finish();
    };
    let client = aws_sdk_sns::Client::new(&conf);

    let t = Instant::now();
    let (id, body) = test_event(topic.as_str());
    let mut publish = client
        .publish()
        .topic_arn(topic.as_str())
        .message(b64(&body));
    if topic.is_fifo() {
        publish = publish
            .message_group_id("hookrelay-test")
            .message_deduplication_id(&id);
    }
    match publish.send().await {
        Ok(out) => {
            report.step(
                "publish a test message",
                t,
                Ok(Some(format!(
                    "message id {}",
                    out.message_id().unwrap_or("?")
                ))),
            );
        }
        Err(e) => {
            let failure = classify(&e);
            if matches!(failure, AwsFailure::AccessDenied(_)) {
                report.hint(policy_hint("sns:Publish", topic.as_str()));
            }
            let cause = failure.describe("sns:Publish", &format!("the topic {}", topic.as_str()));
            report.step(
                "publish a test message",
                t,
                Err(format!("publishing the message failed. {cause}")),
            );
            return report.finish();
        }
    }
    let t = Instant::now();
    match client.get_topic_attributes().topic_arn(topic.as_str()).send().await {
        Ok(out) => {
            let subs = out
                .attributes()
                .and_then(|a| a.get("SubscriptionsConfirmed"))
                .cloned()
                .unwrap_or_else(|| "?".into());
            report.step("read the topic attributes", t, Ok(Some(format!("{subs} confirmed subscriptions"))));
            if subs == "0" {
                report.hint("The topic has no confirmed subscriptions yet: published events reach nobody until you subscribe a queue or an endpoint.");
            }
        }
        Err(_) => report.hint("Allow sns:GetTopicAttributes too, so that Hookrelay can check the topic's subscriptions."),
    }
    report.finish()
}

/// Test Kinesis: ARN, `DescribeStreamSummary` (status, shards, encryption), `PutRecord`.
pub async fn check_kinesis(
    arn: &str,
    region: Option<&str>,
    auth: &AwsAuth,
    external_id: &str,
) -> Report {
    let mut report = Report::default();
    let Some(stream) = validate_arn(
        &mut report,
        "stream",
        KinesisStreamArn::parse(arn),
        region,
        KinesisStreamArn::region,
    ) else {
        return report.finish();
    };
    let Some(conf) = connect(&mut report, auth, stream.region(), external_id).await else {
        return report.finish();
    };
    let client = aws_sdk_kinesis::Client::new(&conf);

    let t = Instant::now();
    match client
        .describe_stream_summary()
        .stream_arn(stream.as_str())
        .send()
        .await
    {
        Ok(out) => {
            let Some(summary) = out.stream_description_summary() else {
                report.step(
                    "describe the stream",
                    t,
                    Err("the stream description was empty".into()),
                );
                return report.finish();
            };
            let status = summary.stream_status().as_str().to_string();
            let shards = summary.open_shard_count();
            let encrypted = summary
                .encryption_type()
                .is_some_and(|e| *e != aws_sdk_kinesis::types::EncryptionType::None);
            if status != "ACTIVE" {
                report.step(
                    "describe the stream",
                    t,
                    Err(format!("the stream is {status}, not ACTIVE")),
                );
                return report.finish();
            }
            report.step(
                "describe the stream",
                t,
                Ok(Some(format!("ACTIVE, {shards} open shard(s)"))),
            );
            if shards < 2 {
                report.hint("The stream has fewer than 2 shards: busy apps may be throttled (1 MB/s or 1,000 records/s per shard).");
            }
            if !encrypted {
                report.hint(
                    "Server-side encryption is off: turn it on (KMS) to encrypt events at rest.",
                );
            }
        }
        Err(e) => {
            let failure = classify(&e);
            if matches!(failure, AwsFailure::AccessDenied(_)) {
                report.hint(policy_hint(
                    "kinesis:DescribeStreamSummary",
                    stream.as_str(),
                ));
            }
            report.step(
                "describe the stream",
                t,
                Err(failure.describe(
                    "kinesis:DescribeStreamSummary",
                    &format!("the stream {}", stream.as_str()),
                )),
            );
            return report.finish();
        }
    }
    let t = Instant::now();
    let (_, body) = test_event(stream.as_str());
    let record = serde_json::json!({ "EventType": "HOOKRELAY_TEST", "Payload": body }).to_string();
    let put = client
        .put_record()
        .stream_arn(stream.as_str())
        .partition_key("hookrelay-test")
        .data(aws_sdk_kinesis::primitives::Blob::new(record.into_bytes()))
        .send()
        .await;
    match put {
        Ok(out) => {
            report.step(
                "put a test record",
                t,
                Ok(Some(format!("shard {}", out.shard_id()))),
            );
        }
        Err(e) => {
            let failure = classify(&e);
            if matches!(failure, AwsFailure::AccessDenied(_)) {
                report.hint(policy_hint("kinesis:PutRecord", stream.as_str()));
            }
            report.step(
                "put a test record",
                t,
                Err(failure.describe(
                    "kinesis:PutRecord",
                    &format!("the stream {}", stream.as_str()),
                )),
            );
        }
    }
    report.finish()
}

/// What a webhook check needs to sign its request as deliveries are signed.
pub struct WebhookCheck<'a> {
    pub url: &'a str,
    pub api_key: &'a str,
    pub api_secret: &'a str,
    pub timeout: Duration,
    /// Where the URL may connect (the client resolves names through the same guard).
    pub egress: &'a crate::egress::EgressPolicy,
}

/// Test webhook: POST a signed test event; report status, latency, and what to fix.
pub async fn check_webhook(client: &reqwest::Client, check: WebhookCheck<'_>) -> Report {
    let mut report = Report::default();
    let t = Instant::now();
    let parsed = url::Url::parse(check.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    let Some(parsed) = parsed else {
        report.step(
            "validate the URL",
            t,
            Err(format!(
                "invalid webhook url {}: it must be an http(s) URL with a host",
                check.url
            )),
        );
        return report.finish();
    };
    // an address the guard refuses is never connected to (no port scanning through checks)
    if let Err(refused) = check.egress.check_url(&parsed) {
        report.step("validate the URL", t, Err(refused.to_string()));
        return report.finish();
    }
    report.step("validate the URL", t, Ok(None));
    let (id, body) = test_event(check.url);
    let mut mac =
        Hmac::<Sha256>::new_from_slice(check.api_secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let t = Instant::now();
    let res = client
        .post(check.url)
        .timeout(check.timeout)
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .header("x-webhook-id", id)
        .header("x-webhook-attempt", "1")
        .header("x-api-key", check.api_key)
        .body(body)
        .send()
        .await;
    match res {
        Ok(res) => {
            let status = res.status();
            let ms = t.elapsed().as_millis();
            if status.is_success() {
                report.step(
                    "POST a signed test event",
                    t,
                    Ok(Some(format!("HTTP {status} in {ms} ms"))),
                );
                if ms > 1000 {
                    report.hint("The endpoint took over a second: answer 2xx at once and process events asynchronously.");
                }
            } else {
                if status.is_redirection() {
                    report.hint("The endpoint answered with a redirect: webhooks are not redirected; use the final URL.");
                } else if status == reqwest::StatusCode::UNAUTHORIZED
                    || status == reqwest::StatusCode::FORBIDDEN
                {
                    report.hint("The endpoint refused the request: if it verifies X-Signature, check that it uses this app's API secret (HMAC-SHA256 of the raw body, lowercase hex).");
                } else if status.is_server_error() {
                    report.hint(
                        "The endpoint failed (5xx): deliveries to it will be retried with backoff.",
                    );
                }
                report.step(
                    "POST a signed test event",
                    t,
                    Err(format!(
                        "the endpoint answered HTTP {status} (expected 2xx)"
                    )),
                );
            }
        }
        Err(e) => {
            let what = if let Some(refused) = crate::egress::refusal_in(&e) {
                refused.to_string()
            } else if e.is_timeout() {
                format!(
                    "the endpoint did not answer within {} ms (timeout)",
                    check.timeout.as_millis()
                )
            } else if e.is_connect() {
                format!("cannot connect to the endpoint: {}", root_cause(&e))
            } else {
                format!("the request failed: {}", root_cause(&e))
            };
            if root_cause(&e).to_lowercase().contains("certificate") {
                report.hint("TLS failed: the endpoint's certificate must be valid for its host name and signed by a public CA.");
            }
            report.step("POST a signed test event", t, Err(what));
        }
    }
    report.finish()
}

/// The innermost cause of an error, for messages.
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}
