//! The Chime SDK messaging streaming-configuration API over HTTP, signed with SigV4 the way the
//! AWS SDKs sign (`aws-sigv4`), on both backends: one hook store with `GET/PATCH /app`, the
//! app's ARN only, AWS's error shapes. (`tests/chime/` drives it with boto3 and the AWS CLI.)

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use hookrelay::config::ChimeOpts;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{ApiClient, TestApp};

const S1: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/chime-messaging-one";
const S2: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/chime-messaging-two";

fn arn_of(client: &ApiClient) -> String {
    ChimeOpts::default()
        .account()
        .app_instance_arn(&client.external_id)
}

/// What a Chime API call answered: status, `x-amzn-ErrorType`, body.
struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

/// A request signed with `(key, secret)` for service `chime` in `region`, at `time`.
#[allow(clippy::too_many_arguments)]
async fn signed_at(
    app: &TestApp,
    (key, secret): (&str, &str),
    region: &str,
    time: SystemTime,
    method: Method,
    arn: &str,
    body: Option<Value>,
) -> Answer {
    let path = format!(
        "/app-instances/{}/streaming-configurations",
        url::form_urlencoded::byte_serialize(arn.as_bytes()).collect::<String>()
    );
    let url = app.url(&path);
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = vec![("host", host.clone())];
    if !body.is_empty() {
        headers.push(("content-type", "application/json".into()));
    }
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(key, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("chime")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        url.as_str(),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = reqwest::Client::new().request(method, &url);
    for (name, value) in &headers {
        if *name != "host" {
            req = req.header(*name, value);
        }
    }
    for (name, value) in instructions.headers() {
        req = req.header(name, value);
    }
    let res = req.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let error_type = res
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Answer {
        status,
        error_type,
        body,
    }
}

async fn signed(
    app: &TestApp,
    client: &ApiClient,
    method: Method,
    arn: &str,
    body: Option<Value>,
) -> Answer {
    let creds = (client.api_key.as_str(), client.api_secret.as_str());
    signed_at(
        app,
        creds,
        "eu-west-3",
        SystemTime::now(),
        method,
        arn,
        body,
    )
    .await
}

/// `PutMessagingStreamingConfigurations` of `pairs` (DataType, ResourceArn).
async fn put(app: &TestApp, client: &ApiClient, arn: &str, pairs: &[(&str, &str)]) -> Answer {
    signed(app, client, Method::PUT, arn, Some(configs(pairs))).await
}

fn configs(pairs: &[(&str, &str)]) -> Value {
    json!({ "StreamingConfigurations": pairs.iter().map(|(d, r)| json!({"DataType": d, "ResourceArn": r})).collect::<Vec<_>>() })
}

async fn hooks(client: &ApiClient) -> Vec<Value> {
    let (status, body) = client.call(Method::GET, "/app", None).await;
    assert_eq!(status, 200, "{body}");
    body["app"]["event_hooks"].as_array().unwrap().clone()
}

#[tokio::test]
async fn streaming_configurations_are_the_apps_kinesis_hooks() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chime store").await;
    let arn = arn_of(&a);
    // a webhook the Chime calls must leave alone
    let (status, body) = a
        .patch_app(json!({"event_hooks": [{"hook_type": "webhook", "webhook_url": "https://example.com/h"}]}))
        .await;
    assert_eq!(status, 200, "{body}");

    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(got.status, 404, "{}", got.body);
    assert_eq!(got.error_type.as_deref(), Some("NotFoundException"));

    let answer = put(&app, &a, &arn, &[("ChannelMessage", S1)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, configs(&[("ChannelMessage", S1)]));
    // the configuration is a Kinesis hook in the Stream-compatible API
    let list = hooks(&a).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["hook_type"], "kinesis");
    assert_eq!(list[1]["kinesis_stream_arn"], S1);
    assert_eq!(list[1]["kinesis_data_types"], json!(["ChannelMessage"]));
    let kinesis_id = list[1]["id"].clone();

    // Channel to the same stream joins that hook (merge by data type)
    let answer = put(&app, &a, &arn, &[("Channel", S1)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body,
        configs(&[("ChannelMessage", S1), ("Channel", S1)])
    );
    let list = hooks(&a).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["id"], kinesis_id, "the same hook, updated");

    // a hook changed through PATCH /app is what Get reads
    let mut changed = list.clone();
    changed[1]["kinesis_data_types"] = json!(["Channel"]);
    changed.push(json!({"hook_type": "kinesis", "kinesis_stream_arn": S2, "kinesis_data_types": ["ChannelMessage"]}));
    let (status, body) = a.patch_app(json!({ "event_hooks": changed })).await;
    assert_eq!(status, 200, "{body}");
    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(
        got.body,
        configs(&[("ChannelMessage", S2), ("Channel", S1)])
    );

    // moving Channel to S2 empties the first Kinesis hook: it goes
    let answer = put(&app, &a, &arn, &[("Channel", S2)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let list = hooks(&a).await;
    let kinesis: Vec<&Value> = list
        .iter()
        .filter(|h| h["hook_type"] == "kinesis")
        .collect();
    assert_eq!(kinesis.len(), 1, "{list:?}");
    assert_eq!(kinesis[0]["kinesis_stream_arn"], S2);

    // Delete removes the Kinesis hooks, keeps the webhook, and is idempotent
    for _ in 0..2 {
        let deleted = signed(&app, &a, Method::DELETE, &arn, None).await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        assert_eq!(deleted.body, Value::Null);
    }
    let list = hooks(&a).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["hook_type"], "webhook");
    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn the_api_refuses_with_aws_error_shapes() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chime A").await;
    let b = ApiClient::new(&app, "Chime B").await;
    let arn = arn_of(&a);
    let check = |answer: &Answer, status: u16, shape: &str, code: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.error_type.as_deref(), Some(shape), "{}", answer.body);
        assert_eq!(answer.body["Code"], code, "{}", answer.body);
        assert!(answer.body["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    };
    // another app's ARN, signed by this app
    let other = signed(&app, &a, Method::GET, &arn_of(&b), None).await;
    check(&other, 403, "ForbiddenException", "Forbidden");
    let bad = [
        (
            configs(&[("Bogus", S1)]),
            "StreamingConfigurations[0].DataType",
        ),
        (
            configs(&[("Channel", S1), ("Channel", S2)]),
            "StreamingConfigurations[1].DataType",
        ),
        (
            configs(&[("Channel", "arn:aws:sqs:us-east-1:000000000000:q")]),
            "StreamingConfigurations[0].ResourceArn",
        ),
        (configs(&[]), "StreamingConfigurations"),
    ];
    for (body, field) in bad {
        let answer = signed(&app, &a, Method::PUT, &arn, Some(body)).await;
        check(&answer, 400, "BadRequestException", "BadRequest");
        assert!(
            answer.body["Message"].as_str().unwrap().starts_with(field),
            "{}",
            answer.body
        );
    }
    // nothing was stored by the refused calls
    assert!(hooks(&a).await.is_empty());
    // an unknown key, a wrong secret, a stale date
    let now = SystemTime::now();
    let stale = now - Duration::from_secs(16 * 60);
    let refused = [
        (("nosuchkey", "x"), now, "UnrecognizedClientException"),
        (
            (a.api_key.as_str(), "not-the-secret"),
            now,
            "InvalidSignatureException",
        ),
        (
            (a.api_key.as_str(), a.api_secret.as_str()),
            stale,
            "InvalidSignatureException",
        ),
    ];
    for (creds, time, shape) in refused {
        let answer = signed_at(&app, creds, "us-east-1", time, Method::GET, &arn, None).await;
        check(&answer, 403, shape, shape);
    }
    // unsigned: no Authorization at all
    let res = reqwest::get(app.url(&format!(
        "/app-instances/{}/streaming-configurations",
        url::form_urlencoded::byte_serialize(arn.as_bytes()).collect::<String>()
    )))
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn a_rotated_out_secret_signs_during_its_grace_period() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chime rotation").await;
    let arn = arn_of(&a);
    app.db
        .rotate_secret(
            hookrelay::domain::AppId(a.app_id),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(got.status, 404, "the old secret still signs: {}", got.body);
    app.db
        .rotate_secret(hookrelay::domain::AppId(a.app_id), Duration::ZERO)
        .await
        .unwrap();
    let got = signed(&app, &a, Method::GET, &arn, None).await;
    assert_eq!(got.status, 403, "{}", got.body);
    assert_eq!(got.error_type.as_deref(), Some("InvalidSignatureException"));
}
