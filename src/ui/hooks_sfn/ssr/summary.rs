//! How a hook shows in the lists: its target, and its row before the health figures.

use crate::domain::HookType;
use crate::dto::HookSummary;
use crate::hooks::model::EventHook;

/// The health column covers the last hour: twelve 5-minute steps, the current one included.
pub const SPARK_STEPS: usize = 12;

pub fn target_of(h: &EventHook) -> String {
    let v = match h.hook_type.parse() {
        Ok(HookType::Sqs) => &h.sqs_queue_url,
        Ok(HookType::Sns) => &h.sns_topic_arn,
        Ok(HookType::Kinesis) => &h.kinesis_stream_arn,
        _ => &h.webhook_url,
    };
    v.clone().unwrap_or_default()
}

pub fn summary(h: &EventHook) -> HookSummary {
    HookSummary {
        id: h.id.clone(),
        hook_type: h.hook_type.clone(),
        target: target_of(h),
        enabled: h.enabled,
        event_types: h.event_types.clone(),
        delivered_1h: 0,
        failed_1h: 0,
        pending: 0,
        pending_more: false,
        last_success: None,
        last_error: None,
        spark: vec![(0, 0); SPARK_STEPS],
    }
}
