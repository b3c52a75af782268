//! Typed AWS targets: SQS queue URLs, SNS topic ARNs, Kinesis stream ARNs, IAM role ARNs and
//! regions. Each type can only be built by parsing, so holding one means it is well-formed
//! ("parse, don't validate"). Server-side only.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Why an AWS target was refused. The `Display` texts are part of the wire contract: the SDK
/// tests look for `invalid SQS url` in `check_sqs` answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsTargetError {
    /// Not an SQS queue URL.
    #[error("invalid SQS url {url}")]
    SqsUrl {
        /// The URL as given.
        url: String,
        /// Which part is wrong.
        reason: &'static str,
    },
    /// Not an SNS topic ARN.
    #[error("invalid SNS topic arn {arn}")]
    SnsTopicArn {
        /// The ARN as given.
        arn: String,
        /// Which part is wrong.
        reason: &'static str,
    },
    /// Not a Kinesis stream ARN.
    #[error("invalid Kinesis stream arn {arn}")]
    KinesisStreamArn {
        /// The ARN as given.
        arn: String,
        /// Which part is wrong.
        reason: &'static str,
    },
    /// Not an IAM role ARN.
    #[error("invalid IAM role arn {arn}")]
    IamRoleArn {
        /// The ARN as given.
        arn: String,
        /// Which part is wrong.
        reason: &'static str,
    },
    /// Not an AWS region name.
    #[error("invalid AWS region {region}")]
    Region {
        /// The region as given.
        region: String,
    },
}

impl AwsTargetError {
    /// A short explanation of what is wrong (not part of the `Display` text).
    pub fn reason(&self) -> &'static str {
        match self {
            AwsTargetError::SqsUrl { reason, .. }
            | AwsTargetError::SnsTopicArn { reason, .. }
            | AwsTargetError::KinesisStreamArn { reason, .. }
            | AwsTargetError::IamRoleArn { reason, .. } => reason,
            AwsTargetError::Region { .. } => {
                "a region looks like us-east-1: lowercase words and a number, joined by dashes"
            }
        }
    }
}

/// An AWS region name such as `us-east-1`, `eu-west-3`, `cn-north-1` or `us-gov-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    /// Parses a region: two or more groups of lowercase ASCII letters and a final group of
    /// digits, joined by `-`.
    pub fn parse(raw: &str) -> Result<Region, AwsTargetError> {
        if is_region(raw) {
            Ok(Region(raw.to_owned()))
        } else {
            Err(AwsTargetError::Region {
                region: raw.to_owned(),
            })
        }
    }

    /// The region name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN partition of the region: `aws-cn`, `aws-us-gov` or `aws`.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.0)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Region {
    type Err = AwsTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse(s)
    }
}

/// A parsed SQS queue URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SqsQueueUrl {
    url: String,
    region: Option<String>,
    account: String,
    name: String,
}

