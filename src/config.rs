//! Command line and environment configuration. Every flag has a `HOOKRELAY_*` environment
//! variable; `hookrelay --help` and `hookrelay serve --help` print them with their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "hookrelay", version, about = "Durable event hooks: SQS, SNS, Kinesis and webhooks", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Directory for the SQLite database and the master key (created if missing).
    #[arg(
        long,
        env = "HOOKRELAY_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL [default: sqlite://<data-dir>/hookrelay.db].
    #[arg(long, env = "HOOKRELAY_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Master key that encrypts secrets at rest, as 64 hex characters [default: the key in
    /// <data-dir>/master.key, generated with mode 0600 on first start].
    #[arg(
        long,
        env = "HOOKRELAY_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// Log filter (tracing-subscriber EnvFilter syntax).
    #[arg(
        long,
        env = "HOOKRELAY_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    pub log: String,
}

impl GlobalOpts {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hookrelay.db").display()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard, the API and delivery (the default command).
    Serve(Box<ServeOpts>),
    /// Manage apps.
    App(AppArgs),
    /// Manage dashboard administrators.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address to listen on.
    #[arg(long, env = "HOOKRELAY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Directory with the browser bundle (pkg/) and public files [default: ../site next to
    /// the executable when it exists (target/site for a cargo build), else ./target/site].
    #[arg(long, env = "HOOKRELAY_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Mark the session cookie Secure (set this when users reach Hookrelay over HTTPS).
    #[arg(long, env = "HOOKRELAY_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// How long this process trusts its in-memory copy of a dashboard session before reading
    /// the sessions table again: the longest another process sharing the database may go on
    /// accepting a session this one logged out (`0s`: always read the table).
    #[arg(long, env = "HOOKRELAY_SESSION_CACHE", default_value = "10s", value_parser = parse_duration)]
    pub session_cache: Duration,
    /// API requests allowed per app per minute (reported in the x-ratelimit-* headers).
    #[arg(long, env = "HOOKRELAY_API_RATE_LIMIT", default_value_t = 6000)]
    pub api_rate_limit: u32,
    /// `POST /events` requests allowed per app per minute (a budget of its own: one request
    /// carries up to 1,000 events).
    #[arg(long, env = "HOOKRELAY_EVENTS_RATE_LIMIT", default_value_t = 600_000)]
    pub events_rate_limit: u32,
    /// Failed API authentications allowed per client address per minute; beyond them the
    /// address gets 429 with `Retry-After` (a correctly signed call never counts here).
    #[arg(long, env = "HOOKRELAY_AUTH_FAILURE_LIMIT", default_value_t = 120)]
    pub auth_failure_limit: u32,
    /// This server's AWS principal (an account root or role ARN), shown in the resource policy
    /// the dashboard offers for `resource` auth [default: a placeholder to fill in].
    #[arg(long, env = "HOOKRELAY_AWS_PRINCIPAL")]
    pub aws_principal: Option<String>,
    /// The AWS endpoint override (an emulator or LocalStack), the AWS SDK's own variable:
    /// queue URLs under it are accepted as SQS queues. `AWS_ENDPOINT_URL_SQS`, when set, wins
    /// (as it does in the SDK). Set by the operator, so never refused as a private address.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// The region of hooks whose target names none [default: `AWS_DEFAULT_REGION`, else
    /// us-east-1 for checks].
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,
    /// Let tenants' URLs (webhooks, their checks, pending-message callbacks) reach loopback,
    /// private, link-local, carrier-grade NAT, multicast and cloud metadata addresses. Off by
    /// default: a tenant could otherwise make Hookrelay call the network it runs in (SSRF).
    #[arg(long, env = "HOOKRELAY_ALLOW_PRIVATE_TARGETS", default_value_t = false)]
    pub allow_private_targets: bool,
    /// Networks tenants' URLs may reach although the guard would refuse them (comma-separated
    /// CIDRs such as `10.20.0.0/16,fd00:1::/64`).
    #[arg(long, env = "HOOKRELAY_ALLOW_TARGET_CIDRS", value_delimiter = ',')]
    pub allow_target_cidrs: Vec<ipnet::IpNet>,
    /// The AWS accounts (12 digits) and ARNs that hooks with `resource` auth may send to
    /// (comma-separated). With `resource` auth Hookrelay sends with its own AWS identity, so a
    /// tenant could name a queue of another tenant that this identity may write to [default:
    /// any; see the README's threat model].
    #[arg(long, env = "HOOKRELAY_RESOURCE_AUTH_ALLOW", value_delimiter = ',')]
    pub resource_auth_allow: Vec<String>,
    /// A bearer token `/metrics` asks for (`Authorization: Bearer <token>`) [default: none,
    /// `/metrics` answers anyone who reaches it].
    #[arg(long, env = "HOOKRELAY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<secrecy::SecretString>,
    /// Serve `/metrics` on this address of its own (a private interface, say) instead of on
    /// `--listen`.
    #[arg(long, env = "HOOKRELAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How long a client may take to send a request's headers; one that trickles them is
    /// disconnected (slow-loris).
    #[arg(long, env = "HOOKRELAY_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive, from the first wait for it: `POST
    /// /events` answers 408 after it, other requests are refused or closed.
    #[arg(long, env = "HOOKRELAY_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// At shutdown (SIGTERM, Ctrl-C), how long the requests and deliveries in flight get to
    /// finish before the process exits anyway (deliveries get at most 10 s of it; unfinished
    /// ones are sent again later).
    #[arg(long, env = "HOOKRELAY_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Memory `POST /events` bodies may hold at once (`32MB`, `1GB`), counted from their
    /// Content-Length while they are read, parsed and stored: beyond it a request waits up to
    /// 5 s for room, then gets 503 with `Retry-After`. At least the largest body (16 MiB) is
    /// always let in, one at a time.
    #[arg(long, env = "HOOKRELAY_EVENTS_MEMORY", default_value = "32MB", value_parser = parse_size)]
    pub events_memory: u64,
    /// Dashboard pages rendered at once; more wait their turn (holding only their request) for
    /// up to 5 s, then get 503 with `Retry-After` (at least 1). Bounds the memory rendering
    /// takes under load.
    #[arg(long, env = "HOOKRELAY_RENDER_CONCURRENCY", default_value_t = 8)]
    pub render_concurrency: usize,
    #[command(flatten)]
    pub delivery: DeliveryOpts,
    #[command(flatten)]
    pub chime: ChimeOpts,
}

