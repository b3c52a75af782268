//! The `hookrelay` binary's commands.

use std::process::{Command, Output};

fn hookrelay(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(args)
        .env("HOOKRELAY_DATA_DIR", dir)
        .env_remove("HOOKRELAY_DATABASE_URL")
        .env_remove("HOOKRELAY_MASTER_KEY")
        .output()
        .expect("run hookrelay")
}

/// The one `hookrelay: …` line a failed command printed (the test fails if there are
/// several or none), and its whole standard error.
#[track_caller]
fn the_error_line(out: &Output) -> (String, String) {
    let stderr = String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("hookrelay:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    (lines[0].to_string(), stderr)
}

#[test]
fn app_create_prints_credentials_and_app_list_hides_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookrelay(dir.path(), &["app", "create", "--name", "Chat production"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["name"], "Chat production");
    assert!(created["id"].as_i64().unwrap() > 0);
    let key = created["api_key"].as_str().unwrap();
    let secret = created["api_secret"].as_str().unwrap();
    assert_eq!(key.len(), 12);
    assert_eq!(secret.len(), 48);

    let out = hookrelay(dir.path(), &["app", "list"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["api_key"], key);
    assert!(!stdout.contains(secret));

    // the master key was created private, next to the database
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_duplicate_app_name_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(hookrelay(dir.path(), &["app", "create", "--name", "Chat"])
        .status
        .success());
    let out = hookrelay(dir.path(), &["app", "create", "--name", "chat"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("An app with this name already exists."),
        "{stderr}"
    );
}

#[test]
fn user_create_adds_an_admin_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookrelay(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--password",
            "long enough pw",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["email"], "ops@example.com");
    let out = hookrelay(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--password",
            "long enough pw",
            "--admin",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = hookrelay(
        dir.path(),
        &["user", "create", "--email", "x@y.z", "--password", "short"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
}

/// Runs a command that must succeed; its JSON output.
#[track_caller]
fn json_of(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = hookrelay(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn credentials_have_a_lifecycle_rotate_delete_and_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app = json_of(d, &["app", "create", "--name", "Rotating"]);
    let id = app["id"].to_string();
    assert_eq!(app["external_id"].as_str().unwrap().len(), 32);
    let rotated = json_of(d, &["app", "rotate-secret", &id, "--grace", "1h"]);
    let new = rotated["api_secret"].as_str().unwrap();
    assert_eq!(new.len(), 48);
    assert_ne!(new, app["api_secret"].as_str().unwrap());
    assert!(rotated["previous_valid_until"].is_string(), "{rotated}");
    let revoked = json_of(d, &["app", "rotate-secret", &id, "--grace", "0s"]);
    assert!(revoked["previous_valid_until"].is_null(), "{revoked}");
    let out = hookrelay(d, &["app", "rotate-secret", "999"]);
    assert!(!out.status.success());
    assert_eq!(the_error_line(&out).0, "hookrelay: there is no app 999");

    // users: the first administers; later ones say what they are
    let admin = json_of(
        d,
        &[
            "user",
            "create",
            "--email",
            "a@x.io",
            "--password",
            "password a",
        ],
    );
    assert_eq!(admin["role"], "admin");
    let out = hookrelay(
        d,
        &[
            "user",
            "create",
            "--email",
            "b@x.io",
            "--password",
            "password b",
        ],
    );
    assert!(!out.status.success());
    assert!(the_error_line(&out).0.contains("--admin"), "{out:?}");
    let member = json_of(
        d,
        &[
            "user",
            "create",
            "--email",
            "b@x.io",
            "--password",
            "password b",
            "--app",
            &id,
        ],
    );
    assert_eq!(member["role"], "member");
    assert_eq!(member["apps"], serde_json::json!([app["id"]]));
    let out = hookrelay(
        d,
        &[
            "user",
            "create",
            "--email",
            "c@x.io",
            "--password",
            "password c",
            "--app",
            "999",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(the_error_line(&out).0, "hookrelay: There is no such app.");
    let list = json_of(d, &["user", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(
        !list.to_string().contains("argon2"),
        "no hashes in the list: {list}"
    );

    json_of(
        d,
        &[
            "user",
            "password",
            "--email",
            "B@x.io",
            "--password",
            "a new password",
        ],
    );
    let out = hookrelay(
        d,
        &[
            "user",
            "password",
            "--email",
            "nobody@x.io",
            "--password",
            "whatever1",
        ],
    );
    assert_eq!(
        the_error_line(&out).0,
        "hookrelay: there is no user nobody@x.io"
    );
    let out = hookrelay(d, &["user", "delete", "--email", "a@x.io"]);
    assert!(!out.status.success());
    assert_eq!(
        the_error_line(&out).0,
        "hookrelay: The last administrator cannot be deleted or made a member."
    );
    json_of(d, &["user", "delete", "--email", "b@x.io"]);

    // deleting the app takes its grants with it
    json_of(d, &["app", "delete", &id]);
    assert_eq!(json_of(d, &["app", "list"]), serde_json::json!([]));
    let out = hookrelay(d, &["app", "delete", &id]);
    assert_eq!(
        the_error_line(&out).0,
        format!("hookrelay: there is no app {id}")
    );
}

#[test]
fn an_unreachable_database_is_one_line_and_a_failure_exit_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HOOKRELAY_DATA_DIR", dir.path())
        .env(
            "HOOKRELAY_DATABASE_URL",
            "sqlite:///nonexistent-dir/sub/hookrelay.db",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "exit code 101 means a panic");
    let (line, stderr) = the_error_line(&out);
    assert!(line.contains("database"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "HOOKRELAY_LISTEN",
        "HOOKRELAY_DATA_DIR",
        "HOOKRELAY_DATABASE_URL",
        "HOOKRELAY_MASTER_KEY",
        "HOOKRELAY_SITE_ROOT",
        "HOOKRELAY_LOG",
        "HOOKRELAY_SECURE_COOKIES",
        "HOOKRELAY_API_RATE_LIMIT",
    ] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
    assert!(help.contains("127.0.0.1:3000") && help.contains("./data"));
    // and every variable `serve` reads is in the README's Configuration table
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme
        .find("## Configuration")
        .expect("a Configuration section")..];
    let mut seen = 0;
    for word in help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("HOOKRELAY_") {
            seen += 1;
            assert!(
                table.contains(&format!("`{word}`")),
                "{word} is not in the README's Configuration table"
            );
        }
    }
    assert!(seen >= 25, "{seen} variables in:\n{help}");
}

#[test]
fn a_master_key_that_does_not_open_the_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookrelay(dir.path(), &["app", "create", "--name", "Keyed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        &["app", "list"][..],
        &["serve", "--listen", "127.0.0.1:0"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(args)
            .env("HOOKRELAY_DATA_DIR", dir.path())
            .env_remove("HOOKRELAY_DATABASE_URL")
            .env("HOOKRELAY_MASTER_KEY", "ab".repeat(32))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let (line, stderr) = the_error_line(&out);
        assert!(line.contains("master key"), "{stderr}");
    }
    // the right key still works
    assert!(hookrelay(dir.path(), &["app", "list"]).status.success());
}

#[test]
fn a_lost_master_key_is_refused_at_start_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookrelay(dir.path(), &["app", "create", "--name", "Sealed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = dir.path().join("master.key");
    let key = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    for args in [
        &["app", "list"][..],
        &["serve", "--listen", "127.0.0.1:0"][..],
    ] {
        let out = hookrelay(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let (line, stderr) = the_error_line(&out);
        assert!(
            line.contains("master key file")
                && line.contains("master.key")
                && line.contains("restore"),
            "{stderr}"
        );
        // no new key was made for a database that holds secrets
        assert!(!key_file.exists(), "{args:?} wrote a new key");
    }
    std::fs::write(&key_file, key).unwrap();
    assert!(hookrelay(dir.path(), &["app", "list"]).status.success());
}

#[test]
fn the_canary_catches_a_wrong_key_before_any_app_exists() {
    // a database with users but no app yet: no app secret to try, the canary still tells
    let dir = tempfile::tempdir().unwrap();
    let out = hookrelay(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--password",
            "correct horse battery",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["user", "list"])
        .env("HOOKRELAY_DATA_DIR", dir.path())
        .env_remove("HOOKRELAY_DATABASE_URL")
        .env("HOOKRELAY_MASTER_KEY", "cd".repeat(32))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (line, stderr) = the_error_line(&out);
    assert!(line.contains("master key does not open"), "{stderr}");
    assert!(hookrelay(dir.path(), &["user", "list"]).status.success());
}

#[test]
fn a_wrong_postgres_url_is_one_line_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        // nothing listens there
        "postgres://postgres@127.0.0.1:1/test".to_string(),
        // the server answers, the database does not exist
        format!("{}/hr_no_such_database", crate::support::pg_server()),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(["app", "list"])
            .env("HOOKRELAY_DATA_DIR", dir.path())
            .env("HOOKRELAY_DATABASE_URL", &url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{url}");
        let (line, stderr) = the_error_line(&out);
        assert!(line.contains("cannot open the database"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_database_migrated_by_a_newer_version_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(hookrelay(dir.path(), &["app", "list"]).status.success());
    // a migration this version does not know, as a newer Hookrelay would have left it
    let db = dir.path().join("hookrelay.db");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'future', 1, x'00', 0)\"); c.commit()",
        ])
        .arg(&db)
        .status()
        .unwrap();
    assert!(status.success());
    let out = hookrelay(dir.path(), &["app", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let (line, stderr) = the_error_line(&out);
    assert!(
        line.contains("newer Hookrelay") && line.contains("9999"),
        "{stderr}"
    );
}