impl SqsQueueUrl {
    /// Parses a queue URL. Accepted forms (AWS is HTTPS only, on the default port):
    /// - `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`
    /// - `https://sqs-fips.REGION.amazonaws.com/ACCOUNT/NAME`
    /// - `https://REGION.queue.amazonaws.com/ACCOUNT/NAME` (legacy)
    /// - `https://queue.amazonaws.com/ACCOUNT/NAME` (old global endpoint, `us-east-1`)
    /// - `https://sqs.cn-REGION.amazonaws.com.cn/ACCOUNT/NAME` (China)
    /// - any URL with the same scheme, host and port as `endpoint_override` (an emulator such
    ///   as LocalStack), with the path `/ACCOUNT/NAME` or `/queue/REGION/ACCOUNT/NAME`.
    ///
    /// ACCOUNT is 12 digits; NAME is 1–80 characters of `[A-Za-z0-9_-]`, where a trailing
    /// `.fifo` (counted in the 80, as AWS does) marks a FIFO queue.
    pub fn parse(
        raw: &str,
        endpoint_override: Option<&str>,
    ) -> Result<SqsQueueUrl, AwsTargetError> {
        let fail = |reason| AwsTargetError::SqsUrl {
            url: raw.to_owned(),
            reason,
        };
        let url = Url::parse(raw).map_err(|_| fail("it is not an absolute URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("it must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("it must not have a query or a fragment"));
        }
        let host = url.host_str().unwrap_or_default();
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();

        let (region, account, name) =
            if let Some(region) = aws_sqs_host_region(host) {
                if url.scheme() != "https" {
                    return Err(fail("AWS queue URLs use https"));
                }
                if url.port().is_some() {
                    return Err(fail("AWS queue URLs use the default port"));
                }
                match segments.as_slice() {
                    [account, name] => (Some(region), *account, *name),
                    _ => return Err(fail("the path must be /ACCOUNT/QUEUE_NAME")),
                }
            } else if is_same_origin(&url, endpoint_override) {
                match segments.as_slice() {
                    [account, name] => (None, *account, *name),
                    ["queue", region, account, name] => {
                        if !is_region(region) {
                            return Err(fail("the region in the path is not an AWS region"));
                        }
                        (Some((*region).to_owned()), *account, *name)
                    }
                    _ => return Err(fail(
                        "the path must be /ACCOUNT/QUEUE_NAME or /queue/REGION/ACCOUNT/QUEUE_NAME",
                    )),
                }
            } else {
                return Err(fail("the host is not an Amazon SQS endpoint"));
            };

        if !is_account(account) {
            return Err(fail("the account id must be 12 digits"));
        }
        if !is_resource_name(name, 80, true, |c| c == '-' || c == '_') {
            return Err(fail(
                "the queue name must be 1-80 letters, digits, '-' or '_', optionally ending in .fifo",
            ));
        }
        Ok(SqsQueueUrl {
            account: account.to_owned(),
            name: name.to_owned(),
            region,
            url: url.into(),
        })
    }

    /// The queue URL (normalised: lowercase host, no default port).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The region named by the URL; `None` for an emulator URL without one.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The 12-digit AWS account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The queue name, including any `.fifo` suffix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a FIFO queue (its name ends in `.fifo`).
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    /// The queue's ARN, `arn:PARTITION:sqs:REGION:ACCOUNT:NAME`. The region is the URL's own,
    /// else `region`; the partition follows the region (`aws-cn` for `cn-*`, `aws-us-gov` for
    /// `us-gov-*`, else `aws`).
    pub fn queue_arn(&self, region: &str) -> String {
        let region = self.region().unwrap_or(region);
        format!(
            "arn:{}:sqs:{}:{}:{}",
            partition_of(region),
            region,
            self.account,
            self.name
        )
    }
}

impl fmt::Display for SqsQueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// A parsed SNS topic ARN, `arn:PARTITION:sns:REGION:ACCOUNT:TOPIC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnsTopicArn {
    arn: String,
    region: String,
    account: String,
    name: String,
}

impl SnsTopicArn {
    /// Parses a topic ARN. The partition is `aws`, `aws-cn` or `aws-us-gov` and must fit the
    /// region; TOPIC is 1–256 characters of `[A-Za-z0-9_-]`, where a trailing `.fifo`
    /// (counted in the 256) marks a FIFO topic.
    pub fn parse(raw: &str) -> Result<SnsTopicArn, AwsTargetError> {
        let fail = |reason| AwsTargetError::SnsTopicArn {
            arn: raw.to_owned(),
            reason,
        };
        let arn = Arn::parse(raw, "sns").map_err(fail)?;
        if arn.region.is_empty() {
            return Err(fail("the region is missing"));
        }
        if !is_resource_name(arn.resource, 256, true, |c| c == '-' || c == '_') {
            return Err(fail(
                "the topic name must be 1-256 letters, digits, '-' or '_', optionally ending in .fifo",
            ));
        }
        Ok(SnsTopicArn {
            arn: raw.to_owned(),
            region: arn.region.to_owned(),
            account: arn.account.to_owned(),
            name: arn.resource.to_owned(),
        })
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The topic's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The 12-digit AWS account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The topic name, including any `.fifo` suffix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a FIFO topic (its name ends in `.fifo`).
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

impl fmt::Display for SnsTopicArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl FromStr for SnsTopicArn {
    type Err = AwsTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SnsTopicArn::parse(s)
    }
}

/// A parsed Kinesis data stream ARN, `arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KinesisStreamArn {
    arn: String,
    region: String,
    account: String,
    name: String,
}

