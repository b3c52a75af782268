//! The chat source over HTTP as Stream's server SDKs call it (both SDKs' body forms), on both
//! backends: Stream's answers and error JSON, the events each call fires (to a signed webhook
//! and to Kinesis in Chime's shape), admission before any change, the outbox a crash leaves
//! drained at the next start, and events stored with their source.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use hookrelay::config::{DeliveryOpts, GlobalOpts, Schedule, ServeOpts};
use hookrelay::domain::{AppId, EventSource, Millis};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{aws_config, create_stream, server_token, test_opts, ApiClient, TestApp};

// ------------------------------------------------------------------------------------------
// helpers

const WAIT: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `probe` every 50 ms until it gives `Ok`; panics with the last `Err` after [`WAIT`].
async fn eventually<T, Fut>(what: &str, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {WAIT:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(ms(50)).await,
        }
    }
}

/// A server whose deliveries are looked for often.
fn fast() -> ServeOpts {
    ServeOpts {
        delivery: DeliveryOpts {
            poll_interval: ms(50),
            ..Default::default()
        },
        ..test_opts()
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[track_caller]
fn rfc3339(v: &Value) -> time::OffsetDateTime {
    let text = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
}

/// A call with extra query parameters (`hard=true`, …) besides the API key.
async fn call_q(
    a: &ApiClient,
    method: Method,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = a
        .http
        .request(
            method,
            format!("{}{path}?api_key={}&{query}", a.base, a.api_key),
        )
        .header("Authorization", server_token(&a.api_secret))
        .header("stream-auth-type", "jwt");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(a: &ApiClient, path: &str, body: Value) -> (u16, Value) {
    a.call(Method::POST, path, Some(body)).await
}

/// Asserts a successful answer (with its `duration`) and returns it.
#[track_caller]
fn answered(got: (u16, Value), status: u16) -> Value {
    let (s, body) = got;
    assert_eq!(s, status, "{body}");
    assert!(body["duration"].is_string(), "no duration: {body}");
    body
}

/// Asserts Stream's error JSON with `status` and `code`.
#[track_caller]
fn stream_error(got: &(u16, Value), status: u16, code: i64) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["StatusCode"], status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Asserts a 400 code 4 naming `field` in `exception_fields` and in the message.
#[track_caller]
fn input_error(got: &(u16, Value), field: &str) {
    stream_error(got, 400, 4);
    let body = &got.1;
    assert!(
        body["exception_fields"].get(field).is_some(),
        "{field} not in exception_fields: {body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains(field),
        "{field} not in the message: {body}"
    );
}

async fn set_hooks(a: &ApiClient, hooks: Value) {
    let (status, body) = a.patch_app(json!({ "event_hooks": hooks })).await;
    assert_eq!(status, 200, "{body}");
}

fn webhook(id: &str, url: &str, event_types: &[&str]) -> Value {
    json!({"id": id, "hook_type": "webhook", "enabled": true, "webhook_url": url,
           "event_types": event_types})
}

fn user_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|m| m["user_id"].as_str().expect("user_id").to_string())
        .collect()
}

/// Users alice (name, custom field), bob and carol.
async fn upsert_three(a: &ApiClient) -> Value {
    answered(
        post(
            a,
            "/users",
            json!({"users": {
                "alice": {"id": "alice", "name": "Alice", "favorite_color": "blue"},
                "bob": {"id": "bob"},
                "carol": {"id": "carol", "role": "admin"}}}),
        )
        .await,
        201,
    )
}

/// Creates `messaging:{id}` by alice with alice and bob as members (the Python SDK's form).
async fn create_channel(a: &ApiClient, id: &str) -> Value {
    answered(
        post(
            a,
            &format!("/channels/messaging/{id}/query"),
            json!({"data": {"members": ["alice", "bob"], "created_by": {"id": "alice"}, "color": "red"},
                   "state": false, "watch": false, "presence": false}),
        )
        .await,
        201,
    )
}

async fn send(a: &ApiClient, cid_path: &str, message: Value) -> (u16, Value) {
    post(
        a,
        &format!("/channels/{cid_path}/message"),
        json!({ "message": message }),
    )
    .await
}

// ---- the in-test webhook receiver ---------------------------------------------------------

/// Every request a [`Receiver`] got: headers and body.
type Hits = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A webhook target on 127.0.0.1:0 answering `status`, recording every request.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    hits: Hits,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let status = Arc::new(AtomicU16::new(status));
        let hits: Hits = Arc::default();
        let (answer, record) = (status.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (answer, record) = (answer.clone(), record.clone());
                async move {
                    record.lock().unwrap().push((headers, body.to_vec()));
                    axum::http::StatusCode::from_u16(answer.load(Ordering::Relaxed)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, status, hits }
    }

    fn hits(&self) -> Vec<(HeaderMap, Vec<u8>)> {
        self.hits.lock().unwrap().clone()
    }

    /// Every request's body as JSON, in arrival order.
    fn events(&self) -> Vec<Value> {
        self.hits()
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).expect("a JSON body"))
            .collect()
    }

    /// Waits for at least `n` requests.
    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, Vec<u8>)> {
        eventually(&format!("{n} webhook requests"), || async move {
            let hits = self.hits();
            if hits.len() >= n {
                Ok(hits)
            } else {
                Err(format!("{} requests: {:?}", hits.len(), self.events()))
            }
        })
        .await
    }
}

