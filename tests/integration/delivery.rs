//! Delivery end to end: `POST /events` into webhooks (an in-test receiver), SQS, SNS and Kinesis
//! (the AWS emulator); retries, dead letters, redelivery, `GET /deliveries` and `/metrics`.
//!
//! Every test has its own Hookrelay, apps, queues and receivers, so they run in parallel.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use hookrelay::config::{DeliveryOpts, Schedule, ServeOpts};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{
    aws_config, create_queue, iam_user, server_token, test_opts, ApiClient, TestApp,
};

// ------------------------------------------------------------------------------------------
// helpers

const WAIT: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `probe` until it gives `Ok`; panics with the last `Err` after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(ms(50)).await,
        }
    }
}

/// A server whose retries come quickly.
async fn spawn_fast(retry_schedule: Vec<Duration>) -> TestApp {
    TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            retry_schedule: Schedule(retry_schedule),
            poll_interval: ms(50),
            ..Default::default()
        },
        ..test_opts()
    })
    .await
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Decompresses with the system `gzip`, after checking the gzip magic bytes.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    assert!(
        bytes.len() > 2 && bytes[..2] == [0x1f, 0x8b],
        "not gzip (no 1f 8b magic): {:?}",
        &bytes[..bytes.len().min(16)]
    );
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip -dc failed");
    out.stdout
}

fn b64decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {text:.80}"))
}

fn parse_rfc3339(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Asserts that `got` is `sent` with `id` and `created_at` filled in (an assigned
/// `created_at` is a recent RFC 3339 time).
#[track_caller]
fn assert_event(got: &Value, sent: &Value, id: &str) {
    let mut want = sent.clone();
    want["id"] = json!(id);
    if sent.get("created_at").is_none() {
        let created = got["created_at"]
            .as_str()
            .unwrap_or_else(|| panic!("no created_at assigned: {got}"));
        let age = time::OffsetDateTime::now_utc() - parse_rfc3339(created);
        assert!(
            age.whole_seconds().abs() < 300,
            "assigned created_at {created} is not now"
        );
        want["created_at"] = json!(created);
    }
    assert_eq!(got, &want);
}

async fn set_hooks(a: &ApiClient, hooks: Value, compression: bool) {
    let (status, body) = a
        .patch_app(json!({"event_hooks": hooks, "enable_hook_payload_compression": compression}))
        .await;
    assert_eq!(status, 200, "{body}");
}

fn webhook(id: &str, url: &str, event_types: &[&str]) -> Value {
    json!({"id": id, "hook_type": "webhook", "enabled": true, "webhook_url": url, "event_types": event_types})
}

fn sqs_hook(id: &str, queue_url: &str, key: &str, secret: &str) -> Value {
    json!({"id": id, "hook_type": "sqs", "enabled": true, "sqs_queue_url": queue_url,
           "sqs_region": "us-east-1", "sqs_auth_type": "keys", "sqs_key": key, "sqs_secret": secret,
           "event_types": []})
}

/// `POST /events`; asserts 201 and returns the answer.
async fn post_events(a: &ApiClient, body: Value) -> Value {
    let (status, answer) = a.call(Method::POST, "/events", Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    assert!(answer["duration"].is_string(), "{answer}");
    answer
}

/// The `events` of a `POST /events` answer as (id, deliveries, duplicate).
fn accepted(answer: &Value) -> Vec<(String, i64, bool)> {
    answer["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events array: {answer}"))
        .iter()
        .map(|e| {
            (
                e["id"].as_str().expect("id").to_string(),
                e["deliveries"].as_i64().expect("deliveries"),
                e["duplicate"].as_bool().expect("duplicate"),
            )
        })
        .collect()
}

fn ids(answer: &Value) -> Vec<String> {
    accepted(answer).into_iter().map(|(id, _, _)| id).collect()
}

/// A GET with query parameters, authenticated as the app.
async fn get_with_query(a: &ApiClient, path: &str, query: &str) -> (u16, String) {
    let res = a
        .http
        .get(format!("{}{path}?api_key={}&{query}", a.base, a.api_key))
        .header("Authorization", server_token(&a.api_secret))
        .header("stream-auth-type", "jwt")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// `GET /deliveries?{query}`: the rows (asserts 200).
async fn deliveries(a: &ApiClient, query: &str) -> Vec<Value> {
    let (status, text) = get_with_query(a, "/deliveries", query).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["duration"].is_string(), "{body}");
    body["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("no deliveries array: {body}"))
        .clone()
}

/// Polls `GET /deliveries?{query}` until `done` holds for the rows.
async fn deliveries_until(
    a: &ApiClient,
    query: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let done = &done;
    eventually(what, WAIT, || async move {
        let rows = deliveries(a, query).await;
        if done(&rows) {
            Ok(rows)
        } else {
            Err(Value::Array(rows).to_string())
        }
    })
    .await
}

fn all_status(rows: &[Value], n: usize, status: &str) -> bool {
    rows.len() == n && rows.iter().all(|r| r["status"] == status)
}

/// `GET /metrics` (no auth).
async fn metrics(app: &TestApp) -> String {
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.text().await.unwrap()
}

/// The value of the series `name{labels}` (labels in any order) in Prometheus text; None when
/// absent.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let (series, value) = line.trim().rsplit_once(' ')?;
            let (series_name, got) = match series.split_once('{') {
                Some((n, rest)) => {
                    let inner = rest.strip_suffix('}')?;
                    let got: BTreeMap<String, String> = inner
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .filter_map(|p| {
                            let (k, v) = p.split_once('=')?;
                            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                        })
                        .collect();
                    (n, got)
                }
                None => (series, BTreeMap::new()),
            };
            (series_name == name && got == want).then(|| value.parse().ok())?
        })
}

