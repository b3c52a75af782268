//! The dashboard's integration screens and delivery log, driven as a browser without
//! JavaScript would (plain form posts, redirects, the session cookie).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookrelay::config::{DeliveryOpts, Schedule, ServeOpts};
use serde_json::json;

use crate::support::{create_queue, test_opts, ApiClient, Browser, TestApp, ADMIN};

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

/// An in-test webhook target: answers 500 to the first `failures` requests, then 200, and
/// records the JSON bodies it receives.
async fn receiver(failures: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let count = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let record = record.clone();
            let count = count.clone();
            async move {
                let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                record.lock().unwrap().push(json);
                if count.fetch_add(1, Ordering::SeqCst) < failures {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A server with fast retries (one retry after at most 100 ms), its admin logged in, and an app.
async fn fixture() -> (TestApp, Browser, ApiClient) {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            retry_schedule: Schedule(vec![Duration::from_millis(100)]),
            poll_interval: Duration::from_millis(50),
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let b = app.browser();
    b.setup(ADMIN.0, ADMIN.1).await.assert_redirect("/apps");
    let api = ApiClient::new(&app, "Chat").await;
    (app, b, api)
}

fn hook_form<'a>(app_id: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("form[app_id]", app_id), ("form[enabled]", "on")];
    form.extend_from_slice(fields);
    form
}

/// Posts the integration form; returns the page it redirects to.
async fn post_hook(b: &Browser, form: &[(&str, &str)]) -> String {
    let page = b.post_form("/_sfn/hook_save", form).await;
    assert!(
        page.status.is_redirection(),
        "{} {}",
        page.status,
        page.body
    );
    page.location.unwrap()
}

/// Saves a webhook integration and returns its id (from the API).
async fn add_webhook(b: &Browser, api: &ApiClient, url: &str) -> String {
    let id = api.app_id.to_string();
    let to = post_hook(
        b,
        &hook_form(
            &id,
            &[
                ("form[hook_type]", "webhook"),
                ("form[target]", url),
                ("form[action]", "save"),
            ],
        ),
    )
    .await;
    assert_eq!(to, format!("/apps/{}", api.app_id));
    let hooks = api.get_app().await["event_hooks"].clone();
    hooks.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls the delivery log (filtered by `query`) until it shows a row with `status`.
async fn wait_for_status(b: &Browser, app_id: i64, query: &str, status: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let marker = format!("data-status=\"{status}\"");
    loop {
        let page = b.get(&format!("/apps/{app_id}/deliveries?{query}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains(&marker) {
            return page.body;
        }
        assert!(
            Instant::now() < deadline,
            "no {status} delivery in the log: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_event(api: &ApiClient, event_type: &str) -> i64 {
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({ "type": event_type })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["events"][0]["deliveries"].as_i64().unwrap()
}

#[tokio::test]
async fn a_webhook_integration_is_added_listed_and_refused_input_is_kept() {
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let chooser = b.get(&format!("/apps/{id}/hooks/new")).await;
    assert_eq!(chooser.status, 200);
    for t in ["webhook", "sqs", "sns", "kinesis"] {
        assert!(
            chooser.body.contains(&format!("hooks/new?type={t}")),
            "{}",
            chooser.body
        );
    }
    let form = b.get(&format!("/apps/{id}/hooks/new?type=webhook")).await;
    assert!(form
        .body
        .contains("<label for=\"hook-target\">Webhook URL</label>"));
    assert!(form.body.contains("Test webhook"));

    // an invalid URL: back to the form with the message next to the field and the values kept
    let to = post_hook(
        &b,
        &hook_form(
            &id,
            &[
                ("form[hook_type]", "webhook"),
                ("form[target]", "not a url"),
                ("form[event_types][]", "message.new"),
                ("form[event_types][]", "user.banned"),
                ("form[action]", "save"),
            ],
        ),
    )
    .await;
    assert_eq!(to, format!("/apps/{id}/hooks/new?type=webhook&flash=1"));
    let page = b.get(&to).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"err-target\""), "{}", page.body);
    assert!(page.body.contains("value=\"not a url\""), "{}", page.body);
    assert!(page.body.contains("value=\"message.new\" checked"));
    assert!(page.body.contains("value=\"user.banned\" checked"));
    assert!(!page.body.contains("value=\"message.read\" checked"));
    assert!(api.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .is_empty());
    // the carried values are shown once
    let again = b.get(&to).await;
    assert!(!again.body.contains("value=\"not a url\""));

    let (url, _) = receiver(0).await;
    add_webhook(&b, &api, &url).await;
    let page = b.get(&format!("/apps/{id}")).await;
    assert!(page.body.contains("Webhook &amp; Event Configuration"));
    assert!(page.body.contains(&url), "{}", page.body);
    assert!(page.body.contains("All events"));
    assert!(page.body.contains("Enabled"));
    assert!(page.body.contains("0 delivered · 0 failed · 0 pending"));
}

#[tokio::test]
async fn test_sqs_reports_steps_and_credential_errors_then_edit_keeps_the_secret() {
    let (app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let queue = create_queue("dashboard").await;
    let base = |key: &'static str, secret: &'static str, action: &'static str| {
        vec![
            ("form[hook_type]", "sqs"),
            ("form[target]", queue.as_str()),
            ("form[auth_type]", "keys"),
            ("form[key]", key),
            ("form[secret]", secret),
            ("form[action]", action),
        ]
    };
    let to = post_hook(&b, &hook_form(&id, &base("test", "test", "test"))).await;
    assert_eq!(to, format!("/apps/{id}/hooks/new?type=sqs&flash=1"));
    let page = b.get(&to).await;
    assert!(page.body.contains("Test passed"), "{}", page.body);
    assert!(page.body.contains("get credentials"));
    assert!(!page.body.contains("class=\"step failed\""));
    // the values typed are kept (the form was not saved)
    assert!(page.body.contains(&format!("value=\"{queue}\"")));
    assert!(api.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .is_empty());

    let to = post_hook(
        &b,
        &hook_form(&id, &base("AKIAWRONG00000000000", "whatever", "test")),
    )
    .await;
    let page = b.get(&to).await;
    assert!(page.body.contains("Test failed"), "{}", page.body);
    assert!(
        page.body.contains("the access key is not valid"),
        "{}",
        page.body
    );

    // save with a long secret, then edit without touching the masked values
    let secret = "test-secret-value-1234";
    let mut fields = base("test", secret, "save");
    fields.push(("form[event_types][]", "message.new"));
    let to = post_hook(&b, &hook_form(&id, &fields)).await;
    assert_eq!(to, format!("/apps/{id}"));
    let hook = api.get_app().await["event_hooks"][0].clone();
    assert_eq!(hook["sqs_secret"], "****1234");
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let list = b.get(&format!("/apps/{id}")).await;
    assert!(list.body.contains("Amazon SQS") && list.body.contains(&queue));

    let edit = b.get(&format!("/apps/{id}/hooks/{hook_id}/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("value=\"****1234\""), "{}", edit.body);
    assert!(!edit.body.contains(secret));
    // Test with the masked secret uses the stored one
    let masked = vec![
        ("form[app_id]", id.as_str()),
        ("form[hook_id]", hook_id.as_str()),
        ("form[hook_type]", "sqs"),
        ("form[target]", queue.as_str()),
        ("form[auth_type]", "keys"),
        ("form[key]", "****"),
        ("form[secret]", "****1234"),
        ("form[enabled]", "on"),
        ("form[event_types][]", "message.new"),
        ("form[event_types][]", "message.updated"),
    ];
    let mut test = masked.clone();
    test.push(("form[action]", "test"));
    let to = post_hook(&b, &test).await;
    assert_eq!(to, format!("/apps/{id}/hooks/{hook_id}/edit?flash=1"));
    assert!(b.get(&to).await.body.contains("Test passed"));
    let mut save = masked.clone();
    save.push(("form[action]", "save"));
    assert_eq!(post_hook(&b, &save).await, format!("/apps/{id}"));
    let hook = api.get_app().await["event_hooks"][0].clone();
    assert_eq!(hook["sqs_secret"], "****1234");
    assert_eq!(
        hook["event_types"],
        json!(["message.new", "message.updated"])
    );
    let stored = hookrelay::hooks::store::list(&app.db, hookrelay::domain::AppId(api.app_id))
        .await
        .unwrap();
    assert_eq!(stored[0].sqs_secret.as_deref(), Some(secret));

    // and it still delivers
    assert_eq!(post_event(&api, "message.updated").await, 1);
    wait_for_status(&b, api.app_id, "", "delivered").await;
}

#[tokio::test]
async fn disabling_stops_deliveries_and_the_test_event_reaches_the_receiver() {
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let (url, seen) = receiver(0).await;
    let hook_id = add_webhook(&b, &api, &url).await;
    let toggle = |enabled: &'static str| {
        let hook_id = hook_id.clone();
        let id = id.clone();
        let b = &b;
        async move {
            b.post_form(
                "/_sfn/hook_toggle",
                &[("app_id", &id), ("hook_id", &hook_id), ("enabled", enabled)],
            )
            .await
            .assert_redirect(&format!("/apps/{id}"));
        }
    };
    toggle("false").await;
    assert_eq!(api.get_app().await["event_hooks"][0]["enabled"], false);
    assert!(b
        .get(&format!("/apps/{id}"))
        .await
        .body
        .contains("Disabled"));
    assert_eq!(post_event(&api, "message.new").await, 0);
    toggle("true").await;
    assert_eq!(api.get_app().await["event_hooks"][0]["enabled"], true);

    b.post_form("/_sfn/send_test_event", &[("app_id", &id)])
        .await
        .assert_redirect(&format!("/apps/{id}/deliveries?sent=1"));
    let log = wait_for_status(&b, api.app_id, &format!("hook_id={hook_id}"), "delivered").await;
    assert!(log.contains("hookrelay.test"), "{log}");
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "hookrelay.test");
    // the app page counts it
    let page = b.get(&format!("/apps/{id}")).await;
    assert!(
        page.body.contains("1 delivered · 0 failed · 0 pending"),
        "{}",
        page.body
    );

    // payload compression is an app option
    b.post_form(
        "/_sfn/hook_compression",
        &[("app_id", &id), ("enabled", "on")],
    )
    .await
    .assert_redirect(&format!("/apps/{id}"));
    assert_eq!(api.get_app().await["enable_hook_payload_compression"], true);
    b.post_form("/_sfn/hook_compression", &[("app_id", &id)])
        .await
        .assert_redirect(&format!("/apps/{id}"));
    assert_eq!(
        api.get_app().await["enable_hook_payload_compression"],
        false
    );
}

#[tokio::test]
async fn a_failing_webhook_shows_in_the_log_and_redelivery_delivers_it() {
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    // two attempts (one retry) fail, the redelivery succeeds
    let (url, seen) = receiver(2).await;
    add_webhook(&b, &api, &url).await;
    assert_eq!(post_event(&api, "message.new").await, 1);
    let log = wait_for_status(&b, api.app_id, "status=failed", "failed").await;
    assert!(log.contains("500"), "{log}");
    assert_eq!(seen.lock().unwrap().len(), 2);
    let page = b.get(&format!("/apps/{id}")).await;
    assert!(
        page.body.contains("0 delivered · 1 failed · 0 pending"),
        "{}",
        page.body
    );

    let delivery_id = {
        let marker = "data-delivery-id=\"";
        let start = log.find(marker).unwrap() + marker.len();
        let end = start + log[start..].find('"').unwrap();
        log[start..end].to_string()
    };
    let back = format!("/apps/{id}/deliveries?status=failed");
    b.post_form(
        "/_sfn/redeliver",
        &[("app_id", &id), ("ids[]", &delivery_id), ("back", &back)],
    )
    .await
    .assert_redirect(&format!("{back}&redelivered=1"));
    wait_for_status(&b, api.app_id, "status=delivered", "delivered").await;
    assert_eq!(seen.lock().unwrap().len(), 3);
    let failed = b.get(&format!("/apps/{id}/deliveries?status=failed")).await;
    assert!(
        failed.body.contains("No deliveries match"),
        "{}",
        failed.body
    );
}

#[tokio::test]
async fn deleting_needs_the_confirmation() {
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let (url, _) = receiver(0).await;
    let hook_id = add_webhook(&b, &api, &url).await;
    let confirm = b.get(&format!("/apps/{id}/hooks/{hook_id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains(&url));
    b.post_form(
        "/_sfn/hook_delete",
        &[("app_id", &id), ("hook_id", &hook_id)],
    )
    .await
    .assert_redirect(&format!(
        "/apps/{id}/hooks/{hook_id}/delete?error=confirm_required"
    ));
    assert_eq!(
        api.get_app().await["event_hooks"].as_array().unwrap().len(),
        1
    );
    let page = b
        .get(&format!(
            "/apps/{id}/hooks/{hook_id}/delete?error=confirm_required"
        ))
        .await;
    assert!(page.body.contains("Tick the box to confirm."));
    b.post_form(
        "/_sfn/hook_delete",
        &[("app_id", &id), ("hook_id", &hook_id), ("confirm", "yes")],
    )
    .await
    .assert_redirect(&format!("/apps/{id}"));
    assert!(api.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(b
        .get(&format!("/apps/{id}"))
        .await
        .body
        .contains("No integrations yet."));
}

#[tokio::test]
async fn hook_forms_need_a_login() {
    let (app, _, api) = fixture().await;
    let stranger = app.browser();
    let id = api.app_id.to_string();
    stranger
        .post_form(
            "/_sfn/hook_save",
            &hook_form(
                &id,
                &[
                    ("form[hook_type]", "webhook"),
                    ("form[target]", "https://example.com/x"),
                ],
            ),
        )
        .await
        .assert_redirect("/login?error=not_logged_in");
    stranger
        .post_form("/_sfn/send_test_event", &[("app_id", &id)])
        .await
        .assert_redirect("/login?error=not_logged_in");
    assert!(api.get_app().await["event_hooks"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn sns_with_a_resource_policy_and_kinesis_with_a_role_are_tested_and_saved() {
    use crate::support::{aws_config, create_stream, iam_role};
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let config = aws_config().await;
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name(format!("dash-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();

    // SNS, resource policy: the test runs with Hookrelay's own credentials, and the page shows
    // the policy to attach, naming the topic
    let sns = |action: &'static str| {
        vec![
            ("form[hook_type]", "sns"),
            ("form[target]", topic.as_str()),
            ("form[auth_type]", "resource"),
            ("form[action]", action),
        ]
    };
    let to = post_hook(&b, &hook_form(&id, &sns("test"))).await;
    let page = b.get(&to).await;
    assert!(page.body.contains("Test passed"), "{}", page.body);
    let policy = page
        .body
        .split("data-testid=\"policy\"")
        .nth(1)
        .and_then(|p| p.split("</pre>").next())
        .unwrap_or_default();
    assert!(
        policy.contains("sns:Publish") && policy.contains(&topic),
        "policy {policy:?} in {}",
        page.body
    );
    assert_eq!(
        post_hook(&b, &hook_form(&id, &sns("save"))).await,
        format!("/apps/{id}")
    );

    // Kinesis, role: assumed with the app's random external id, which the form shows
    let (_, stream) = create_stream("dash").await;
    let external_id = api.external_id.clone();
    let role = iam_role(&external_id, &["kinesis:*"]).await;
    let form_page = b.get(&format!("/apps/{id}/hooks/new?type=kinesis")).await;
    assert!(
        form_page
            .body
            .contains(&format!("data-testid=\"external-id\">{external_id}<")),
        "{}",
        form_page.body
    );
    let kin = |action: &'static str| {
        vec![
            ("form[hook_type]", "kinesis"),
            ("form[target]", stream.as_str()),
            ("form[auth_type]", "role"),
            ("form[role_arn]", role.as_str()),
            ("form[kinesis_data_types][]", "ChannelMessage"),
            ("form[action]", action),
        ]
    };
    let to = post_hook(&b, &hook_form(&id, &kin("test"))).await;
    let page = b.get(&to).await;
    assert!(page.body.contains("Test passed"), "{}", page.body);
    assert_eq!(
        post_hook(&b, &hook_form(&id, &kin("save"))).await,
        format!("/apps/{id}")
    );

    let hooks = api.get_app().await["event_hooks"].clone();
    assert_eq!(hooks[0]["hook_type"], "sns");
    assert_eq!(hooks[0]["sns_topic_arn"], topic.as_str());
    assert_eq!(hooks[0]["sns_auth_type"], "resource");
    assert_eq!(hooks[1]["hook_type"], "kinesis");
    assert_eq!(hooks[1]["kinesis_stream_arn"], stream.as_str());
    assert_eq!(hooks[1]["kinesis_auth_type"], "role");
    assert_eq!(hooks[1]["kinesis_role_arn"], role.as_str());
    assert_eq!(hooks[1]["kinesis_data_types"], json!(["ChannelMessage"]));
    let list = b.get(&format!("/apps/{id}")).await.body;
    for shown in [
        "Amazon SNS",
        "Amazon Kinesis",
        topic.as_str(),
        stream.as_str(),
    ] {
        assert!(list.contains(shown), "{shown} not in {list}");
    }
}

#[tokio::test]
async fn the_list_shows_each_integrations_health_with_a_sparkline() {
    let (_app, b, api) = fixture().await;
    let id = api.app_id.to_string();
    let (ok_url, _) = receiver(0).await;
    let (bad_url, _) = receiver(usize::MAX).await;
    let ok_hook = add_webhook(&b, &api, &ok_url).await;
    let bad_hook = add_webhook(&b, &api, &bad_url).await;
    for _ in 0..3 {
        assert_eq!(post_event(&api, "message.new").await, 2);
    }
    wait_for_status(
        &b,
        api.app_id,
        &format!("hook_id={bad_hook}&status=failed"),
        "failed",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = b.get(&format!("/apps/{id}")).await.body;
        if page.matches(" failed · 0 pending").count() == 2 {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries still pending: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let row = |hook: &str| {
        page.split(&format!("data-hook-id=\"{hook}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_default()
            .to_string()
    };
    let ok = row(&ok_hook);
    assert!(ok.contains("3 delivered · 0 failed · 0 pending"), "{ok}");
    assert!(ok.contains("Last success "), "{ok}");
    assert!(
        ok.contains("aria-label=\"Last hour in 5-minute steps: 3 delivered, 0 failed\""),
        "{ok}"
    );
    // twelve steps, two bars each; the newest step has the deliveries: a full-height bar
    assert_eq!(ok.matches("<rect").count(), 24, "{ok}");
    assert!(
        ok.contains("x=\"55\" y=\"0\" width=\"4\" height=\"16\" class=\"spark-ok\""),
        "{ok}"
    );
    let bad = row(&bad_hook);
    assert!(bad.contains("0 delivered · 3 failed · 0 pending"), "{bad}");
    assert!(bad.contains("No success in the last hour"), "{bad}");
    assert!(bad.contains("HTTP 500"), "{bad}");
    assert!(
        bad.contains("x=\"55\" y=\"0\" width=\"4\" height=\"16\" class=\"spark-failed\""),
        "{bad}"
    );
}

#[tokio::test]
async fn the_event_type_picker_has_a_filter_and_keeps_the_ticked_types() {
    let (_app, b, api) = fixture().await;
    let page = b
        .get(&format!("/apps/{}/hooks/new?type=webhook", api.app_id))
        .await
        .body;
    // the filter box is there from the server render (hidden until the page is interactive),
    // labelled, and not a form field
    assert!(
        page.contains("<label for=\"event-filter\">Find event types</label>"),
        "{page}"
    );
    let filter = page
        .split("id=\"event-filter\"")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .unwrap_or_default();
    assert!(!filter.contains("name="), "{filter}");
    // hidden until the script runs, by a class (the CSP allows no inline style)
    assert!(page.contains("event-filter unready"), "{page}");
    // every event type is a checkbox, none ticked (all events)
    let boxes = page.matches("name=\"form[event_types][]\"").count();
    assert_eq!(boxes, hookrelay::hooks::EVENT_TYPES.len());
    // nothing is filtered out on the server; only "no match" is hidden
    assert!(!page.contains("check filtered-out"), "{page}");
    assert!(page.matches("class=\"check\"").count() >= boxes, "{page}");
    let before = page
        .split("No event type matches.")
        .next()
        .unwrap_or_default();
    let tag = before.rsplit("<p").next().unwrap_or_default();
    assert!(tag.contains("filtered-out"), "{tag}");
}
