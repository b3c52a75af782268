//! The operator's limit on `resource` auth (`--resource-auth-allow`): with it Hookrelay sends
//! with its own AWS identity, which may reach other tenants' queues, so only the listed AWS
//! accounts and ARNs are allowed when a list is set.

use super::aws::{KinesisStreamArn, SnsTopicArn, SqsQueueUrl};
use super::validate::ValidateContext;
use crate::domain::HookType;

/// Refuses `resource` auth to a target outside the operator's list (`--resource-auth-allow`):
/// with it Hookrelay sends with its own AWS identity, which may reach other tenants' queues.
pub fn resource_allowed(allow: &[String], account: &str, arn: &str) -> Result<(), String> {
    if allow.is_empty() || allow.iter().any(|a| a == account || a == arn) {
        return Ok(());
    }
    Err(format!(
        "refused: resource auth sends with this server's own AWS identity, which its operator allows only for listed AWS accounts and ARNs; {arn} is not one of them: use keys or role auth"
    ))
}

/// [`resource_allowed`] for the target of a check (`target` as the request gives it); a
/// target that does not parse is left to the check, which reports it.
pub fn check_resource_target(
    hook_type: HookType,
    target: &str,
    region: Option<&str>,
    ctx: &ValidateContext,
) -> Result<(), String> {
    if ctx.resource_allow.is_empty() {
        return Ok(());
    }
    let (account, arn) = match hook_type {
        HookType::Sqs => match SqsQueueUrl::parse(target, ctx.endpoint_override) {
            Ok(q) => {
                let region = region
                    .or(q.region())
                    .or(ctx.default_region)
                    .unwrap_or("us-east-1");
                (q.account().to_owned(), q.queue_arn(region))
            }
            Err(_) => return Ok(()),
        },
        HookType::Sns => match SnsTopicArn::parse(target) {
            Ok(t) => (t.account().to_owned(), t.as_str().to_owned()),
            Err(_) => return Ok(()),
        },
        HookType::Kinesis => match KinesisStreamArn::parse(target) {
            Ok(k) => (k.account().to_owned(), k.as_str().to_owned()),
            Err(_) => return Ok(()),
        },
        _ => return Ok(()),
    };
    resource_allowed(ctx.resource_allow, &account, &arn)
}