fn deliveries_metric(text: &str, hook_type: &str, outcome: &str) -> f64 {
    metric(
        text,
        "hookrelay_deliveries_total",
        &[("hook_type", hook_type), ("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

// ---- the in-test webhook receiver ---------------------------------------------------------

#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The body as JSON, gunzipped when it says it is gzip.
    fn json(&self) -> Value {
        let body = if self.header("content-encoding") == "gzip" {
            gunzip(&self.body)
        } else {
            self.body.clone()
        };
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&body))
        })
    }
}

type Respond = Arc<dyn Fn(&HeaderMap, usize) -> u16 + Send + Sync>;

/// A webhook target on 127.0.0.1:0 that records every request; `respond` gets the headers and
/// how many requests with the same `x-webhook-id` came before, and gives the status.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start(respond: impl Fn(&HeaderMap, usize) -> u16 + Send + Sync + 'static) -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let record = hits.clone();
        let respond: Respond = Arc::new(respond);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let record = record.clone();
                let respond = respond.clone();
                async move {
                    let status = {
                        let mut hits = record.lock().unwrap();
                        let hit = Hit {
                            headers: headers.clone(),
                            body: body.to_vec(),
                        };
                        let id = hit.header("x-webhook-id").to_string();
                        let before = hits
                            .iter()
                            .filter(|h| h.header("x-webhook-id") == id)
                            .count();
                        hits.push(hit);
                        respond(&headers, before)
                    };
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, hits }
    }

    async fn ok() -> Self {
        Self::start(|_, _| 200).await
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came; returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        eventually(&format!("{n} webhook requests"), WAIT, || async move {
            let hits = self.hits();
            if hits.len() >= n {
                Ok(hits)
            } else {
                Err(format!("{} requests", hits.len()))
            }
        })
        .await
    }
}

// ---- AWS ----------------------------------------------------------------------------------

async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config().await)
}

/// Receives (and deletes) messages until `want` arrived or `timeout` passed, then polls once
/// more so that extra messages show too.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    want: usize,
    timeout: Duration,
) -> Vec<aws_sdk_sqs::types::Message> {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut extra_poll_done = false;
    loop {
        if got.len() >= want || Instant::now() >= deadline {
            if extra_poll_done {
                return got;
            }
            extra_poll_done = true;
        }
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            got.push(m.clone());
        }
    }
}

fn message_attribute(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_string)
}

fn system_attribute(
    m: &aws_sdk_sqs::types::Message,
    name: aws_sdk_sqs::types::MessageSystemAttributeName,
) -> Option<String> {
    m.attributes()?.get(&name).cloned()
}

/// The event JSON of an SQS/SNS message body: base64, and gzip when `gzipped`.
fn decode_body(body: &str, gzipped: bool) -> Value {
    let bytes = b64decode(body);
    let json = if gzipped {
        gunzip(&bytes)
    } else {
        assert_ne!(bytes[..2], [0x1f, 0x8b], "gzip without compression on");
        bytes
    };
    serde_json::from_slice(&json).unwrap()
}

/// Sends `events` to an SQS hook's queue and checks that each arrives once, whole, with its
/// message attributes.
async fn check_sqs_round_trip(a: &ApiClient, queue: &str, events: &[Value], gzipped: bool) {
    let answer = post_events(a, json!({ "events": events })).await;
    let sent_ids = ids(&answer);
    assert_eq!(sent_ids.len(), events.len());
    for (_, n, duplicate) in accepted(&answer) {
        assert_eq!((n, duplicate), (1, false), "{answer}");
    }
    let sqs = sqs_client().await;
    let messages = receive(&sqs, queue, events.len(), WAIT).await;
    assert_eq!(
        messages.len(),
        events.len(),
        "each event arrives exactly once"
    );
    let by_id: HashMap<&str, &Value> = sent_ids.iter().map(String::as_str).zip(events).collect();
    let mut seen = HashSet::new();
    for m in &messages {
        let event = decode_body(m.body().unwrap(), gzipped);
        let id = event["id"].as_str().unwrap().to_string();
        let sent = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("unknown event {event}"));
        assert_event(&event, sent, &id);
        assert_eq!(
            message_attribute(m, "X-Hookrelay-Event-Type").as_deref(),
            sent["type"].as_str()
        );
        assert_eq!(
            message_attribute(m, "X-Hookrelay-Event-Id").as_deref(),
            Some(id.as_str())
        );
        seen.insert(id);
    }
    let want: HashSet<String> = sent_ids.into_iter().collect();
    assert_eq!(seen, want);
}

// ------------------------------------------------------------------------------------------
// webhooks

