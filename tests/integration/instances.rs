//! Several instances on one PostgreSQL database: three real `hookrelay serve` processes share
//! the work; one is killed with SIGKILL under load and the others deliver what it held; a hook
//! change made through one instance is honoured by another; a dashboard login on one is valid
//! on the others.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::resilience::{
    free_addr, merge, produce, start_hookrelay, tally, wait_drained, webhook_receiver, TailOnPanic,
};
use crate::support::{ApiClient, PgDatabase};

/// Runs a `hookrelay` CLI command against `db` with `key`; its JSON output.
fn cli(db: &PgDatabase, key: &str, data: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(args)
        .env("HOOKRELAY_DATA_DIR", data)
        .env("HOOKRELAY_DATABASE_URL", &db.url)
        .env("HOOKRELAY_MASTER_KEY", key)
        .output()
        .expect("run hookrelay");
    assert!(
        out.status.success(),
        "hookrelay {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the command prints JSON")
}

fn client(created: &Value, addr: SocketAddr) -> ApiClient {
    ApiClient {
        base: format!("http://{addr}"),
        api_key: created["api_key"].as_str().unwrap().to_string(),
        api_secret: created["api_secret"].as_str().unwrap().to_string(),
        app_id: created["id"].as_i64().unwrap(),
        external_id: created["external_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_survive_a_kill() {
    let started = Instant::now();
    let db = PgDatabase::create("hr_instances").await;
    let key = hex_key();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let logs: Vec<_> = dirs
        .iter()
        .map(|d| d.path().join("hookrelay.log"))
        .collect();
    let _tail = TailOnPanic(logs.clone());

    // the CLI works against PostgreSQL
    let created = cli(
        &db,
        &key,
        dirs[0].path(),
        &["app", "create", "--name", "Shared"],
    );
    let listed = cli(&db, &key, dirs[0].path(), &["app", "list"]);
    assert_eq!(listed[0]["api_key"], created["api_key"], "{listed}");
    let admin = ("ops@example.com", "correct horse battery");
    cli(
        &db,
        &key,
        dirs[0].path(),
        &["user", "create", "--email", admin.0, "--password", admin.1],
    );

    let env = [
        ("HOOKRELAY_DATABASE_URL", db.url.clone()),
        ("HOOKRELAY_MASTER_KEY", key.clone()),
        ("HOOKRELAY_DELIVERY_LEASE", "2s".to_string()),
        ("HOOKRELAY_SEND_TIMEOUT", "1s".to_string()),
        ("HOOKRELAY_POLL_INTERVAL", "200ms".to_string()),
        (
            "HOOKRELAY_RETRY_SCHEDULE",
            "200ms,500ms,1s,1s,1s".to_string(),
        ),
        ("HOOKRELAY_SESSION_CACHE", "1s".to_string()),
    ];
    let addrs: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
    let mut servers = Vec::new();
    for i in 0..3 {
        servers.push(start_hookrelay(dirs[i].path(), addrs[i], &logs[i], &env).await);
    }
    let apis: Vec<Arc<ApiClient>> = addrs
        .iter()
        .map(|a| Arc::new(client(&created, *a)))
        .collect();

    // a hook set through instance 0 is used by instance 2 for the next event
    let (first_url, first_seen) = webhook_receiver().await;
    let (status, body) = apis[0]
        .patch_app(json!({"event_hooks": [
            {"id": "main", "hook_type": "webhook", "webhook_url": first_url}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = apis[2]
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({"events": [
                {"type": "message.new", "id": "before-change", "cid": "messaging:x"}
            ]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["events"][0]["deliveries"], 1, "{body}");
    wait_for(&first_seen, "before-change").await;

    // changed through instance 1, honoured by instance 2 at once
    let (second_url, seen) = webhook_receiver().await;
    let (status, body) = apis[1]
        .patch_app(json!({"event_hooks": [
            {"id": "main", "hook_type": "webhook", "webhook_url": second_url}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = apis[2]
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({"events": [
                {"type": "message.new", "id": "after-change", "cid": "messaging:x"}
            ]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_for(&seen, "after-change").await;
    assert!(
        !first_seen.lock().unwrap().contains_key("after-change"),
        "instance 2 delivered to the hook's old URL"
    );

    // a dashboard login on instance 0 is valid on instance 1 (one browser, one cookie jar)
    let browser = crate::support::Browser::at(&format!("http://{}", addrs[0]));
    browser
        .login(admin.0, admin.1)
        .await
        .assert_redirect("/apps");
    let elsewhere = browser.on(&format!("http://{}", addrs[1]));
    let apps = elsewhere.get("/apps").await;
    assert_eq!(
        apps.status, 200,
        "instance 1 refused the session: {:?}",
        apps.location
    );
    assert!(apps.body.contains("Shared"));
    // a logout on instance 0 is honoured by instance 2 within the session cache (1 s)
    browser.post_form("/_sfn/logout", &[]).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let after = browser
        .on(&format!("http://{}", addrs[2]))
        .get("/apps")
        .await;
    assert!(
        after.status.is_redirection()
            && after
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/login")),
        "instance 2 still accepts the logged-out session: {} {:?}",
        after.status,
        after.location
    );

    // load on all three; instance 1 is killed in the middle
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(0));
    let mut producers = Vec::new();
    for (i, api) in apis.iter().enumerate() {
        for _ in 0..2 {
            producers.push((
                i,
                tokio::spawn(produce(
                    api.clone(),
                    "load",
                    50,
                    Duration::ZERO,
                    next.clone(),
                    stop.clone(),
                    phase.clone(),
                )),
            ));
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    phase.store(1, Ordering::SeqCst);
    servers[1].kill();
    // the others go on taking events for a while
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    let mut accepted_by_killed = 0;
    for (i, p) in producers {
        let produced = p.await.expect("producer");
        if i == 1 {
            accepted_by_killed += produced.accepted.len();
        }
        all.push(produced);
    }
    let produced = merge(all);
    assert!(
        produced.odd.is_empty(),
        "unexpected answers: {:?}",
        &produced.odd[..produced.odd.len().min(5)]
    );
    assert!(
        produced.refused.iter().all(|r| r.starts_with("phase 1")),
        "posts refused before the kill: {:?}",
        &produced.refused[..produced.refused.len().min(5)]
    );
    assert!(
        produced.accepted.len() > 1000,
        "too little load: {} events accepted",
        produced.accepted.len()
    );

    // every acknowledged event is delivered, the killed instance's by the others once its
    // leases run out (2 s)
    let deadline = Instant::now() + Duration::from_secs(60);
    let (missing, duplicates, extra) = loop {
        let t = tally(&produced.accepted, &seen.lock().unwrap());
        if t.0.is_empty() || Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "instances: accepted {} ({} by the killed instance), missing {}, duplicates {duplicates}, delivered though not acknowledged {extra}, in {:?}",
        produced.accepted.len(),
        accepted_by_killed,
        missing.len(),
        started.elapsed()
    );
    assert!(
        missing.is_empty(),
        "{} accepted events never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    // a duplicate is a delivery the killed instance sent but could not record: at most what it
    // held, which is at most what it accepted (plus what it claimed, bounded the same way)
    assert!(
        duplicates <= accepted_by_killed as u64,
        "{duplicates} duplicates, more than the {accepted_by_killed} events the killed instance took"
    );
    wait_drained(&apis[0], Duration::from_secs(30)).await;
}

/// Waits until `id` has reached the receiver.
async fn wait_for(seen: &Arc<std::sync::Mutex<HashMap<String, u32>>>, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.lock().unwrap().contains_key(id) {
        assert!(Instant::now() < deadline, "{id} was not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A random master key, as 64 hex characters (shared by the instances).
fn hex_key() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}