impl KinesisStreamArn {
    /// Parses a stream ARN; NAME is 1–128 characters of `[A-Za-z0-9_.-]`.
    pub fn parse(raw: &str) -> Result<KinesisStreamArn, AwsTargetError> {
        let fail = |reason| AwsTargetError::KinesisStreamArn {
            arn: raw.to_owned(),
            reason,
        };
        let arn = Arn::parse(raw, "kinesis").map_err(fail)?;
        if arn.region.is_empty() {
            return Err(fail("the region is missing"));
        }
        let name = arn
            .resource
            .strip_prefix("stream/")
            .ok_or_else(|| fail("the resource must be stream/NAME"))?;
        if !is_resource_name(name, 128, false, |c| matches!(c, '-' | '_' | '.')) {
            return Err(fail(
                "the stream name must be 1-128 letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(KinesisStreamArn {
            arn: raw.to_owned(),
            region: arn.region.to_owned(),
            account: arn.account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The stream's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The 12-digit AWS account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The stream name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for KinesisStreamArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl FromStr for KinesisStreamArn {
    type Err = AwsTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KinesisStreamArn::parse(s)
    }
}

/// A parsed IAM role ARN, `arn:PARTITION:iam::ACCOUNT:role/NAME` or
/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IamRoleArn {
    arn: String,
    account: String,
    path: String,
    name: String,
}

impl IamRoleArn {
    /// Parses a role ARN. IAM is global, so the region part must be empty. The role name is
    /// 1–64 characters of `[A-Za-z0-9+=,.@_-]`; each path segment uses the same characters and
    /// the whole path is at most 512 characters.
    pub fn parse(raw: &str) -> Result<IamRoleArn, AwsTargetError> {
        let fail = |reason| AwsTargetError::IamRoleArn {
            arn: raw.to_owned(),
            reason,
        };
        let arn = Arn::parse(raw, "iam").map_err(fail)?;
        if !arn.region.is_empty() {
            return Err(fail("IAM ARNs have no region"));
        }
        let rest = arn
            .resource
            .strip_prefix("role/")
            .ok_or_else(|| fail("the resource must be role/NAME or role/PATH/NAME"))?;
        let (inner_path, name) = match rest.rsplit_once('/') {
            Some((path, name)) => (Some(path), name),
            None => (None, rest),
        };
        let is_role_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        let name_ok = (1..=64).contains(&name.len()) && name.chars().all(is_role_char);
        if !name_ok {
            return Err(fail(
                "the role name must be 1-64 letters, digits or any of + = , . @ _ -",
            ));
        }
        let path = match inner_path {
            None => "/".to_owned(),
            Some(inner) => {
                let segments_ok = inner
                    .split('/')
                    .all(|seg| !seg.is_empty() && seg.chars().all(is_role_char));
                let path = format!("/{inner}/");
                if !segments_ok || path.len() > 512 {
                    return Err(fail("the role path is not valid"));
                }
                path
            }
        };
        Ok(IamRoleArn {
            arn: raw.to_owned(),
            account: arn.account.to_owned(),
            path,
            name: name.to_owned(),
        })
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The 12-digit AWS account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role path, `/` or e.g. `/service-role/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The role name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for IamRoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl FromStr for IamRoleArn {
    type Err = AwsTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IamRoleArn::parse(s)
    }
}

/// The six parts of an ARN, checked for the parts common to all services.
struct Arn<'a> {
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, checking the prefix, the
    /// partition (and that it fits the region), the service, the region's form and the account.
    fn parse(raw: &'a str, service: &str) -> Result<Arn<'a>, &'static str> {
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [prefix, partition, svc, region, account, resource] = parts.as_slice() else {
            return Err("an ARN has six parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE");
        };
        if *prefix != "arn" {
            return Err("it does not start with arn:");
        }
        if !matches!(*partition, "aws" | "aws-cn" | "aws-us-gov") {
            return Err("the partition must be aws, aws-cn or aws-us-gov");
        }
        if *svc != service {
            return Err("the ARN is for another AWS service");
        }
        if !region.is_empty() {
            if !is_region(region) {
                return Err("the region is not an AWS region");
            }
            if partition_of(region) != *partition {
                return Err("the partition does not fit the region");
            }
        }
        if !is_account(account) {
            return Err("the account id must be 12 digits");
        }
        Ok(Arn {
            region,
            account,
            resource,
        })
    }
}

/// The region of an AWS SQS endpoint host, or `None` if `host` is not one.
fn aws_sqs_host_region(host: &str) -> Option<String> {
    if host == "queue.amazonaws.com" {
        return Some("us-east-1".to_owned());
    }
    if let Some(prefix) = host.strip_suffix(".amazonaws.com.cn") {
        let region = prefix.strip_prefix("sqs.")?;
        return (is_region(region) && region.starts_with("cn-")).then(|| region.to_owned());
    }
    let prefix = host.strip_suffix(".amazonaws.com")?;
    let region = prefix
        .strip_prefix("sqs.")
        .or_else(|| prefix.strip_prefix("sqs-fips."))
        .or_else(|| prefix.strip_suffix(".queue"))?;
    (is_region(region) && !region.starts_with("cn-")).then(|| region.to_owned())
}

/// Whether `url` has the scheme, host and port of the endpoint override.
fn is_same_origin(url: &Url, endpoint_override: Option<&str>) -> bool {
    let Some(endpoint) = endpoint_override.and_then(|e| Url::parse(e).ok()) else {
        return false;
    };
    url.scheme() == endpoint.scheme()
        && url.host_str().is_some()
        && url.host_str() == endpoint.host_str()
        && url.port_or_known_default() == endpoint.port_or_known_default()
}

/// `letters-letters(-letters)*-digits`, lowercase ASCII, at most 32 characters.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((last, words)) = parts.split_last() else {
        return false;
    };
    s.len() <= 32
        && words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly 12 ASCII digits.
fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// 1..=`max` characters, all ASCII letters, digits or `extra`; with `fifo_suffix`, a trailing
/// `.fifo` is allowed (and counts towards `max`).
fn is_resource_name(name: &str, max: usize, fifo_suffix: bool, extra: fn(char) -> bool) -> bool {
    let base = if fifo_suffix {
        name.strip_suffix(".fifo").unwrap_or(name)
    } else {
        name
    };
    !base.is_empty()
        && name.len() <= max
        && base.chars().all(|c| c.is_ascii_alphanumeric() || extra(c))
}

/// The ARN partition a region belongs to.
fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: Option<&str> = Some("http://127.0.0.1:4566");

    fn sqs(raw: &str) -> Result<SqsQueueUrl, AwsTargetError> {
        SqsQueueUrl::parse(raw, None)
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "cn-north-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
            "us-iso-east-1",
        ] {
            assert_eq!(Region::parse(ok).map(|r| r.to_string()), Ok(ok.to_owned()));
        }
        for bad in [
            "",
            "us",
            "us-east",
            "east-1",
            "US-EAST-1",
            "us-east-1a",
            "us_east_1",
            "us--east-1",
            "us-east-",
            "-us-east-1",
            "us-east-1-",
            "us-east-one",
            " us-east-1",
            "us-east-1 ",
        ] {
            let err = Region::parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid AWS region {bad}"));
        }
    }

    #[test]
    fn region_partitions() {
        let p = |r: &str| Region::parse(r).map(|r| r.partition());
        assert_eq!(p("us-east-1"), Ok("aws"));
        assert_eq!(p("cn-northwest-1"), Ok("aws-cn"));
        assert_eq!(p("us-gov-east-1"), Ok("aws-us-gov"));
    }

    #[test]
    fn sqs_standard_url() {
        let q = sqs("https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue").expect("valid");
        assert_eq!(
            q.as_str(),
            "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue"
        );
        assert_eq!(q.region(), Some("us-east-1"));
        assert_eq!(q.account(), "123456789012");
        assert_eq!(q.name(), "MyQueue");
        assert!(!q.is_fifo());
        assert_eq!(
            q.queue_arn("eu-west-1"),
            "arn:aws:sqs:us-east-1:123456789012:MyQueue"
        );
    }

    #[test]
    fn sqs_fifo_url() {
        let q =
            sqs("https://sqs.eu-west-3.amazonaws.com/123456789012/orders-1_a.fifo").expect("valid");
        assert!(q.is_fifo());
        assert_eq!(q.name(), "orders-1_a.fifo");
        assert_eq!(q.region(), Some("eu-west-3"));
    }

    #[test]
    fn sqs_legacy_global_fips_and_china_urls() {
        let legacy = sqs("https://us-west-2.queue.amazonaws.com/123456789012/q").expect("legacy");
        assert_eq!(legacy.region(), Some("us-west-2"));
        let global = sqs("https://queue.amazonaws.com/123456789012/q").expect("global");
        assert_eq!(global.region(), Some("us-east-1"));
        let fips =
            sqs("https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/q").expect("fips");
        assert_eq!(fips.region(), Some("us-gov-west-1"));
        assert_eq!(
            fips.queue_arn("us-east-1"),
            "arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q"
        );
        let cn = sqs("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q").expect("china");
        assert_eq!(cn.region(), Some("cn-north-1"));
        assert_eq!(
            cn.queue_arn("us-east-1"),
            "arn:aws-cn:sqs:cn-north-1:123456789012:q"
        );
    }

    #[test]
    fn sqs_host_is_normalised() {
        let q = sqs("https://SQS.us-east-1.AmazonAWS.com:443/123456789012/q").expect("valid");
        assert_eq!(
            q.as_str(),
            "https://sqs.us-east-1.amazonaws.com/123456789012/q"
        );
    }

    #[test]
    fn sqs_wrong_forms_are_rejected() {
        for bad in [
            "https://foobar.com/123456789012/MyQueue",
            "http://sqs.us-east-1.amazonaws.com/123456789012/MyQueue",
            "https://sqs.us-east-1.amazonaws.com/MyQueue",
            "https://sqs.us-east-1.amazonaws.com/12345678901/MyQueue",
            "https://sqs.us-east-1.amazonaws.com/1234567890123/MyQueue",
            "https://sqs.us-east-1.amazonaws.com/12345678901a/MyQueue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/",
            "https://sqs.us-east-1.amazonaws.com/123456789012/My.Queue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/My%20Queue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/.fifo",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo.fifo",
            "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue/",
            "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue/extra",
            "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue?x=1",
            "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue#f",
            "https://user:pw@sqs.us-east-1.amazonaws.com/123456789012/MyQueue",
            "https://sqs.us-east-1.amazonaws.com:8443/123456789012/MyQueue",
            "https://sqs.amazonaws.com/123456789012/MyQueue",
            "https://sqs.US_EAST.amazonaws.com/123456789012/MyQueue",
            "https://sqs.us-east-1.amazonaws.com.evil.com/123456789012/MyQueue",
            "https://evilsqs.us-east-1.amazonaws.com/123456789012/MyQueue",
            "https://sns.us-east-1.amazonaws.com/123456789012/MyQueue",
            "https://sqs.cn-north-1.amazonaws.com/123456789012/MyQueue",
            "https://sqs.us-east-1.amazonaws.com.cn/123456789012/MyQueue",
            "https://127.0.0.1:4566/000000000000/q",
            "sqs.us-east-1.amazonaws.com/123456789012/MyQueue",
            "MyQueue",
            "",
        ] {
            let err = sqs(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid SQS url {bad}"));
            assert!(!err.reason().is_empty());
        }
    }

    #[test]
    fn sqs_name_length_limit_includes_fifo() {
        let base = "https://sqs.us-east-1.amazonaws.com/123456789012/";
        assert!(sqs(&format!("{base}{}", "a".repeat(80))).is_ok());
        assert!(sqs(&format!("{base}{}", "a".repeat(81))).is_err());
        assert!(sqs(&format!("{base}{}.fifo", "a".repeat(75))).is_ok());
        assert!(sqs(&format!("{base}{}.fifo", "a".repeat(76))).is_err());
    }

    #[test]
    fn sqs_error_names_the_problem() {
        let err = sqs("https://foobar.com/123456789012/MyQueue").expect_err("host");
        assert!(err.reason().contains("host"));
        let err =
            sqs("https://sqs.us-east-1.amazonaws.com/12345678901/MyQueue").expect_err("account");
        assert!(err.reason().contains("12 digits"));
        let err = sqs("http://sqs.us-east-1.amazonaws.com/123456789012/MyQueue").expect_err("http");
        assert!(err.reason().contains("https"));
    }

    #[test]
    fn sqs_endpoint_override_matches() {
        let q =
            SqsQueueUrl::parse("http://127.0.0.1:4566/000000000000/q", LOCAL).expect("emulator");
        assert_eq!(q.region(), None);
        assert_eq!(q.account(), "000000000000");
        assert_eq!(q.name(), "q");
        assert_eq!(
            q.queue_arn("eu-central-1"),
            "arn:aws:sqs:eu-central-1:000000000000:q"
        );

        let q = SqsQueueUrl::parse(
            "http://127.0.0.1:4566/queue/us-east-1/000000000000/q.fifo",
            LOCAL,
        )
        .expect("localstack path style");
        assert_eq!(q.region(), Some("us-east-1"));
        assert!(q.is_fifo());

        // a trailing slash or path on the override does not matter, only the origin
        let q = SqsQueueUrl::parse(
            "http://localhost:9324/000000000000/q",
            Some("http://localhost:9324/"),
        );
        assert!(q.is_ok());
        // the default port is the same port
        let q = SqsQueueUrl::parse("http://emu/000000000000/q", Some("http://emu:80"));
        assert!(q.is_ok());
    }

    #[test]
    fn sqs_endpoint_override_mismatch() {
        for bad in [
            "http://127.0.0.1:4567/000000000000/q",
            "https://127.0.0.1:4566/000000000000/q",
            "http://localhost:4566/000000000000/q",
            "http://127.0.0.1:4566/00000000000/q",
            "http://127.0.0.1:4566/queue/000000000000/q",
            "http://127.0.0.1:4566/queue/US/000000000000/q",
            "http://127.0.0.1:4566/000000000000/bad.name",
        ] {
            let err = SqsQueueUrl::parse(bad, LOCAL).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid SQS url {bad}"));
        }
        // an unparsable override matches nothing
        assert!(
            SqsQueueUrl::parse("http://127.0.0.1:4566/000000000000/q", Some("not a url")).is_err()
        );
        // real AWS URLs stay valid when an override is set
        assert!(
            SqsQueueUrl::parse("https://sqs.us-east-1.amazonaws.com/123456789012/q", LOCAL).is_ok()
        );
    }

    #[test]
    fn sns_topic_arns() {
        let t = SnsTopicArn::parse("arn:aws:sns:us-east-1:123456789012:sns-topic").expect("valid");
        assert_eq!(t.as_str(), "arn:aws:sns:us-east-1:123456789012:sns-topic");
        assert_eq!(t.region(), "us-east-1");
        assert_eq!(t.account(), "123456789012");
        assert_eq!(t.name(), "sns-topic");
        assert!(!t.is_fifo());

        let t =
            SnsTopicArn::parse("arn:aws-cn:sns:cn-north-1:123456789012:t_1.fifo").expect("fifo");
        assert!(t.is_fifo());
        assert!(SnsTopicArn::parse("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t").is_ok());
        let long = format!("arn:aws:sns:us-east-1:123456789012:{}", "t".repeat(256));
        assert!(SnsTopicArn::parse(&long).is_ok());
        assert!("arn:aws:sns:us-east-1:123456789012:t"
            .parse::<SnsTopicArn>()
            .is_ok());
    }

    #[test]
    fn sns_wrong_arns() {
        let too_long = format!("arn:aws:sns:us-east-1:123456789012:{}", "t".repeat(257));
        for bad in [
            "",
            "sns-topic",
            "https://sns.us-east-1.amazonaws.com/123456789012/t",
            "arn:aws:sns:us-east-1:123456789012",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:123456789012:t",
            "arn:azure:sns:us-east-1:123456789012:t",
            "arn:aws:sns::123456789012:t",
            "arn:aws:sns:useast1:123456789012:t",
            "arn:aws:sns:us-east-1:12345678901:t",
            "arn:aws:sns:us-east-1:123456789012:bad:colon",
            "arn:aws:sns:us-east-1:123456789012:bad.name",
            "arn:aws:sns:us-east-1:123456789012:.fifo",
            "arn:aws:sns:cn-north-1:123456789012:t",
            "arn:aws-cn:sns:us-east-1:123456789012:t",
            "ARN:aws:sns:us-east-1:123456789012:t",
            &too_long,
        ] {
            let err = SnsTopicArn::parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid SNS topic arn {bad}"));
        }
    }

    #[test]
    fn kinesis_stream_arns() {
        let s = KinesisStreamArn::parse(
            "arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-x.1_y",
        )
        .expect("valid");
        assert_eq!(s.region(), "us-east-1");
        assert_eq!(s.account(), "123456789012");
        assert_eq!(s.name(), "chime-messaging-x.1_y");
        assert_eq!(
            s.as_str(),
            "arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-x.1_y"
        );
        let long = format!(
            "arn:aws:kinesis:us-east-1:123456789012:stream/{}",
            "s".repeat(128)
        );
        assert!(KinesisStreamArn::parse(&long).is_ok());
        let too_long = format!(
            "arn:aws:kinesis:us-east-1:123456789012:stream/{}",
            "s".repeat(129)
        );
        for bad in [
            "arn:aws:kinesis:us-east-1:123456789012:s",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
            "arn:aws:kinesis:us-east-1:123456789012:stream/a/b",
            "arn:aws:kinesis:us-east-1:123456789012:stream/a b",
            "arn:aws:kinesis::123456789012:stream/s",
            "arn:aws:kinesis:us-east-1:1234:stream/s",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
            "arn:aws:sns:us-east-1:123456789012:s",
            &too_long,
        ] {
            let err = KinesisStreamArn::parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid Kinesis stream arn {bad}"));
        }
    }

    #[test]
    fn iam_role_arns() {
        let r = IamRoleArn::parse("arn:aws:iam::123456789012:role/StreamHooks").expect("valid");
        assert_eq!(r.account(), "123456789012");
        assert_eq!(r.name(), "StreamHooks");
        assert_eq!(r.path(), "/");
        let r =
            IamRoleArn::parse("arn:aws:iam::123456789012:role/service-role/team/Hook+Role=,.@_-")
                .expect("with path");
        assert_eq!(r.path(), "/service-role/team/");
        assert_eq!(r.name(), "Hook+Role=,.@_-");
        assert!(IamRoleArn::parse("arn:aws-cn:iam::123456789012:role/r").is_ok());

        for bad in [
            "",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role",
            "arn:aws:iam::123456789012:role//r",
            "arn:aws:iam::123456789012:role/p//r",
            "arn:aws:iam::123456789012:role/r/",
            "arn:aws:iam::123456789012:role/bad name",
            "arn:aws:iam:us-east-1:123456789012:role/r",
            "arn:aws:iam::12345678901:role/r",
            "arn:aws:sts::123456789012:assumed-role/r/s",
            "arn:aws:iam:::role/r",
        ] {
            let err = IamRoleArn::parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid IAM role arn {bad}"));
        }
        let long_name = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65));
        assert!(IamRoleArn::parse(&long_name).is_err());
        let long_path = format!("arn:aws:iam::123456789012:role/{}/r", "p".repeat(511));
        assert!(IamRoleArn::parse(&long_path).is_err());
    }

    #[test]
    fn parsers_never_panic_on_odd_input() {
        for odd in [
            "\u{0}",
            "::::::",
            "arn:::::",
            "arn:aws:sns:é-ü-1:123456789012:t",
            "https://[::1]/123456789012/q",
            "https://sqs.us-east-1.amazonaws.com/ßßßßßßßßßßßß/q",
            "data:text/plain,hello",
            "file:///etc/passwd",
        ] {
            let _ = SqsQueueUrl::parse(odd, Some(odd));
            let _ = SnsTopicArn::parse(odd);
            let _ = KinesisStreamArn::parse(odd);
            let _ = IamRoleArn::parse(odd);
            let _ = Region::parse(odd);
        }
    }
}