/// The AppInstance ARNs the Chime SDK messaging API and Chime-shaped Kinesis records use:
/// `arn:aws:chime:<region>:<account>:app-instance/<uuid>`.
#[derive(Debug, Clone, Args)]
pub struct ChimeOpts {
    /// The region in the apps' AppInstance ARNs.
    #[arg(
        long,
        env = "HOOKRELAY_CHIME_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub chime_region: String,
    /// The AWS account (12 digits) in the apps' AppInstance ARNs.
    #[arg(
        long,
        env = "HOOKRELAY_CHIME_ACCOUNT",
        default_value = "000000000000",
        value_parser = parse_account,
        global = true
    )]
    pub chime_account: String,
}

impl Default for ChimeOpts {
    /// The documented defaults (and `HOOKRELAY_*` variables), as `serve` would parse them.
    fn default() -> Self {
        ServeOpts::default().chime
    }
}

impl ChimeOpts {
    pub fn account(&self) -> crate::hooks::chime::ChimeAccount {
        crate::hooks::chime::ChimeAccount {
            region: self.chime_region.clone(),
            account: self.chime_account.clone(),
        }
    }
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an AWS account id (12 digits)"))
    }
}

/// How events are delivered: retries, leases, timeouts, concurrency.
#[derive(Debug, Clone, Args)]
pub struct DeliveryOpts {
    /// Upper bounds of the waits before attempts 2, 3, ... (comma-separated durations such as
    /// `500ms`, `30s`, `2m`, `1h`). Each wait is uniformly random between zero and its bound
    /// (full jitter); after the last attempt a delivery is failed (dead-lettered). The default
    /// allows 12 attempts over at most 39 h 42 min (about 20 h on average).
    #[arg(
        long,
        env = "HOOKRELAY_RETRY_SCHEDULE",
        default_value = "30s,2m,10m,30m,1h,2h,4h,8h,8h,8h,8h",
        value_parser = parse_schedule
    )]
    pub retry_schedule: Schedule,
    /// How long a claimed delivery stays with the process that claimed it; after that another
    /// process (or this one, restarted) takes it over. Must exceed the send timeout.
    #[arg(long, env = "HOOKRELAY_DELIVERY_LEASE", default_value = "60s", value_parser = parse_duration)]
    pub lease: Duration,
    /// How often the database is polled for due retries and expired leases (new events are
    /// dispatched at once, without waiting for a poll).
    #[arg(long, env = "HOOKRELAY_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Time limit of one send (a webhook request, an AWS batch call).
    #[arg(long, env = "HOOKRELAY_SEND_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub send_timeout: Duration,
    /// Most deliveries held in memory (sending or queued to send) by this process.
    #[arg(long, env = "HOOKRELAY_MAX_IN_FLIGHT", default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// Most concurrent requests to one webhook (one HTTP/1.1 connection each).
    #[arg(long, env = "HOOKRELAY_WEBHOOK_CONCURRENCY", default_value_t = 64)]
    pub webhook_concurrency: usize,
    /// Consecutive failed sends to a hook that open its circuit breaker: its deliveries then
    /// wait (without using up attempts) for a cool-down of 5 s, doubling up to 5 min.
    #[arg(long, env = "HOOKRELAY_BREAKER_THRESHOLD", default_value_t = 5)]
    pub breaker_threshold: u32,
    /// How long a delivery may stay pending (retrying, or held while its hook's circuit
    /// breaker is open) before it fails with the reason "expired" [default: the longest the
    /// schedule's attempts can take: its total plus, per attempt, a send timeout and a poll
    /// interval; 39 h 44 min 12 s with the default settings].
    #[arg(long, env = "HOOKRELAY_MAX_DELIVERY_AGE", value_parser = parse_duration)]
    pub max_delivery_age: Option<Duration>,
    /// Most pending deliveries one app may have: beyond it `POST /events` answers 429 with
    /// `Retry-After` (the app's events are refused, never lost). Checked against a count at
    /// most a second old (`0`: no limit).
    #[arg(
        long,
        env = "HOOKRELAY_MAX_PENDING_PER_APP",
        default_value_t = 1_000_000
    )]
    pub max_pending_per_app: u64,
    /// Free space the SQLite database's disk must keep (`500MB`, `2GB`): below it `POST
    /// /events` answers 503 with `Retry-After` until space is freed (`0`: no floor).
    #[arg(long, env = "HOOKRELAY_MIN_FREE_DISK", default_value = "128MB", value_parser = parse_size)]
    pub min_free_disk: u64,
    /// How long finished deliveries (and their events) are kept for the delivery log.
    #[arg(long, env = "HOOKRELAY_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub retention: Duration,
    /// How often retention runs (the first run is at start). It deletes in small batches,
    /// letting other writes in between, so ingest never waits for a whole prune.
    #[arg(long, env = "HOOKRELAY_PRUNE_EVERY", default_value = "10m", value_parser = parse_duration)]
    pub prune_every: Duration,
}

