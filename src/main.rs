use std::process::ExitCode;

use hookrelay::config::{AppCommand, Cli, Command, UserCommand};
use hookrelay::server::{self, StartError};
use secrecy::ExposeSecret;

// glibc's allocator spent a third of the server's time under load (perf); mimalloc does not
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.global.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookrelay: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] hookrelay::store::StoreError),
    #[error("{0}")]
    Input(#[from] hookrelay::dto::InputError),
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let global = cli.global;
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(Default::default()))
    {
        Command::Serve(opts) => server::serve(&global, &opts).await?,
        Command::App(AppCommand::Create { name }) => {
            let name = hookrelay::store::AppName::parse(&name)?;
            let db = server::open(&global).await?;
            let created = db.create_app(&name).await?;
            let out = serde_json::json!({
                "id": created.app.id,
                "name": created.app.name,
                "api_key": created.app.api_key,
                "api_secret": created.api_secret.expose_secret(),
            });
            println!("{out}");
        }
        Command::App(AppCommand::List) => {
            let db = server::open(&global).await?;
            let apps = db.apps().await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&apps).unwrap_or_default()
            );
        }
        Command::User(UserCommand::Create { email, password }) => {
            let email =
                hookrelay::auth::Email::parse(&email).map_err(hookrelay::dto::InputError::from)?;
            let password = hookrelay::auth::NewPassword::parse(&password)?;
            let db = server::open(&global).await?;
            let hash = tokio::task::spawn_blocking(move || password.hash())
                .await
                .expect("hashing task");
            let id = db.create_user(&email, &hash).await?;
            println!(
                "{}",
                serde_json::json!({ "id": id, "email": email.as_str() })
            );
        }
    }
    Ok(())
}
