//! Amazon Kinesis in the Amazon Chime messaging stream format: `PutRecords` of
//! `{"EventType": "CREATE_CHANNEL_MESSAGE", "Payload": "<event JSON>"}`, partitioned by channel.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use super::{BoxFuture, Destination, Item, Limits, SendResult};
use crate::aws::delivery_failure;
use crate::delivery::event::TEST_EVENT_TYPE;
use crate::hooks::{chime_event_type, KinesisStreamArn};

/// Records per `PutRecords` (the API allows 500 and 5 MiB).
const BATCH_RECORDS: usize = 500;
const BATCH_BYTES: usize = 5 * 1024 * 1024;
/// The largest record (data plus partition key).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

pub struct Kinesis {
    stream: KinesisStreamArn,
    client: aws_sdk_kinesis::Client,
}

/// The Chime `EventType` a Stream event is streamed as (`HOOKRELAY_TEST` for test events).
pub fn kinesis_event_type(event_type: &str) -> Option<&'static str> {
    if event_type == TEST_EVENT_TYPE {
        return Some("HOOKRELAY_TEST");
    }
    chime_event_type(event_type).map(|(name, _)| name)
}

/// The record data and partition key of an item.
pub fn record(item: &Item) -> Option<(Vec<u8>, String)> {
    let event_type = kinesis_event_type(&item.event.event_type)?;
    let data = serde_json::json!({ "EventType": event_type, "Payload": &*item.event.json });
    let key = item
        .event
        .cid
        .clone()
        .unwrap_or_else(|| item.event.id.clone());
    // partition keys are at most 256 characters
    let key: String = key.chars().take(256).collect();
    Some((data.to_string().into_bytes(), key))
}

impl Kinesis {
    pub fn new(stream: KinesisStreamArn, conf: &aws_config::SdkConfig) -> Self {
        Self {
            stream,
            client: aws_sdk_kinesis::Client::new(conf),
        }
    }

    async fn put(&self, records: &[(usize, Vec<u8>, String)], results: &mut [SendResult]) {
        let entries: Vec<PutRecordsRequestEntry> = records
            .iter()
            .map(|(_, data, key)| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(data.clone()))
                    .partition_key(key)
                    .build()
                    .expect("data and key are set")
            })
            .collect();
        let sent = self
            .client
            .put_records()
            .stream_arn(self.stream.as_str())
            .set_records(Some(entries))
            .send()
            .await;
        match sent {
            Ok(out) => {
                // one result per record, in order
                for ((i, _, _), entry) in records.iter().zip(out.records()) {
                    results[*i] = match entry.error_code() {
                        None => SendResult::Delivered,
                        Some(code) => SendResult::Transient(format!(
                            "Kinesis refused the record: {code}: {}",
                            entry.error_message().unwrap_or("")
                        )),
                    };
                }
            }
            Err(e) => {
                let (permanent, why) = delivery_failure(
                    &e,
                    "kinesis:PutRecords",
                    &format!("the stream {}", self.stream.as_str()),
                );
                for (i, _, _) in records {
                    results[*i] = if permanent {
                        SendResult::Permanent(why.clone())
                    } else {
                        SendResult::Transient(why.clone())
                    };
                }
            }
        }
    }
}

impl Destination for Kinesis {
    fn limits(&self) -> Limits {
        // in order: records of one channel keep their order within a shard
        Limits {
            max_batch: BATCH_RECORDS,
            concurrency: 1,
            ordered: true,
        }
    }

    fn deliver<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Vec<SendResult>> {
        Box::pin(async move {
            let mut results = vec![SendResult::Transient("not sent".into()); items.len()];
            let mut records = Vec::with_capacity(items.len());
            let mut sizes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match record(item) {
                    None => {
                        results[i] = SendResult::Permanent(format!(
                            "{} has no Amazon Chime event type",
                            item.event.event_type
                        ))
                    }
                    Some((data, key)) => {
                        let size = data.len() + key.len();
                        if size > MAX_RECORD_BYTES {
                            results[i] = SendResult::TooBig {
                                size,
                                limit: MAX_RECORD_BYTES,
                            };
                        } else {
                            sizes.push(size);
                            records.push((i, data, key));
                        }
                    }
                }
            }
            for run in super::runs(&sizes, BATCH_RECORDS, BATCH_BYTES) {
                self.put(&records[run], &mut results).await;
            }
            results
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::event::Event;
    use std::sync::Arc;

    fn item(event_type: &str, cid: Option<&str>) -> Item {
        Item {
            delivery_id: crate::domain::DeliveryId(1),
            event: Arc::new(Event {
                id: "e1".into(),
                event_type: event_type.into(),
                cid: cid.map(str::to_string),
                json: format!(r#"{{"type":"{event_type}","id":"e1"}}"#).into(),
            }),
            attempt: 1,
        }
    }

    #[test]
    fn records_are_chime_shaped_and_partitioned_by_channel() {
        let (data, key) = record(&item("message.new", Some("messaging:x"))).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(v["EventType"], "CREATE_CHANNEL_MESSAGE");
        assert_eq!(v["Payload"], r#"{"type":"message.new","id":"e1"}"#);
        assert_eq!(key, "messaging:x");
        let (_, key) = record(&item("member.added", None)).unwrap();
        assert_eq!(key, "e1");
        assert!(record(&item("reaction.new", None)).is_none());
        assert_eq!(kinesis_event_type(TEST_EVENT_TYPE), Some("HOOKRELAY_TEST"));
    }
}
