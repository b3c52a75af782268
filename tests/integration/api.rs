//! The Stream-compatible REST API over HTTP: auth, errors, GET/PATCH /app semantics.

use reqwest::Method;
use serde_json::json;

use crate::support::{create_queue, server_token, ApiClient, TestApp};

fn assert_stream_error(status: u16, body: &serde_json::Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert_eq!(body["StatusCode"], want_status, "{body}");
    for key in ["message", "duration", "more_info", "details"] {
        assert!(body.get(key).is_some(), "{key} missing in {body}");
    }
}

#[tokio::test]
async fn authentication_follows_the_sdks() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "A").await;
    let b = ApiClient::new(&app, "B").await;
    let http = reqwest::Client::new();
    let url = |key: &str| format!("{}/app?api_key={key}", a.base);
    let send = |req: reqwest::RequestBuilder| async move {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (
            status,
            headers,
            res.json::<serde_json::Value>().await.unwrap(),
        )
    };

    // no key, unknown key: code 2
    let (s, h, body) = send(http.get(format!("{}/app", a.base))).await;
    assert_stream_error(s, &body, 401, 2);
    assert!(
        h.contains_key("x-ratelimit-limit"),
        "rate-limit headers on errors too"
    );
    let (s, _, body) = send(
        http.get(url("nope"))
            .header("Authorization", server_token(&a.api_secret))
            .header("stream-auth-type", "jwt"),
    )
    .await;
    assert_stream_error(s, &body, 401, 2);

    // missing header, missing token, another app's secret: code 5
    let (s, _, body) = send(
        http.get(url(&a.api_key))
            .header("Authorization", server_token(&a.api_secret)),
    )
    .await;
    assert_stream_error(s, &body, 401, 5);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("stream-auth-type"),
        "{body}"
    );
    let (s, _, body) = send(http.get(url(&a.api_key)).header("stream-auth-type", "jwt")).await;
    assert_stream_error(s, &body, 401, 5);
    let (s, _, body) = send(
        http.get(url(&a.api_key))
            .header("Authorization", server_token(&b.api_secret))
            .header("stream-auth-type", "jwt"),
    )
    .await;
    assert_stream_error(s, &body, 401, 5);

    // the right token: 200 with lowercase rate-limit headers
    let (s, h, body) = send(a.request(Method::GET, "/app")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["app"]["name"], "A");
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(h.get(name).is_some(), "{name} missing");
    }
    let remaining: u32 = h["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, h2, _) = send(a.request(Method::GET, "/app")).await;
    let remaining2: u32 = h2["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // the budget refills continuously (6,000 a minute: one every 10 ms), so a slow machine
    // may get one back between the two calls; security.rs counts a small budget exactly
    assert!(
        remaining2 <= remaining,
        "each request uses the app's budget: {remaining2} after {remaining}"
    );
}

#[tokio::test]
async fn get_app_has_the_fields_the_sdks_read() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let (status, body) = a.call(Method::GET, "//app", None).await;
    assert_eq!(
        status, 200,
        "a double slash (SDK base URL ending in /) is tolerated"
    );
    assert!(body["duration"].as_str().unwrap().ends_with("ms"));
    let settings = &body["app"];
    assert_eq!(settings["event_hooks"], json!([]), "always an array");
    for key in [
        "webhook_url",
        "webhook_events",
        "sqs_url",
        "sqs_key",
        "sqs_secret",
        "sns_topic_arn",
        "sns_key",
        "sns_secret",
        "use_hook_v2",
        "channel_configs",
        "policies",
    ] {
        assert!(settings.get(key).is_some(), "{key} missing");
    }
    assert!(settings["revoke_tokens_issued_before"].is_null());
}

fn all_hooks(queue_url: &str) -> serde_json::Value {
    json!([
        {"hook_type": "webhook", "webhook_url": "https://example.com/hook", "event_types": ["message.new"]},
        {"hook_type": "sqs", "enabled": true, "sqs_queue_url": queue_url, "sqs_region": "us-east-1",
         "sqs_auth_type": "keys", "sqs_key": "AKIAEXAMPLEKEY123", "sqs_secret": "sqs-secret-value-1234", "event_types": []},
        {"hook_type": "sns", "sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:events",
         "sns_key": "AKIASNSKEY", "sns_secret": "sns-secret-value-9876"},
        {"hook_type": "kinesis", "kinesis_stream_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/chat",
         "kinesis_auth_type": "role", "kinesis_role_arn": "arn:aws:iam::123456789012:role/hookrelay",
         "kinesis_data_types": ["ChannelMessage"]},
        {"hook_type": "pending_message", "webhook_url": "https://example.com/pending", "timeout_ms": 10000,
         "callback": {"mode": "CALLBACK_MODE_REST"}}
    ])
}

