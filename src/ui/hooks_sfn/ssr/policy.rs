//! The resource policy the form shows for auth type `resource`.

use crate::domain::HookType;
use crate::dto::HookForm;
use crate::server::AppState;

/// The resource policy to attach to the target for auth type `resource`.
pub fn policy(state: &AppState, form: &HookForm) -> String {
    let target = form.target.trim();
    let (actions, resource): (&[&str], String) = match form.hook_type.parse() {
        Ok(HookType::Sqs) => {
            let arn = crate::hooks::SqsQueueUrl::parse(target, state.aws.endpoint.as_deref())
                .ok()
                .and_then(|q| {
                    let region = Some(form.region.trim())
                        .filter(|r| !r.is_empty())
                        .or(q.region())
                        .or(state.aws.default_region.as_deref())?
                        .to_string();
                    Some(q.queue_arn(&region))
                })
                .unwrap_or_else(|| "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME".into());
            (
                &[
                    "sqs:SendMessage",
                    "sqs:SendMessageBatch",
                    "sqs:GetQueueAttributes",
                ],
                arn,
            )
        }
        Ok(HookType::Sns) => (
            &["sns:Publish"],
            Some(target.to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME".into()),
        ),
        Ok(HookType::Kinesis) => (
            &[
                "kinesis:PutRecord",
                "kinesis:PutRecords",
                "kinesis:DescribeStreamSummary",
            ],
            Some(target.to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "arn:aws:kinesis:REGION:ACCOUNT_ID:stream/STREAM_NAME".into()),
        ),
        _ => return String::new(),
    };
    let principal = state
        .aws_principal
        .clone()
        .unwrap_or_else(|| "arn:aws:iam::HOOKRELAY_ACCOUNT_ID:root".into());
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowHookrelay",
            "Effect": "Allow",
            "Principal": { "AWS": principal },
            "Action": actions,
            "Resource": resource,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