#[tokio::test]
async fn webhook_delivery_is_signed_and_complete() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let rx = Receiver::ok().await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;

    let explicit = format!("ev-{}", uuid::Uuid::new_v4());
    let events = vec![
        json!({"id": explicit, "type": "message.new", "cid": "messaging:general",
               "message": {"id": "m1", "text": "hello", "user": {"id": "u1"}}}),
        json!({"type": "channel.created", "channel": {"cid": "messaging:general", "name": "General"}}),
        json!({"type": "reaction.new", "created_at": "2024-01-02T03:04:05.678Z",
               "reaction": {"type": "like", "note": "x".repeat(300)}}),
    ];
    let answer = post_events(&a, json!({ "events": events })).await;
    let got = accepted(&answer);
    assert_eq!(got.len(), 3, "{answer}");
    assert_eq!(got[0].0, explicit);
    for (id, n, duplicate) in &got[1..] {
        uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("assigned id {id} is not a UUID"));
        assert_eq!((*n, *duplicate), (1, false));
    }
    assert_eq!((got[0].1, got[0].2), (1, false));
    let sent_ids = ids(&answer);
    assert_eq!(
        sent_ids.iter().collect::<HashSet<_>>().len(),
        3,
        "ids differ"
    );

    let hits = rx.wait_for(3).await;
    assert_eq!(hits.len(), 3);
    let mut webhook_ids = HashSet::new();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    for hit in &hits {
        let event = hit.json();
        let id = event["id"].as_str().unwrap().to_string();
        let i = sent_ids
            .iter()
            .position(|s| *s == id)
            .unwrap_or_else(|| panic!("unknown event {event}"));
        assert_event(&event, &events[i], &id);
        assert_eq!(hit.header("content-type"), "application/json");
        assert_eq!(hit.header("content-encoding"), "");
        assert_eq!(
            hit.header("x-signature"),
            hmac_hex(&a.api_secret, &hit.body)
        );
        assert_eq!(hit.header("x-api-key"), a.api_key);
        assert_eq!(hit.header("x-webhook-attempt"), "1");
        let wid = hit.header("x-webhook-id");
        uuid::Uuid::parse_str(wid).unwrap_or_else(|_| panic!("x-webhook-id {wid:?}"));
        webhook_ids.insert(wid.to_string());
        bodies.insert(id, hit.body.clone());
    }
    assert_eq!(webhook_ids.len(), 3, "one webhook id per event");
    assert_eq!(
        bodies.keys().collect::<HashSet<_>>(),
        sent_ids.iter().collect()
    );

    let rows = deliveries_until(&a, "hook_id=wh", "3 delivered", |r| {
        all_status(r, 3, "delivered")
    })
    .await;
    for row in &rows {
        let id = row["event_id"].as_str().unwrap();
        let body = &bodies[id];
        let i = sent_ids.iter().position(|s| s == id).unwrap();
        assert_eq!(row["event_type"], events[i]["type"], "{row}");
        assert_eq!(row["hook_id"], "wh");
        assert_eq!(row["hook_type"], "webhook");
        assert_eq!(row["attempts"], 1, "{row}");
        assert_eq!(row["last_error"], Value::Null, "{row}");
        assert!(row["latency_ms"].is_u64(), "latency_ms set: {row}");
        assert!(row["id"].is_i64(), "{row}");
        assert_eq!(row["size"], body.len(), "{row}");
        parse_rfc3339(row["created_at"].as_str().unwrap());
        parse_rfc3339(row["completed_at"].as_str().unwrap());
        let text = String::from_utf8(body.clone()).unwrap();
        let preview: String = text.chars().take(200).collect();
        assert_eq!(row["payload_preview"], preview, "{row}");
    }
}

/// More deliveries than `--max-in-flight` lets this process hold: the rest wait in the
/// database and the claimer brings them in as room frees, in batches — every one arrives, once.
#[tokio::test]
async fn deliveries_beyond_the_memory_bound_wait_in_the_database_and_all_arrive_once() {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            max_in_flight: 8,
            poll_interval: ms(50),
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let a = ApiClient::new(&app, "Bound").await;
    let rx = Receiver::ok().await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;
    let events: Vec<Value> = (0..300)
        .map(|i| json!({"id": format!("bound-{i}"), "type": "message.new"}))
        .collect();
    for chunk in events.chunks(100) {
        let answer = post_events(&a, json!({ "events": chunk })).await;
        assert!(
            accepted(&answer).iter().all(|(_, n, _)| *n == 1),
            "{answer}"
        );
    }
    let hits = rx.wait_for(300).await;
    let ids: HashSet<String> = hits
        .iter()
        .map(|h| h.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 300, "some delivered twice, others not yet");
    tokio::time::sleep(ms(300)).await;
    assert_eq!(rx.hits().len(), 300, "a delivery was sent twice");
}

#[tokio::test]
async fn event_type_filter() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let only_new = Receiver::ok().await;
    let everything = Receiver::ok().await;
    set_hooks(
        &a,
        json!([
            webhook("only-new", &only_new.url, &["message.new"]),
            webhook("all", &everything.url, &[]),
        ]),
        false,
    )
    .await;
    let answer = post_events(
        &a,
        json!({"events": [
            {"type": "message.new", "cid": "messaging:f", "message": {"text": "hi"}},
            {"type": "channel.created", "cid": "messaging:f"},
        ]}),
    )
    .await;
    let got = accepted(&answer);
    assert_eq!(got[0].1, 2, "message.new goes to both hooks: {answer}");
    assert_eq!(got[1].1, 1, "channel.created to one: {answer}");

    let all_hits = everything.wait_for(2).await;
    let mut types: Vec<String> = all_hits
        .iter()
        .map(|h| h.json()["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, ["channel.created", "message.new"]);

    let new_hits = only_new.wait_for(1).await;
    assert_eq!(new_hits[0].json()["type"], "message.new");
    assert_eq!(new_hits[0].json()["id"], got[0].0.as_str());
    // the filtered hook has no delivery of channel.created at all, so none can come later
    let rows = deliveries_until(&a, "hook_id=only-new", "1 delivered", |r| {
        all_status(r, 1, "delivered")
    })
    .await;
    assert_eq!(rows[0]["event_type"], "message.new");
    assert_eq!(only_new.hits().len(), 1);
    let rows = deliveries_until(&a, "hook_id=all", "2 delivered", |r| {
        all_status(r, 2, "delivered")
    })
    .await;
    assert_eq!(rows.len(), 2);
}

#[tokio::test]
async fn compression_gzip_webhook() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let rx = Receiver::ok().await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), true).await;
    let sent = json!({"type": "message.new", "cid": "messaging:z",
                      "message": {"text": "compress me ".repeat(50)}});
    let answer = post_events(&a, sent.clone()).await;
    let id = ids(&answer).remove(0);

    let hits = rx.wait_for(1).await;
    let hit = &hits[0];
    assert_eq!(hit.header("content-encoding"), "gzip");
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.body[..2], [0x1f, 0x8b], "gzip magic");
    let json_bytes = gunzip(&hit.body);
    assert!(
        hit.body.len() < json_bytes.len(),
        "a repetitive body gets smaller"
    );
    let event: Value = serde_json::from_slice(&json_bytes).unwrap();
    assert_event(&event, &sent, &id);
    assert_eq!(
        hit.header("x-signature"),
        hmac_hex(&a.api_secret, &json_bytes),
        "the signature is over the uncompressed JSON"
    );
    assert_ne!(
        hit.header("x-signature"),
        hmac_hex(&a.api_secret, &hit.body)
    );
}

