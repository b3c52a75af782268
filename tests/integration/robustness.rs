//! Bounded work: deliveries expire at their age limit, an app over its backlog cap is refused
//! with 429, ingest stops before the disk is full and resumes by itself, `/metrics` behind a
//! token or on its own address.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookrelay::config::{DeliveryOpts, Schedule, ServeOpts};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{test_opts, ApiClient, TestApp};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `probe` every 50 ms until it gives `Some`; panics naming `what` after `timeout`.
async fn until<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(ms(50)).await;
    }
}

/// A webhook target answering whatever status `status` holds.
async fn receiver(status: Arc<AtomicU16>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let status = status.clone();
            async move { axum::http::StatusCode::from_u16(status.load(Ordering::Relaxed)).unwrap() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn hook_to(a: &ApiClient, url: &str) {
    let hooks = json!([{"id": "wh", "hook_type": "webhook", "enabled": true, "webhook_url": url, "event_types": []}]);
    let (status, body) = a.patch_app(json!({ "event_hooks": hooks })).await;
    assert_eq!(status, 200, "{body}");
}

async fn post_event(a: &ApiClient) -> reqwest::Response {
    a.request(Method::POST, "/events")
        .json(&json!({"type": "message.new", "cid": "messaging:general"}))
        .send()
        .await
        .unwrap()
}

async fn metrics_text(url: String, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_dead_endpoint_s_deliveries_expire_at_the_age_limit_breaker_or_not() {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            // attempts would last far longer than the age limit
            retry_schedule: Schedule(vec![ms(100); 50]),
            poll_interval: ms(50),
            breaker_threshold: 3,
            max_delivery_age: Some(ms(2_500)),
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let a = ApiClient::new(&app, "Expiring").await;
    hook_to(&a, &receiver(Arc::new(AtomicU16::new(503))).await).await;
    let started = Instant::now();
    let res = post_event(&a).await;
    assert_eq!(res.status(), 201);
    let row: Value = until(
        "the delivery to expire",
        Duration::from_secs(20),
        || async {
            let (_, body) = a.call(Method::GET, "/deliveries", None).await;
            let row = body["deliveries"][0].clone();
            (row["status"] == "failed").then_some(row)
        },
    )
    .await;
    let error = row["last_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("expired: not delivered within 2500ms"),
        "{row}"
    );
    // the breaker held it (3 failures open it for 5 s): the age limit ended it, not attempts
    let attempts = row["attempts"].as_i64().unwrap();
    assert!((3..50).contains(&attempts), "{row}");
    assert!(started.elapsed() >= ms(2_400), "{:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let (status, text) = metrics_text(app.url("/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("hookrelay_deliveries_expired_total 1\n"),
        "{text}"
    );
}

#[tokio::test]
async fn a_redelivered_delivery_gets_a_whole_age_limit_again() {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            retry_schedule: Schedule(vec![ms(100); 100]),
            poll_interval: ms(50),
            breaker_threshold: 1_000,
            max_delivery_age: Some(ms(1_500)),
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let a = ApiClient::new(&app, "Redelivered").await;
    hook_to(&a, &receiver(Arc::new(AtomicU16::new(503))).await).await;
    assert_eq!(post_event(&a).await.status(), 201);
    let expired = |min_attempts: i64| {
        let a = &a;
        async move {
            until(
                "the delivery to expire",
                Duration::from_secs(20),
                || async {
                    let (_, body) = a.call(Method::GET, "/deliveries", None).await;
                    let row = body["deliveries"][0].clone();
                    (row["status"] == "failed" && row["attempts"].as_i64() >= Some(min_attempts))
                        .then_some(row)
                },
            )
            .await
        }
    };
    let first = expired(1).await;
    assert!(
        first["last_error"].as_str().unwrap().starts_with("expired"),
        "{first}"
    );
    // long past the first acceptance's limit, a redelivery starts the clock again
    tokio::time::sleep(ms(500)).await;
    let redelivered_at = Instant::now();
    let (status, body) = a
        .call(
            Method::POST,
            "/deliveries/redeliver",
            Some(json!({ "ids": [first["id"]] })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["redelivered"], 1, "{body}");
    let second = expired(1).await;
    let error = second["last_error"].as_str().unwrap();
    assert!(error.starts_with("expired"), "{second}");
    // a whole limit of retries (every 100 ms for 1.5 s), not one try
    assert!(second["attempts"].as_i64().unwrap() >= 5, "{second}");
    assert!(
        redelivered_at.elapsed() >= ms(1_400),
        "{:?}",
        redelivered_at.elapsed()
    );
}

#[tokio::test]
async fn an_app_over_its_backlog_cap_gets_429_until_it_drains_others_do_not() {
    let app = TestApp::spawn_with(ServeOpts {
        delivery: DeliveryOpts {
            retry_schedule: Schedule(vec![ms(200); 200]),
            poll_interval: ms(50),
            breaker_threshold: 1_000,
            max_pending_per_app: 3,
            ..Default::default()
        },
        ..test_opts()
    })
    .await;
    let status = Arc::new(AtomicU16::new(503));
    let url = receiver(status.clone()).await;
    let full = ApiClient::new(&app, "Backlogged").await;
    let other = ApiClient::new(&app, "Other").await;
    hook_to(&full, &url).await;
    hook_to(&other, &url).await;
    for _ in 0..3 {
        assert_eq!(post_event(&full).await.status(), 201);
    }
    // the fourth is refused at once
    let refused = post_event(&full).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "10");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 9, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-pending-per-app"),
        "{body}"
    );
    // refused, not stored: only the three are in the log
    let (_, log) = full.call(Method::GET, "/deliveries", None).await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 3, "{log}");
    // another app is not held back
    assert_eq!(post_event(&other).await.status(), 201);
    // once the endpoint recovers, the backlog drains and the app is admitted again
    status.store(200, Ordering::Relaxed);
    until("a 201 after draining", Duration::from_secs(15), || async {
        (post_event(&full).await.status() == 201).then_some(())
    })
    .await;
    let (_, text) = metrics_text(app.url("/metrics"), None).await;
    assert!(text.contains("hookrelay_backlog"), "{text}");
}

/// A small filesystem of its own (tmpfs), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs (root, as in the test command): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills `path` with `megabytes` of data (written, so the space is really used).
fn fill(path: &std::path::Path, megabytes: usize) {
    std::fs::write(path, vec![7u8; megabytes * 1_000_000]).unwrap();
}

#[tokio::test]
async fn ingest_stops_before_the_disk_is_full_and_resumes_when_space_returns() {
    // SQLite's disk only: the database file lives on a 64 MB filesystem, the floor is 24 MB
    let disk = SmallDisk::mount(64);
    let url = format!(
        "sqlite://{}",
        disk.dir.path().join("hookrelay.db").display()
    );
    let app = TestApp::spawn_on(
        Some(url),
        ServeOpts {
            delivery: DeliveryOpts {
                min_free_disk: 24_000_000,
                ..Default::default()
            },
            ..test_opts()
        },
    )
    .await;
    let a = ApiClient::new(&app, "Disk").await;
    assert_eq!(post_event(&a).await.status(), 201);
    let ballast = disk.dir.path().join("ballast");
    fill(&ballast, 48);
    let refused = until("a 503", Duration::from_secs(10), || async {
        let res = post_event(&a).await;
        (res.status() == 503).then_some(res)
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "10");
    let body: Value = refused.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("--min-free-disk"), "{body}");
    // other calls still work (reading the log, changing hooks)
    let (status, _) = a.call(Method::GET, "/deliveries", None).await;
    assert_eq!(status, 200);
    // space back: ingest resumes by itself
    std::fs::remove_file(&ballast).unwrap();
    until(
        "a 201 after freeing space",
        Duration::from_secs(10),
        || async { (post_event(&a).await.status() == 201).then_some(()) },
    )
    .await;
    drop(app);
}

#[tokio::test]
async fn metrics_want_the_token_when_one_is_set() {
    let app = TestApp::spawn_with(ServeOpts {
        metrics_token: Some("s3cret-scrape".to_string().into()),
        ..test_opts()
    })
    .await;
    let (status, text) = metrics_text(app.url("/metrics"), None).await;
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("hookrelay_"), "{text}");
    let (status, _) = metrics_text(app.url("/metrics"), Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, text) = metrics_text(app.url("/metrics"), Some("s3cret-scrape")).await;
    assert_eq!(status, 200);
    assert!(text.contains("hookrelay_events_accepted_total"), "{text}");
    // health checks stay open
    let (status, _) = metrics_text(app.url("/readyz"), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_their_own_address_only() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (main, side) = (free(), free());
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["serve", "--listen", &main.to_string()])
        .args(["--metrics-listen", &side.to_string()])
        .env("HOOKRELAY_DATA_DIR", dir.path())
        .env_remove("HOOKRELAY_DATABASE_URL")
        .env_remove("HOOKRELAY_MASTER_KEY")
        .env_remove("HOOKRELAY_METRICS_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let get = |addr: std::net::SocketAddr, path: &'static str| async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok()?;
        let res = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        Some((status, res.text().await.ok()?))
    };
    let metrics = until("the metrics listener", Duration::from_secs(20), || {
        get(side, "/metrics")
    })
    .await;
    let on_main = get(main, "/metrics").await;
    let _ = child.kill().await;
    assert_eq!(metrics.0, 200);
    assert!(metrics.1.contains("hookrelay_events_accepted_total"));
    let (status, body) = on_main.expect("the main listener answers");
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains("hookrelay_events_accepted_total"), "{body}");
}
