//! Amazon SQS: `SendMessageBatch`, 10 messages and 256 KB per call.

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::{
    all_failed, entry_results, message_group, queue_batches, AppContext, BoxFuture, Destination,
    Encoded, Item, Limits, SendResult,
};
use crate::aws::delivery_failure;
use crate::hooks::SqsQueueUrl;

pub struct Sqs {
    queue: SqsQueueUrl,
    compress: bool,
    client: aws_sdk_sqs::Client,
}

impl Sqs {
    pub fn new(queue: SqsQueueUrl, conf: &aws_config::SdkConfig, app: &AppContext) -> Self {
        Self {
            queue,
            compress: app.compress,
            client: aws_sdk_sqs::Client::new(conf),
        }
    }

    async fn send(&self, items: &[Encoded<'_>]) -> Vec<(usize, SendResult)> {
        let fifo = self.queue.is_fifo();
        let entries: Vec<SendMessageBatchRequestEntry> = items
            .iter()
            .map(|(i, item, body)| {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .message_attributes("X-Hookrelay-Event-Id", attr(item.event.id()))
                    .message_attributes("X-Hookrelay-Event-Type", attr(item.event.event_type()));
                if fifo {
                    entry = entry
                        .message_group_id(message_group(&item.event))
                        .message_deduplication_id(dedup_id(item.event.id()));
                }
                entry.build().expect("id and body are set")
            })
            .collect();
        let sent = self
            .client
            .send_message_batch()
            .queue_url(self.queue.as_str())
            .set_entries(Some(entries))
            .send()
            .await;
        match sent {
            Ok(out) => {
                let ok = out.successful().iter().map(|o| o.id());
                let failed = out.failed().iter().map(|f| {
                    (
                        f.id(),
                        f.sender_fault(),
                        f.code(),
                        f.message().unwrap_or(""),
                    )
                });
                entry_results("SQS", ok, failed)
            }
            Err(e) => {
                let (permanent, why) = delivery_failure(
                    &e,
                    "sqs:SendMessageBatch",
                    &format!("the queue {}", self.queue.as_str()),
                );
                all_failed(items, permanent, &why)
            }
        }
    }
}

fn attr(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

/// A deduplication id within SQS's 128 allowed characters.
pub fn dedup_id(event_id: &str) -> String {
    if event_id.len() <= 128 && event_id.chars().all(|c| c.is_ascii_graphic()) {
        event_id.to_string()
    } else {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(event_id.as_bytes()))
    }
}

/// The bytes SQS and SNS count for a message: the body plus the attribute names, types and
/// values.
pub fn message_size(item: &Item, body: &str) -> usize {
    body.len()
        + "X-Hookrelay-Event-Id".len()
        + item.event.id().len()
        + "X-Hookrelay-Event-Type".len()
        + item.event.event_type().len()
        + 2 * "String".len()
}

impl Destination for Sqs {
    fn limits(&self) -> Limits {
        Limits {
            max_batch: 100,
            concurrency: 4,
            ordered: self.queue.is_fifo(),
        }
    }

    fn deliver<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Vec<SendResult>> {
        Box::pin(queue_batches(
            items,
            self.compress,
            self.queue.is_fifo(),
            message_size,
            move |part| Box::pin(self.send(part)),
        ))
    }
}