#[tokio::test]
async fn retry_then_success() {
    let app = spawn_fast(vec![ms(100), ms(100), ms(100)]).await;
    let a = ApiClient::new(&app, "Chat").await;
    let rx = Receiver::start(|_, before| if before < 2 { 503 } else { 200 }).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;
    let sent = json!({"type": "message.new", "cid": "messaging:r"});
    let id = ids(&post_events(&a, sent.clone()).await).remove(0);

    let hits = rx.wait_for(3).await;
    let attempts: Vec<&str> = hits.iter().map(|h| h.header("x-webhook-attempt")).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let wid = hits[0].header("x-webhook-id");
    assert!(
        hits.iter().all(|h| h.header("x-webhook-id") == wid),
        "same x-webhook-id on every attempt"
    );
    for hit in &hits {
        assert_eq!(hit.body, hits[0].body, "the same body every time");
        assert_event(&hit.json(), &sent, &id);
        assert_eq!(
            hit.header("x-signature"),
            hmac_hex(&a.api_secret, &hit.body)
        );
    }
    let rows = deliveries_until(&a, &format!("event_id={id}"), "delivered", |r| {
        all_status(r, 1, "delivered")
    })
    .await;
    assert_eq!(rows[0]["attempts"], 3, "{}", rows[0]);
    assert_eq!(rx.hits().len(), 3, "no request after the 2xx");

    let text = metrics(&app).await;
    assert!(
        deliveries_metric(&text, "webhook", "retried") >= 2.0,
        "retried counted:\n{text}"
    );
    assert!(
        deliveries_metric(&text, "webhook", "delivered") >= 1.0,
        "delivered counted:\n{text}"
    );
}

#[tokio::test]
async fn permanent_failure_dead_letter_then_redeliver() {
    let app = spawn_fast(vec![ms(100), ms(100), ms(100)]).await;
    let a = ApiClient::new(&app, "Chat").await;
    let status = Arc::new(AtomicU16::new(400));
    let answer = status.clone();
    let rx = Receiver::start(move |_, _| answer.load(Ordering::SeqCst)).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;

    // a 400 is final: failed after one attempt
    let first = ids(&post_events(&a, json!({"type": "message.new", "n": 1})).await).remove(0);
    let rows = deliveries_until(&a, &format!("event_id={first}"), "failed", |r| {
        all_status(r, 1, "failed")
    })
    .await;
    let row = &rows[0];
    assert_eq!(row["attempts"], 1, "{row}");
    assert!(
        row["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("400"),
        "last_error names the status: {row}"
    );
    assert_eq!(rx.hits().len(), 1, "not retried");
    let delivery_id = row["id"].as_i64().unwrap();

    // redeliver by id once the receiver accepts
    status.store(200, Ordering::SeqCst);
    let (code, body) = a
        .call(
            Method::POST,
            "/deliveries/redeliver",
            Some(json!({"ids": [delivery_id]})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["redelivered"], 1, "{body}");
    assert!(body["duration"].is_string());
    deliveries_until(&a, &format!("event_id={first}"), "redelivered", |r| {
        all_status(r, 1, "delivered")
    })
    .await;
    let hits = rx.wait_for(2).await;
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].json()["id"], first.as_str());
    assert_eq!(
        hits[1].header("x-webhook-id"),
        hits[0].header("x-webhook-id"),
        "the same event to the same hook keeps its webhook id"
    );

    // the range form: only failed deliveries of the hook inside [since, until]
    status.store(400, Ordering::SeqCst);
    let before_range =
        ids(&post_events(&a, json!({"type": "message.new", "n": 2})).await).remove(0);
    deliveries_until(&a, &format!("event_id={before_range}"), "failed", |r| {
        all_status(r, 1, "failed")
    })
    .await;
    // start the range at the next whole second, so that stored precision cannot matter
    let now = time::OffsetDateTime::now_utc();
    let since = now.replace_nanosecond(0).unwrap() + time::Duration::seconds(1);
    tokio::time::sleep((since - now).unsigned_abs() + ms(20)).await;
    let in_range = ids(&post_events(
        &a,
        json!({"events": [{"type": "message.new", "n": 3}, {"type": "message.new", "n": 4}]}),
    )
    .await);
    deliveries_until(&a, "hook_id=wh&status=failed", "3 failed", |r| r.len() == 3).await;
    let until = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    status.store(200, Ordering::SeqCst);
    let (code, body) = a
        .call(
            Method::POST,
            "/deliveries/redeliver",
            Some(json!({"hook_id": "wh", "since": rfc3339(since), "until": rfc3339(until)})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["redelivered"], 2, "only the two in the range: {body}");
    for id in &in_range {
        deliveries_until(&a, &format!("event_id={id}"), "redelivered", |r| {
            all_status(r, 1, "delivered")
        })
        .await;
    }
    let rows = deliveries(&a, &format!("event_id={before_range}")).await;
    assert_eq!(
        rows[0]["status"], "failed",
        "outside the range: {}",
        rows[0]
    );
    let delivered: HashSet<String> = rx
        .hits()
        .iter()
        .map(|h| h.json()["id"].as_str().unwrap().to_string())
        .collect();
    for id in &in_range {
        assert!(delivered.contains(id), "{id} reached the receiver");
    }
}

#[tokio::test]
async fn exhausted_retries_dead_letter() {
    let app = spawn_fast(vec![ms(50), ms(50)]).await;
    let a = ApiClient::new(&app, "Chat").await;
    let rx = Receiver::start(|_, _| 500).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;
    let id = ids(&post_events(&a, json!({"type": "message.new"})).await).remove(0);

    let rows = deliveries_until(&a, &format!("event_id={id}"), "failed", |r| {
        all_status(r, 1, "failed")
    })
    .await;
    let row = &rows[0];
    assert_eq!(row["attempts"], 3, "1 + one per schedule entry: {row}");
    assert!(
        row["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{row}"
    );
    assert_eq!(row["next_attempt_at"], Value::Null, "{row}");
    let attempts: Vec<String> = rx
        .hits()
        .iter()
        .map(|h| h.header("x-webhook-attempt").to_string())
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let text = metrics(&app).await;
    assert!(
        deliveries_metric(&text, "webhook", "failed") >= 1.0,
        "\n{text}"
    );
}

#[tokio::test]
async fn disabled_hook_gets_nothing() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let on = Receiver::ok().await;
    let off = Receiver::ok().await;
    let mut disabled = webhook("off", &off.url, &[]);
    disabled["enabled"] = json!(false);
    set_hooks(&a, json!([webhook("on", &on.url, &[]), disabled]), false).await;
    let answer = post_events(&a, json!({"type": "message.new"})).await;
    assert_eq!(accepted(&answer)[0].1, 1, "{answer}");

    on.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(off.hits().len(), 0, "the disabled hook got a request");
    assert!(deliveries(&a, "hook_id=off").await.is_empty());
    assert_eq!(deliveries(&a, "hook_id=on").await.len(), 1);
}

// ------------------------------------------------------------------------------------------
// SQS, SNS, Kinesis

#[tokio::test]
async fn sqs_delivery() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("deliver").await;
    set_hooks(&a, json!([sqs_hook("q", &queue, "test", "test")]), false).await;
    let events: Vec<Value> = (0..25)
        .map(|i| {
            json!({"type": if i % 2 == 0 { "message.new" } else { "reaction.new" },
                         "cid": "messaging:sqs", "n": i})
        })
        .collect();
    check_sqs_round_trip(&a, &queue, &events, false).await;
    deliveries_until(&a, "hook_id=q", "25 delivered", |r| {
        all_status(r, 25, "delivered")
    })
    .await;
}

