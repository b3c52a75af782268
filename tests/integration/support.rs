//! A real Hookrelay in-process on port 0 with a fresh database in a temporary directory.

use std::net::SocketAddr;

use hookrelay::config::{GlobalOpts, ServeOpts};
use hookrelay::server;
use hookrelay::store::Store;
use reqwest::header::{ACCEPT, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Store,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database of this test, when the suite runs on PostgreSQL.
    pub pg: Option<PgDatabase>,
}

/// The backend the suite runs on: SQLite by default, PostgreSQL with
/// `HOOKRELAY_TEST_BACKEND=postgres` (the test command runs the suite both ways).
pub fn on_postgres() -> bool {
    std::env::var("HOOKRELAY_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The PostgreSQL server of the tests, without a database name: `HOOKRELAY_TEST_POSTGRES`,
/// else the local server (trust auth).
pub fn pg_server() -> String {
    std::env::var("HOOKRELAY_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A fresh PostgreSQL database for one test, dropped (with its connections) when this is.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    pub async fn create(prefix: &str) -> Self {
        use sqlx::Connection;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&format!("{}/test", pg_server()))
            .await
            .expect(
                "PostgreSQL at HOOKRELAY_TEST_POSTGRES (default 127.0.0.1:5432) must be reachable",
            );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        Self {
            url: format!("{}/{name}", pg_server()),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // its own thread and runtime: this may run inside a test's runtime
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut admin) =
                    sqlx::PgConnection::connect(&format!("{}/test", pg_server())).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// The default settings, but webhooks may reach this machine: the tests' receivers listen on
/// 127.0.0.1, which the egress guard refuses by default.
pub fn test_opts() -> ServeOpts {
    ServeOpts {
        allow_private_targets: true,
        ..ServeOpts::default()
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(test_opts()).await
    }

    /// Like [`TestApp::spawn`] with other server settings (delivery timings, say); the site
    /// root is always the temporary directory's.
    pub async fn spawn_with(opts: ServeOpts) -> Self {
        Self::spawn_on(None, opts).await
    }

    /// Like [`TestApp::spawn_with`], with the database at `database_url` when given (else a
    /// fresh one on the suite's backend).
    pub async fn spawn_on(database_url: Option<String>, opts: ServeOpts) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = if on_postgres() && database_url.is_none() {
            Some(PgDatabase::create("hr_it").await)
        } else {
            None
        };
        let global = GlobalOpts {
            data_dir: dir.path().to_path_buf(),
            database_url: database_url.or_else(|| pg.as_ref().map(|p| p.url.clone())),
            master_key: None,
            log: "warn".into(),
        };
        let db = server::open(&global).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let opts = ServeOpts {
            site_root: Some(dir.path().join("site")),
            ..opts
        };
        let app = server::router(db.clone(), &opts, addr)
            .await
            .expect("router");
        // served as `serve` serves it: with its header, body and shutdown deadlines
        let deadlines = hookrelay::http_server::Deadlines::from(&opts);
        tokio::spawn(async move {
            hookrelay::http_server::serve_on(listener, app, deadlines, std::future::pending()).await
        });
        Self { addr, db, dir, pg }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser without JavaScript: keeps cookies, does not follow redirects, accepts HTML.
    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: self.url(""),
        }
    }

    pub async fn user_count(&self) -> i64 {
        self.db.user_count().await.unwrap()
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header(ACCEPT, "text/html")
            .send()
            .await
            .expect("GET");
        page(res).await
    }

    /// Posts a plain HTML form (as a browser without JavaScript does), from the site's own
    /// pages (the `Origin` a browser sends).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_form_from(&self.base, path, form).await
    }

    /// Posts a form as if a page of `origin` had sent it.
    pub async fn post_form_from(&self, origin: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header(ACCEPT, "text/html")
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .expect("POST");
        page(res).await
    }

    pub async fn setup(&self, email: &str, password: &str) -> Page {
        self.post_form(
            "/_sfn/setup",
            &[
                ("email", email),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await
    }

    /// A browser without JavaScript for the server at `base` (`http://host:port`).
    pub fn at(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
        }
    }

    /// The same browser (its cookies) on another server, as behind a load balancer.
    pub fn on(&self, base: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            base: base.to_string(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.post_form("/_sfn/login", &[("email", email), ("password", password)])
            .await
    }
}

async fn page(res: reqwest::Response) -> Page {
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let body = res.text().await.unwrap_or_default();
    Page {
        status,
        location,
        body,
    }
}

impl Page {
    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert!(
            self.status.is_redirection(),
            "expected a redirect to {to}, got {} {}",
            self.status,
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(to));
    }
}

pub const ADMIN: (&str, &str) = ("admin@example.com", "correct horse battery");

/// A Hookrelay with its admin account, and a browser logged in as that admin.
pub async fn logged_in() -> (TestApp, Browser) {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser
        .setup(ADMIN.0, ADMIN.1)
        .await
        .assert_redirect("/apps");
    (app, browser)
}

/// The server token Stream's SDKs send: HS256 over `{"server":true}` with the app secret.
pub fn server_token(secret: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(r#"{"server":true}"#)
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        b64.encode(mac.finalize().into_bytes())
    )
}

/// An app and an API client authenticated as it, the way the SDKs call.
#[derive(Clone)]
pub struct ApiClient {
    pub base: String,
    pub api_key: String,
    pub api_secret: String,
    pub app_id: i64,
    /// What Hookrelay passes as the external id when it assumes this app's roles.
    pub external_id: String,
    pub http: reqwest::Client,
}

impl ApiClient {
    pub async fn new(app: &TestApp, name: &str) -> Self {
        use secrecy::ExposeSecret;
        let name = hookrelay::store::AppName::parse(name).unwrap();
        let created = app.db.create_app(&name).await.unwrap();
        Self {
            base: app.url(""),
            api_key: created.app.api_key,
            api_secret: created.api_secret.expose_secret().to_string(),
            app_id: created.app.id.0,
            external_id: created.app.external_id,
            http: reqwest::Client::new(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(
                method,
                format!("{}{path}?api_key={}", self.base, self.api_key),
            )
            .header("Authorization", server_token(&self.api_secret))
            .header("stream-auth-type", "jwt")
    }

    /// Sends `body` (if any) and returns (status, JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get_app(&self) -> serde_json::Value {
        let (status, body) = self.call(reqwest::Method::GET, "/app", None).await;
        assert_eq!(status, 200, "{body}");
        body["app"].clone()
    }

    pub async fn patch_app(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PATCH, "/app", Some(body)).await
    }
}

/// The AWS emulator's endpoint (scripts/test.sh starts it).
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh, which starts the AWS emulator")
}

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}

