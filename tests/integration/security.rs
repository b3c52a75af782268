//! Security: the egress guard (SSRF), authentication before budgets, CSRF, redirects, headers,
//! files at rest, credentials and roles, each tried as an attacker would.

use std::time::Duration;

use hookrelay::config::ServeOpts;
use serde_json::{json, Value};

use crate::support::{ApiClient, TestApp};

/// A TCP listener that counts the connections it accepts (a port an attacker would scan).
async fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

/// A server with the default settings: the egress guard on.
async fn guarded() -> (TestApp, ApiClient) {
    let app = TestApp::spawn_with(ServeOpts::default()).await;
    let api = ApiClient::new(&app, "Tenant").await;
    (app, api)
}

fn webhook(url: &str) -> Value {
    json!({"event_hooks": [{"hook_type": "webhook", "webhook_url": url, "enabled": true}]})
}

#[tokio::test]
async fn hooks_at_private_addresses_are_refused_with_the_rule() {
    let (_app, api) = guarded().await;
    for (url, message) in [
        (
            "http://127.0.0.1:5432/",
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "refused: 169.254.169.254 is a cloud metadata address",
        ),
        (
            "http://[::ffff:10.0.0.8]/x",
            "refused: 10.0.0.8 is a private address",
        ),
        (
            "http://localhost/",
            "refused: localhost is a loopback address",
        ),
    ] {
        let (status, body) = api.patch_app(webhook(url)).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{url}: {body}"
        );
    }
    // nothing was stored
    assert_eq!(api.get_app().await["event_hooks"], json!([]));
    // a public address is fine
    let (status, body) = api.patch_app(webhook("https://example.com/hook")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_webhook_check_never_connects_to_a_refused_address() {
    let (_app, api) = guarded().await;
    let (port, connections) = counting_listener().await;
    for (url, message) in [
        (
            format!("http://127.0.0.1:{port}/"),
            "refused: 127.0.0.1 is a loopback address".to_string(),
        ),
        // a name is resolved and its addresses checked before connecting
        (
            format!("http://localhost:{port}/"),
            "refused: localhost is a loopback address".to_string(),
        ),
    ] {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/check_webhook",
                Some(json!({ "webhook_url": url })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "error", "{body}");
        assert_eq!(body["error"], message, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the check connected"
    );
}

#[tokio::test]
async fn a_stored_hook_at_a_refused_address_fails_without_a_connection() {
    // a hook stored while the operator allowed private targets (or before the guard existed)
    let (app, api) = guarded().await;
    let (port, connections) = counting_listener().await;
    let open = hookrelay::egress::EgressPolicy::new(true, vec![]);
    let ctx = hookrelay::hooks::ValidateContext {
        egress: &open,
        ..Default::default()
    };
    let hook: hookrelay::hooks::EventHook = serde_json::from_value(json!({
        "hook_type": "webhook",
        "webhook_url": format!("http://127.0.0.1:{port}/hook"),
        "enabled": true,
    }))
    .unwrap();
    hookrelay::hooks::store::apply(
        &app.db,
        hookrelay::domain::AppId(api.app_id),
        hookrelay::hooks::store::SettingsChange {
            event_hooks: Some((vec![hook], true)),
            ..Default::default()
        },
        &ctx,
    )
    .await
    .unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({"events": [{"type": "message.new", "cid": "messaging:x"}]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let row = loop {
        let (_, body) = api.call(reqwest::Method::GET, "/deliveries", None).await;
        let rows = body["deliveries"].as_array().cloned().unwrap_or_default();
        if let Some(row) = rows.into_iter().find(|r| r["status"] == "failed") {
            break row;
        }
        assert!(std::time::Instant::now() < deadline, "not failed: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        row["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("refused: 127.0.0.1 is a loopback address"),
        "{row}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the delivery connected"
    );
}

#[tokio::test]
async fn operators_allow_networks_by_cidr() {
    let app = TestApp::spawn_with(ServeOpts {
        allow_target_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServeOpts::default()
    })
    .await;
    let api = ApiClient::new(&app, "Tenant").await;
    let (status, body) = api.patch_app(webhook("http://127.0.0.1:9/")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.patch_app(webhook("http://10.0.0.1/")).await;
    assert_eq!(status, 400, "{body}");
}

/// A server whose apps may make `limit` API calls a minute.
async fn budgeted(limit: u32) -> (TestApp, ApiClient, ApiClient) {
    let app = TestApp::spawn_with(ServeOpts {
        api_rate_limit: limit,
        ..crate::support::test_opts()
    })
    .await;
    let victim = ApiClient::new(&app, "Victim").await;
    let other = ApiClient::new(&app, "Other").await;
    (app, victim, other)
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn unsigned_calls_with_a_victims_key_never_spend_its_budget() {
    let (app, victim, _) = budgeted(3).await;
    let http = reqwest::Client::new();
    let url = format!("{}?api_key={}", app.url("/app"), victim.api_key);
    // an attacker knows the (public) key, not the secret
    let mut refused = false;
    for _ in 0..(ServeOpts::default().auth_failure_limit + 5) {
        let res = http.get(&url).send().await.unwrap();
        match res.status().as_u16() {
            401 => {}
            429 => {
                refused = true;
                assert!(!header(&res, "retry-after").is_empty());
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused, "failed authentications are throttled per address");
    // the victim's signed calls (from the same address, even) use the victim's own budget
    for left in [2, 1, 0] {
        let res = victim
            .request(reqwest::Method::GET, "/app")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-ratelimit-limit"), "3");
        assert_eq!(header(&res, "x-ratelimit-remaining"), left.to_string());
    }
    let res = victim
        .request(reqwest::Method::GET, "/app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 9, "{body}");
}

#[tokio::test]
async fn one_apps_budget_is_its_own() {
    let (_app, victim, other) = budgeted(2).await;
    for _ in 0..3 {
        victim
            .request(reqwest::Method::GET, "/app")
            .send()
            .await
            .unwrap();
    }
    let res = victim
        .request(reqwest::Method::GET, "/app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let res = other
        .request(reqwest::Method::GET, "/app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_overlong_api_key_is_refused_without_a_lookup() {
    let (app, _, _) = budgeted(10).await;
    let url = format!("{}?api_key={}", app.url("/app"), "k".repeat(5_000));
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 2, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("\"api_key not valid\""),
        "{body}"
    );
}

#[tokio::test]
async fn rotated_secrets_keep_working_for_their_grace_then_stop() {
    let (app, a, _) = budgeted(1000).await;
    let old = a.api_secret.clone();
    let new = app
        .db
        .rotate_secret(
            hookrelay::domain::AppId(a.app_id),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    // the status of `GET /app` signed with `secret`
    let status_with = |secret: String| {
        let client = ApiClient {
            api_secret: secret,
            ..a.clone()
        };
        async move { client.call(reqwest::Method::GET, "/app", None).await.0 }
    };
    assert_eq!(
        status_with(old.clone()).await,
        200,
        "the old secret, in its grace"
    );
    assert_eq!(status_with(new.expose_secret().to_string()).await, 200);
    // revoked at once
    let newer = app
        .db
        .rotate_secret(hookrelay::domain::AppId(a.app_id), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(status_with(new.expose_secret().to_string()).await, 401);
    assert_eq!(
        status_with(old).await,
        401,
        "a grace ends with the next rotation"
    );
    assert_eq!(status_with(newer.expose_secret().to_string()).await, 200);
}

#[tokio::test]
async fn login_redirects_stay_on_the_site_and_never_panic() {
    let (app, _) = crate::support::logged_in().await;
    for next in [
        "/\t/evil.example",
        "/\\evil.example",
        "//evil.example",
        "/\n",
        "/.//evil.example",
    ] {
        let b = app.browser();
        let page = b
            .post_form(
                "/_sfn/login",
                &[
                    ("email", crate::support::ADMIN.0),
                    ("password", crate::support::ADMIN.1),
                    ("next", next),
                ],
            )
            .await;
        assert!(page.status.is_redirection(), "{next:?}: {}", page.status);
        let to = page.location.unwrap_or_default();
        assert!(
            to.starts_with('/') && !to.starts_with("//"),
            "{next:?} -> {to:?}"
        );
        assert!(!to.contains("evil"), "{next:?} -> {to:?}");
    }
}

#[tokio::test]
async fn cross_site_form_posts_are_refused_and_change_nothing() {
    let (app, b) = crate::support::logged_in().await;
    for origin in ["https://evil.example", "http://127.0.0.1:1", "null"] {
        let page = b
            .post_form_from(origin, "/_sfn/create_app", &[("name", "Sneaky")])
            .await;
        assert_eq!(page.status, 403, "{origin}: {}", page.body);
    }
    // a post with neither Origin nor Referer is not known to come from the site
    let res = b
        .client
        .post(app.url("/_sfn/create_app"))
        .form(&[("name", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(app.db.apps().await.unwrap().is_empty());
    // the site's own form works
    let page = b.post_form("/_sfn/create_app", &[("name", "Mine")]).await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert_eq!(app.db.apps().await.unwrap().len(), 1);
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_a_nonce_for_their_script() {
    let (app, b) = crate::support::logged_in().await;
    b.post_form("/_sfn/create_app", &[("name", "Headers")])
        .await;
    let res = b
        .client
        .get(app.url("/apps/1?reveal=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-frame-options"), "DENY");
    assert_eq!(header(&res, "referrer-policy"), "same-origin");
    assert_eq!(header(&res, "cache-control"), "no-store");
    let csp = header(&res, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a nonce")
        .to_string();
    let body = res.text().await.unwrap();
    assert!(
        body.contains(&format!("nonce=\"{nonce}\"")),
        "the script lacks the nonce"
    );
    // every page has its own
    let again = b.client.get(app.url("/apps")).send().await.unwrap();
    assert!(!header(&again, "content-security-policy").contains(&nonce));
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    if crate::support::on_postgres() {
        return; // no database files in the data directory
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let global = hookrelay::config::GlobalOpts {
        data_dir: data.clone(),
        database_url: None,
        master_key: None,
        log: "warn".into(),
    };
    let db = hookrelay::server::open(&global).await.unwrap();
    db.create_app(&hookrelay::store::AppName::parse("Perms").unwrap())
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for f in [
        "hookrelay.db",
        "hookrelay.db-wal",
        "hookrelay.db-shm",
        "master.key",
    ] {
        let path = data.join(f);
        assert!(path.exists(), "{f}");
        assert_eq!(mode(&path), 0o600, "{f}");
    }
    db.close().await;
    // an existing data directory from an older version is tightened
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("hookrelay.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let db = hookrelay::server::open(&global).await.unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("hookrelay.db")), 0o600);
    db.close().await;
}

#[tokio::test]
async fn a_typed_secret_never_reaches_the_database_or_the_log_in_clear() {
    use crate::resilience::{free_addr, spawn_hookrelay, wait_up};
    if crate::support::on_postgres() {
        return; // the SQLite files are what is searched
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("hookrelay.log");
    let addr = free_addr();
    let mut proc = spawn_hookrelay(&data, addr, &log, &[("HOOKRELAY_LOG", "debug".into())]);
    let base = format!("http://{addr}");
    wait_up(
        &reqwest::Client::new(),
        &format!("{base}/healthz"),
        &mut proc,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let b = crate::support::Browser::at(&base);
    b.setup(crate::support::ADMIN.0, crate::support::ADMIN.1)
        .await
        .assert_redirect("/apps");
    b.post_form("/_sfn/create_app", &[("name", "Secrets")])
        .await
        .assert_redirect("/apps/1");
    let secret = format!("wJalrXUtnFEMI-{}", uuid_like());
    let form = |action: &'static str| {
        vec![
            ("form[app_id]", "1".to_string()),
            ("form[hook_type]", "sqs".to_string()),
            ("form[target]", "not a queue url".to_string()),
            ("form[auth_type]", "keys".to_string()),
            ("form[key]", "AKIAEXAMPLE".to_string()),
            ("form[secret]", secret.clone()),
            ("form[action]", action.to_string()),
        ]
    };
    for action in ["test", "save"] {
        let fields = form(action);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = b.post_form("/_sfn/hook_save", &fields).await;
        assert!(page.status.is_redirection(), "{action}: {}", page.status);
        let to = page.location.unwrap();
        assert!(
            to.contains("flash=1"),
            "{action}: carried back to the form: {to}"
        );
        // the session (and so the database) now holds the carried form
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&data).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(path);
            }
        }
        assert!(found.is_empty(), "{action}: the secret is in {found:?}");
        // the form shows it again to the one who typed it
        let page = b.get(&to).await;
        assert!(
            page.body.contains(&secret),
            "{action}: the form lost the secret"
        );
    }
    drop(proc);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("hookrelay started"), "{logged}");
    assert!(!logged.contains(&secret), "the log holds the secret");
}

/// 16 random hex digits.
fn uuid_like() -> String {
    format!("{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// A member with one app, logged in, beside the admin.
async fn member_fixture() -> (TestApp, crate::support::Browser, ApiClient, ApiClient) {
    let (app, admin) = crate::support::logged_in().await;
    let mine = ApiClient::new(&app, "Mine").await;
    let theirs = ApiClient::new(&app, "Theirs").await;
    let page = admin
        .post_form(
            "/_sfn/user_create",
            &[
                ("email", "member@example.com"),
                ("password", "member password"),
                ("role", "member"),
                ("apps", &mine.app_id.to_string()),
            ],
        )
        .await;
    page.assert_redirect("/users");
    let member = app.browser();
    member
        .login("member@example.com", "member password")
        .await
        .assert_redirect("/apps");
    (app, member, mine, theirs)
}

#[tokio::test]
async fn members_see_and_change_only_their_apps() {
    let (app, member, mine, theirs) = member_fixture().await;
    let apps = member.get("/apps").await;
    assert_eq!(apps.status, 200);
    assert!(apps.body.contains("Mine"), "{}", apps.body);
    assert!(!apps.body.contains("Theirs"), "{}", apps.body);
    assert_eq!(
        member.get(&format!("/apps/{}", mine.app_id)).await.status,
        200
    );
    let other = member
        .get(&format!("/apps/{}?reveal=1", theirs.app_id))
        .await;
    assert_eq!(other.status, 404);
    assert!(!other.body.contains(&theirs.api_secret));
    // nor through the forms
    let page = member
        .post_form(
            "/_sfn/hook_save",
            &[
                ("form[app_id]", &theirs.app_id.to_string()),
                ("form[hook_type]", "webhook"),
                ("form[target]", "https://example.com/steal"),
                ("form[enabled]", "on"),
                ("form[action]", "save"),
            ],
        )
        .await;
    assert!(page.status.is_redirection());
    assert_eq!(theirs.get_app().await["event_hooks"], json!([]));
    member
        .post_form(
            "/_sfn/rotate_secret",
            &[("id", &theirs.app_id.to_string()), ("grace", "0s")],
        )
        .await;
    assert_eq!(theirs.call(reqwest::Method::GET, "/app", None).await.0, 200);
    // members neither create apps nor see the users
    member
        .post_form("/_sfn/create_app", &[("name", "Another")])
        .await
        .assert_redirect("/apps?error=forbidden");
    assert_eq!(app.db.apps().await.unwrap().len(), 2);
    let users = member.get("/users").await;
    assert!(!users.body.contains("admin@example.com"), "{}", users.body);
}

#[tokio::test]
async fn admins_manage_users_and_a_new_password_ends_old_sessions() {
    let (app, member, mine, theirs) = member_fixture().await;
    let (_, admin) = (0, app.browser());
    admin
        .login(crate::support::ADMIN.0, crate::support::ADMIN.1)
        .await
        .assert_redirect("/apps");
    let users = admin.get("/users").await;
    assert_eq!(users.status, 200);
    assert!(users.body.contains("member@example.com"), "{}", users.body);
    // give the member the other app too
    let member_id = app
        .db
        .user_by_email(&hookrelay::auth::Email::parse("member@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let both = format!("{},{}", mine.app_id, theirs.app_id);
    admin
        .post_form(
            "/_sfn/user_access",
            &[
                ("id", &member_id.0.to_string()),
                ("role", "member"),
                ("apps", &both),
            ],
        )
        .await
        .assert_redirect("/users");
    assert_eq!(
        app.db.user_apps(member_id).await.unwrap().len(),
        2,
        "both apps given"
    );
    // the last administrator stays
    let admin_id = app
        .db
        .user_by_email(&hookrelay::auth::Email::parse(crate::support::ADMIN.0).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    admin
        .post_form("/_sfn/user_delete", &[("id", &admin_id.0.to_string())])
        .await
        .assert_redirect("/users?error=last_admin");
    // a new password (set here through the store, as `hookrelay user password` does) ends
    // the member's session
    assert_eq!(member.get("/apps").await.status, 200);
    let hash = hookrelay::auth::NewPassword::parse("another password")
        .unwrap()
        .hash();
    app.db.set_password(member_id, &hash).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let page = member.get("/apps").await;
        if page.status.is_redirection() {
            page.assert_redirect("/login?next=%2Fapps");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the old session still works"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // deleting the member
    admin
        .post_form("/_sfn/user_delete", &[("id", &member_id.0.to_string())])
        .await
        .assert_redirect("/users");
    assert!(app.db.user(member_id).await.unwrap().is_none());
}

#[tokio::test]
async fn resource_auth_can_be_limited_to_listed_accounts() {
    let app = TestApp::spawn_with(ServeOpts {
        resource_auth_allow: vec!["111111111111".into()],
        ..crate::support::test_opts()
    })
    .await;
    let api = ApiClient::new(&app, "Tenant").await;
    let hook = |account: &str| {
        json!({"event_hooks": [{
            "hook_type": "sqs",
            "sqs_queue_url": format!("https://sqs.us-east-1.amazonaws.com/{account}/q"),
            "sqs_auth_type": "resource",
        }]})
    };
    let (status, body) = api.patch_app(hook("222222222222")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused: resource auth"),
        "{body}"
    );
    let (status, body) = api.patch_app(hook("111111111111")).await;
    assert_eq!(status, 200, "{body}");
    // the check refuses before any call too
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/check_sqs",
            Some(json!({
                "sqs_url": "https://sqs.us-east-1.amazonaws.com/222222222222/q",
                "sqs_auth_type": "resource",
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("refused: resource auth"),
        "{body}"
    );
}
