//! Server-side verification of AWS SigV4 header authentication, as boto3, the AWS CLI and the
//! AWS SDKs sign Chime SDK Messaging requests (signing name `chime`, see the wire doc §1.4).
//!
//! Two steps, so the caller can look the secret up in between:
//! 1. [`parse`] reads `Authorization` and `X-Amz-Date` and checks everything that needs no
//!    secret (algorithm, scope, service, required signed headers, scope date);
//! 2. [`verify`] recomputes the signature with the `aws-sigv4` crate over exactly the headers the
//!    client listed in `SignedHeaders`, checks the clock skew, and compares in constant time.
//!
//! Nothing here logs. (`aws-sigv4` itself emits `trace`-level events with the canonical request,
//! sensitive headers redacted; they are off unless the filter enables `aws_sigv4=trace`.)

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};

/// The only algorithm accepted in `Authorization`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The SigV4 signing name of Chime SDK Messaging (and Identity): not `messaging-chime`.
pub const SERVICE: &str = "chime";
/// How far `X-Amz-Date` may be from the server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// Headers that must be in `SignedHeaders`.
pub const REQUIRED_SIGNED_HEADERS: [&str; 2] = ["host", "x-amz-date"];

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const TERMINATOR: &str = "aws4_request";

/// Why a request's SigV4 authentication was refused. Messages name what was wrong, never a
/// secret (the secret is not available to any of them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` or `X-Amz-Date`, or one that cannot be read.
    #[error("missing or malformed SigV4 authentication: {0}")]
    Missing(String),
    /// `X-Amz-Date` is too far from the server's clock, or disagrees with the scope date.
    #[error("the request signature has expired or its date is wrong: {0}")]
    Expired(String),
    /// The credential scope names a service other than `chime`.
    #[error("the credential should be scoped to the service 'chime', not '{0}'")]
    WrongService(String),
    /// A header that must be signed is not in `SignedHeaders`.
    #[error("the header '{0}' must be signed (listed in SignedHeaders)")]
    Unsigned(String),
    /// The recomputed signature differs (or cannot be recomputed from what was sent).
    #[error("the request signature does not match: {0}")]
    BadSignature(String),
}

/// What `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key id: which secret to look up.
    pub access_key_id: String,
    /// The scope date, `yyyymmdd`.
    pub date: String,
    /// The scope region: the client's own region, whatever it is.
    pub region: String,
    /// The scope service (the signing name); must be `chime`.
    pub service: String,
    /// The `SignedHeaders` list, lowercase, in the order sent (SigV4 requires it sorted).
    pub signed_headers: Vec<String>,
    /// The signature, 64 lowercase hex digits.
    pub signature: String,
}

impl Credential {
    fn signs(&self, header: &str) -> bool {
        self.signed_headers.iter().any(|h| h == header)
    }
}

