//! The real binary: command line, settings from flags, the environment and `.env`, refusal of
//! invalid settings (one line on stderr naming the setting, non-zero exit, never a panic), and
//! a clean exit on SIGTERM.
//!
//! Each run gets a temporary working directory and an environment holding only `PATH` and what
//! the test sets, so nothing from the developer's shell or working copy leaks in.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use ringup_testkit::TestDatabase;
use tempfile::TempDir;
use tokio::process::Command;

const RINGUP: &str = env!("CARGO_BIN_EXE_ringup");

/// A `ringup` command in `dir` with a clean environment plus `env`.
fn ringup(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(RINGUP);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

struct Run {
    output: Output,
    elapsed: Duration,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
}

/// Runs `ringup` to completion; a run that takes longer than `limit` fails the test (and is
/// killed).
async fn run_within(limit: Duration, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let started = Instant::now();
    let output = tokio::time::timeout(limit, ringup(dir, env, args).output())
        .await
        .unwrap_or_else(|_| panic!("ringup {args:?} {env:?} did not finish within {limit:?}"))
        .expect("ringup starts");
    Run {
        output,
        elapsed: started.elapsed(),
    }
}

async fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    run_within(Duration::from_secs(30), dir, env, args).await
}

/// A refused start: non-zero exit, exactly one line on stderr naming `variable`, no panic.
fn assert_refused(run: &Run, variable: &str) -> String {
    let stderr = run.stderr();
    assert!(
        !run.output.status.success(),
        "exited with {}; stderr: {stderr}; stdout: {}",
        run.output.status,
        run.stdout()
    );
    assert!(run.output.status.code().is_some(), "killed by a signal");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.contains(variable),
        "does not name {variable}: {stderr}"
    );
    stderr
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// Every refused start below also sets RINGUP_BIND=127.0.0.1:0, so that if the setting under test
// were wrongly accepted the server would not take a fixed port (and the run would time out).
const ANY_PORT: (&str, &str) = ("RINGUP_BIND", "127.0.0.1:0");

#[tokio::test]
async fn a_short_secret_is_refused() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(dir.path(), &[ANY_PORT, ("RINGUP_SECRET", "too-short")], &[]).await;

    // Assert
    let stderr = assert_refused(&run, "RINGUP_SECRET");
    assert!(!stderr.contains("too-short"), "secret echoed: {stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "refused before touching the data directory"
    );
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(
        dir.path(),
        &[ANY_PORT, ("DATABASE_URL", "mysql://x/y")],
        &[],
    )
    .await;

    // Assert
    assert_refused(&run, "DATABASE_URL");
}

#[tokio::test]
async fn bad_client_limits_are_refused_naming_the_setting() {
    for (variable, value) in [
        ("RINGUP_HEADER_READ_TIMEOUT", "0"),
        ("RINGUP_MAX_CONNECTIONS", "many"),
        ("RINGUP_API_KEY_RATE_FREE", "0"),
    ] {
        // Arrange
        let dir = TempDir::new().unwrap();

        // Act
        let run = run(dir.path(), &[ANY_PORT, (variable, value)], &[]).await;

        // Assert
        assert_refused(&run, variable);
    }
}

#[tokio::test]
async fn a_bad_bind_address_is_refused() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(dir.path(), &[("RINGUP_BIND", "nope")], &[]).await;

    // Assert
    assert_refused(&run, "RINGUP_BIND");
}

#[tokio::test]
async fn a_bad_bind_flag_is_refused_naming_the_flag() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(dir.path(), &[], &["--bind", "nope"]).await;

    // Assert
    let stderr = assert_refused(&run, "--bind");
    assert!(stderr.contains("RINGUP_BIND"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_database_is_refused_promptly() {
    // Arrange: nothing listens on port 1.
    let dir = TempDir::new().unwrap();
    let url = "postgres://postgres@127.0.0.1:1/test";

    // Act
    let run = run_within(
        Duration::from_secs(15),
        dir.path(),
        &[ANY_PORT, ("DATABASE_URL", url)],
        &[],
    )
    .await;

    // Assert
    assert_refused(&run, "DATABASE_URL");
    assert!(
        run.elapsed < Duration::from_secs(15),
        "took {:?}",
        run.elapsed
    );
}

#[tokio::test]
async fn a_data_dir_under_a_regular_file_is_refused() {
    // Arrange
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("file"), "not a directory").unwrap();

    // Act
    let run = run(
        dir.path(),
        &[ANY_PORT, ("RINGUP_DATA_DIR", "file/data")],
        &[],
    )
    .await;

    // Assert
    assert_refused(&run, "RINGUP_DATA_DIR");
}

#[tokio::test]
async fn a_dotenv_file_in_the_working_directory_is_read() {
    // Arrange
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join(".env"), "RINGUP_BIND=nope\n").unwrap();

    // Act: migrate would succeed if `.env` were ignored.
    let run = run(dir.path(), &[], &["migrate"]).await;

    // Assert
    assert_refused(&run, "RINGUP_BIND");
}