#[tokio::test]
async fn event_hooks_are_stored_typed_with_secrets_masked_and_sealed() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("api").await;
    let (status, body) = a
        .patch_app(json!({ "event_hooks": all_hooks(&queue) }))
        .await;
    assert_eq!(status, 200, "{body}");

    let hooks = a.get_app().await["event_hooks"].as_array().unwrap().clone();
    let types: Vec<_> = hooks
        .iter()
        .map(|h| h["hook_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["webhook", "sqs", "sns", "kinesis", "pending_message"]
    );
    for h in &hooks {
        assert_eq!(h["id"].as_str().unwrap().len(), 36, "generated UUID: {h}");
        assert!(h["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(h["enabled"], true);
        assert_eq!(h["product"], "all");
    }
    assert_eq!(hooks[1]["sqs_key"], "****Y123");
    assert_eq!(hooks[1]["sqs_secret"], "****1234");
    assert_eq!(hooks[2]["sns_region"], "eu-west-1", "derived from the ARN");
    assert_eq!(
        hooks[2]["sns_auth_type"], "keys",
        "derived from the given keys"
    );
    assert_eq!(hooks[3]["kinesis_data_types"], json!(["ChannelMessage"]));

    // sealed at rest: no database file holds a secret in clear
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for secret in [
            "sqs-secret-value-1234",
            "sns-secret-value-9876",
            "AKIAEXAMPLEKEY123",
        ] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in clear on disk"
            );
        }
    }

    // GET → PATCH the same array back: the masks keep the stored secrets
    let (status, _) = a.patch_app(json!({ "event_hooks": hooks })).await;
    assert_eq!(status, 200);
    let stored = hookrelay::hooks::store::list(&app.db, hookrelay::domain::AppId(a.app_id))
        .await
        .unwrap();
    assert_eq!(
        stored[1].sqs_secret.as_deref(),
        Some("sqs-secret-value-1234")
    );
    assert_eq!(stored[2].sns_key.as_deref(), Some("AKIASNSKEY"));
    let again = a.get_app().await["event_hooks"].clone();
    assert_eq!(
        again[1]["id"], hooks[1]["id"],
        "same ids after the round trip"
    );
    assert_eq!(again[1]["created_at"], hooks[1]["created_at"]);
    assert_eq!(
        again[1]["updated_at"], hooks[1]["updated_at"],
        "an unchanged hook keeps updated_at"
    );

    // changing one hook moves its updated_at only
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut changed = again.clone();
    changed[0]["event_types"] = json!(["channel.created"]);
    let (status, _) = a.patch_app(json!({ "event_hooks": changed })).await;
    assert_eq!(status, 200);
    let after = a.get_app().await["event_hooks"].clone();
    assert_ne!(after[0]["updated_at"], again[0]["updated_at"]);
    assert_eq!(after[2]["updated_at"], again[2]["updated_at"]);
}