/// A fresh emulator queue; returns its URL.
pub async fn create_queue(name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(&aws_config().await);
    let name = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// A fresh one-shard emulator stream, once ACTIVE; returns its name and ARN.
pub async fn create_stream(prefix: &str) -> (String, String) {
    let kinesis = aws_sdk_kinesis::Client::new(&aws_config().await);
    let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let d = kinesis
            .describe_stream_summary()
            .stream_name(&name)
            .send()
            .await
            .unwrap();
        let s = d.stream_description_summary().unwrap();
        if s.stream_status().as_str() == "ACTIVE" {
            let arn = s.stream_arn().to_string();
            return (name, arn);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stream {name} still {}",
            s.stream_status().as_str()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn policy(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }]
    })
    .to_string()
}

/// An IAM user of the emulator allowed `actions`; returns its access key and secret. (The
/// emulator checks IAM users' signatures and policies, not its root key's.)
pub async fn iam_user(actions: &[&str]) -> (String, String) {
    let iam = aws_sdk_iam::Client::new(&aws_config().await);
    let name = format!("user-{}", uuid::Uuid::new_v4().simple());
    iam.create_user().user_name(&name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(&name)
        .policy_name("hookrelay-test")
        .policy_document(policy(actions))
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(&name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    (
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    )
}

/// An IAM role the emulator's root may assume with `external_id`, allowed `actions`.
pub async fn iam_role(external_id: &str, actions: &[&str]) -> String {
    let iam = aws_sdk_iam::Client::new(&aws_config().await);
    let name = format!("role-{}", uuid::Uuid::new_v4().simple());
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::000000000000:root" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": external_id } }
        }]
    });
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("hookrelay-test")
        .policy_document(policy(actions))
        .send()
        .await
        .unwrap();
    role.role().unwrap().arn().to_string()
}
