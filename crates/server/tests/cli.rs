//! The command line as a new user meets it: bad values name the variable that was set, each
//! start-up error is printed once, `.env` is read, and help is grouped by topic.

#![expect(clippy::expect_used, reason = "a failed expectation is a failed test")]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_room-chats");

/// Runs the binary in `dir` with only the given variables of ours set.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        let ours = name.starts_with("JWT_")
            || name.starts_with("DB_")
            || name.starts_with("WS_")
            || name.starts_with("REDIS_")
            || [
                "DATABASE_URL",
                "DATA_DIR",
                "BIND",
                "WORKERS",
                "LOG_FORMAT",
                "RUST_LOG",
            ]
            .contains(&name.as_str());
        if ours {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("room-chats runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bad_value_names_the_variable_and_never_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(dir.path(), &["serve"], &[("WORKERS", "0")]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("WORKERS"), "{text}");
    assert!(!text.contains("panicked"), "{text}");

    let output = run(dir.path(), &["serve"], &[("LOG_FORMAT", "xml")]);
    let text = stderr(&output);
    assert!(text.contains("LOG_FORMAT (flag --log-format)"), "{text}");
}

#[test]
fn names_are_case_insensitive_and_errors_are_printed_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // JSON (upper case) is accepted: the error after it arrives as one JSON log line.
    let output = run(
        dir.path(),
        &["serve"],
        &[
            ("LOG_FORMAT", "JSON"),
            ("JWT_ALGORITHM", "rs256"),
            ("JWT_PUBLIC_KEY", "/nonexistent/jwt.pem"),
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("/nonexistent/jwt.pem").count(), 1, "{text}");
    let line = text
        .lines()
        .find(|line| line.contains("/nonexistent/jwt.pem"))
        .expect("the error line");
    let logged: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    let error = logged["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("JWT_PUBLIC_KEY "), "{logged}");
}

#[test]
fn dot_env_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join(".env"),
        "# a comment\nDATA_DIR=./from-dotenv\nJWT_ROLE_CLAIM=role\n",
    )
    .expect(".env written");
    let args = [
        "token",
        "--sub",
        "u1",
        "--role",
        "client",
        "--create-secret",
    ];
    let output = run(dir.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("from-dotenv/jwt-secret").exists());

    let output = run(dir.path(), &args, &[("DATA_DIR", "./from-env")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("from-env/jwt-secret").exists());

    std::fs::write(dir.path().join(".env"), "NOT A LINE\n").expect(".env written");
    let output = run(dir.path(), &args, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(".env"), "{}", stderr(&output));
}

#[test]
fn a_missing_postgres_database_says_what_to_do() {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    let missing = format!("{base}/room_chats_never_created_{}", std::process::id());
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(
        dir.path(),
        &["serve"],
        &[
            ("DATABASE_URL", missing.as_str()),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("DB_STARTUP_TIMEOUT_SECS", "1"),
            ("DB_TIMEOUT_SECS", "1"),
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("createdb"), "{text}");
    assert_eq!(text.matches("room-chats stopped").count(), 1, "{text}");
}

#[test]
fn help_is_grouped_and_token_help_lists_only_what_minting_needs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve =
        String::from_utf8_lossy(&run(dir.path(), &["serve", "--help"], &[]).stdout).into_owned();
    for heading in ["Server:", "Limits:", "Database:", "Tokens (JWT):"] {
        assert!(serve.contains(heading), "{heading} in {serve}");
    }
    let token =
        String::from_utf8_lossy(&run(dir.path(), &["token", "--help"], &[]).stdout).into_owned();
    assert!(token.contains("--data-dir"), "{token}");
    for unrelated in ["--db-pool-size", "--db-writer-threads", "--db-timeout-secs"] {
        assert!(!token.contains(unrelated), "{unrelated} in {token}");
    }
}

/// `room-chats token` run away from the server's data directory used to make a fresh secret
/// there silently, and every request with its tokens got 401. Now it says what is missing and
/// where, and makes a secret only when asked.
#[test]
fn token_refuses_to_invent_a_secret_no_server_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = ["token", "--sub", "u1", "--role", "client"];
    let output = run(dir.path(), &args, &[]);
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(output.stdout.is_empty(), "no token is printed");
    assert!(text.contains("no development secret in ./data"), "{text}");
    assert!(text.contains("--create-secret"), "{text}");
    assert!(!dir.path().join("data/jwt-secret").exists());

    // A configured secret needs no file; asked to, it makes the file a server will use.
    let configured = run(
        dir.path(),
        &args,
        &[("JWT_SECRET", "0123456789abcdef0123456789abcdef")],
    );
    assert!(configured.status.success(), "{}", stderr(&configured));
    let mut create = args.to_vec();
    create.push("--create-secret");
    let created = run(dir.path(), &create, &[]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(dir.path().join("data/jwt-secret").exists());
    let again = run(dir.path(), &args, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
}

/// Waiting for a database that is down prints one line per retry: not the pool's own report
/// of every background attempt, in libpq's words over three lines each.
#[test]
fn an_unreachable_database_is_one_line_per_retry() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/nothing");
    let output = run(
        dir.path(),
        &["serve"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("DB_STARTUP_TIMEOUT_SECS", "3"),
            ("DB_TIMEOUT_SECS", "1"),
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    // Records start with their time (after the colour code); the stop message's own hint
    // is the one indented line.
    let is_record = |line: &&str| line.trim_start_matches("\u{1b}[2m").starts_with("20");
    let records = text.lines().filter(is_record).count();
    let other: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !is_record(line))
        .filter(|line| !line.contains("DB_STARTUP_TIMEOUT_SECS sets how long"))
        .collect();
    let retries = text.matches("database not reachable yet; retrying").count();
    assert!(retries >= 1, "{text}");
    assert_eq!(
        records,
        retries + 2,
        "the attachments line, one line per retry and the one error, nothing else: {text}"
    );
    assert!(other.is_empty(), "lines that are not records: {other:?}");
    assert!(!text.contains("r2d2"), "{text}");
    assert_eq!(text.matches("room-chats stopped").count(), 1, "{text}");
}
