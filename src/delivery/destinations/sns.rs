//! Amazon SNS: `PublishBatch`, 10 messages and 256 KB per call, the same body as SQS.

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use super::sqs::{dedup_id, message_size};
use super::{
    all_failed, entry_results, message_group, queue_batches, AppContext, BoxFuture, Destination,
    Encoded, Item, Limits, SendResult,
};
use crate::aws::delivery_failure;
use crate::hooks::SnsTopicArn;

pub struct Sns {
    topic: SnsTopicArn,
    compress: bool,
    client: aws_sdk_sns::Client,
}

impl Sns {
    pub fn new(topic: SnsTopicArn, conf: &aws_config::SdkConfig, app: &AppContext) -> Self {
        Self {
            topic,
            compress: app.compress,
            client: aws_sdk_sns::Client::new(conf),
        }
    }

    async fn send(&self, items: &[Encoded<'_>]) -> Vec<(usize, SendResult)> {
        let fifo = self.topic.is_fifo();
        let entries: Vec<PublishBatchRequestEntry> = items
            .iter()
            .map(|(i, item, body)| {
                let mut entry = PublishBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message(body)
                    .message_attributes("X-Hookrelay-Event-Id", attr(item.event.id()))
                    .message_attributes("X-Hookrelay-Event-Type", attr(item.event.event_type()));
                if fifo {
                    entry = entry
                        .message_group_id(message_group(&item.event))
                        .message_deduplication_id(dedup_id(item.event.id()));
                }
                entry.build().expect("id and message are set")
            })
            .collect();
        let sent = self
            .client
            .publish_batch()
            .topic_arn(self.topic.as_str())
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await;
        match sent {
            Ok(out) => {
                let ok = out.successful().iter().filter_map(|o| o.id());
                let failed = out.failed().iter().map(|f| {
                    (
                        f.id(),
                        f.sender_fault(),
                        f.code(),
                        f.message().unwrap_or(""),
                    )
                });
                entry_results("SNS", ok, failed)
            }
            Err(e) => {
                let (permanent, why) = delivery_failure(
                    &e,
                    "sns:Publish",
                    &format!("the topic {}", self.topic.as_str()),
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

impl Destination for Sns {
    fn limits(&self) -> Limits {
        Limits {
            max_batch: 100,
            concurrency: 4,
            ordered: self.topic.is_fifo(),
        }
    }

    fn deliver<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Vec<SendResult>> {
        Box::pin(queue_batches(
            items,
            self.compress,
            self.topic.is_fifo(),
            message_size,
            move |part| Box::pin(self.send(part)),
        ))
    }
}