#[tokio::test]
async fn sqs_delivery_gzip() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Compressed").await;
    let queue = create_queue("deliver-gz").await;
    set_hooks(&a, json!([sqs_hook("q", &queue, "test", "test")]), true).await;
    let events: Vec<Value> = (0..12)
        .map(|i| {
            json!({"type": "message.new", "cid": "messaging:gz", "n": i,
                         "message": {"text": "zip ".repeat(40)}})
        })
        .collect();
    check_sqs_round_trip(&a, &queue, &events, true).await;
}

#[tokio::test]
async fn sqs_fifo_order_per_channel() {
    use aws_sdk_sqs::types::{MessageSystemAttributeName as S, QueueAttributeName as A};
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let sqs = sqs_client().await;
    let queue = sqs
        .create_queue()
        .queue_name(format!("order-{}.fifo", uuid::Uuid::new_v4().simple()))
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "false")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    set_hooks(&a, json!([sqs_hook("fifo", &queue, "test", "test")]), false).await;

    let cids = ["messaging:a", "messaging:b", "messaging:c"];
    let mut next = [0u32; 3];
    let mut sent: HashMap<String, (String, u32)> = HashMap::new();
    for call in 0..5 {
        let events: Vec<Value> = (0..6)
            .map(|i| {
                let c = (call + i) % 3;
                next[c] += 1;
                json!({"type": "message.new", "cid": cids[c], "seq": next[c]})
            })
            .collect();
        let answer = post_events(&a, json!({ "events": events })).await;
        for (id, ev) in ids(&answer).into_iter().zip(&events) {
            let cid = ev["cid"].as_str().unwrap().to_string();
            sent.insert(id, (cid, ev["seq"].as_u64().unwrap() as u32));
        }
    }
    assert_eq!(sent.len(), 30);

    let messages = receive(&sqs, &queue, 30, WAIT).await;
    assert_eq!(messages.len(), 30);
    let mut order: HashMap<String, Vec<u32>> = HashMap::new();
    for m in &messages {
        let event = decode_body(m.body().unwrap(), false);
        let id = event["id"].as_str().unwrap();
        let (cid, seq) = &sent[id];
        assert_eq!(event["cid"], cid.as_str());
        assert_eq!(
            system_attribute(m, S::MessageGroupId).as_deref(),
            Some(cid.as_str())
        );
        assert_eq!(
            system_attribute(m, S::MessageDeduplicationId).as_deref(),
            Some(id)
        );
        order.entry(cid.clone()).or_default().push(*seq);
    }
    for cid in cids {
        assert_eq!(order[cid], (1..=10).collect::<Vec<u32>>(), "{cid} in order");
    }
}

#[tokio::test]
async fn oversize_dropped() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("big").await;
    set_hooks(&a, json!([sqs_hook("q", &queue, "test", "test")]), false).await;
    let big = ids(&post_events(
        &a,
        json!({"type": "message.new", "blob": "x".repeat(300_000)}),
    )
    .await)
    .remove(0);
    let rows = deliveries_until(&a, &format!("event_id={big}"), "dropped", |r| {
        all_status(r, 1, "dropped")
    })
    .await;
    let error = rows[0]["last_error"].as_str().unwrap_or_default();
    let numbers: Vec<u64> = error
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        numbers.iter().any(|&n| n > 300_000),
        "last_error gives the encoded size: {}",
        rows[0]
    );

    let small =
        ids(&post_events(&a, json!({"type": "message.new", "small": true})).await).remove(0);
    let sqs = sqs_client().await;
    let messages = receive(&sqs, &queue, 1, WAIT).await;
    assert_eq!(messages.len(), 1, "only the small event arrives");
    assert_eq!(
        decode_body(messages[0].body().unwrap(), false)["id"],
        small.as_str()
    );
    deliveries_until(&a, &format!("event_id={small}"), "delivered", |r| {
        all_status(r, 1, "delivered")
    })
    .await;

    let text = metrics(&app).await;
    assert_eq!(deliveries_metric(&text, "sqs", "dropped"), 1.0, "\n{text}");
}