/// Reads a receiver's requests call by call, checking each request's signature.
struct Feed<'a> {
    rx: &'a Receiver,
    a: &'a ApiClient,
    seen: usize,
}

impl Feed<'_> {
    /// The next `n` events (the next call's), after checking their headers.
    async fn next(&mut self, n: usize) -> Vec<Value> {
        let hits = self.rx.wait_for(self.seen + n).await;
        let mine = &hits[self.seen..self.seen + n];
        self.seen += n;
        mine.iter()
            .map(|(headers, body)| {
                let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap());
                assert_eq!(
                    header("x-signature"),
                    Some(hmac_hex(&self.a.api_secret, body).as_str())
                );
                assert_eq!(header("x-api-key"), Some(self.a.api_key.as_str()));
                assert_eq!(header("content-type"), Some("application/json"));
                let event: Value = serde_json::from_slice(body).unwrap();
                rfc3339(&event["created_at"]);
                assert!(
                    event["id"].as_str().is_some_and(|id| !id.is_empty()),
                    "{event}"
                );
                event
            })
            .collect()
    }

    /// The next event, which must be of type `kind`.
    async fn one(&mut self, kind: &str) -> Value {
        let event = self.next(1).await.remove(0);
        assert_eq!(event["type"], kind, "{event}");
        event
    }
}

/// Asserts a channel-scoped event of `messaging:{id}` acted by `actor`.
#[track_caller]
fn channel_scoped(e: &Value, id: &str, actor: &str) {
    assert_eq!(e["cid"], format!("messaging:{id}"), "{e}");
    assert_eq!(e["channel_type"], "messaging", "{e}");
    assert_eq!(e["channel_id"], id, "{e}");
    assert_eq!(e["user"]["id"], actor, "{e}");
}

// ------------------------------------------------------------------------------------------
// 1. the whole flow

