use std::process::ExitCode;

use hookrelay::auth::Email;
use hookrelay::config::{AppArgs, AppCommand, Cli, Command, UserCommand};
use hookrelay::domain::{AppId, Role};
use hookrelay::dto::InputError;
use hookrelay::server::{self, StartError};
use hookrelay::store::{StoreError, UserRow};
use secrecy::ExposeSecret;

// glibc's allocator spent a third of the server's time under load (perf); mimalloc does not
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers (`mi_option_t` in its mimalloc.h; the same in v2 and v3).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Gives freed memory back to the system at once instead of after 10–100 ms, and commits
/// arenas as they are used: under the benchmark's steady load mimalloc otherwise keeps tens
/// of MB freed but resident.
/// The operator's `MIMALLOC_PURGE_DELAY` / `MIMALLOC_ARENA_EAGER_COMMIT` /
/// `MIMALLOC_ALLOW_THP`, when set, win.
fn tune_allocator() {
    for (option, env, value) in [
        (MI_OPTION_PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
        (
            MI_OPTION_ARENA_EAGER_COMMIT,
            "MIMALLOC_ARENA_EAGER_COMMIT",
            0,
        ),
    ] {
        if std::env::var_os(env).is_none() {
            // SAFETY: mi_option_set only stores an option's value; these may change any time
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
    // mimalloc asks for transparent huge pages on its arenas (MADV_HUGEPAGE): a 2 MiB page
    // stays resident whole while a few of its KB are in use, and purging cannot give part of
    // it back (18–20 MB of the benchmark's peak were such pages). This process asks for none.
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process's memory map, read by
        // the kernel at later page faults
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
    // SQLite allocates through the C library's malloc, from each connection's own thread:
    // glibc gives every such thread an arena of its own that keeps its freed memory (about
    // 2 MB each under load). Two arenas serve them all.
    #[cfg(target_env = "gnu")]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter, under malloc's own lock; arenas made
        // after it (SQLite's threads start with the pool, later) obey it
        unsafe { libc::mallopt(libc::M_ARENA_MAX, GLIBC_ARENAS) };
    }
}

/// glibc malloc arenas (`MALLOC_ARENA_MAX` wins when set).
#[cfg(target_env = "gnu")]
const GLIBC_ARENAS: libc::c_int = 2;

#[tokio::main]
async fn main() -> ExitCode {
    tune_allocator();
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
    Store(#[from] StoreError),
    #[error("{0}")]
    Input(#[from] hookrelay::dto::InputError),
    #[error("{0}")]
    Usage(String),
}

/// A store's `NotFound` as "there is no {what} {id}".
fn not_found(e: StoreError, what: &str, id: i64) -> CliError {
    match e {
        StoreError::NotFound => CliError::Usage(format!("there is no {what} {id}")),
        other => other.into(),
    }
}

async fn user_by_email(db: &hookrelay::store::Store, email: &str) -> Result<UserRow, CliError> {
    let email = Email::parse(email).map_err(InputError::from)?;
    db.user_by_email(&email)
        .await?
        .ok_or_else(|| CliError::Usage(format!("there is no user {}", email.as_str())))
}

/// The password's argon2id hash, computed on a blocking thread.
async fn hash(password: hookrelay::auth::NewPassword) -> String {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .expect("hashing task")
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let global = cli.global;
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(Default::default()))
    {
        Command::Serve(opts) => server::serve(&global, &opts).await?,
        Command::App(AppArgs {
            command: AppCommand::Create { name },
            chime,
        }) => {
            let name = hookrelay::store::AppName::parse(&name)?;
            let db = server::open(&global).await?;
            let created = db.create_app(&name).await?;
            let out = serde_json::json!({
                "id": created.app.id,
                "name": created.app.name,
                "api_key": created.app.api_key,
                "api_secret": created.api_secret.expose_secret(),
                "app_instance_arn": chime.account().app_instance_arn(&created.app.external_id),
                "external_id": created.app.external_id,
            });
            println!("{out}");
        }
        Command::App(AppArgs {
            command: AppCommand::List,
            chime,
        }) => {
            let db = server::open(&global).await?;
            let account = chime.account();
            let apps: Vec<serde_json::Value> = db
                .apps()
                .await?
                .into_iter()
                .map(|app| {
                    let arn = account.app_instance_arn(&app.external_id);
                    let mut json = serde_json::to_value(app).unwrap_or_default();
                    json["app_instance_arn"] = arn.into();
                    json
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&apps).unwrap_or_default()
            );
        }
        Command::App(AppArgs {
            command: AppCommand::RotateSecret { id, grace },
            ..
        }) => {
            let db = server::open(&global).await?;
            let secret = db
                .rotate_secret(AppId(id), grace)
                .await
                .map_err(|e| not_found(e, "app", id))?;
            let until = (!grace.is_zero()).then(|| {
                hookrelay::store::rfc3339(hookrelay::domain::Millis(
                    hookrelay::store::now().0 + grace.as_millis() as i64,
                ))
            });
            println!(
                "{}",
                serde_json::json!({
                    "id": id,
                    "api_secret": secret.expose_secret(),
                    "previous_valid_until": until,
                })
            );
        }
        Command::App(AppArgs {
            command: AppCommand::Delete { id },
            ..
        }) => {
            let db = server::open(&global).await?;
            db.delete_app(AppId(id))
                .await
                .map_err(|e| not_found(e, "app", id))?;
            println!("{}", serde_json::json!({ "deleted": id }));
        }
        Command::User(UserCommand::Create {
            email,
            password,
            admin,
            app,
        }) => {
            let email = Email::parse(&email).map_err(InputError::from)?;
            let password = hookrelay::auth::NewPassword::parse(&password)?;
            let db = server::open(&global).await?;
            let role =
                match (admin, app.is_empty()) {
                    (true, _) => Role::Admin,
                    (false, false) => Role::Member,
                    // the first user administers; later ones say what they are
                    (false, true) if db.user_count().await? == 0 => Role::Admin,
                    (false, true) => return Err(CliError::Usage(
                        "say what the user may do: --admin, or --app ID for each app they may see"
                            .into(),
                    )),
                };
            let apps: Vec<AppId> = app.into_iter().map(AppId).collect();
            let hash = hash(password).await;
            let id = db.create_user(&email, &hash, role, &apps).await?;
            println!(
                "{}",
                serde_json::json!({ "id": id, "email": email.as_str(), "role": role, "apps": apps })
            );
        }
        Command::User(UserCommand::List) => {
            let db = server::open(&global).await?;
            let mut out = Vec::new();
            for user in db.users().await? {
                let apps = db.user_apps(user.id).await?;
                out.push(serde_json::json!({
                    "id": user.id, "email": user.email, "role": user.role, "apps": apps,
                }));
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Command::User(UserCommand::Delete { email }) => {
            let db = server::open(&global).await?;
            let user = user_by_email(&db, &email).await?;
            db.delete_user(user.id).await?;
            println!("{}", serde_json::json!({ "deleted": user.email }));
        }
        Command::User(UserCommand::Password { email, password }) => {
            let password = hookrelay::auth::NewPassword::parse(&password)?;
            let db = server::open(&global).await?;
            let user = user_by_email(&db, &email).await?;
            let hash = hash(password).await;
            db.set_password(user.id, &hash).await?;
            println!(
                "{}",
                serde_json::json!({ "email": user.email, "password": "changed" })
            );
        }
    }
    Ok(())
}