#[tokio::test]
async fn patch_semantics_upsert_delete_clear_and_explicit_deletion() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let hook = |url: &str| json!({"hook_type": "webhook", "webhook_url": url});
    a.patch_app(json!({"event_hooks": [hook("https://a.example/1"), hook("https://a.example/2")]}))
        .await;
    let hooks = a.get_app().await["event_hooks"].clone();
    let (id1, id2) = (hooks[0]["id"].clone(), hooks[1]["id"].clone());

    // update by id, delete by omission
    let (s, _) = a
        .patch_app(json!({"event_hooks": [{"id": id2, "hook_type": "webhook", "webhook_url": "https://a.example/2b", "event_types": ["channel.created"]}]}))
        .await;
    assert_eq!(s, 200);
    let hooks = a.get_app().await["event_hooks"].clone();
    assert_eq!(hooks.as_array().unwrap().len(), 1);
    assert_eq!(hooks[0]["id"], id2);
    assert_eq!(hooks[0]["webhook_url"], "https://a.example/2b");
    assert_eq!(hooks[0]["event_types"], json!(["channel.created"]));

    // key absent: untouched (other settings change)
    let (s, _) = a
        .patch_app(json!({"enable_hook_payload_compression": true}))
        .await;
    assert_eq!(s, 200);
    let settings = a.get_app().await;
    assert_eq!(settings["event_hooks"].as_array().unwrap().len(), 1);
    assert_eq!(settings["enable_hook_payload_compression"], true);

    // explicit deletion: omitted hooks stay, marked ones go, an unknown id creates that id
    let (s, _) = a
        .patch_app(
            json!({"explicit_event_hooks_deletion": true, "event_hooks": [
            {"id": "chosen-id", "hook_type": "webhook", "webhook_url": "https://a.example/3"}]}),
        )
        .await;
    assert_eq!(s, 200);
    let ids: Vec<_> = a.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].clone())
        .collect();
    assert_eq!(ids, [id2.clone(), json!("chosen-id")]);
    let (s, _) = a
        .patch_app(json!({"explicit_event_hooks_deletion": true, "event_hooks": [{"id": id2, "delete": true}]}))
        .await;
    assert_eq!(s, 200);
    let ids: Vec<_> = a.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].clone())
        .collect();
    assert_eq!(ids, [json!("chosen-id")]);
    assert_ne!(id1, json!("chosen-id"));

    // [] clears
    let (s, _) = a.patch_app(json!({"event_hooks": []})).await;
    assert_eq!(s, 200);
    assert_eq!(a.get_app().await["event_hooks"], json!([]));
}

#[tokio::test]
async fn one_invalid_hook_changes_nothing_and_the_error_names_the_field() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let good = json!({"hook_type": "webhook", "webhook_url": "https://example.com/x"});
    a.patch_app(json!({"event_hooks": [good.clone()]})).await;
    let before = a.get_app().await["event_hooks"].clone();

    let cases = [
        (
            json!({"hook_type": "sqs", "sqs_queue_url": "https://foobar.com/123456789012/MyQueue", "sqs_key": "k", "sqs_secret": "s"}),
            "event_hooks[1].sqs_queue_url",
            "invalid SQS url",
        ),
        (
            json!({"hook_type": "webhook", "webhook_url": "ftp://example.com"}),
            "event_hooks[1].webhook_url",
            "",
        ),
        (
            json!({"hook_type": "webhook", "webhook_url": "https://e.com", "event_types": ["message.nope"]}),
            "event_hooks[1].event_types",
            "message.nope",
        ),
        (
            json!({"hook_type": "sqs", "sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "sqs_region": "eu-west-1", "sqs_key": "k", "sqs_secret": "s"}),
            "event_hooks[1].sqs_region",
            "",
        ),
        (
            json!({"hook_type": "sqs", "sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "sqs_auth_type": "keys", "sqs_key": "k"}),
            "event_hooks[1].sqs_secret",
            "",
        ),
        (
            json!({"hook_type": "carrier_pigeon"}),
            "event_hooks[1].hook_type",
            "",
        ),
        (
            json!({"hook_type": "webhook", "webhook_url": "https://e.com", "enabled": "yes"}),
            "event_hooks[1].enabled",
            "",
        ),
    ];
    for (bad, field, text) in cases {
        let (status, body) = a
            .patch_app(json!({"event_hooks": [good.clone(), bad]}))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], 4);
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("UpdateApp failed with error:"),
            "{message}"
        );
        assert!(message.contains(field), "{field} not named in {message}");
        assert!(message.contains(text), "{text} not in {message}");
        assert!(body["exception_fields"].get(field).is_some(), "{body}");
        assert_eq!(a.get_app().await["event_hooks"], before, "nothing changed");
    }
    // with explicit deletion the stored hook stays in front, yet the error names the caller's index
    let (status, body) = a
        .patch_app(json!({"explicit_event_hooks_deletion": true,
                          "event_hooks": [{"hook_type": "webhook", "webhook_url": "gopher://x"}]}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["exception_fields"]
            .get("event_hooks[0].webhook_url")
            .is_some(),
        "{body}"
    );
    let (status, body) = a
        .patch_app(json!({"event_hooks": [{"id": "gone", "delete": true}, {"hook_type": "webhook", "webhook_url": "gopher://x"}]}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["exception_fields"]
            .get("event_hooks[1].webhook_url")
            .is_some(),
        "{body}"
    );
    assert_eq!(a.get_app().await["event_hooks"], before, "nothing changed");

    let three_pending: Vec<_> = (0..3)
        .map(|i| json!({"hook_type": "pending_message", "webhook_url": format!("https://e.com/{i}"), "timeout_ms": 1000, "callback": {"mode": "CALLBACK_MODE_REST"}}))
        .collect();
    let (status, _) = a.patch_app(json!({"event_hooks": three_pending})).await;
    assert_eq!(status, 400, "at most two pending_message hooks");
}

#[tokio::test]
async fn unknown_keys_are_ignored_and_bad_bodies_get_stream_errors() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    // what the Go SDK sends on every update, plus a hook with a zero created_at
    let go_style = json!({
        "name": "", "organization": "", "suspended": false, "channel_configs": null, "policies": null,
        "revoke_tokens_issued_before": null, "push_notifications": {"version": "", "offline_only": false},
        "event_hooks": [{"id": "", "hook_type": "webhook", "enabled": true, "event_types": null,
                         "webhook_url": "https://example.com/go", "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z"}]
    });
    let (status, body) = a.patch_app(go_style).await;
    assert_eq!(status, 200, "{body}");
    let settings = a.get_app().await;
    assert_eq!(settings["name"], "Chat", "read-only keys are not applied");
    assert_eq!(settings["event_hooks"][0]["event_types"], json!([]));
    assert_ne!(
        settings["event_hooks"][0]["created_at"],
        "0001-01-01T00:00:00Z"
    );

    let res = a
        .request(Method::PATCH, "/app")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], 4);

    let huge = format!(
        "{{\"webhook_url\": \"{}\"}}",
        "x".repeat(hookrelay::api::BODY_LIMIT + 10)
    );
    let res = a
        .request(Method::PATCH, "/app")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], 22);

    let (status, body) = a.patch_app(json!({"sqs_url": 42})).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("sqs_url"));
}

