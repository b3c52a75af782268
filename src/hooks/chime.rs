//! Amazon Chime SDK messaging's view of an app's hooks: the app's AppInstance ARN, and its
//! messaging streaming configurations (`DataType` → Kinesis stream), which are its Kinesis
//! hooks seen another way. There is one hook store: a configuration put through the Chime API
//! is a Kinesis hook in `GET /app` and the dashboard, and a Kinesis hook made there is a
//! configuration in `GetMessagingStreamingConfigurations`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::aws::KinesisStreamArn;
use super::events::ChimeDataType;
use super::model::EventHook;
use crate::domain::HookType;

/// Where the app instances are said to live: the region and account of every AppInstance ARN
/// (`--chime-region`, `--chime-account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChimeAccount {
    pub region: String,
    pub account: String,
}

impl ChimeAccount {
    /// The app's AppInstance ARN,
    /// `arn:aws:chime:<region>:<account>:app-instance/<uuid>`. The UUID is derived from the
    /// app's random external id (SHA-256, as a version 8 UUID): stable for the app's life,
    /// distinct between apps, and nothing to store.
    pub fn app_instance_arn(&self, external_id: &str) -> String {
        let digest = Sha256::digest(format!("hookrelay app instance\0{external_id}"));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        let id = uuid::Uuid::new_v8(bytes);
        format!(
            "arn:aws:chime:{}:{}:app-instance/{id}",
            self.region, self.account
        )
    }
}

/// One streaming configuration, as the Chime API carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamingConfiguration {
    #[serde(rename = "DataType")]
    pub data_type: ChimeDataType,
    #[serde(rename = "ResourceArn")]
    pub resource_arn: String,
}

/// A request the Chime API refuses, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses a `PutMessagingStreamingConfigurations` body: 1–2 configurations, each a known
/// `DataType` with a Kinesis stream ARN, no `DataType` twice.
pub fn parse_put(body: &[u8]) -> Result<Vec<StreamingConfiguration>, ConfigError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| refuse("body", format!("not a JSON document: {e}")))?;
    let Some(list) = value.get("StreamingConfigurations") else {
        return Err(refuse("StreamingConfigurations", "is required"));
    };
    let Some(list) = list.as_array() else {
        return Err(refuse("StreamingConfigurations", "must be a list"));
    };
    if list.is_empty() || list.len() > ChimeDataType::ALL.len() {
        return Err(refuse(
            "StreamingConfigurations",
            format!("must hold 1 or 2 configurations, not {}", list.len()),
        ));
    }
    let mut out: Vec<StreamingConfiguration> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let field = |name: &str| format!("StreamingConfigurations[{i}].{name}");
        let text = |name: &str| -> Result<&str, ConfigError> {
            match item.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(refuse(field(name), "must be a string")),
                None => Err(refuse(field(name), "is required")),
            }
        };
        let data_type: ChimeDataType = text("DataType")?
            .parse()
            .map_err(|e| refuse(field("DataType"), format!("{e}")))?;
        let arn = text("ResourceArn")?;
        let stream = KinesisStreamArn::parse(arn).map_err(|e| {
            refuse(
                field("ResourceArn"),
                format!("must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME): {e}"),
            )
        })?;
        if out.iter().any(|c| c.data_type == data_type) {
            return Err(refuse(
                field("DataType"),
                format!("{data_type} is given twice"),
            ));
        }
        out.push(StreamingConfiguration {
            data_type,
            resource_arn: stream.as_str().to_string(),
        });
    }
    Ok(out)
}

fn is_kinesis(hook: &EventHook) -> bool {
    hook.hook_type == HookType::Kinesis.as_str()
}

/// An enabled Kinesis hook of the stream `arn`.
fn streams_to(hook: &EventHook, arn: &str) -> bool {
    is_kinesis(hook) && hook.enabled && hook.kinesis_stream_arn.as_deref() == Some(arn)
}

/// The data types a Kinesis hook streams (none named: both).
fn data_types(hook: &EventHook) -> Vec<ChimeDataType> {
    let named: Vec<ChimeDataType> = hook
        .kinesis_data_types
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    if named.is_empty() {
        ChimeDataType::ALL.to_vec()
    } else {
        named
    }
}

