//! `POST /check_*` against the AWS emulator and an in-test webhook receiver.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::json;

use crate::support::{aws_config, aws_endpoint, create_queue, ApiClient, TestApp};

async fn check(a: &ApiClient, path: &str, body: serde_json::Value) -> serde_json::Value {
    let started = std::time::Instant::now();
    let (status, body) = a.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        started.elapsed().as_millis() < 3000,
        "checks answer within the JS SDK's 3 s"
    );
    assert!(body["duration"].is_string());
    body
}

#[tokio::test]
async fn check_sqs_sends_a_real_test_message_and_reports_hints() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("check").await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_key": "test", "sqs_secret": "test"}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");
    assert!(body.get("error").is_none());
    let hints = body["report"]["hints"].to_string();
    assert!(
        hints.contains("dead-letter queue"),
        "no redrive policy → DLQ hint: {hints}"
    );

    let sqs = aws_sdk_sqs::Client::new(&aws_config().await);
    let got = sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = got.messages();
    assert_eq!(messages.len(), 1);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(messages[0].body().unwrap())
        .unwrap();
    let event: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(event["type"], "hookrelay.test");
}

#[tokio::test]
async fn check_sqs_words_each_failure() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let body = check(&a, "/check_sqs", json!({"sqs_url": "https://foobar.com/123456789012/MyQueue", "sqs_key": "k", "sqs_secret": "s"})).await;
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["error"],
        "invalid SQS url https://foobar.com/123456789012/MyQueue"
    );
    assert!(
        body["data"].is_object(),
        "data is an object on error: {body}"
    );

    let missing = format!(
        "{}/000000000000/no-such-queue-{}",
        aws_endpoint(),
        uuid::Uuid::new_v4().simple()
    );
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": missing, "sqs_key": "test", "sqs_secret": "test"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"].as_str().unwrap().contains("does not exist"),
        "{body}"
    );

    let queue = create_queue("badkey").await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_key": "AKIAUNKNOWN000000000", "sqs_secret": "x"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("access key is not valid"),
        "{body}"
    );

    // nothing given and nothing stored
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": null, "sqs_key": null, "sqs_secret": null}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(body["error"].as_str().unwrap().contains("sqs_url"));

    // an unreachable endpoint is an error in words, within the budget
    let body = check(&a, "/check_sqs", json!({"sqs_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "sqs_key": "k", "sqs_secret": "s"})).await;
    assert_eq!(body["status"], "error", "{body}");
}

#[tokio::test]
async fn check_sqs_without_arguments_uses_the_stored_legacy_settings() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("stored").await;
    let (status, _) = a
        .patch_app(json!({"sqs_url": queue, "sqs_key": "test", "sqs_secret": "test"}))
        .await;
    assert_eq!(status, 200);
    for empty in [
        json!({}),
        json!({"sqs_url": "", "sqs_key": "", "sqs_secret": ""}),
    ] {
        let body = check(&a, "/check_sqs", empty).await;
        assert_eq!(body["status"], "ok", "{body}");
    }
}

#[tokio::test]
async fn check_sns_publishes_or_says_publishing_failed() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let sns = aws_sdk_sns::Client::new(&aws_config().await);
    let topic = sns
        .create_topic()
        .name(format!("check-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let body = check(
        &a,
        "/check_sns",
        json!({"sns_topic_arn": topic, "sns_key": "test", "sns_secret": "test"}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");

    let body = check(
        &a,
        "/check_sns",
        json!({"sns_topic_arn": topic, "sns_key": "AKIAUNKNOWN000000000", "sns_secret": "x"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("publishing the message failed."),
        "{body}"
    );

    let body = check(
        &a,
        "/check_sns",
        json!({"sns_topic_arn": "arn:aws:sns:us-east-1:nope"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid SNS topic arn"),
        "{body}"
    );
}

#[tokio::test]
async fn check_kinesis_describes_and_puts_a_record() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let (_, arn) = crate::support::create_stream("check").await;
    let body = check(
        &a,
        "/check_kinesis",
        json!({"kinesis_stream_arn": arn, "kinesis_key": "test", "kinesis_secret": "test"}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");
    let hints = body["report"]["hints"].to_string();
    assert!(hints.contains("fewer than 2 shards"), "{hints}");
}

type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// An in-test webhook target answering `status` after `delay`, recording what it receives.
async fn receiver_after(status: u16, delay: std::time::Duration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push((headers, body.to_vec()));
                tokio::time::sleep(delay).await;
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn receiver(status: u16) -> (String, Seen) {
    receiver_after(status, std::time::Duration::ZERO).await
}

#[tokio::test]
async fn check_webhook_posts_a_signed_event_and_reports_the_status() {
    use hmac::Mac;
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let (url, seen) = receiver(200).await;
    let body = check(&a, "/check_webhook", json!({"webhook_url": url})).await;
    assert_eq!(body["status"], "ok", "{body}");
    let (headers, payload) = seen.lock().unwrap()[0].clone();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(a.api_secret.as_bytes()).unwrap();
    mac.update(&payload);
    assert_eq!(
        headers["x-signature"].to_str().unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    assert_eq!(headers["x-api-key"].to_str().unwrap(), a.api_key);
    assert_eq!(headers["x-webhook-attempt"].to_str().unwrap(), "1");
    assert_eq!(headers["x-webhook-id"].to_str().unwrap().len(), 36);

    let (url, _) = receiver(500).await;
    let body = check(&a, "/check_webhook", json!({"webhook_url": url})).await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"].as_str().unwrap().contains("HTTP 500"),
        "{body}"
    );

    let body = check(
        &a,
        "/check_webhook",
        json!({"webhook_url": "http://127.0.0.1:9/closed"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        body["error"].as_str().unwrap().contains("cannot connect"),
        "{body}"
    );
}

fn text(body: &serde_json::Value, key: &str) -> String {
    body[key].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn iam_users_wrong_secrets_and_missing_permissions_are_named() {
    use crate::support::iam_user;
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("iam").await;

    let (key, secret) = iam_user(&["sqs:*"]).await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_key": key, "sqs_secret": secret}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");

    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_key": key, "sqs_secret": "not-the-secret"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        text(&body, "error").contains("secret does not match"),
        "{body}"
    );

    // may read the queue, may not send: the error names the permission, the hint shows the policy
    let (key, secret) = iam_user(&["sqs:GetQueueAttributes"]).await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_key": key, "sqs_secret": secret}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(text(&body, "error").contains("sqs:SendMessage"), "{body}");
    let hints = body["data"]["hints"].to_string();
    assert!(
        hints.contains("\\\"Action\\\":\\\"sqs:SendMessage\\\""),
        "{hints}"
    );
    let steps: Vec<_> = body["data"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].clone(), s["ok"].clone()))
        .collect();
    assert_eq!(
        steps.last().unwrap(),
        &(json!("send a test message"), json!(false))
    );

    // SNS: the same user cannot publish
    let sns = aws_sdk_sns::Client::new(&aws_config().await);
    let topic = sns
        .create_topic()
        .name(format!("iam-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let body = check(
        &a,
        "/check_sns",
        json!({"sns_topic_arn": topic, "sns_key": key, "sns_secret": secret}),
    )
    .await;
    assert_eq!(body["status"], "error");
    let error = text(&body, "error");
    assert!(
        error.starts_with("publishing the message failed.") && error.contains("sns:Publish"),
        "{error}"
    );
}

#[tokio::test]
async fn queue_settings_give_hints_fifo_size_and_dead_letter_queue() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let sqs = aws_sdk_sqs::Client::new(&aws_config().await);
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq = create_queue("dlq").await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap();
    let dlq_arn = dlq_arn.attributes().unwrap()[&A::QueueArn].clone();
    let name = format!("fifo-{}.fifo", uuid::Uuid::new_v4().simple());
    let fifo = sqs
        .create_queue()
        .queue_name(name)
        .attributes(A::FifoQueue, "true")
        .attributes(A::MaximumMessageSize, "1024")
        .attributes(
            A::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": fifo, "sqs_key": "test", "sqs_secret": "test"}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");
    let hints = body["report"]["hints"].to_string();
    assert!(hints.contains("FIFO"), "{hints}");
    assert!(
        hints.contains("256 KB"),
        "1 KB maximum size → hint: {hints}"
    );
    assert!(
        !hints.contains("dead-letter"),
        "a redrive policy is set: {hints}"
    );
    // the FIFO test message went through (group and deduplication ids were set)
    let got = sqs
        .receive_message()
        .queue_url(&fifo)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
}

#[tokio::test]
async fn a_region_other_than_the_urls_is_refused_before_any_call() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "sqs_region": "eu-west-1", "sqs_key": "k", "sqs_secret": "s"}),
    )
    .await;
    assert_eq!(body["status"], "error");
    assert!(
        text(&body, "error").contains("eu-west-1") && text(&body, "error").contains("us-east-1"),
        "{body}"
    );
    let body = check(
        &a,
        "/check_sns",
        json!({"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:t", "sns_region": "eu-west-1", "sns_key": "k", "sns_secret": "s"}),
    )
    .await;
    assert!(text(&body, "error").contains("differs"), "{body}");
}

#[tokio::test]
async fn role_auth_assumes_the_role_with_the_apps_random_external_id() {
    use crate::support::iam_role;
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("role").await;
    // random per app: not the sequential id another tenant could guess
    assert_eq!(a.external_id.len(), 32, "{}", a.external_id);
    assert_ne!(a.external_id, a.app_id.to_string());
    let role = iam_role(&a.external_id, &["sqs:*"]).await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_auth_type": "role", "sqs_role_arn": role}),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");
    let steps = body["report"]["steps"].to_string();
    assert!(
        steps.contains(&format!("external id {}", a.external_id)),
        "{steps}"
    );

    // a role that trusts another external id cannot be assumed, and the error says so
    let other = iam_role("someone-else", &["sqs:*"]).await;
    let body = check(
        &a,
        "/check_sqs",
        json!({"sqs_url": queue, "sqs_auth_type": "role", "sqs_role_arn": other}),
    )
    .await;
    assert_eq!(body["status"], "error");
    let error = text(&body, "error");
    assert!(
        error.contains("cannot assume the role")
            && error.contains(&format!("external id {}", a.external_id)),
        "{error}"
    );
}

#[tokio::test]
async fn a_slow_webhook_is_a_timeout_within_the_budget() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let (url, seen) = receiver_after(200, std::time::Duration::from_secs(5)).await;
    let body = check(&a, "/check_webhook", json!({"webhook_url": url})).await;
    assert_eq!(body["status"], "error");
    assert!(text(&body, "error").contains("timeout"), "{body}");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the request did reach the receiver"
    );

    let body = check(
        &a,
        "/check_webhook",
        json!({"webhook_url": "ftp://example.com/x"}),
    )
    .await;
    assert!(
        text(&body, "error").contains("invalid webhook url"),
        "{body}"
    );
}