impl DeliveryOpts {
    /// See `--max-delivery-age`.
    pub fn max_delivery_age(&self) -> Duration {
        self.max_delivery_age.unwrap_or_else(|| {
            let attempts = u32::try_from(self.retry_schedule.0.len() + 1).unwrap_or(u32::MAX);
            self.retry_schedule.0.iter().sum::<Duration>()
                + (self.send_timeout + self.poll_interval) * attempts
        })
    }
}

impl Default for DeliveryOpts {
    /// The documented defaults (and `HOOKRELAY_*` variables), as `serve` would parse them.
    fn default() -> Self {
        ServeOpts::default().delivery
    }
}

/// A retry schedule: the upper bounds of the waits between attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

/// Parses `250ms`, `30s`, `2m`, `1h`, `7d` (a whole number and a unit).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} needs a unit: ms, s, m, h or d"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 500ms, 30s, 2m, 1h"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?}: use ms, s, m, h or d"
            ))
        }
    };
    Ok(Duration::from_millis(ms))
}

/// Parses `0`, `512KB`, `128MB`, `2GB` (decimal units) into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 500MB or 2GB"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?}: use B, KB, MB, GB or TB"
            ))
        }
    };
    Ok(n.saturating_mul(factor))
}

/// Parses a comma-separated list of durations (at least one).
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let waits = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_duration)
        .collect::<Result<Vec<_>, _>>()?;
    if waits.is_empty() {
        return Err("the retry schedule needs at least one duration".into());
    }
    Ok(Schedule(waits))
}

/// `serve`'s options alone, to build the defaults from the clap attributes (each default is
/// written once, there).
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    opts: ServeOpts,
}

impl Default for ServeOpts {
    /// The documented defaults (and the environment's overrides), as `serve` would parse them.
    fn default() -> Self {
        ServeOnly::parse_from(["serve"]).opts
    }
}

