//! Amazon Kinesis in the Amazon Chime messaging stream format: `PutRecords` of
//! `{"EventType": "CREATE_CHANNEL_MESSAGE", "Payload": "<JSON text>"}`, partitioned by channel.
//! The payload is Chime's message, channel or membership shape (`delivery::chime`), or the
//! Stream event as received when the hook asks for it (`kinesis_payload: stream`).

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use super::{BoxFuture, Destination, Item, Limits, SendResult};
use crate::aws::delivery_failure;
use crate::delivery::chime::{chime_record, record_type};
use crate::delivery::event::TEST_EVENT_TYPE;
use crate::hooks::KinesisStreamArn;

/// Records per `PutRecords` (the API allows 500 and 5 MiB).
const BATCH_RECORDS: usize = 500;
const BATCH_BYTES: usize = 5 * 1024 * 1024;
/// The largest record (data plus partition key).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

pub struct Kinesis {
    stream: KinesisStreamArn,
    client: aws_sdk_kinesis::Client,
    shape: Shape,
}

/// What a record's `Payload` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Chime's shapes, with ARNs under the app's AppInstance ARN.
    Chime { app_instance_arn: String },
    /// The Stream event as received.
    Stream,
}

/// The record data and partition key of an item; `None` when its event has no Chime
/// counterpart. A test event (`HOOKRELAY_TEST`) carries the event as it is.
pub fn record(item: &Item, shape: &Shape) -> Option<(Vec<u8>, String)> {
    let event = &item.event;
    let (event_type, payload) = match shape {
        _ if event.event_type() == TEST_EVENT_TYPE => ("HOOKRELAY_TEST", None),
        Shape::Stream => (record_type(event.event_type(), event.json())?, None),
        Shape::Chime { app_instance_arn } => {
            let record = chime_record(app_instance_arn, event.event_type(), event.json())?;
            (record.event_type, Some(record.payload))
        }
    };
    let payload = payload.as_deref().unwrap_or(event.json());
    let data = serde_json::json!({ "EventType": event_type, "Payload": payload });
    let key = event.cid().unwrap_or(event.id());
    // partition keys are at most 256 characters
    let key: String = key.chars().take(256).collect();
    Some((data.to_string().into_bytes(), key))
}

impl Kinesis {
    pub fn new(stream: KinesisStreamArn, conf: &aws_config::SdkConfig, shape: Shape) -> Self {
        Self {
            stream,
            client: aws_sdk_kinesis::Client::new(conf),
            shape,
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
                match record(item, &self.shape) {
                    None => {
                        results[i] = SendResult::Permanent(format!(
                            "{} has no Amazon Chime event type",
                            item.event.event_type()
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

    fn item(event_type: &str, cid: Option<&str>, json: &str) -> Item {
        Item {
            delivery_id: crate::domain::DeliveryId(1),
            event: Event::new("e1", event_type, cid, json),
            attempt: 1,
        }
    }

    const INSTANCE: &str = "arn:aws:chime:us-east-1:000000000000:app-instance/i";

    fn chime() -> Shape {
        Shape::Chime {
            app_instance_arn: INSTANCE.into(),
        }
    }

    fn decode(data: &[u8]) -> (serde_json::Value, serde_json::Value) {
        let v: serde_json::Value = serde_json::from_slice(data).unwrap();
        let payload = serde_json::from_str(v["Payload"].as_str().unwrap()).unwrap();
        (v["EventType"].clone(), payload)
    }

    #[test]
    fn records_are_chime_shaped_and_partitioned_by_channel() {
        let json = r#"{"type":"message.new","id":"e1","cid":"messaging:x","message":{"id":"m1","text":"hi","user":{"id":"alice"}}}"#;
        let (data, key) =
            record(&item("message.new", Some("messaging:x"), json), &chime()).unwrap();
        let (event_type, payload) = decode(&data);
        assert_eq!(event_type, "CREATE_CHANNEL_MESSAGE");
        assert_eq!(payload["MessageId"], "m1");
        assert_eq!(payload["Content"], "hi");
        assert_eq!(
            payload["ChannelArn"],
            format!("{INSTANCE}/channel/messaging:x")
        );
        assert_eq!(payload["Sender"]["Arn"], format!("{INSTANCE}/user/alice"));
        assert_eq!(key, "messaging:x");
        // the Stream shape keeps the event as the payload
        let (data, _) = record(
            &item("message.new", Some("messaging:x"), json),
            &Shape::Stream,
        )
        .unwrap();
        let (event_type, payload) = decode(&data);
        assert_eq!(event_type, "CREATE_CHANNEL_MESSAGE");
        assert_eq!(
            payload,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
        let member = r#"{"type":"member.added","user":{"id":"bob"}}"#;
        let (_, key) = record(&item("member.added", None, member), &chime()).unwrap();
        assert_eq!(key, "e1");
        assert!(record(&item("reaction.new", None, "{}"), &chime()).is_none());
        assert!(record(&item("reaction.new", None, "{}"), &Shape::Stream).is_none());
    }

    #[test]
    fn a_soft_delete_is_a_redaction_in_both_shapes_a_test_event_passes_as_is() {
        let soft = r#"{"type":"message.deleted","hard_delete":false,"message":{"id":"m1"}}"#;
        let hard = r#"{"type":"message.deleted","hard_delete":true,"message":{"id":"m1"}}"#;
        for shape in [chime(), Shape::Stream] {
            let (data, _) = record(&item("message.deleted", None, soft), &shape).unwrap();
            assert_eq!(decode(&data).0, "REDACT_CHANNEL_MESSAGE");
            let (data, _) = record(&item("message.deleted", None, hard), &shape).unwrap();
            assert_eq!(decode(&data).0, "DELETE_CHANNEL_MESSAGE");
            let test = r#"{"type":"hookrelay.test","id":"e1"}"#;
            let (data, _) = record(&item(TEST_EVENT_TYPE, None, test), &shape).unwrap();
            let (event_type, payload) = decode(&data);
            assert_eq!(event_type, "HOOKRELAY_TEST");
            assert_eq!(payload["id"], "e1");
        }
    }
}
