//! The server process: a fresh data directory, `hookrelay app create`, and `hookrelay serve`
//! started, watched (its log, its peak RSS) and stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::report::ms;
use crate::Result;

/// The server's database (`--database-url`); empty: SQLite in the data directory.
pub static DATABASE_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `HOOKRELAY_DATABASE_URL` for the CLI and the server (empty means the default, SQLite).
pub fn database_url() -> &'static str {
    DATABASE_URL.get().map_or("", String::as_str)
}

/// "SQLite" or "PostgreSQL": the backend of this run.
pub fn backend_name() -> &'static str {
    if database_url().starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn create() -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("hookrelay-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct AppCreds {
    pub id: String,
    pub api_key: String,
    pub api_secret: String,
}

/// `hookrelay app create --name bench --data-dir DIR`.
pub fn create_app(bin: &Path, dir: &Path) -> Result<AppCreds> {
    let out = std::process::Command::new(bin)
        .args(["app", "create", "--name", "bench", "--data-dir"])
        .arg(dir)
        .env("HOOKRELAY_LOG", "warn")
        .env("HOOKRELAY_DATABASE_URL", crate::server::database_url())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (build it first: cargo build --release --features ssr --bin hookrelay)",
                bin.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "`hookrelay app create` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "`hookrelay app create` printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout).trim()
        )
    })?;
    let field = |name: &str| -> Result<String> {
        match &v[name] {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("`hookrelay app create` printed no \"{name}\": {v}")),
        }
    };
    Ok(AppCreds {
        id: field("id")?,
        api_key: field("api_key")?,
        api_secret: field("api_secret")?,
    })
}

pub struct Server {
    child: tokio::process::Child,
    pub pid: u32,
    pub base: String,
    log: PathBuf,
}

impl Server {
    pub async fn start(bin: &Path, dir: &Path, http: &reqwest::Client) -> Result<Self> {
        Self::start_with(bin, dir, http, &[]).await
    }

    /// [`Server::start`] with more environment variables (they win over the defaults).
    pub async fn start_with(
        bin: &Path,
        dir: &Path,
        http: &reqwest::Client,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let port = free_port()?;
        let log = dir.join("hookrelay.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let file2 = file
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let child = tokio::process::Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .env("HOOKRELAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKRELAY_LOG", "warn")
            // The default budget (6,000 requests a minute) would refuse the latency run.
            .env("HOOKRELAY_API_RATE_LIMIT", "4000000000")
            // the sink it delivers to listens on 127.0.0.1
            .env("HOOKRELAY_ALLOW_PRIVATE_TARGETS", "true")
            .env("HOOKRELAY_DATABASE_URL", crate::server::database_url())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| "the server exited at once".to_string())?;
        let mut server = Self {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "hookrelay serve exited during start-up ({status}); its log:\n{}",
                    server.log_tail(30)
                ));
            }
            let url = format!("{}/healthz", server.base);
            if let Ok(res) = http.get(&url).send().await {
                if res.status().is_success() {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "hookrelay did not answer GET /healthz on {} within 60 s; its log:\n{}",
                    server.base,
                    server.log_tail(30)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The file the server logs to.
    pub fn log_path(&self) -> PathBuf {
        self.log.clone()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        if tail.is_empty() {
            "(empty)".into()
        } else {
            tail.join("\n")
        }
    }

    /// Peak resident set size (VmHWM) in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// SIGTERM, then waits (30 s at most) for the exit; returns its description and whether
    /// the server exited with code 0.
    pub async fn terminate(&mut self) -> (String, bool) {
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if !matches!(sent, Ok(s) if s.success()) {
            return (format!("could not send SIGTERM ({sent:?})"), false);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) => {
                let took = ms(started.elapsed());
                match status.code() {
                    Some(code) => (format!("exit code {code} after {took} ms"), code == 0),
                    None => {
                        use std::os::unix::process::ExitStatusExt;
                        (
                            format!("killed by signal {:?} after {took} ms", status.signal()),
                            false,
                        )
                    }
                }
            }
            Ok(Err(e)) => (format!("waiting for the exit failed: {e}"), false),
            Err(_) => {
                let _ = self.child.start_kill();
                ("did not exit within 30 s of SIGTERM (killed)".into(), false)
            }
        }
    }
}
