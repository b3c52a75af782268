//! A real Hookrelay in-process on port 0 with a fresh database in a temporary directory.

use std::net::SocketAddr;

use hookrelay::config::{GlobalOpts, ServeOpts};
use hookrelay::secrets::MasterKey;
use hookrelay::server;
use hookrelay::store::Db;
use reqwest::header::{ACCEPT, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub key: MasterKey,
    pub dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let global = GlobalOpts {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
            master_key: None,
            log: "warn".into(),
        };
        let (db, key) = server::open(&global).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let opts = ServeOpts {
            site_root: Some(dir.path().join("site")),
            ..ServeOpts::default()
        };
        let app = server::router(db.clone(), key.clone(), &opts, addr)
            .await
            .expect("router");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { addr, db, key, dir }
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
        hookrelay::store::users::count(&self.db).await.unwrap()
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

    /// Posts a plain HTML form (as a browser without JavaScript does).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header(ACCEPT, "text/html")
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