#[tokio::test]
async fn partial_batch_failure_sqs() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let queue = create_queue("mixed").await;
    set_hooks(&a, json!([sqs_hook("q", &queue, "test", "test")]), false).await;
    let mut events: Vec<Value> = (0..5)
        .map(|i| json!({"type": "message.new", "n": i}))
        .collect();
    events.insert(
        2,
        json!({"type": "message.new", "blob": "y".repeat(300_000)}),
    );
    let answer = post_events(&a, json!({ "events": events })).await;
    let all = ids(&answer);
    let big = all[2].clone();
    let small: HashSet<String> = all.iter().filter(|id| **id != big).cloned().collect();

    let sqs = sqs_client().await;
    let messages = receive(&sqs, &queue, 5, WAIT).await;
    let got: HashSet<String> = messages
        .iter()
        .map(|m| {
            decode_body(m.body().unwrap(), false)["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(messages.len(), 5);
    assert_eq!(got, small);

    let rows = deliveries_until(&a, "hook_id=q", "5 delivered, 1 dropped", |r| {
        r.len() == 6
            && r.iter()
                .all(|d| d["status"] == "delivered" || d["status"] == "dropped")
    })
    .await;
    for row in &rows {
        let want = if row["event_id"] == big.as_str() {
            "dropped"
        } else {
            "delivered"
        };
        assert_eq!(row["status"], want, "{row}");
        assert_eq!(row["next_attempt_at"], Value::Null, "not retried: {row}");
        if want == "delivered" {
            assert_eq!(row["attempts"], 1, "sent in one go: {row}");
        }
    }
    let text = metrics(&app).await;
    assert_eq!(deliveries_metric(&text, "sqs", "retried"), 0.0, "\n{text}");
    assert_eq!(deliveries_metric(&text, "sqs", "dropped"), 1.0, "\n{text}");
    assert_eq!(
        deliveries_metric(&text, "sqs", "delivered"),
        5.0,
        "\n{text}"
    );
}

#[tokio::test]
async fn sns_delivery() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let conf = aws_config().await;
    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let topic = sns
        .create_topic()
        .name(format!("deliver-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = create_queue("sns-sub").await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&A::QueueArn]
        .clone();
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]});
    sqs.set_queue_attributes()
        .queue_url(&queue)
        .attributes(A::Policy, policy.to_string())
        .send()
        .await
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    set_hooks(
        &a,
        json!([{"id": "t", "hook_type": "sns", "enabled": true, "event_types": [],
                "sns_topic_arn": topic, "sns_region": "us-east-1", "sns_auth_type": "keys",
                "sns_key": "test", "sns_secret": "test"}]),
        false,
    )
    .await;
    let events: Vec<Value> = (0..12)
        .map(|i| json!({"type": "message.new", "cid": "messaging:sns", "n": i}))
        .collect();
    check_sqs_round_trip(&a, &queue, &events, false).await;
    deliveries_until(&a, "hook_id=t", "12 delivered", |r| {
        all_status(r, 12, "delivered")
    })
    .await;
}

/// Every record of the stream's first shard, read until caught up (or [`WAIT`] has passed).
async fn kinesis_records(
    kinesis: &aws_sdk_kinesis::Client,
    name: &str,
) -> Vec<aws_sdk_kinesis::types::Record> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    let shard = kinesis
        .list_shards()
        .stream_name(name)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_string();
    let mut iterator = kinesis
        .get_shard_iterator()
        .stream_name(name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let mut records = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let out = kinesis
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .unwrap();
        let batch = out.records().to_vec();
        let empty = batch.is_empty();
        if empty {
            tokio::time::sleep(ms(100)).await;
        }
        records.extend(batch);
        match out.next_shard_iterator() {
            Some(next) => iterator = next.to_string(),
            None => break,
        }
        // the deliveries are committed as delivered: once caught up, everything is there
        if empty && (!records.is_empty() || Instant::now() >= deadline) {
            break;
        }
    }
    records
}

/// The one record's `EventType` and parsed `Payload`, after checking its partition key and
/// that nothing else is in it.
fn only_record(records: &[aws_sdk_kinesis::types::Record]) -> (Value, Value) {
    assert_eq!(records.len(), 1, "exactly one record");
    let record = &records[0];
    assert_eq!(record.partition_key(), Some("messaging:k"));
    let data: Value = serde_json::from_slice(record.data().as_ref()).unwrap();
    assert_eq!(
        data.as_object().unwrap().len(),
        2,
        "EventType and Payload only: {data}"
    );
    let payload: Value = serde_json::from_str(data["Payload"].as_str().unwrap()).unwrap();
    (data["EventType"].clone(), payload)
}

