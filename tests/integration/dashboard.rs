//! The dashboard's pages and form endpoints, driven as a browser without JavaScript would.

use secrecy::ExposeSecret;

use crate::support::{logged_in, TestApp, ADMIN};

#[tokio::test]
async fn a_fresh_install_offers_only_the_first_run_form() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    for path in ["/", "/apps", "/apps/1", "/login"] {
        b.get(path).await.assert_redirect("/setup");
    }
    let page = b.get("/setup").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Create the admin account"));
    // the page loads the browser bundle under the names scripts/lib.sh gives it
    assert!(page.body.contains("/pkg/hookrelay.js"), "{}", page.body);
    assert!(page.body.contains("hookrelay_bg"));
    assert!(page.body.contains("/pkg/hookrelay.css"));
}

#[tokio::test]
async fn first_run_validates_then_creates_exactly_one_admin() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let mismatch = b
        .post_form(
            "/_sfn/setup",
            &[
                ("email", ADMIN.0),
                ("password", ADMIN.1),
                ("password_confirm", "other password"),
            ],
        )
        .await;
    mismatch.assert_redirect("/setup?error=password_mismatch");
    b.setup("not-an-email", ADMIN.1)
        .await
        .assert_redirect("/setup?error=email_invalid");
    b.setup(ADMIN.0, "short")
        .await
        .assert_redirect("/setup?error=password_too_short");
    assert_eq!(app.user_count().await, 0);

    b.setup(ADMIN.0, ADMIN.1).await.assert_redirect("/apps");
    assert_eq!(app.user_count().await, 1);
    let apps = b.get("/apps").await;
    assert_eq!(apps.status, 200);
    assert!(apps.body.contains("No apps yet"));
    assert!(apps.body.contains(ADMIN.0));

    // a second first-run attempt (another browser) cannot add an admin
    let intruder = app.browser();
    intruder
        .setup("intruder@example.com", "another long password")
        .await
        .assert_redirect("/login?error=admin_exists");
    assert_eq!(app.user_count().await, 1);
    intruder
        .get("/apps")
        .await
        .assert_redirect("/login?next=%2Fapps");
    intruder.get("/setup").await.assert_redirect("/login");
}

#[tokio::test]
async fn login_failures_share_one_message_and_are_slowed_without_a_lockout() {
    let (app, _) = logged_in().await;
    let b = app.browser();
    b.login(ADMIN.0, "wrong password")
        .await
        .assert_redirect("/login?error=invalid_login");
    b.login("nobody@example.com", ADMIN.1)
        .await
        .assert_redirect("/login?error=invalid_login");
    let page = b.get("/login?error=invalid_login").await;
    assert!(page.body.contains("Invalid email or password"));
    // an unknown code shows nothing (no text can be injected through the URL)
    let page = b.get("/login?error=%3Cb%3Eyou%20are%20hacked").await;
    assert!(!page.body.contains("hacked"));

    for _ in 0..4 {
        b.login(ADMIN.0, "wrong password")
            .await
            .assert_redirect("/login?error=invalid_login");
    }
    // beyond five failures a minute, each failure is answered slowly...
    let started = std::time::Instant::now();
    b.login(ADMIN.0, "wrong password")
        .await
        .assert_redirect("/login?error=invalid_login");
    assert!(
        started.elapsed() >= hookrelay::auth::LOGIN_SLOWDOWN,
        "{:?}",
        started.elapsed()
    );
    // ...but the account is not locked: the right password works at once
    let started = std::time::Instant::now();
    b.login(ADMIN.0, ADMIN.1).await.assert_redirect("/apps");
    assert!(started.elapsed() < hookrelay::auth::LOGIN_SLOWDOWN);
    // other emails are not slowed
    let started = std::time::Instant::now();
    b.login("other@example.com", "x")
        .await
        .assert_redirect("/login?error=invalid_login");
    assert!(started.elapsed() < hookrelay::auth::LOGIN_SLOWDOWN);
}