#[tokio::test]
async fn legacy_flat_settings_round_trip_with_masks() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("legacy").await;
    let (status, body) = a
        .patch_app(json!({"sqs_url": queue, "sqs_key": "AKIALEGACYKEY", "sqs_secret": "legacy-secret-5678",
                          "webhook_url": "https://example.com/legacy", "webhook_events": ["message.new"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let settings = a.get_app().await;
    assert_eq!(settings["sqs_url"], queue);
    assert_eq!(settings["sqs_key"], "****YKEY");
    assert_eq!(settings["sqs_secret"], "****5678");
    assert_eq!(settings["webhook_events"], json!(["message.new"]));
    // the mask sent back keeps the secret
    let (status, _) = a.patch_app(json!({"sqs_secret": "****5678"})).await;
    assert_eq!(status, 200);
    let legacy = hookrelay::hooks::store::legacy(&app.db, hookrelay::domain::AppId(a.app_id))
        .await
        .unwrap();
    assert_eq!(legacy.secrets.sqs_secret, "legacy-secret-5678");
    let (status, body) = a
        .patch_app(json!({"sqs_url": "https://foobar.com/1/q"}))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("invalid SQS url"));
}

#[tokio::test]
async fn apps_never_see_each_others_hooks() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "A").await;
    let b = ApiClient::new(&app, "B").await;
    a.patch_app(json!({"event_hooks": [{"id": "shared-id", "hook_type": "webhook", "webhook_url": "https://a.example"}]})).await;
    assert_eq!(b.get_app().await["event_hooks"], json!([]));
    let (s, _) = b
        .patch_app(json!({"event_hooks": [{"id": "shared-id", "hook_type": "webhook", "webhook_url": "https://b.example"}]}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        a.get_app().await["event_hooks"][0]["webhook_url"],
        "https://a.example/"
    );
    assert_eq!(
        b.get_app().await["event_hooks"][0]["webhook_url"],
        "https://b.example/"
    );
}

#[tokio::test]
async fn hook_events_lists_the_supported_event_types() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let (status, body) = a.call(Method::GET, "/hook/events", None).await;
    assert_eq!(status, 200);
    let events = body["events"].as_array().unwrap();
    let new = events
        .iter()
        .find(|e| e["name"] == "message.new")
        .expect("message.new listed");
    assert!(!new["description"].as_str().unwrap().is_empty());
    assert!(new["products"].as_array().unwrap().contains(&json!("chat")));
}