/// The app's streaming configurations: for each data type, the stream of the first enabled
/// Kinesis hook that streams it.
pub fn configurations(hooks: &[EventHook]) -> Vec<StreamingConfiguration> {
    ChimeDataType::ALL
        .iter()
        .filter_map(|&data_type| {
            hooks
                .iter()
                .filter(|h| is_kinesis(h) && h.enabled)
                .find(|h| data_types(h).contains(&data_type))
                .and_then(|h| h.kinesis_stream_arn.clone())
                .map(|resource_arn| StreamingConfiguration {
                    data_type,
                    resource_arn,
                })
        })
        .collect()
}

/// The hooks after a Put, merged by data type: each given data type streams to its stream
/// only — added to an enabled Kinesis hook of that stream, or to a new one (the stream's
/// region, the server's own AWS identity) — and is taken from the other Kinesis hooks; a
/// Kinesis hook left with no data type is removed. Data types not given stay as they were.
pub fn put(mut hooks: Vec<EventHook>, configs: &[StreamingConfiguration]) -> Vec<EventHook> {
    for config in configs {
        let name = config.data_type.as_str();
        let mut emptied = Vec::new();
        for (i, hook) in hooks.iter_mut().enumerate() {
            if !is_kinesis(hook) || streams_to(hook, &config.resource_arn) {
                continue;
            }
            let mut types = data_types(hook);
            if types.contains(&config.data_type) {
                types.retain(|t| *t != config.data_type);
                if types.is_empty() {
                    emptied.push(i);
                }
                hook.kinesis_data_types = types.iter().map(|t| t.as_str().to_string()).collect();
            }
        }
        for i in emptied.into_iter().rev() {
            hooks.remove(i);
        }
        let existing = hooks
            .iter_mut()
            .find(|h| streams_to(h, &config.resource_arn));
        match existing {
            Some(hook) => {
                let mut types = data_types(hook);
                if !types.contains(&config.data_type) {
                    types.push(config.data_type);
                }
                hook.kinesis_data_types = types.iter().map(|t| t.as_str().to_string()).collect();
            }
            None => hooks.push(EventHook {
                hook_type: HookType::Kinesis.as_str().to_string(),
                enabled: true,
                kinesis_stream_arn: Some(config.resource_arn.clone()),
                kinesis_data_types: vec![name.to_string()],
                ..EventHook::default()
            }),
        }
    }
    hooks
}

