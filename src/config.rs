//! Command line and environment configuration. Every flag has a `HOOKRELAY_*` environment
//! variable; `hookrelay --help` and `hookrelay serve --help` print them with their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

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
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hookrelay.db").display()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard, the API and delivery (the default command).
    Serve(ServeOpts),
    /// Manage apps.
    #[command(subcommand)]
    App(AppCommand),
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
    /// API requests allowed per app per minute (reported in the x-ratelimit-* headers).
    #[arg(long, env = "HOOKRELAY_API_RATE_LIMIT", default_value_t = 6000)]
    pub api_rate_limit: u32,
}

impl Default for ServeOpts {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3000".parse().expect("valid address"),
            site_root: None,
            secure_cookies: false,
            api_rate_limit: 6000,
        }
    }
}

impl ServeOpts {
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

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app; prints {"id","name","api_key","api_secret"} as JSON.
    Create {
        /// The app's name (unique, case-insensitively).
        #[arg(long)]
        name: String,
    },
    /// List the apps as a JSON array (secrets are not shown).
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a dashboard administrator.
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters.
        #[arg(long, env = "HOOKRELAY_ADMIN_PASSWORD", hide_env_values = true)]
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
    fn global_flags_go_after_the_subcommand_too() {
        let cli = Cli::parse_from([
            "hookrelay",
            "app",
            "create",
            "--name",
            "x",
            "--data-dir",
            "/tmp/d",
        ]);
        assert_eq!(cli.global.data_dir, PathBuf::from("/tmp/d"));
        assert!(
            matches!(cli.command, Some(Command::App(AppCommand::Create { ref name })) if name == "x")
        );
    }
}