/// Step 1: reads the `Authorization` header and `X-Amz-Date`, and checks everything that needs
/// no secret: the algorithm, the scope (`…/chime/aws4_request`), that `host` and `x-amz-date`
/// are signed, and that `X-Amz-Date` is well formed and on the scope date. The clock skew is
/// checked by [`verify`].
pub fn parse(headers: &HeaderMap) -> Result<Credential, SigV4Error> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let value = values
        .next()
        .ok_or_else(|| missing("no Authorization header"))?;
    if values.next().is_some() {
        return Err(missing("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| missing("the Authorization header is not visible ASCII"))?;
    let cred = parse_authorization(value)?;
    check_credential(&cred)?;
    amz_date(headers, &cred)?;
    Ok(cred)
}

/// Step 2, after the caller looked up the secret for `cred.access_key_id`: recomputes the
/// signature with `aws-sigv4` and compares it in constant time.
///
/// `uri` is the request target as received (raw, still percent-encoded, path and query); the
/// canonical URI is that path encoded again (`%3A` → `%253A`), the canonical query is the sorted
/// query. Only the headers listed in `SignedHeaders` are signed; `X-Amz-Date` gives the signing
/// time; `X-Amz-Security-Token` is the session token when it is signed. The payload hash is
/// `sha256(body)`; an `x-amz-content-sha256` header must equal it (unsigned payloads are
/// refused). `now` is the server's clock, for the ±15 minute skew check.
pub fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    cred: &Credential,
    secret: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    check_credential(cred)?;
    let time = amz_date(headers, cred)?;
    check_skew(time, now)?;

    let signed = signed_header_values(uri, headers, cred)?;
    let session_token = if cred.signs(X_AMZ_SECURITY_TOKEN) {
        Some(single_header(headers, X_AMZ_SECURITY_TOKEN)?.to_owned())
    } else {
        None
    };
    let (signable_body, checksum_kind) = payload(headers, body, cred)?;

    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    settings.signature_location = SignatureLocation::Headers;
    settings.payload_checksum_kind = checksum_kind;
    settings.session_token_mode = SessionTokenMode::Include;
    // Sign every header handed over: they are exactly the client's SignedHeaders (the default
    // list would silently drop a signed `user-agent`).
    settings.excluded_headers = None;

    let identity: Identity = Credentials::new(
        cred.access_key_id.as_str(),
        secret,
        session_token,
        None,
        "hookrelay-chime-sigv4",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&cred.region)
        .name(&cred.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| bad(format!("cannot set up signing: {e}")))?
        .into();
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = SignableRequest::new(
        method.as_str(),
        Cow::Borrowed(target),
        signed.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        signable_body,
    )
    .map_err(|e| bad(format!("cannot build the canonical request: {e}")))?;
    let output =
        sign(request, &params).map_err(|e| bad(format!("cannot sign the request: {e}")))?;

    // aws-sigv4 adds host, x-amz-date, x-amz-security-token and x-amz-content-sha256 itself:
    // make sure the header list it signed is exactly the client's.
    let expected_list = cred.signed_headers.join(";");
    let computed_list = output
        .output()
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| signed_headers_of(value));
    if computed_list != Some(expected_list.as_str()) {
        return Err(bad(format!(
            "the signed header list '{expected_list}' could not be reproduced (it must be \
             lowercase, sorted and without duplicates)"
        )));
    }
    if !constant_time_eq(output.signature().as_bytes(), cred.signature.as_bytes()) {
        return Err(bad("the signature computed for this request differs"));
    }
    Ok(())
}

fn missing(msg: impl Into<String>) -> SigV4Error {
    SigV4Error::Missing(msg.into())
}

fn bad(msg: impl Into<String>) -> SigV4Error {
    SigV4Error::BadSignature(msg.into())
}