#[tokio::test]
async fn kinesis_delivery() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws_config().await);
    let (chime_name, chime_arn) = crate::support::create_stream("deliver").await;
    let (stream_name, stream_arn) = crate::support::create_stream("deliver-stream").await;
    let hook = |id: &str, arn: &str, payload: Option<&str>| {
        json!({"id": id, "hook_type": "kinesis", "enabled": true, "event_types": [],
               "kinesis_stream_arn": arn, "kinesis_region": "us-east-1",
               "kinesis_auth_type": "keys", "kinesis_key": "test", "kinesis_secret": "test",
               "kinesis_data_types": ["ChannelMessage"], "kinesis_payload": payload})
    };
    set_hooks(
        &a,
        json!([
            hook("k", &chime_arn, None),
            hook("ks", &stream_arn, Some("stream"))
        ]),
        false,
    )
    .await;
    let (_, body) = a.call(Method::GET, "/app", None).await;
    let stored = &body["app"]["event_hooks"];
    assert_eq!(
        stored[0].get("kinesis_payload"),
        None,
        "the default is not written: {stored}"
    );
    assert_eq!(stored[1]["kinesis_payload"], "stream", "{stored}");
    let events = vec![
        json!({"type": "message.new", "cid": "messaging:k",
               "message": {"id": "m1", "text": "to kinesis", "user": {"id": "alice", "name": "Alice"},
                           "created_at": "2026-12-01T08:56:27.123456Z", "mood": "fine"}}),
        json!({"type": "channel.created", "cid": "messaging:k"}),
        json!({"type": "reaction.new", "cid": "messaging:k"}),
    ];
    let answer = post_events(&a, json!({ "events": events })).await;
    let got = accepted(&answer);
    let counts: Vec<i64> = got.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(
        counts,
        [2, 0, 0],
        "only message.new maps into ChannelMessage: {answer}"
    );
    let message_id = got[0].0.clone();
    for hook in ["hook_id=k", "hook_id=ks"] {
        deliveries_until(&a, hook, "delivered", |r| all_status(r, 1, "delivered")).await;
    }

    // Chime's shape, under the app's AppInstance ARN
    let (event_type, payload) = only_record(&kinesis_records(&kinesis, &chime_name).await);
    assert_eq!(event_type, "CREATE_CHANNEL_MESSAGE");
    let instance = hookrelay::config::ChimeOpts::default()
        .account()
        .app_instance_arn(&a.external_id);
    assert_eq!(
        payload["ChannelArn"],
        format!("{instance}/channel/messaging:k")
    );
    assert_eq!(payload["MessageId"], "m1");
    assert_eq!(payload["Content"], "to kinesis");
    assert_eq!(payload["Type"], "STANDARD");
    assert_eq!(payload["CreatedTimestamp"], "2026-12-01T08:56:27.123Z");
    assert_eq!(
        payload["Sender"],
        json!({"Arn": format!("{instance}/user/alice"), "Name": "Alice"})
    );
    let metadata: Value = serde_json::from_str(payload["Metadata"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["mood"], "fine", "custom fields travel in Metadata");

    // the Stream event as received, for the hook that asks for it
    let (event_type, payload) = only_record(&kinesis_records(&kinesis, &stream_name).await);
    assert_eq!(event_type, "CREATE_CHANNEL_MESSAGE");
    assert_event(&payload, &events[0], &message_id);
}

// ------------------------------------------------------------------------------------------
// the API around delivery

#[track_caller]
fn assert_error(status: u16, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert_eq!(body["StatusCode"], want_status, "{body}");
}

#[tokio::test]
async fn bad_input() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let rx = Receiver::ok().await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])]), false).await;
    let post = |body: Value| a.call(Method::POST, "/events", Some(body));

    let (s, body) = post(json!({"events": []})).await;
    assert_error(s, &body, 400, 4);

    let (s, body) = post(json!({"events": [{"id": "no-type"}]})).await;
    assert_error(s, &body, 400, 4);
    assert!(
        body["message"].as_str().unwrap().contains("events[0].type"),
        "{body}"
    );
    for (bad, field) in [
        (json!({"type": ""}), "events[1].type"),
        (json!({"type": 5}), "events[1].type"),
        (json!({"type": "message.new", "id": 7}), "events[1].id"),
        (json!("message.new"), "events[1]"),
    ] {
        let (s, body) = post(json!({"events": [{"type": "message.new"}, bad]})).await;
        assert_error(s, &body, 400, 4);
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{field}: {body}"
        );
    }
    assert!(
        deliveries(&a, "").await.is_empty(),
        "a refused request stores nothing"
    );

    let res = a
        .request(Method::POST, "/events")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_error(s, &body, 400, 4);

    let many: Vec<Value> = (0..1001).map(|_| json!({"type": "message.new"})).collect();
    let (s, body) = post(json!({ "events": many })).await;
    assert_error(s, &body, 400, 4);
    assert!(
        body["message"].as_str().unwrap().contains("events"),
        "{body}"
    );
    assert!(deliveries(&a, "").await.is_empty());

    let huge = json!({"type": "message.new", "blob": "z".repeat(17 * 1024 * 1024)});
    let (s, body) = post(huge).await;
    assert_error(s, &body, 413, 22);

    // no api key: code 2; no token: code 5
    let res = reqwest::Client::new()
        .post(app.url("/events"))
        .json(&json!({"type": "message.new"}))
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_error(s, &res.json().await.unwrap(), 401, 2);
    let res = reqwest::Client::new()
        .post(format!("{}?api_key={}", app.url("/events"), a.api_key))
        .json(&json!({"type": "message.new"}))
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_error(s, &res.json().await.unwrap(), 401, 5);
    assert!(deliveries(&a, "").await.is_empty());

    // a repeated id: stored and delivered once (the single-object form counts too)
    let id = format!("dup-{}", uuid::Uuid::new_v4());
    let first = post_events(&a, json!({"id": id, "type": "message.new"})).await;
    assert_eq!(accepted(&first), [(id.clone(), 1, false)]);
    let again = post_events(
        &a,
        json!({"events": [{"id": id, "type": "message.new"}, {"type": "channel.created"}]}),
    )
    .await;
    let again = accepted(&again);
    assert_eq!(again[0], (id.clone(), 0, true));
    assert_eq!((again[1].1, again[1].2), (1, false));
    deliveries_until(&a, "", "2 delivered", |r| all_status(r, 2, "delivered")).await;
    assert_eq!(deliveries(&a, &format!("event_id={id}")).await.len(), 1);
    let hits = rx.wait_for(2).await;
    let delivered: Vec<String> = hits
        .iter()
        .map(|h| h.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(delivered.iter().filter(|d| **d == id).count(), 1);
}