#[tokio::test]
async fn the_sdk_calls_answer_stream_s_shapes_and_fire_its_events_in_order() {
    let app = TestApp::spawn_with(fast()).await;
    let a = ApiClient::new(&app, "Chat flow").await;
    let rx = Receiver::start(200).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])])).await;
    let mut feed = Feed {
        rx: &rx,
        a: &a,
        seen: 0,
    };

    // users: a map keyed by id, custom fields flat in and out; user.updated per user
    let users = upsert_three(&a).await;
    assert_eq!(users["membership_deletion_task_id"], "", "{users}");
    let by_id = users["users"].as_object().unwrap();
    let keys: BTreeSet<&str> = by_id.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["alice", "bob", "carol"]), "{users}");
    let alice = &by_id["alice"];
    assert_eq!(alice["id"], "alice");
    assert_eq!(alice["name"], "Alice");
    assert_eq!(alice["favorite_color"], "blue", "{alice}");
    assert_eq!(alice["role"], "user");
    assert_eq!(
        (&alice["banned"], &alice["online"]),
        (&json!(false), &json!(false))
    );
    rfc3339(&alice["created_at"]);
    rfc3339(&alice["updated_at"]);
    assert_eq!(by_id["carol"]["role"], "admin");
    let events = feed.next(3).await;
    let mut updated: HashMap<String, Value> = HashMap::new();
    for e in events {
        assert_eq!(e["type"], "user.updated", "{e}");
        assert_eq!(e["members"], json!([]), "{e}");
        updated.insert(e["user"]["id"].as_str().unwrap().to_string(), e);
    }
    assert_eq!(updated.len(), 3, "one per user: {updated:?}");
    assert_eq!(updated["alice"]["user"]["favorite_color"], "blue");
    // a partial update: one more user.updated
    let patched = answered(
        a.call(
            Method::PATCH,
            "/users",
            Some(json!({"users": [{"id": "bob", "set": {"nickname": "B"}, "unset": []}]})),
        )
        .await,
        200,
    );
    assert_eq!(patched["users"]["bob"]["nickname"], "B", "{patched}");
    let e = feed.one("user.updated").await;
    assert_eq!(
        (&e["user"]["id"], &e["user"]["nickname"]),
        (&json!("bob"), &json!("B"))
    );

    // a channel created with members (py form): channel.created
    let state = create_channel(&a, "general").await;
    let channel = &state["channel"];
    assert_eq!(channel["id"], "general");
    assert_eq!(channel["type"], "messaging");
    assert_eq!(channel["cid"], "messaging:general");
    assert_eq!(channel["color"], "red", "custom fields flat: {channel}");
    assert_eq!(channel["created_by"]["id"], "alice", "{channel}");
    assert_eq!(channel["member_count"], 2, "{channel}");
    assert_eq!(
        (&channel["frozen"], &channel["disabled"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(user_ids(&state["members"]), ["alice", "bob"]);
    for key in ["messages", "pinned_messages", "read"] {
        assert_eq!(state[key], json!([]), "{key}: {state}");
    }
    assert_eq!(state["watcher_count"], 0, "{state}");
    let e = feed.one("channel.created").await;
    channel_scoped(&e, "general", "alice");
    assert_eq!(e["channel"]["cid"], "messaging:general", "{e}");
    assert_eq!(user_ids(&e["channel"]["members"]), ["alice", "bob"]);
    assert_eq!(user_ids(&e["members"]), ["alice", "bob"]);

    // querying it again (js form, other data) changes nothing and fires nothing
    let again = answered(
        post(
            &a,
            "/channels/messaging/general/query",
            json!({"data": {"created_by_id": "bob", "color": "blue", "members": ["carol"]}}),
        )
        .await,
        201,
    );
    assert_eq!(again["channel"]["color"], "red", "{again}");
    assert_eq!(again["channel"]["created_by"]["id"], "alice", "{again}");
    assert_eq!(user_ids(&again["members"]), ["alice", "bob"]);
    let recent = app.db.recent_events(AppId(a.app_id), 100).await.unwrap();
    let created = recent
        .iter()
        .filter(|e| e.event_type == "channel.created")
        .count();
    assert_eq!(created, 1, "the second query fired nothing: {recent:?}");

    // a channel whose id the server picks (js form, members as objects)
    let picked = answered(
        post(
            &a,
            "/channels/messaging/query",
            json!({"data": {"created_by_id": "bob", "members": [{"user_id": "alice"}]}}),
        )
        .await,
        201,
    );
    let picked_id = picked["channel"]["id"].as_str().unwrap().to_string();
    assert!(!picked_id.is_empty());
    assert_eq!(picked["channel"]["cid"], format!("messaging:{picked_id}"));
    assert_eq!(picked["channel"]["created_by"]["id"], "bob");
    assert_eq!(user_ids(&picked["members"]), ["alice"]);
    let e = feed.one("channel.created").await;
    channel_scoped(&e, &picked_id, "bob");

    // a message with the client's id (py form): message.new
    let sent = answered(
        send(
            &a,
            "messaging/general",
            json!({"id": "m-1", "text": "hello", "user": {"id": "alice"}, "mood": "happy"}),
        )
        .await,
        201,
    );
    let m = &sent["message"];
    assert_eq!(m["id"], "m-1");
    assert_eq!(m["text"], "hello");
    assert_eq!(m["html"], "<p>hello</p>\n");
    assert_eq!(m["type"], "regular");
    assert_eq!(m["user"]["id"], "alice");
    assert_eq!(m["user"]["favorite_color"], "blue");
    assert_eq!(m["cid"], "messaging:general");
    assert_eq!(m["mood"], "happy", "custom fields flat: {m}");
    assert_eq!(m["attachments"], json!([]));
    rfc3339(&m["created_at"]);
    let e = feed.one("message.new").await;
    channel_scoped(&e, "general", "alice");
    assert_eq!(e["message_id"], "m-1", "{e}");
    assert_eq!(e["message"]["id"], "m-1");
    assert_eq!(e["message"]["text"], "hello");
    assert_eq!(e["message"]["mood"], "happy");
    assert_eq!(e["watcher_count"], 0, "{e}");
    assert_eq!(user_ids(&e["members"]), ["alice", "bob"]);

    // without an id (js form): the server picks one, the event names it
    let sent = answered(
        send(
            &a,
            "messaging/general",
            json!({"text": "second", "user_id": "bob"}),
        )
        .await,
        201,
    );
    let second = sent["message"]["id"].as_str().unwrap().to_string();
    assert!(!second.is_empty() && second != "m-1", "{sent}");
    let e = feed.one("message.new").await;
    channel_scoped(&e, "general", "bob");
    assert_eq!(e["message_id"], second.as_str());

    // update: text and custom fields replaced; message.updated with the old text
    let up = answered(
        post(
            &a,
            "/messages/m-1",
            json!({"message": {"id": "m-1", "text": "hello, edited", "user_id": "alice",
                               "mood": "calm", "pinned": false}}),
        )
        .await,
        201,
    );
    assert_eq!(up["message"]["text"], "hello, edited");
    assert_eq!(up["message"]["mood"], "calm");
    assert_eq!(up["message"]["cid"], "messaging:general");
    let e = feed.one("message.updated").await;
    channel_scoped(&e, "general", "alice");
    assert_eq!(e["message_id"], "m-1");
    assert_eq!(e["message"]["text"], "hello, edited");
    assert_eq!(e["message_update"]["old_text"], "hello", "{e}");
    assert_eq!(e["message_update"]["change_set"]["text"], true, "{e}");
    rfc3339(&e["message"]["message_text_updated_at"]);

    // partial update: merged
    let partial = answered(
        a.call(
            Method::PUT,
            "/messages/m-1",
            Some(json!({"set": {"awesome": true}, "unset": ["mood"], "user": {"id": "alice"}})),
        )
        .await,
        201,
    );
    let m = &partial["message"];
    assert_eq!(m["awesome"], true, "{m}");
    assert!(m.get("mood").is_none(), "unset: {m}");
    assert_eq!(m["text"], "hello, edited", "kept: {m}");
    let e = feed.one("message.updated").await;
    assert_eq!(e["message"]["awesome"], true);
    assert_eq!(e["message_update"]["old_text"], "hello, edited", "{e}");

    // the channel's messages, oldest first
    let state = answered(
        post(&a, "/channels/messaging/general/query", json!({})).await,
        201,
    );
    let ids: Vec<&str> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m-1", second.as_str()]);
    assert_eq!(state["messages"][0]["awesome"], true);

    // soft delete: kept, typed deleted
    let deleted = answered(
        call_q(
            &a,
            Method::DELETE,
            "/messages/m-1",
            "hard=false&deleted_by=bob",
            None,
        )
        .await,
        200,
    );
    assert_eq!(deleted["message"]["type"], "deleted", "{deleted}");
    rfc3339(&deleted["message"]["deleted_at"]);
    let e = feed.one("message.deleted").await;
    channel_scoped(&e, "general", "bob");
    assert_eq!(e["hard_delete"], false, "{e}");
    assert_eq!(e["message_id"], "m-1");
    rfc3339(&e["message"]["deleted_at"]);
    // hard delete: gone afterwards
    let path = format!("/messages/{second}");
    let hard = answered(
        call_q(&a, Method::DELETE, &path, "hard=true", None).await,
        200,
    );
    assert_eq!(hard["message"]["id"], second.as_str());
    rfc3339(&hard["message"]["deleted_at"]);
    let e = feed.one("message.deleted").await;
    assert_eq!(e["hard_delete"], true, "{e}");
    assert_eq!(e["message_id"], second.as_str());
    stream_error(
        &call_q(&a, Method::DELETE, &path, "hard=true", None).await,
        404,
        16,
    );
    stream_error(
        &a.call(Method::PUT, &path, Some(json!({"set": {"x": 1}})))
            .await,
        404,
        16,
    );
    let state = answered(
        post(&a, "/channels/messaging/general/query", json!({})).await,
        201,
    );
    assert_eq!(state["messages"].as_array().unwrap().len(), 1, "{state}");
    assert_eq!(state["messages"][0]["type"], "deleted", "{state}");

    // add members (strings and objects): member.added per user, members listed
    let added = answered(
        post(
            &a,
            "/channels/messaging/general",
            json!({"add_members": ["carol", {"user_id": "alice"}], "message": null}),
        )
        .await,
        201,
    );
    assert_eq!(
        user_ids(&added["members"]),
        ["alice", "bob", "carol"],
        "{added}"
    );
    assert_eq!(added["channel"]["member_count"], 3);
    // alice was a member already: one event, carol's
    let e = feed.one("member.added").await;
    channel_scoped(&e, "general", "carol");
    assert_eq!(e["member"]["user_id"], "carol", "{e}");
    assert_eq!(e["member"]["user"]["id"], "carol", "{e}");
    assert_eq!(e["channel"]["cid"], "messaging:general", "{e}");
    assert_eq!(user_ids(&e["members"]), ["alice", "bob", "carol"]);
    // remove two: one member.removed per user
    let removed = answered(
        post(
            &a,
            "/channels/messaging/general",
            json!({"remove_members": ["bob", "carol"], "message": null}),
        )
        .await,
        201,
    );
    assert_eq!(user_ids(&removed["members"]), ["alice"], "{removed}");
    assert_eq!(removed["channel"]["member_count"], 1, "{removed}");
    let mut events = feed.next(2).await;
    events.sort_by_key(|e| {
        e["member"]["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    for (e, who) in events.iter().zip(["bob", "carol"]) {
        assert_eq!(e["type"], "member.removed", "{e}");
        channel_scoped(e, "general", who);
        assert_eq!(e["member"]["user_id"], who, "{e}");
        assert_eq!(e["channel"]["cid"], "messaging:general", "{e}");
        assert_eq!(user_ids(&e["members"]), ["alice"]);
    }

    // the channel's data replaced, then partially updated
    let data = answered(
        post(
            &a,
            "/channels/messaging/general",
            json!({"data": {"color": "green", "topic": "news"}, "message": null}),
        )
        .await,
        201,
    );
    assert_eq!(data["channel"]["color"], "green", "{data}");
    assert_eq!(data["channel"]["topic"], "news", "{data}");
    let e = feed.one("channel.updated").await;
    assert_eq!(e["channel"]["color"], "green", "{e}");
    let patched = answered(
        a.call(
            Method::PATCH,
            "/channels/messaging/general",
            Some(json!({"set": {"color": "yellow"}, "unset": ["topic"]})),
        )
        .await,
        200,
    );
    assert_eq!(patched["channel"]["color"], "yellow", "{patched}");
    assert!(patched["channel"].get("topic").is_none(), "{patched}");
    assert_eq!(user_ids(&patched["members"]), ["alice"]);
    let e = feed.one("channel.updated").await;
    assert_eq!(e["cid"], "messaging:general");
    assert_eq!(e["channel"]["color"], "yellow", "{e}");

    // delete the channel: sending to it is 404 afterwards
    let gone = answered(
        call_q(
            &a,
            Method::DELETE,
            "/channels/messaging/general",
            "hard_delete=false",
            None,
        )
        .await,
        200,
    );
    assert_eq!(gone["channel"]["cid"], "messaging:general");
    rfc3339(&gone["channel"]["deleted_at"]);
    let e = feed.one("channel.deleted").await;
    assert_eq!(e["cid"], "messaging:general");
    rfc3339(&e["channel"]["deleted_at"]);
    stream_error(
        &send(
            &a,
            "messaging/general",
            json!({"text": "late", "user_id": "alice"}),
        )
        .await,
        404,
        16,
    );

    // nothing more came, and every event is a distinct one
    tokio::time::sleep(ms(300)).await;
    let all = rx.events();
    assert_eq!(all.len(), feed.seen, "unexpected extra events: {all:?}");
    let ids: BTreeSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len());
}

// ------------------------------------------------------------------------------------------
// 2. errors in Stream's JSON

#[tokio::test]
async fn unknown_things_are_404_and_bad_input_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "Chat errors").await;
    upsert_three(&a).await;
    create_channel(&a, "here").await;
    let hello = json!({"id": "dup", "text": "hi", "user_id": "alice"});
    answered(send(&a, "messaging/here", hello.clone()).await, 201);

    // unknown channel or message: 404 code 16
    let msg = json!({"text": "hi", "user_id": "alice"});
    stream_error(&send(&a, "messaging/nowhere", msg.clone()).await, 404, 16);
    for method in [Method::POST, Method::PATCH, Method::DELETE] {
        let body = (method != Method::DELETE).then(|| json!({"set": {}, "data": {}}));
        let got = a
            .call(method.clone(), "/channels/messaging/nowhere", body)
            .await;
        stream_error(&got, 404, 16);
    }
    stream_error(
        &post(&a, "/messages/nope", json!({"message": msg.clone()})).await,
        404,
        16,
    );
    stream_error(
        &a.call(
            Method::PUT,
            "/messages/nope",
            Some(json!({"set": {"a": 1}})),
        )
        .await,
        404,
        16,
    );
    stream_error(
        &a.call(Method::DELETE, "/messages/nope", None).await,
        404,
        16,
    );

    // a channel without its creator, or with members that do not exist, is not created
    let got = post(
        &a,
        "/channels/messaging/fresh/query",
        json!({"data": {"members": ["alice"]}}),
    )
    .await;
    input_error(&got, "data.created_by");
    let got = post(
        &a,
        "/channels/messaging/fresh/query",
        json!({"data": {"members": ["alice", "ghost"], "created_by_id": "alice"}}),
    )
    .await;
    input_error(&got, "data.members");
    assert!(
        got.1["message"].as_str().unwrap().contains("ghost"),
        "{}",
        got.1
    );
    let got = post(
        &a,
        "/channels/messaging/fresh/query",
        json!({"data": {"created_by": {"id": "ghost"}}}),
    )
    .await;
    input_error(&got, "data.created_by");
    stream_error(&send(&a, "messaging/fresh", msg.clone()).await, 404, 16);
    // members added must exist
    let got = post(
        &a,
        "/channels/messaging/here",
        json!({"add_members": ["ghost"], "message": null}),
    )
    .await;
    input_error(&got, "add_members");

    // a message's user must be given and exist
    let got = send(
        &a,
        "messaging/here",
        json!({"text": "hi", "user_id": "ghost"}),
    )
    .await;
    input_error(&got, "message.user");
    let got = send(&a, "messaging/here", json!({"text": "hi"})).await;
    input_error(&got, "message.user");
    // an id already taken
    input_error(&send(&a, "messaging/here", hello).await, "message.id");
    // channel types and ids are letters, digits, _ and -
    let got = post(
        &a,
        "/channels/bad.type/x/query",
        json!({"data": {"created_by_id": "alice"}}),
    )
    .await;
    input_error(&got, "type");
    let got = send(&a, "bad.type/here", msg).await;
    input_error(&got, "type");

    // none of the refused calls changed anything
    let state = answered(
        post(&a, "/channels/messaging/here/query", json!({})).await,
        201,
    );
    assert_eq!(user_ids(&state["members"]), ["alice", "bob"]);
    let ids: Vec<&str> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dup"]);
    assert_eq!(state["messages"][0]["text"], "hi");
}

// ------------------------------------------------------------------------------------------
// 3. admission before any change

#[tokio::test]
async fn a_refused_chat_call_answers_429_and_changes_nothing() {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            retry_schedule: Schedule(vec![ms(200); 200]),
            poll_interval: ms(50),
            breaker_threshold: 1_000,
            max_pending_per_app: 1,
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let a = ApiClient::new(&app, "Chat backlog").await;
    let rx = Receiver::start(503).await;
    // only messages have deliveries: the setup below adds none
    set_hooks(&a, json!([webhook("wh", &rx.url, &["message.new"])])).await;
    upsert_three(&a).await;
    create_channel(&a, "busy").await;
    answered(
        send(
            &a,
            "messaging/busy",
            json!({"id": "m-ok", "text": "one", "user_id": "alice"}),
        )
        .await,
        201,
    );
    // one delivery pending (the endpoint fails): the next call is refused
    let refused_msg = json!({"id": "m-refused", "text": "two", "user_id": "alice"});
    let got = send(&a, "messaging/busy", refused_msg.clone()).await;
    stream_error(&got, 429, 9);
    let got = post(&a, "/users", json!({"users": {"zed": {"id": "zed"}}})).await;
    stream_error(&got, 429, 9);

    // neither the message nor the user exists, no event was stored, the outbox is empty
    {
        let mut tx = app.db.begin_chat(AppId(a.app_id)).await.unwrap();
        assert!(tx.message("m-ok").await.unwrap().is_some());
        assert!(
            tx.message("m-refused").await.unwrap().is_none(),
            "a refused send stored its message"
        );
        assert!(
            tx.users(&["zed".to_string()]).await.unwrap().is_empty(),
            "a refused upsert stored its user"
        );
    }
    let recent = app.db.recent_events(AppId(a.app_id), 100).await.unwrap();
    let news = recent
        .iter()
        .filter(|e| e.event_type == "message.new")
        .count();
    assert_eq!(news, 1, "{recent:?}");
    let updated = recent
        .iter()
        .filter(|e| e.event_type == "user.updated")
        .count();
    assert_eq!(updated, 3, "only the first upsert's events: {recent:?}");
    assert!(app.db.chat_outbox(10).await.unwrap().is_empty());

    // once the endpoint recovers the call goes through: the id was never taken
    rx.status.store(200, Ordering::Relaxed);
    eventually("the send admitted", || {
        let (a, msg) = (&a, refused_msg.clone());
        async move {
            let got = send(a, "messaging/busy", msg).await;
            match got.0 {
                201 => Ok(()),
                429 => Err(got.1.to_string()),
                _ => panic!("{got:?}"),
            }
        }
    })
    .await;
    // (a query is admitted like any chat call: once the new message's delivery is done)
    let state = eventually("the query admitted", || async {
        match post(&a, "/channels/messaging/busy/query", json!({})).await {
            (201, state) => Ok(state),
            (429, body) => Err(body.to_string()),
            got => panic!("{got:?}"),
        }
    })
    .await;
    let ids: Vec<&str> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m-ok", "m-refused"]);
}

// ------------------------------------------------------------------------------------------
// 4. the outbox a crash leaves

/// A second server on `first`'s data directory and database, served as `serve` serves it.
async fn restart_on(first: &TestApp) -> std::net::SocketAddr {
    let global = GlobalOpts {
        data_dir: first.dir.path().to_path_buf(),
        database_url: first.pg.as_ref().map(|p| p.url.clone()),
        master_key: None,
        log: "warn".into(),
    };
    let db = hookrelay::server::open(&global).await.expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = ServeOpts {
        site_root: Some(first.dir.path().join("site")),
        ..fast()
    };
    let app = hookrelay::server::router(db, &opts, addr)
        .await
        .expect("router");
    let deadlines = hookrelay::http_server::Deadlines::from(&opts);
    tokio::spawn(async move {
        hookrelay::http_server::serve_on(listener, app, deadlines, std::future::pending()).await
    });
    addr
}

#[tokio::test]
async fn events_a_crash_left_in_the_outbox_are_delivered_at_the_next_start_once() {
    let app = TestApp::spawn_with(fast()).await;
    let a = ApiClient::new(&app, "Chat crash").await;
    let rx = Receiver::start(200).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &[])])).await;
    // one event accepted the normal way
    answered(
        post(&a, "/users", json!({"users": {"alice": {"id": "alice"}}})).await,
        201,
    );
    let hits = rx.wait_for(1).await;
    let first = String::from_utf8(hits[0].1.clone()).unwrap();
    let first_id = serde_json::from_str::<Value>(&first).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // a change committed with its events, then the process died before ingest: one new event,
    // and one ingest already has (a crash after ingest, before the outbox was cleared)
    let lost_id = format!("ev-{}", uuid::Uuid::new_v4());
    let lost = json!({"id": lost_id, "type": "message.new", "cid": "messaging:crash",
                      "channel_type": "messaging", "channel_id": "crash", "message_id": "m-crash",
                      "message": {"id": "m-crash", "text": "left behind", "user": {"id": "alice"}},
                      "watcher_count": 0, "created_at": "2026-01-02T03:04:05.678Z"});
    let mut tx = app.db.begin_chat(AppId(a.app_id)).await.unwrap();
    tx.outbox(
        &[
            (lost_id.clone(), lost.to_string()),
            (first_id.clone(), first.clone()),
        ],
        Millis::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.db.chat_outbox(10).await.unwrap().len(), 2);
    // the running server drained at its start only
    tokio::time::sleep(ms(300)).await;
    assert_eq!(rx.hits().len(), 1, "{:?}", rx.events());

    // the next start accepts them: the new one is delivered, the known one is not again
    let _second = restart_on(&app).await;
    let hits = rx.wait_for(2).await;
    let got: Value = serde_json::from_slice(&hits[1].1).unwrap();
    assert_eq!(got, lost, "delivered as committed");
    assert_eq!(
        hits[1].0.get("x-signature").unwrap().to_str().unwrap(),
        hmac_hex(&a.api_secret, &hits[1].1)
    );
    eventually("the outbox emptied", || async {
        let rows = app.db.chat_outbox(10).await.unwrap();
        if rows.is_empty() {
            Ok(())
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await;
    let recent = app.db.recent_events(AppId(a.app_id), 10).await.unwrap();
    let stored = recent
        .iter()
        .find(|e| e.id == lost_id)
        .expect("the event stored");
    assert_eq!(stored.source, EventSource::Chat);
    assert_eq!(stored.cid.as_deref(), Some("messaging:crash"));
    assert_eq!(
        recent.len(),
        2,
        "the known id was not stored again: {recent:?}"
    );
    tokio::time::sleep(ms(500)).await;
    let events = rx.events();
    let again = events
        .iter()
        .filter(|e| e["id"] == first_id.as_str())
        .count();
    assert_eq!(again, 1, "delivered once: {events:?}");
    assert_eq!(events.len(), 2, "{events:?}");
}

// ------------------------------------------------------------------------------------------
// 5. stored with their source

#[tokio::test]
async fn chat_events_are_stored_with_source_chat_and_list_their_deliveries() {
    let app = TestApp::spawn_with(fast()).await;
    let a = ApiClient::new(&app, "Chat source").await;
    let rx = Receiver::start(200).await;
    set_hooks(&a, json!([webhook("wh", &rx.url, &["message.new"])])).await;
    upsert_three(&a).await;
    create_channel(&a, "src").await;
    answered(
        send(
            &a,
            "messaging/src",
            json!({"id": "m-src", "text": "hi", "user_id": "bob"}),
        )
        .await,
        201,
    );
    let (status, body) = post(
        &a,
        "/events",
        json!({"type": "reaction.new", "cid": "messaging:src"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let api_id = body["events"][0]["id"].as_str().unwrap().to_string();

    let recent = app.db.recent_events(AppId(a.app_id), 50).await.unwrap();
    // 3 user.updated, channel.created, message.new from chat; one from the API
    assert_eq!(recent.len(), 6, "{recent:?}");
    for e in &recent {
        let want = if e.id == api_id {
            EventSource::Api
        } else {
            EventSource::Chat
        };
        assert_eq!(e.source, want, "{e:?}");
    }
    let new = recent
        .iter()
        .find(|e| e.event_type == "message.new")
        .unwrap();
    assert_eq!(new.cid.as_deref(), Some("messaging:src"));
    assert_eq!(new.deliveries, 1, "{new:?}");
    let created = recent
        .iter()
        .find(|e| e.event_type == "channel.created")
        .unwrap();
    assert_eq!(
        created.deliveries, 0,
        "no hook takes channel.created: {created:?}"
    );

    // the delivered payload is that event; GET /deliveries?event_id= lists its delivery
    let hits = rx.wait_for(1).await;
    let payloads: Vec<Value> = hits
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    let delivered = payloads
        .iter()
        .find(|p| p["type"] == "message.new")
        .expect("message.new delivered");
    assert_eq!(delivered["id"], new.id.as_str());
    assert_eq!(delivered["message_id"], "m-src");
    let rows = eventually("its delivery delivered", || async {
        let (status, body) = call_q(
            &a,
            Method::GET,
            "/deliveries",
            &format!("event_id={}", new.id),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let rows = body["deliveries"].as_array().unwrap().clone();
        if rows.len() == 1 && rows[0]["status"] == "delivered" {
            Ok(rows)
        } else {
            Err(body.to_string())
        }
    })
    .await;
    assert_eq!(rows[0]["event_id"], new.id.as_str());
    assert_eq!(rows[0]["event_type"], "message.new");
    assert_eq!(rows[0]["hook_id"], "wh");
    let (_, none) = call_q(
        &a,
        Method::GET,
        "/deliveries",
        &format!("event_id={}", created.id),
        None,
    )
    .await;
    assert_eq!(none["deliveries"], json!([]), "{none}");
}

// ------------------------------------------------------------------------------------------
// 6. Kinesis in Chime's shape (the AWS emulator)

#[tokio::test]
async fn a_sent_message_reaches_kinesis_in_chime_s_shape() {
    let app = TestApp::spawn_with(fast()).await;
    let a = ApiClient::new(&app, "Chat kinesis").await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws_config().await);
    let (name, arn) = create_stream("chat").await;
    set_hooks(
        &a,
        json!([{"id": "k", "hook_type": "kinesis", "enabled": true, "event_types": [],
                "kinesis_stream_arn": arn, "kinesis_region": "us-east-1",
                "kinesis_auth_type": "keys", "kinesis_key": "test", "kinesis_secret": "test",
                "kinesis_data_types": ["ChannelMessage"], "kinesis_payload": "chime"}]),
    )
    .await;
    upsert_three(&a).await;
    create_channel(&a, "kin").await;
    let text = "to kinesis from chat";
    answered(
        send(
            &a,
            "messaging/kin",
            json!({"id": "km-1", "text": text, "user": {"id": "alice"}}),
        )
        .await,
        201,
    );
    eventually("the Kinesis delivery", || async {
        let (_, body) = call_q(&a, Method::GET, "/deliveries", "hook_id=k", None).await;
        let rows = body["deliveries"].as_array().cloned().unwrap_or_default();
        if rows.len() == 1 && rows[0]["status"] == "delivered" {
            Ok(())
        } else {
            Err(body.to_string())
        }
    })
    .await;

    use aws_sdk_kinesis::types::ShardIteratorType;
    let shard = kinesis
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_string();
    let mut iterator = kinesis
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let mut records = Vec::new();
    let deadline = Instant::now() + WAIT;
    while records.is_empty() && Instant::now() < deadline {
        let out = kinesis
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .unwrap();
        records.extend(out.records().to_vec());
        match out.next_shard_iterator() {
            Some(next) => iterator = next.to_string(),
            None => break,
        }
        tokio::time::sleep(ms(100)).await;
    }
    assert_eq!(
        records.len(),
        1,
        "the message only (the rest is not ChannelMessage)"
    );
    let record = &records[0];
    assert_eq!(record.partition_key(), Some("messaging:kin"));
    let data: Value = serde_json::from_slice(record.data().as_ref()).unwrap();
    assert_eq!(data["EventType"], "CREATE_CHANNEL_MESSAGE", "{data}");
    let payload: Value = serde_json::from_str(data["Payload"].as_str().unwrap()).unwrap();
    let instance = hookrelay::config::ChimeOpts::default()
        .account()
        .app_instance_arn(&a.external_id);
    assert_eq!(payload["MessageId"], "km-1", "{payload}");
    assert_eq!(payload["Content"], text, "{payload}");
    assert_eq!(
        payload["ChannelArn"],
        format!("{instance}/channel/messaging:kin")
    );
    assert_eq!(
        payload["Sender"]["Arn"],
        format!("{instance}/user/alice"),
        "{payload}"
    );
    assert_eq!(payload["Sender"]["Name"], "Alice", "{payload}");
}