/// Where the AWS SDK goes and which region a hook without one uses: the operator's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub endpoint: Option<String>,
    pub default_region: Option<String>,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ServeOpts {
    /// The AWS endpoint override and default region (see `--aws-endpoint-url`, `--aws-region`).
    pub fn aws(&self) -> AwsSettings {
        let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        AwsSettings {
            endpoint: env_nonempty("AWS_ENDPOINT_URL_SQS")
                .or_else(|| nonempty(&self.aws_endpoint_url)),
            default_region: nonempty(&self.aws_region)
                .or_else(|| env_nonempty("AWS_DEFAULT_REGION")),
        }
    }

    /// Where tenants' URLs may connect (see `--allow-private-targets`).
    pub fn egress(&self) -> crate::egress::EgressPolicy {
        crate::egress::EgressPolicy::new(
            self.allow_private_targets,
            self.allow_target_cidrs.clone(),
        )
    }

    pub fn site_root(&self) -> PathBuf {
        if let Some(root) = &self.site_root {
            return root.clone();
        }
        std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.parent()
                    .and_then(|dir| dir.parent())
                    .map(|t| t.join("site"))
            })
            .filter(|p| p.join("pkg").is_dir())
            .unwrap_or_else(|| PathBuf::from("target/site"))
    }
}

/// `hookrelay app …`: the command, and the settings its output depends on.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(subcommand)]
    pub command: AppCommand,
    #[command(flatten)]
    pub chime: ChimeOpts,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app; prints {"id","name","api_key","api_secret","external_id","app_instance_arn"}
    /// as JSON.
    Create {
        /// The app's name (unique, case-insensitively).
        #[arg(long)]
        name: String,
    },
    /// List the apps as a JSON array (secrets are not shown).
    List,
    /// Give the app a new API secret (printed once as {"id","api_secret","previous_valid_until"});
    /// the old secret keeps signing requests for the grace period.
    RotateSecret {
        /// The app's id.
        id: i64,
        /// How long the old secret keeps working (`0s`: it stops at once).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        grace: Duration,
    },
    /// Delete the app with its hooks, events, deliveries and log.
    Delete {
        /// The app's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a dashboard user: an administrator (every app, and the users; the first user is
    /// always one) or a member who sees and changes only the apps given with --app.
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters.
        #[arg(long, env = "HOOKRELAY_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// An administrator.
        #[arg(long, conflicts_with = "app")]
        admin: bool,
        /// An app the member may see and change (repeat for several).
        #[arg(long = "app", value_name = "ID")]
        app: Vec<i64>,
    },
    /// List the users with their roles and apps as JSON.
    List,
    /// Delete a user (never the last administrator).
    Delete {
        #[arg(long)]
        email: String,
    },
    /// Set a user's password (their sessions end).
    Password {
        #[arg(long)]
        email: String,
        /// At least 8 characters.
        #[arg(long, env = "HOOKRELAY_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

impl Cli {
    /// Parses the process arguments; without a subcommand, `serve` (with its environment) is meant.
    pub fn parse_args() -> Self {
        let cli = Self::parse();
        if cli.command.is_some() {
            return cli;
        }
        let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        args.push("serve".into());
        Self::parse_from(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let cli = Cli::parse_from(["hookrelay", "serve"]);
        let Some(Command::Serve(opts)) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(opts.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(cli.global.data_dir, PathBuf::from("./data"));
        assert_eq!(cli.global.database_url(), "sqlite://./data/hookrelay.db");
    }

    #[test]
    fn the_default_impls_are_the_clap_defaults() {
        let opts = ServeOpts::default();
        assert_eq!(opts.session_cache, Duration::from_secs(10));
        assert_eq!(opts.delivery.lease, Duration::from_secs(60));
        assert_eq!(opts.delivery.retry_schedule.0.len(), 11);
        assert_eq!(DeliveryOpts::default().max_in_flight, 20_000);
    }

    #[test]
    fn global_flags_go_after_the_subcommand_too() {
        let cli = Cli::parse_from([
            "hookrelay",
            "app",
            "create",
            "--name",
            "x",
            "--data-dir",
            "/tmp/d",
            "--chime-region",
            "eu-west-1",
        ]);
        assert_eq!(cli.global.data_dir, PathBuf::from("/tmp/d"));
        let Some(Command::App(AppArgs { command, chime })) = cli.command else {
            panic!("not an app command");
        };
        assert!(matches!(command, AppCommand::Create { ref name } if name == "x"));
        assert_eq!(chime.chime_region, "eu-west-1");
        assert_eq!(chime.chime_account, "000000000000");
        assert!(
            Cli::try_parse_from(["hookrelay", "app", "list", "--chime-account", "12"]).is_err()
        );
    }
}