#[tokio::test]
async fn deliveries_listing_filters() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let other = ApiClient::new(&app, "Other").await;
    let good = Receiver::ok().await;
    let bad = Receiver::start(|_, _| 404).await;
    let queue = create_queue("listing").await;
    let (key, secret) = iam_user(&["sqs:*"]).await;
    set_hooks(
        &a,
        json!([
            webhook("good", &good.url, &[]),
            webhook("bad", &bad.url, &[]),
            sqs_hook("q", &queue, &key, &secret),
        ]),
        false,
    )
    .await;
    let answer = post_events(
        &a,
        json!({"events": [
            {"type": "message.new", "n": 1},
            {"type": "message.new", "n": 2},
            {"type": "channel.created", "n": 3},
        ]}),
    )
    .await;
    let event_ids = ids(&answer);
    assert!(
        accepted(&answer).iter().all(|(_, n, _)| *n == 3),
        "{answer}"
    );

    let all = deliveries_until(&a, "", "9 completed", |r| {
        r.len() == 9
            && r.iter()
                .all(|d| d["status"] == "delivered" || d["status"] == "failed")
    })
    .await;
    let row_ids: Vec<i64> = all.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    let mut sorted = row_ids.clone();
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    sorted.dedup();
    assert_eq!(row_ids, sorted, "newest first, no repeats");

    let failed = deliveries(&a, "status=failed").await;
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|d| d["hook_id"] == "bad"), "{failed:?}");
    let delivered = deliveries(&a, "status=delivered").await;
    assert_eq!(delivered.len(), 6);
    assert!(delivered.iter().all(|d| d["hook_id"] != "bad"));
    let q = deliveries(&a, "hook_id=q").await;
    assert_eq!(q.len(), 3);
    assert!(q.iter().all(|d| d["hook_type"] == "sqs"));
    assert!(deliveries(&a, "hook_id=good&status=failed")
        .await
        .is_empty());
    assert_eq!(deliveries(&a, "hook_id=bad&status=failed").await.len(), 3);
    let one_event = deliveries(&a, &format!("event_id={}", event_ids[2])).await;
    let hooks: HashSet<&str> = one_event
        .iter()
        .map(|d| d["hook_id"].as_str().unwrap())
        .collect();
    assert_eq!(hooks, HashSet::from(["good", "bad", "q"]));
    assert!(one_event
        .iter()
        .all(|d| d["event_type"] == "channel.created"));
    assert!(deliveries(&a, "status=pending").await.is_empty());

    // limit and paging with `before`
    let page1 = deliveries(&a, "limit=4").await;
    let ids_of =
        |rows: &[Value]| -> Vec<i64> { rows.iter().map(|d| d["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids_of(&page1), row_ids[..4]);
    let page2 = deliveries(&a, &format!("limit=4&before={}", row_ids[3])).await;
    assert_eq!(ids_of(&page2), row_ids[4..8]);
    let page3 = deliveries(&a, &format!("limit=4&before={}", row_ids[7])).await;
    assert_eq!(ids_of(&page3), row_ids[8..]);

    let (status, text) = get_with_query(&a, "/deliveries", "status=bogus").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_error(status, &body, 400, 4);

    // no secret in any listing; another app sees none of these
    for query in ["", "hook_id=q", "limit=500"] {
        let (status, text) = get_with_query(&a, "/deliveries", query).await;
        assert_eq!(status, 200);
        assert!(!text.contains(&secret), "the sqs secret leaked: {text}");
        assert!(!text.contains(&key), "the sqs key leaked: {text}");
    }
    assert!(deliveries(&other, "").await.is_empty());
    assert!(deliveries(&other, "hook_id=q").await.is_empty());
}

/// A PATCH that answered is in force for the next event: a new hook, a changed URL and the
/// compression setting apply at once, even right after a delivery of the same app.
#[tokio::test]
async fn hook_changes_apply_to_the_next_event() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat").await;
    let first = Receiver::ok().await;
    let second = Receiver::ok().await;
    let third = Receiver::ok().await;
    set_hooks(&a, json!([webhook("one", &first.url, &[])]), false).await;
    post_events(&a, json!({"type": "message.new", "step": 1})).await;
    first.wait_for(1).await;

    // replace the hook by another one, then send at once
    set_hooks(&a, json!([webhook("two", &second.url, &[])]), false).await;
    let id = ids(&post_events(&a, json!({"type": "message.new", "step": 2})).await).remove(0);
    let rows = deliveries_until(&a, &format!("event_id={id}"), "completed", |r| {
        r.len() == 1 && r[0]["status"] != "pending"
    })
    .await;
    assert_eq!(rows[0]["hook_id"], "two");
    assert_eq!(rows[0]["status"], "delivered", "{}", rows[0]);
    assert_eq!(second.wait_for(1).await[0].json()["id"], id.as_str());

    // the same hook with another URL
    set_hooks(&a, json!([webhook("two", &third.url, &[])]), false).await;
    let id = ids(&post_events(&a, json!({"type": "message.new", "step": 3})).await).remove(0);
    let hit = third.wait_for(1).await.remove(0);
    assert_eq!(hit.json()["id"], id.as_str());
    assert_eq!(hit.header("content-encoding"), "");

    // compression on
    set_hooks(&a, json!([webhook("two", &third.url, &[])]), true).await;
    let id = ids(&post_events(&a, json!({"type": "message.new", "step": 4})).await).remove(0);
    let hit = third.wait_for(2).await.remove(1);
    assert_eq!(hit.header("content-encoding"), "gzip");
    assert_eq!(hit.json()["id"], id.as_str());
    assert_eq!(second.hits().len(), 1, "nothing more to the old URL");
    assert_eq!(first.hits().len(), 1, "nothing more to the deleted hook");
}
