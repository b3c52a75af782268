//! Bounded memory and time: `POST /events` refuses an oversized list at its 1,001st item and an
//! oversized event, waits for room within `--events-memory`; slow headers and bodies are cut
//! off; shutdown has a deadline.

use std::time::{Duration, Instant};

use hookrelay::config::ServeOpts;
use hookrelay::http_server::{serve_on, Deadlines};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{server_token, test_opts, ApiClient, TestApp, ADMIN};

fn short_deadlines() -> ServeOpts {
    ServeOpts {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        ..test_opts()
    }
}

/// The start of a `POST /events` with the app's credentials, up to the blank line.
fn events_head(a: &ApiClient, content_length: usize) -> String {
    format!(
        "POST /events?api_key={} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         stream-auth-type: jwt\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n",
        a.api_key,
        server_token(&a.api_secret)
    )
}

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end.into(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_huge_list_of_tiny_numbers_is_refused_by_count() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "tiny").await;
    // the 14 MB body that once raised the peak memory by 425 MB
    let mut body = String::from(r#"{"events":[0"#);
    while body.len() < 14_000_000 {
        body.push_str(",0");
    }
    body.push_str("]}");
    let res = a
        .request(reqwest::Method::POST, "/events")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let json: serde_json::Value = res.json().await.unwrap();
    let why = json["exception_fields"]["events"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("at most 1000 events"), "{json}");

    // one event over the per-event cap, in a list: named by its index
    let big = "x".repeat(hookrelay::delivery::event::MAX_EVENT_BYTES);
    let (status, json) = a
        .call(
            reqwest::Method::POST,
            "/events",
            Some(serde_json::json!({"events": [{"type": "t"}, {"type": "t", "big": big}]})),
        )
        .await;
    assert_eq!(status, 400, "{json}");
    let why = json["exception_fields"]["events[1]"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("over the limit"), "{json}");
    // nothing of the refused calls was stored
    let (_, list) = a.call(reqwest::Method::GET, "/deliveries", None).await;
    assert_eq!(list["deliveries"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_after_the_header_timeout() {
    let app = TestApp::spawn_with(short_deadlines()).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    let head =
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut_off = false;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(1) {
            break;
        }
    }
    // the headers never complete: the server closes the connection without an answer
    if !cut_off {
        let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        assert!(
            answer.as_deref().is_some_and(|a| !a.contains("200 OK")),
            "still open or answered: {answer:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    // a client that sends its headers at once is served
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_after_the_body_timeout() {
    let app = TestApp::spawn_with(short_deadlines()).await;
    let a = ApiClient::new(&app, "stall").await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(events_head(&a, 1000).as_bytes())
        .await
        .unwrap();
    stream.write_all(br#"{"events": [{"type""#).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--body-timeout"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(450));
}

#[tokio::test]
async fn events_wait_for_room_in_the_events_memory_then_get_503() {
    let app = TestApp::spawn_with(ServeOpts {
        events_memory: 64 * 1024,
        body_timeout: Duration::from_secs(30),
        ..test_opts()
    })
    .await;
    let a = ApiClient::new(&app, "room").await;
    // a body of 60 KB that stalls holds most of the room
    let mut holder = TcpStream::connect(app.addr).await.unwrap();
    holder
        .write_all(events_head(&a, 60_000).as_bytes())
        .await
        .unwrap();
    holder.write_all(b"{").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // a small call still fits beside it
    let (status, json) = a
        .call(
            reqwest::Method::POST,
            "/events",
            Some(serde_json::json!({"type": "t"})),
        )
        .await;
    assert_eq!(status, 201, "{json}");
    // a big one waits for room, then is told to come back
    let started = Instant::now();
    let big: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"type": "t", "id": format!("e{i}"), "pad": "x".repeat(100)}))
        .collect();
    let res = a
        .request(reqwest::Method::POST, "/events")
        .json(&serde_json::json!({ "events": big }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let waited = started.elapsed();
    assert!(waited >= hookrelay::api::events_memory::WAIT, "{waited:?}");
    // once the stalled body is gone, the same call goes in
    drop(holder);
    let (status, json) = a
        .call(
            reqwest::Method::POST,
            "/events",
            Some(serde_json::json!({ "events": big })),
        )
        .await;
    assert_eq!(status, 201, "{json}");
}

#[tokio::test]
async fn shutdown_closes_requests_still_running_at_the_deadline() {
    let app = TestApp::spawn().await;
    let a = ApiClient::new(&app, "stop").await;
    let opts = ServeOpts {
        site_root: Some(app.dir.path().join("site")),
        ..test_opts()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = hookrelay::server::router(app.db.clone(), &opts, addr)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let deadlines = Deadlines {
        header: Duration::from_secs(10),
        body: Duration::from_secs(60),
        shutdown: Duration::from_millis(300),
    };
    let server = tokio::spawn(serve_on(listener, router, deadlines, async {
        let _ = stopped.await;
    }));
    // a request whose body never comes
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(events_head(&a, 1000).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve_on returns by the shutdown deadline")
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // no new connections are taken
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn pages_render_one_at_a_time_and_every_waiting_page_is_answered() {
    let app = TestApp::spawn_with(ServeOpts {
        render_concurrency: 1,
        ..test_opts()
    })
    .await;
    let b = std::sync::Arc::new(app.browser());
    b.setup(ADMIN.0, ADMIN.1).await.assert_redirect("/apps");
    let api = ApiClient::new(&app, "pages").await;
    let path = format!("/apps/{}", api.app_id);
    let mut pages = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (b, path) = (b.clone(), path.clone());
        pages.spawn(async move { b.get(&path).await });
    }
    let mut answered = 0;
    while let Some(page) = pages.join_next().await {
        let page = page.unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Recent events"), "{}", page.body);
        answered += 1;
    }
    assert_eq!(answered, 20);
}