/// `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
/// SignedHeaders=a;b;c, Signature=hex`.
fn parse_authorization(value: &str) -> Result<Credential, SigV4Error> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with([' ', '\t']))
        .ok_or_else(|| missing(format!("the Authorization scheme must be {ALGORITHM}")))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| missing("the Authorization header has a part without '='"))?;
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(missing("the Authorization header has an unknown part")),
        };
        if slot.replace(val.trim()).is_some() {
            return Err(missing("the Authorization header repeats a part"));
        }
    }
    let credential = credential.ok_or_else(|| missing("no Credential in Authorization"))?;
    let signed_headers =
        signed_headers.ok_or_else(|| missing("no SignedHeaders in Authorization"))?;
    let signature = signature.ok_or_else(|| missing("no Signature in Authorization"))?;

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(missing(
            "Credential must be <key id>/<yyyymmdd>/<region>/<service>/aws4_request",
        ));
    };
    if access_key_id.is_empty() || access_key_id.chars().any(|c| c.is_whitespace()) {
        return Err(missing(
            "the Credential's access key id is empty or has spaces",
        ));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(missing("the Credential's date must be yyyymmdd"));
    }
    let region_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !region_ok(region) {
        return Err(missing("the Credential's region is not a region name"));
    }
    if !region_ok(service) {
        return Err(missing("the Credential's service is not a service name"));
    }
    if terminator != TERMINATOR {
        return Err(missing("the Credential must end with /aws4_request"));
    }
    let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    let header_ok = |h: &String| {
        !h.is_empty()
            && axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok_and(|n| n.as_str() == h)
    };
    if !signed_headers.iter().all(header_ok) {
        return Err(missing("SignedHeaders must list lowercase header names"));
    }
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(missing("Signature must be 64 lowercase hex digits"));
    }
    Ok(Credential {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// The rules on a credential that need neither the secret nor the clock.
fn check_credential(cred: &Credential) -> Result<(), SigV4Error> {
    if cred.service != SERVICE {
        return Err(SigV4Error::WrongService(cred.service.clone()));
    }
    for required in REQUIRED_SIGNED_HEADERS {
        if !cred.signs(required) {
            return Err(SigV4Error::Unsigned(required.to_owned()));
        }
    }
    Ok(())
}

/// `X-Amz-Date` (`yyyymmddTHHMMSSZ`, UTC), which must fall on the scope date.
fn amz_date(headers: &HeaderMap, cred: &Credential) -> Result<SystemTime, SigV4Error> {
    let mut values = headers.get_all(X_AMZ_DATE).iter();
    let value = values
        .next()
        .ok_or_else(|| missing("no X-Amz-Date header"))?;
    if values.next().is_some() {
        return Err(missing("more than one X-Amz-Date header"));
    }
    let value = value
        .to_str()
        .map_err(|_| missing("X-Amz-Date is not visible ASCII"))?;
    let well_formed = value.len() == 16
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = well_formed
        .then(|| time::PrimitiveDateTime::parse(value, format).ok())
        .flatten()
        .ok_or_else(|| missing("X-Amz-Date must be yyyymmddTHHMMSSZ"))?;
    if value.get(..8) != Some(cred.date.as_str()) {
        return Err(SigV4Error::Expired(format!(
            "X-Amz-Date {value} is not on the credential scope date {}",
            cred.date
        )));
    }
    Ok(SystemTime::from(parsed.assume_utc()))
}

fn check_skew(time: SystemTime, now: SystemTime) -> Result<(), SigV4Error> {
    let (skew, ahead) = match now.duration_since(time) {
        Ok(behind) => (behind, false),
        Err(e) => (e.duration(), true),
    };
    if skew > MAX_SKEW {
        let which = if ahead { "ahead of" } else { "behind" };
        return Err(SigV4Error::Expired(format!(
            "X-Amz-Date is {}s {which} the server's clock (at most {}s allowed)",
            skew.as_secs(),
            MAX_SKEW.as_secs()
        )));
    }
    Ok(())
}

/// The one value of a header that must occur once, as text.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, SigV4Error> {
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .ok_or_else(|| bad(format!("the signed header '{name}' is not in the request")))?;
    if values.next().is_some() {
        return Err(bad(format!("the header '{name}' occurs more than once")));
    }
    value
        .to_str()
        .map_err(|_| bad(format!("the header '{name}' is not visible ASCII")))
}

/// The (name, value) pairs of the signed headers, except the ones aws-sigv4 adds itself
/// (`x-amz-date` from the signing time, `x-amz-security-token` from the identity,
/// `x-amz-content-sha256` from the payload hash). A header that occurs several times gives
/// several pairs (signed as one comma-joined value). Without a `Host` header (HTTP/2), the
/// request's authority stands in for it.
fn signed_header_values(
    uri: &Uri,
    headers: &HeaderMap,
    cred: &Credential,
) -> Result<Vec<(String, String)>, SigV4Error> {
    let mut out = Vec::with_capacity(cred.signed_headers.len());
    for name in &cred.signed_headers {
        let name = name.as_str();
        if matches!(
            name,
            X_AMZ_DATE | X_AMZ_SECURITY_TOKEN | X_AMZ_CONTENT_SHA256
        ) {
            continue;
        }
        let before = out.len();
        for value in headers.get_all(name) {
            let value = value
                .to_str()
                .map_err(|_| bad(format!("the signed header '{name}' is not visible ASCII")))?;
            out.push((name.to_owned(), value.to_owned()));
        }
        if out.len() == before {
            match uri.authority() {
                Some(authority) if name == "host" => {
                    out.push((name.to_owned(), authority.as_str().to_owned()));
                }
                _ => {
                    return Err(bad(format!(
                        "the signed header '{name}' is not in the request"
                    )))
                }
            }
        }
    }
    Ok(out)
}

/// The payload to sign and whether `x-amz-content-sha256` is one of the signed headers.
fn payload<'b>(
    headers: &HeaderMap,
    body: &'b [u8],
    cred: &Credential,
) -> Result<(SignableBody<'b>, PayloadChecksumKind), SigV4Error> {
    let kind = if cred.signs(X_AMZ_CONTENT_SHA256) {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    if headers.get(X_AMZ_CONTENT_SHA256).is_none() {
        if kind == PayloadChecksumKind::XAmzSha256 {
            return Err(bad(
                "the signed header 'x-amz-content-sha256' is not in the request",
            ));
        }
        return Ok((SignableBody::Bytes(body), kind));
    }
    let claimed = single_header(headers, X_AMZ_CONTENT_SHA256)?;
    let actual = hex::encode(Sha256::digest(body));
    if claimed != actual {
        return Err(bad(
            "x-amz-content-sha256 is not the SHA-256 of the body (unsigned payloads are refused)",
        ));
    }
    Ok((SignableBody::Precomputed(actual), kind))
}

/// The `SignedHeaders=` value of an `Authorization` header built by aws-sigv4.
fn signed_headers_of(authorization: &str) -> Option<&str> {
    authorization
        .split(',')
        .find_map(|part| part.trim().strip_prefix("SignedHeaders="))
}

/// Compares without an early exit (the lengths are public: 64 hex digits).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    //! The vectors below were produced by the real client, botocore 1.43.11. Regenerate with:
    //!
    //! ```python
    //! import datetime
    //! from unittest import mock
    //! from botocore.auth import SigV4Auth
    //! from botocore.awsrequest import AWSRequest
    //! from botocore.credentials import Credentials
    //!
    //! URL = ("http://127.0.0.1:3000/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A123456789012"
    //!        "%3Aapp-instance%2Fabc/streaming-configurations")
    //! BODY = (b'{"StreamingConfigurations":[{"DataType":"ChannelMessage",'
    //!         b'"ResourceArn":"arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-x"}]}')
    //! FIXED = datetime.datetime(2026, 12, 1, 8, 56, 27)
    //!
    //! def sign(method, body, headers, token=None):
    //!     req = AWSRequest(method=method, url=URL, data=body, headers=headers)
    //!     with mock.patch("botocore.auth.get_current_datetime", return_value=FIXED):
    //!         SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
    //!                   "chime", "us-west-2").add_auth(req)
    //!     p = req.prepare()
    //!     print(method, p.url)
    //!     for k, v in p.headers.items():
    //!         print(f"  {k}: {v}")
    //!
    //! sign("PUT", BODY, {"Content-Type": "application/json"})                 # PUT_AUTH
    //! sign("GET", None, {})                                                    # GET_AUTH
    //! sign("GET", None, {}, token="FwoGZXIvYXdzEXAMPLETOKEN//session+token=")  # TOKEN_AUTH
    //! # a generic signer that also signs User-Agent (botocore's blacklist emptied)
    //! with mock.patch("botocore.auth.SIGNED_HEADERS_BLACKLIST", []):
    //!     sign("GET", None, {"User-Agent": "custom-signer/1.0"})              # UA_AUTH
    //! URL = URL + "?max-results=10&next-token=a%2Fb%3D"
    //! sign("GET", None, {})                                                    # QUERY_AUTH
    //! ```
    //! (The HTTP client adds `Host: 127.0.0.1:3000`, which botocore signed.)

    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const HOST: &str = "127.0.0.1:3000";
    const PATH: &str = "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fabc/streaming-configurations";
    const BODY: &[u8] = br#"{"StreamingConfigurations":[{"DataType":"ChannelMessage","ResourceArn":"arn:aws:kinesis:us-east-1:123456789012:stream/chime-messaging-x"}]}"#;
    const AMZ_DATE: &str = "20261201T085627Z";
    const TOKEN: &str = "FwoGZXIvYXdzEXAMPLETOKEN//session+token=";
    const PUT_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=f5a9cc1c0c660c85d66ebe9a16663eafda23f97ee13c75a19a46cf884ff21b6d";
    const GET_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=62d609cfcadd923aec9502acec4cd767bc421b0d6f1c621930b00375569e04d0";
    const TOKEN_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=93faca1b00c47c04d0ccfebad1d674ede04282b873bcd5a57de358e04c3c00f2";
    const UA_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, SignedHeaders=host;user-agent;x-amz-date, Signature=22391a9e0e2a12510ec740379cf82b34a2a2c8c45cf448ff335e5bd462a98aea";
    const QUERY_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=6235e1f7187f0592bb03ca7545856cbff812de379a70dc526be6836f46d07b6a";

    /// 2026-12-01T08:56:27Z, the signing time of the vectors.
    fn signed_at() -> SystemTime {
        SystemTime::from(time::macros::datetime!(2026-12-01 08:56:27 UTC))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn put_headers() -> HeaderMap {
        headers(&[
            ("host", HOST),
            ("content-type", "application/json"),
            ("x-amz-date", AMZ_DATE),
            ("authorization", PUT_AUTH),
            ("content-length", "139"),
        ])
    }

    fn get_headers(auth: &str) -> HeaderMap {
        headers(&[
            ("host", HOST),
            ("x-amz-date", AMZ_DATE),
            ("authorization", auth),
        ])
    }

    fn uri(target: &str) -> Uri {
        target.parse().unwrap()
    }

    /// parse + verify, as a handler does them.
    fn check(
        method: Method,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        secret: &str,
        now: SystemTime,
    ) -> Result<Credential, SigV4Error> {
        let cred = parse(headers)?;
        verify(&method, &uri(target), headers, body, &cred, secret, now)?;
        Ok(cred)
    }

    #[test]
    fn accepts_the_botocore_put() {
        let cred = check(Method::PUT, PATH, &put_headers(), BODY, SECRET, signed_at()).unwrap();
        assert_eq!(
            cred,
            Credential {
                access_key_id: KEY.into(),
                date: "20261201".into(),
                region: "us-west-2".into(),
                service: "chime".into(),
                signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
                signature: "f5a9cc1c0c660c85d66ebe9a16663eafda23f97ee13c75a19a46cf884ff21b6d"
                    .into(),
            }
        );
    }

    #[test]
    fn accepts_the_botocore_get_signing_only_host_and_date() {
        check(
            Method::GET,
            PATH,
            &get_headers(GET_AUTH),
            b"",
            SECRET,
            signed_at(),
        )
        .unwrap();
    }

    #[test]
    fn accepts_the_botocore_get_with_a_session_token() {
        let mut h = get_headers(TOKEN_AUTH);
        h.insert("x-amz-security-token", HeaderValue::from_static(TOKEN));
        check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap();
        // the token is signed: another one fails, and so does none
        h.insert("x-amz-security-token", HeaderValue::from_static("other"));
        let err = check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        h.remove("x-amz-security-token");
        let err = check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn an_unsigned_session_token_is_not_signed_by_the_server_either() {
        // GET_AUTH did not sign a token: one present anyway must not be added to the signature
        let mut h = get_headers(GET_AUTH);
        h.insert("x-amz-security-token", HeaderValue::from_static(TOKEN));
        check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap();
    }

    #[test]
    fn accepts_a_signed_user_agent() {
        let mut h = get_headers(UA_AUTH);
        h.insert("user-agent", HeaderValue::from_static("custom-signer/1.0"));
        check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap();
        h.insert(
            "user-agent",
            HeaderValue::from_static("proxy-rewrote-it/2.0"),
        );
        let err = check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn accepts_a_signed_query() {
        let target = format!("{PATH}?max-results=10&next-token=a%2Fb%3D");
        let h = get_headers(QUERY_AUTH);
        check(Method::GET, &target, &h, b"", SECRET, signed_at()).unwrap();
        let tampered = format!("{PATH}?max-results=11&next-token=a%2Fb%3D");
        let err = check(Method::GET, &tampered, &h, b"", SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn extra_unsigned_headers_do_not_break_verification() {
        let mut h = put_headers();
        for (name, value) in [
            (
                "user-agent",
                "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux",
            ),
            ("accept-encoding", "identity"),
            ("x-amzn-trace-id", "Root=1-abc"),
            ("amz-sdk-invocation-id", "0f2a"),
            ("amz-sdk-request", "attempt=1"),
            ("x-forwarded-for", "10.0.0.1"),
        ] {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        // the unsigned content hash is checked against the body, and then harmless
        let hash = hex::encode(Sha256::digest(BODY));
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_str(&hash).unwrap(),
        );
        check(Method::PUT, PATH, &h, BODY, SECRET, signed_at()).unwrap();
    }

    #[test]
    fn http2_without_a_host_header_uses_the_authority() {
        let mut h = get_headers(GET_AUTH);
        h.remove("host");
        let absolute = format!("http://{HOST}{PATH}");
        check(Method::GET, &absolute, &h, b"", SECRET, signed_at()).unwrap();
        let err = check(Method::GET, PATH, &h, b"", SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn accepts_up_to_fifteen_minutes_of_skew() {
        let h = get_headers(GET_AUTH);
        for now in [
            signed_at() + Duration::from_secs(15 * 60),
            signed_at() - Duration::from_secs(15 * 60),
        ] {
            check(Method::GET, PATH, &h, b"", SECRET, now).unwrap();
        }
    }

    #[test]
    fn a_tampered_body_is_a_bad_signature() {
        let mut body = BODY.to_vec();
        body[40] = b'X';
        let err = check(
            Method::PUT,
            PATH,
            &put_headers(),
            &body,
            SECRET,
            signed_at(),
        )
        .unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn a_content_hash_that_is_not_the_bodys_is_refused() {
        let mut h = put_headers();
        let hash = hex::encode(Sha256::digest(b"another body"));
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_str(&hash).unwrap(),
        );
        let err = check(Method::PUT, PATH, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let err = check(Method::PUT, PATH, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn a_tampered_path_method_or_signed_header_is_a_bad_signature() {
        let h = put_headers();
        let other = PATH.replace("%2Fabc", "%2Fabd");
        let err = check(Method::PUT, &other, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        // single encoding of the path is not what the client signed
        let decoded = PATH.replace("%3A", ":");
        let err = check(Method::PUT, &decoded, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        let err = check(Method::POST, PATH, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        let mut h2 = h.clone();
        h2.insert("content-type", HeaderValue::from_static("text/plain"));
        let err = check(Method::PUT, PATH, &h2, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        let mut h3 = h.clone();
        h3.insert("host", HeaderValue::from_static("evil.example:3000"));
        let err = check(Method::PUT, PATH, &h3, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn a_signed_header_missing_from_the_request_is_a_bad_signature() {
        let mut h = put_headers();
        h.remove("content-type");
        let err = check(Method::PUT, PATH, &h, BODY, SECRET, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn a_wrong_secret_is_a_bad_signature_and_the_message_hides_secrets() {
        let wrong = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
        let err = check(Method::PUT, PATH, &put_headers(), BODY, wrong, signed_at()).unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    }

    #[test]
    fn a_date_sixteen_minutes_off_has_expired() {
        let h = get_headers(GET_AUTH);
        for now in [
            signed_at() + Duration::from_secs(16 * 60),
            signed_at() - Duration::from_secs(16 * 60),
        ] {
            let err = check(Method::GET, PATH, &h, b"", SECRET, now).unwrap_err();
            assert!(matches!(err, SigV4Error::Expired(_)), "{err}");
        }
    }

    #[test]
    fn a_date_off_the_scope_date_has_expired() {
        let auth = GET_AUTH.replace("/20261201/", "/20261202/");
        let err = parse(&get_headers(&auth)).unwrap_err();
        assert!(matches!(err, SigV4Error::Expired(_)), "{err}");
    }

    #[test]
    fn the_service_must_be_chime() {
        let auth = GET_AUTH.replace("/chime/", "/sqs/");
        let err = parse(&get_headers(&auth)).unwrap_err();
        assert_eq!(err, SigV4Error::WrongService("sqs".into()));
        // verify checks it too, for a hand-made credential
        let mut cred = parse(&get_headers(GET_AUTH)).unwrap();
        cred.service = "messaging-chime".into();
        let err = verify(
            &Method::GET,
            &uri(PATH),
            &get_headers(GET_AUTH),
            b"",
            &cred,
            SECRET,
            signed_at(),
        )
        .unwrap_err();
        assert_eq!(err, SigV4Error::WrongService("messaging-chime".into()));
    }

    #[test]
    fn host_and_date_must_be_signed() {
        let auth = PUT_AUTH.replace("content-type;host;x-amz-date", "content-type;x-amz-date");
        let err = parse(&get_headers(&auth)).unwrap_err();
        assert_eq!(err, SigV4Error::Unsigned("host".into()));
        let auth = GET_AUTH.replace("host;x-amz-date", "host");
        let err = parse(&get_headers(&auth)).unwrap_err();
        assert_eq!(err, SigV4Error::Unsigned("x-amz-date".into()));
        let mut cred = parse(&get_headers(GET_AUTH)).unwrap();
        cred.signed_headers.retain(|h| h != "host");
        let h = get_headers(GET_AUTH);
        let err = verify(
            &Method::GET,
            &uri(PATH),
            &h,
            b"",
            &cred,
            SECRET,
            signed_at(),
        )
        .unwrap_err();
        assert_eq!(err, SigV4Error::Unsigned("host".into()));
    }

    #[test]
    fn an_unsorted_signed_header_list_is_refused() {
        let auth = GET_AUTH.replace("host;x-amz-date", "x-amz-date;host");
        let err = check(
            Method::GET,
            PATH,
            &get_headers(&auth),
            b"",
            SECRET,
            signed_at(),
        )
        .unwrap_err();
        assert!(matches!(err, SigV4Error::BadSignature(_)), "{err}");
    }

    #[test]
    fn garbage_authorization_is_missing() {
        let sig = "62d609cfcadd923aec9502acec4cd767bc421b0d6f1c621930b00375569e04d0";
        let cases = [
            "garbage".to_owned(),
            "Bearer abc.def.ghi".to_owned(),
            "AWS4-HMAC-SHA256".to_owned(),
            "AWS4-HMAC-SHA256garbage".to_owned(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request".to_owned(),
            GET_AUTH.replace(sig, "zz"),
            GET_AUTH.replace(sig, &sig.to_uppercase()),
            GET_AUTH.replace("/aws4_request", ""),
            GET_AUTH.replace("/aws4_request", "/aws4_request/x"),
            GET_AUTH.replace("20261201/", "2026-12-01/"),
            GET_AUTH.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=Host;X-Amz-Date"),
            GET_AUTH.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host;;x-amz-date"),
            format!("{GET_AUTH}, Signature={sig}"),
            format!("{GET_AUTH}, Foo=bar"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-west-2/chime/aws4_request, Signature=x".to_owned(),
        ];
        for auth in &cases {
            let err = parse(&get_headers(auth)).unwrap_err();
            assert!(matches!(err, SigV4Error::Missing(_)), "{auth}: {err}");
        }
        let err = parse(&headers(&[("host", HOST), ("x-amz-date", AMZ_DATE)])).unwrap_err();
        assert!(matches!(err, SigV4Error::Missing(_)), "{err}");
        let mut two = get_headers(GET_AUTH);
        two.append("authorization", HeaderValue::from_static(GET_AUTH));
        assert!(matches!(parse(&two), Err(SigV4Error::Missing(_))));
    }

    #[test]
    fn a_missing_or_malformed_amz_date_is_missing() {
        let mut h = get_headers(GET_AUTH);
        h.remove("x-amz-date");
        assert!(matches!(parse(&h), Err(SigV4Error::Missing(_))));
        for bad_date in [
            "20261201T085627",
            "2026-12-01T08:56:27Z",
            "20261301T085627Z",
            "20261201T256027Z",
        ] {
            h.insert("x-amz-date", HeaderValue::from_static(bad_date));
            assert!(
                matches!(parse(&h), Err(SigV4Error::Missing(_))),
                "{bad_date}"
            );
        }
    }

    #[test]
    fn constant_time_eq_compares_everything() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abcd", b"xbcd"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
    }
}
