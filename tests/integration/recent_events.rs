//! The app page's "Recent events": events posted to `POST /events` show newest first with
//! their source, channel and count of deliveries, and link to the delivery log filtered to
//! each event.

use std::time::Duration;

use serde_json::json;

use crate::support::{logged_in, ApiClient, Browser};

/// An in-test webhook target that accepts everything.
async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::OK }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Posts `events` in one call; returns each one's count of deliveries.
async fn post_events(api: &ApiClient, events: serde_json::Value) -> Vec<i64> {
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({ "events": events })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["deliveries"].as_i64().unwrap())
        .collect()
}

/// One row of the section as the page renders it.
#[derive(Debug)]
struct Row {
    event_id: String,
    html: String,
}

impl Row {
    fn attr(&self, name: &str) -> String {
        let start = format!("{name}=\"");
        let from = self
            .html
            .find(&start)
            .unwrap_or_else(|| panic!("no {name} in {}", self.html));
        let rest = &self.html[from + start.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The text of the element marked `data-testid="{testid}"`.
    fn text(&self, testid: &str) -> String {
        let marker = format!("data-testid=\"{testid}\"");
        let from = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {testid} in {}", self.html));
        let rest = &self.html[from..];
        let rest = &rest[rest.find('>').unwrap() + 1..];
        rest[..rest.find('<').unwrap()].to_string()
    }
}

/// The rows of the app page's "Recent events", in page order.
async fn recent_rows(b: &Browser, app_id: i64) -> (String, Vec<Row>) {
    let page = b.get(&format!("/apps/{app_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Recent events"), "{}", page.body);
    let rows = page
        .body
        .split("<tr data-testid=\"recent-event\"")
        .skip(1)
        .map(|chunk| {
            let html = chunk[..chunk.find("</tr>").unwrap()].to_string();
            let mut row = Row {
                event_id: String::new(),
                html,
            };
            row.event_id = row.attr("data-event-id");
            row
        })
        .collect();
    (page.body, rows)
}

#[tokio::test]
async fn the_app_page_lists_recent_api_events_with_their_deliveries() {
    let (app, b) = logged_in().await;
    let api = ApiClient::new(&app, "Chat").await;
    let id = api.app_id;

    let (body, rows) = recent_rows(&b, id).await;
    assert!(rows.is_empty());
    assert!(
        body.contains("data-testid=\"recent-events-empty\""),
        "{body}"
    );
    assert!(body.contains("No events yet"));

    // one webhook for message.new only: reactions get no delivery
    let url = receiver().await;
    let (status, body) = api
        .patch_app(json!({ "event_hooks": [
            {"hook_type": "webhook", "webhook_url": url, "event_types": ["message.new"]}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");

    let first = post_events(
        &api,
        json!([{"type": "message.new", "id": "ev-1", "cid": "messaging:general"}]),
    )
    .await;
    assert_eq!(first, [1]);
    // later (a new millisecond): listed above the first
    tokio::time::sleep(Duration::from_millis(5)).await;
    // one call: the same accepted_at, so listed by id, byte order ("Z" < "a")
    let second = post_events(
        &api,
        json!([
            {"type": "reaction.new", "id": "ev/3&x"},
            {"type": "message.new", "id": "Zed"},
        ]),
    )
    .await;
    assert_eq!(second, [0, 1]);

    let (body, rows) = recent_rows(&b, id).await;
    assert!(!body.contains("recent-events-empty"), "{body}");
    let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids, ["Zed", "ev/3&amp;x", "ev-1"], "{body}");

    let (zed, reaction, ev1) = (&rows[0], &rows[1], &rows[2]);
    for row in &rows {
        assert_eq!(row.attr("data-source"), "api");
        assert_eq!(row.text("event-source"), "API");
    }
    assert_eq!(ev1.text("event-type"), "message.new");
    assert!(
        ev1.html.contains("<code>messaging:general</code>"),
        "{}",
        ev1.html
    );
    assert!(!zed.html.contains("messaging:"), "{}", zed.html);
    assert_eq!(ev1.attr("data-count"), "1");
    assert_eq!(ev1.text("event-deliveries"), "1 delivery");
    assert_eq!(reaction.text("event-type"), "reaction.new");
    assert_eq!(reaction.attr("data-count"), "0");
    assert_eq!(reaction.text("event-deliveries"), "0 deliveries");

    // each links to the delivery log filtered to it (the id URL-encoded)
    assert_eq!(
        ev1.attr("href"),
        format!("/apps/{id}/deliveries?event_id=ev-1")
    );
    assert_eq!(
        reaction.attr("href"),
        format!("/apps/{id}/deliveries?event_id=ev%2F3%26x")
    );
    let all = b.get(&format!("/apps/{id}/deliveries")).await;
    assert!(all.body.contains("data-event-id=\"ev-1\""), "{}", all.body);
    assert!(all.body.contains("data-event-id=\"Zed\""), "{}", all.body);
    let log = b.get(&ev1.attr("href")).await;
    assert_eq!(log.status, 200);
    assert_eq!(
        log.body.matches("data-event-id=\"ev-1\"").count(),
        1,
        "{}",
        log.body
    );
    assert!(!log.body.contains("data-event-id=\"Zed\""), "{}", log.body);
    // the filter shows and keeps the event id
    assert!(
        log.body.contains("name=\"event_id\" value=\"ev-1\""),
        "{}",
        log.body
    );
    let log = b.get(&reaction.attr("href")).await;
    assert!(log.body.contains("No deliveries match"), "{}", log.body);
    assert!(!log.body.contains("data-event-id="), "{}", log.body);

    // another app's page lists only its own events: none
    let other = ApiClient::new(&app, "Other").await;
    let (_, rows) = recent_rows(&b, other.app_id).await;
    assert!(rows.is_empty());
}

#[tokio::test]
async fn the_section_lists_the_latest_fifty_newest_first() {
    let (app, b) = logged_in().await;
    let api = ApiClient::new(&app, "Chat").await;
    let old: Vec<_> = (0..5)
        .map(|i| json!({"type": "typing.start", "id": format!("old-{i}")}))
        .collect();
    post_events(&api, json!(old)).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new: Vec<_> = (0..50)
        .map(|i| json!({"type": "message.new", "id": format!("new-{i:02}")}))
        .collect();
    post_events(&api, json!(new)).await;

    let (_, rows) = recent_rows(&b, api.app_id).await;
    let ids: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
    let expected: Vec<String> = (0..50).map(|i| format!("new-{i:02}")).collect();
    assert_eq!(ids, expected);

    // the store: newest first, at most the limit asked for
    let app_id = hookrelay::domain::AppId(api.app_id);
    let three = app.db.recent_events(app_id, 3).await.unwrap();
    let ids: Vec<&str> = three.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["new-00", "new-01", "new-02"]);
    let all = app.db.recent_events(app_id, 100).await.unwrap();
    assert_eq!(all.len(), 55);
    assert_eq!(all[54].id, "old-4");
    assert!(all
        .iter()
        .all(|e| e.source == hookrelay::domain::EventSource::Api && e.deliveries == 0));
    assert!(all.windows(2).all(|w| w[0].accepted_at >= w[1].accepted_at));
}

#[tokio::test]
async fn events_of_the_chat_source_show_as_chat() {
    let (app, b) = logged_in().await;
    let api = ApiClient::new(&app, "Chat").await;
    let url = receiver().await;
    let (status, body) = api
        .patch_app(json!({ "event_hooks": [
            {"hook_type": "webhook", "webhook_url": url, "event_types": ["message.new"]}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        post_events(&api, json!([{"type": "message.new", "id": "from-api"}])).await,
        [1]
    );

    let post = |path: &'static str, body: serde_json::Value| {
        let api = api.clone();
        async move { api.call(reqwest::Method::POST, path, Some(body)).await }
    };
    let (status, body) = post(
        "/users",
        json!({"users": {"alice": {"id": "alice"}, "bob": {"id": "bob"}}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        "/channels/messaging/room/query",
        json!({"data": {"created_by_id": "alice", "members": ["alice", "bob"]}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        "/channels/messaging/room/message",
        json!({"message": {"text": "hello", "user_id": "alice"}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // the message's event, once stored (the chat source may hand it to ingest just after
    // answering)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (body, rows) = loop {
        let (body, rows) = recent_rows(&b, api.app_id).await;
        let found = rows
            .iter()
            .any(|r| r.text("event-type") == "message.new" && r.attr("data-source") == "chat");
        if found {
            break (body, rows);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no chat event: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let chat = rows
        .iter()
        .find(|r| r.text("event-type") == "message.new" && r.attr("data-source") == "chat")
        .unwrap();
    assert_eq!(chat.text("event-source"), "Chat");
    assert!(
        chat.html.contains("<code>messaging:room</code>"),
        "{}",
        chat.html
    );
    assert_eq!(chat.attr("data-count"), "1");
    assert_eq!(chat.text("event-deliveries"), "1 delivery");
    assert_eq!(
        chat.attr("href"),
        format!("/apps/{}/deliveries?event_id={}", api.app_id, chat.event_id)
    );
    let log = b.get(&chat.attr("href")).await;
    let marker = format!("data-event-id=\"{}\"", chat.event_id);
    assert_eq!(log.body.matches(&marker).count(), 1, "{}", log.body);
    assert!(
        !log.body.contains("data-event-id=\"from-api\""),
        "{}",
        log.body
    );

    let from_api = rows.iter().find(|r| r.event_id == "from-api").unwrap();
    assert_eq!(from_api.attr("data-source"), "api");
    assert_eq!(from_api.text("event-source"), "API");
    // every other event of the chat calls is from the chat source too
    assert!(
        rows.iter()
            .filter(|r| r.event_id != "from-api")
            .all(|r| r.attr("data-source") == "chat" && r.text("event-source") == "Chat"),
        "{body}"
    );
}