#[tokio::test]
async fn login_keeps_the_next_page_but_never_leaves_the_site() {
    let (app, _) = logged_in().await;
    let b = app.browser();
    let page = b
        .post_form(
            "/_sfn/login",
            &[
                ("email", ADMIN.0),
                ("password", ADMIN.1),
                ("next", "/apps/7"),
            ],
        )
        .await;
    page.assert_redirect("/apps/7");
    let b = app.browser();
    let page = b
        .post_form(
            "/_sfn/login",
            &[
                ("email", ADMIN.0),
                ("password", ADMIN.1),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    page.assert_redirect("/apps");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (app, b) = logged_in().await;
    assert_eq!(b.get("/apps").await.status, 200);
    b.post_form("/_sfn/logout", &[])
        .await
        .assert_redirect("/login");
    b.get("/apps").await.assert_redirect("/login?next=%2Fapps");
    // server functions refuse too, not only the pages
    let page = b.post_form("/_sfn/create_app", &[("name", "Sneaky")]).await;
    page.assert_redirect("/login?error=not_logged_in");
    assert!(app.db.apps().await.unwrap().is_empty());
    let res = b
        .client
        .post(app.url("/_sfn/apps"))
        .header("origin", app.url(""))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_server_error() || res.status().is_client_error(),
        "{}",
        res.status()
    );
    assert!(res.text().await.unwrap().contains("Log in again"));
}

#[tokio::test]
async fn apps_are_created_with_a_key_and_a_secret_sealed_at_rest() {
    let (app, b) = logged_in().await;
    let page = b
        .post_form("/_sfn/create_app", &[("name", "  Chat production ")])
        .await;
    page.assert_redirect("/apps/1");

    let stored = app
        .db
        .app(hookrelay::domain::AppId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Chat production");
    assert_eq!(stored.api_key.len(), 12);
    let detail = b.get("/apps/1").await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains(&stored.api_key));
    assert!(detail.body.contains("Webhook &amp; Event Configuration"));

    let secret = app
        .db
        .app_secret(hookrelay::domain::AppId(1))
        .await
        .unwrap();
    let secret = secret.expose_secret().to_string();
    assert_eq!(secret.len(), 48);
    assert!(
        !detail.body.contains(&secret),
        "the secret is shown only on request"
    );
    let revealed = b.get("/apps/1?reveal=1").await;
    assert!(revealed.body.contains(&secret));

    // at rest: neither the database row nor the database files hold the secret in clear
    let query = "SELECT api_secret_enc FROM apps WHERE id = 1";
    let sealed: String = match &app.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            let sealed = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
            pool.close().await;
            sealed
        }
        None => {
            let file = sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                app.dir.path().join("hookrelay.db").display()
            ))
            .await
            .unwrap();
            let sealed = sqlx::query_scalar(query).fetch_one(&file).await.unwrap();
            file.close().await;
            sealed
        }
    };
    assert!(sealed.starts_with("v1:") && !sealed.contains(&secret));
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    let list = b.get("/apps").await;
    assert!(list.body.contains("Chat production") && list.body.contains(&stored.api_key));
}

#[tokio::test]
async fn bad_app_names_get_clear_messages_and_change_nothing() {
    let (app, b) = logged_in().await;
    b.post_form("/_sfn/create_app", &[("name", "Chat")])
        .await
        .assert_redirect("/apps/1");
    b.post_form("/_sfn/create_app", &[("name", "CHAT")])
        .await
        .assert_redirect("/apps?error=app_name_taken");
    b.post_form("/_sfn/create_app", &[("name", "   ")])
        .await
        .assert_redirect("/apps?error=app_name_required");
    let long = "x".repeat(101);
    b.post_form("/_sfn/create_app", &[("name", &long)])
        .await
        .assert_redirect("/apps?error=app_name_too_long");
    assert_eq!(app.db.apps().await.unwrap().len(), 1);
    let page = b.get("/apps?error=app_name_taken").await;
    assert!(page.body.contains("An app with this name already exists."));
}

#[tokio::test]
async fn unknown_pages_and_apps_say_so() {
    let (_app, b) = logged_in().await;
    let page = b.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"));
    let page = b.get("/apps/999").await;
    assert!(page.body.contains("No such app"));
}