#[tokio::test]
async fn the_environment_beats_dotenv() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let db_file = dir.path().join("from-dotenv.db");
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "RINGUP_BIND=nope\nDATABASE_URL=sqlite://{}\n",
            db_file.display()
        ),
    )
    .unwrap();

    // Act
    let run = run(dir.path(), &[("RINGUP_BIND", "127.0.0.1:0")], &["migrate"]).await;

    // Assert: the environment's bind address won, and `.env` still supplied the database.
    assert!(
        run.output.status.success(),
        "{}; stderr: {}",
        run.output.status,
        run.stderr()
    );
    assert!(db_file.is_file(), "the .env database was not created");
    assert!(!dir.path().join("data/ringup.db").exists());
}

#[tokio::test]
async fn a_flag_beats_the_environment() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(
        dir.path(),
        &[("RINGUP_BIND", "nope"), ("RINGUP_DATA_DIR", "from-env")],
        &[
            "migrate",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "from-flag",
        ],
    )
    .await;

    // Assert
    assert!(
        run.output.status.success(),
        "{}; stderr: {}",
        run.output.status,
        run.stderr()
    );
    assert!(dir.path().join("from-flag/ringup.db").is_file());
    assert!(!dir.path().join("from-env").exists());
}

#[tokio::test]
async fn a_dotenv_file_in_a_parent_directory_is_not_read() {
    // Arrange: the contract reads `.env` from the working directory only.
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join(".env"), "RINGUP_BIND=nope\n").unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();

    // Act
    let run = run(&work, &[], &["migrate"]).await;

    // Assert
    assert!(
        run.output.status.success(),
        "{}; stderr: {}",
        run.output.status,
        run.stderr()
    );
}

#[tokio::test]
async fn help_lists_the_commands() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(dir.path(), &[], &["--help"]).await;

    // Assert
    assert!(run.output.status.success(), "{}", run.output.status);
    let help = run.stdout();
    for word in ["serve", "migrate", "--bind", "RINGUP_BIND", "DATABASE_URL"] {
        assert!(help.contains(word), "{word} missing from: {help}");
    }
}

#[tokio::test]
async fn migrate_creates_the_default_sqlite_database() {
    // Arrange
    let dir = TempDir::new().unwrap();

    // Act
    let run = run(dir.path(), &[], &["migrate"]).await;

    // Assert
    assert!(
        run.output.status.success(),
        "{}; stderr: {}",
        run.output.status,
        run.stderr()
    );
    assert!(dir.path().join("data/ringup.db").is_file());
    assert_eq!(run.stderr(), "");
}

#[tokio::test]
async fn migrate_twice_succeeds_both_times() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let first = run(dir.path(), &[], &["migrate"]).await;
    assert!(first.output.status.success(), "{}", first.stderr());

    // Act
    let second = run(dir.path(), &[], &["migrate"]).await;

    // Assert
    assert!(second.output.status.success(), "{}", second.stderr());
}

#[tokio::test]
async fn migrate_applies_to_the_test_database() {
    // Arrange: SQLite by default, a fresh PostgreSQL database with RINGUP_TEST_DATABASE_URL.
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let engine = database.url().engine().name();

    // Act
    let run = run(
        dir.path(),
        &[("DATABASE_URL", database.url().expose())],
        &["migrate"],
    )
    .await;

    // Assert
    assert!(
        run.output.status.success(),
        "{}; stderr: {}",
        run.output.status,
        run.stderr()
    );
    let stdout = run.stdout();
    assert!(stdout.contains(engine), "{stdout}");
    assert!(stdout.contains("migrated"), "{stdout}");
}

#[tokio::test]
async fn sigterm_stops_the_server_with_exit_status_0() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let data_dir = dir.path().join("data");
    let mut child = ringup(
        dir.path(),
        &[
            ("RINGUP_BIND", bind.as_str()),
            ("RINGUP_DATA_DIR", data_dir.to_str().unwrap()),
            ("DATABASE_URL", database.url().expose()),
            ("RINGUP_LOG", "warn"),
        ],
        &[],
    )
    .spawn()
    .expect("ringup starts");
    let client = reqwest::Client::new();
    let healthz = format!("http://{bind}/healthz");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(response) = client.get(&healthz).send().await
            && response.status().as_u16() == 200
        {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().await.unwrap();
            panic!(
                "ringup exited with {status} before answering: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(Instant::now() < deadline, "/healthz did not answer in 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().expect("running").to_string();

    // Act
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("ringup exits within 10 s of SIGTERM")
        .unwrap();

    // Assert
    assert!(kill.success());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        std::net::TcpStream::connect(&bind).is_err(),
        "still listening after exit"
    );
}