/// The hooks after a Delete: every Kinesis hook removed.
pub fn delete(hooks: Vec<EventHook>) -> Vec<EventHook> {
    hooks.into_iter().filter(|h| !is_kinesis(h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-one";
    const S2: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-two";

    fn kinesis(id: &str, stream: &str, types: &[&str]) -> EventHook {
        EventHook {
            id: id.into(),
            hook_type: "kinesis".into(),
            enabled: true,
            kinesis_stream_arn: Some(stream.into()),
            kinesis_data_types: types.iter().map(|t| t.to_string()).collect(),
            ..EventHook::default()
        }
    }

    fn webhook() -> EventHook {
        EventHook {
            id: "wh".into(),
            hook_type: "webhook".into(),
            enabled: true,
            webhook_url: Some("https://example.com/hook".into()),
            ..EventHook::default()
        }
    }

    fn config(data_type: ChimeDataType, arn: &str) -> StreamingConfiguration {
        StreamingConfiguration {
            data_type,
            resource_arn: arn.into(),
        }
    }

    #[test]
    fn the_app_instance_arn_is_stable_and_distinct_per_app() {
        let account = ChimeAccount {
            region: "eu-west-1".into(),
            account: "111122223333".into(),
        };
        let a = account.app_instance_arn("externalida");
        assert_eq!(a, account.app_instance_arn("externalida"));
        assert_ne!(a, account.app_instance_arn("externalidb"));
        let id = a
            .strip_prefix("arn:aws:chime:eu-west-1:111122223333:app-instance/")
            .unwrap();
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
    }

    #[test]
    fn a_put_body_is_parsed_or_refused_naming_the_field() {
        let ok = parse_put(
            format!(r#"{{"StreamingConfigurations":[{{"DataType":"ChannelMessage","ResourceArn":"{S1}"}},{{"DataType":"Channel","ResourceArn":"{S2}"}}]}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            ok,
            vec![
                config(ChimeDataType::ChannelMessage, S1),
                config(ChimeDataType::Channel, S2)
            ]
        );
        let err = |body: String| parse_put(body.as_bytes()).unwrap_err();
        let e = err(format!(
            r#"{{"StreamingConfigurations":[{{"DataType":"Bogus","ResourceArn":"{S1}"}}]}}"#
        ));
        assert_eq!(e.field, "StreamingConfigurations[0].DataType");
        assert!(e.message.contains("Bogus"), "{e}");
        let e = err(format!(
            r#"{{"StreamingConfigurations":[{{"DataType":"Channel","ResourceArn":"{S1}"}},{{"DataType":"Channel","ResourceArn":"{S2}"}}]}}"#
        ));
        assert_eq!(e.field, "StreamingConfigurations[1].DataType");
        assert!(e.message.contains("twice"), "{e}");
        let e = err(
            r#"{"StreamingConfigurations":[{"DataType":"Channel","ResourceArn":"arn:aws:sqs:us-east-1:123456789012:q"}]}"#
                .into(),
        );
        assert_eq!(e.field, "StreamingConfigurations[0].ResourceArn");
        assert_eq!(
            err(r#"{"StreamingConfigurations":[]}"#.into()).field,
            "StreamingConfigurations"
        );
        assert_eq!(err("{}".into()).field, "StreamingConfigurations");
        assert_eq!(err("not json".into()).field, "body");
        let e = err(r#"{"StreamingConfigurations":[{"DataType":"Channel"}]}"#.into());
        assert_eq!(e.field, "StreamingConfigurations[0].ResourceArn");
    }

    #[test]
    fn configurations_read_the_kinesis_hooks() {
        assert!(configurations(&[webhook()]).is_empty());
        let hooks = vec![
            webhook(),
            kinesis("k1", S1, &[]),
            kinesis("k2", S2, &["Channel"]),
        ];
        // an empty list streams both: the first hook wins both data types
        assert_eq!(
            configurations(&hooks),
            vec![
                config(ChimeDataType::ChannelMessage, S1),
                config(ChimeDataType::Channel, S1)
            ]
        );
        let mut disabled = kinesis("k1", S1, &[]);
        disabled.enabled = false;
        assert_eq!(
            configurations(&[disabled, kinesis("k2", S2, &["Channel"])]),
            vec![config(ChimeDataType::Channel, S2)]
        );
    }

    #[test]
    fn put_merges_by_data_type_and_moves_a_type_between_streams() {
        // nothing yet: a new hook per stream, other hooks untouched
        let hooks = put(
            vec![webhook()],
            &[config(ChimeDataType::ChannelMessage, S1)],
        );
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0], webhook());
        assert_eq!(hooks[1].hook_type, "kinesis");
        assert_eq!(hooks[1].id, "", "the store gives it an id");
        assert_eq!(hooks[1].kinesis_data_types, vec!["ChannelMessage"]);
        // the other type to the same stream joins that hook
        let hooks = put(hooks, &[config(ChimeDataType::Channel, S1)]);
        assert_eq!(hooks.len(), 2);
        assert_eq!(
            hooks[1].kinesis_data_types,
            vec!["ChannelMessage", "Channel"]
        );
        // Channel moves to another stream: taken from the first hook, a second hook made
        let hooks = put(hooks, &[config(ChimeDataType::Channel, S2)]);
        assert_eq!(
            configurations(&hooks),
            vec![
                config(ChimeDataType::ChannelMessage, S1),
                config(ChimeDataType::Channel, S2)
            ]
        );
        assert_eq!(hooks.len(), 3);
        // ChannelMessage moves too: the first hook streams nothing and goes
        let hooks = put(hooks, &[config(ChimeDataType::ChannelMessage, S2)]);
        assert_eq!(hooks.len(), 2, "{hooks:?}");
        assert_eq!(hooks[1].kinesis_stream_arn.as_deref(), Some(S2));
        assert_eq!(
            hooks[1].kinesis_data_types,
            vec!["Channel", "ChannelMessage"]
        );
    }

    #[test]
    fn delete_removes_every_kinesis_hook_and_nothing_else() {
        let hooks = vec![
            kinesis("k1", S1, &[]),
            webhook(),
            kinesis("k2", S2, &["Channel"]),
        ];
        assert_eq!(delete(hooks), vec![webhook()]);
        assert_eq!(delete(vec![webhook()]), vec![webhook()]);
    }
}
