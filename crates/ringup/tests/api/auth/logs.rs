//! Log hygiene: the real binary, logging at `debug` (SQL statements included) as JSON, serves a
//! whole session — failed and successful logins, refresh, a new user, an API key, a password
//! reset by mail, a password change, logouts — and its captured stdout and stderr must contain
//! no password, token, key, reset token, signing secret or password hash.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, Response};
use ringup_testkit::TestDatabase;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::auth::reset::wait_for_reset_mail;

const RINGUP: &str = env!("CARGO_BIN_EXE_ringup");

const ADMIN_PASSWORD: &str = "Saffron-Glacier-Meadow-314";
const WRONG_GUESS: &str = "Guessing-Pelican-Rhythm-27";
const USER_PASSWORD: &str = "Cobalt-Whisper-Lantern-58";
const CHANGED_PASSWORD: &str = "Juniper-Falcon-Marble-46";
const RESET_PASSWORD: &str = "Tundra-Mosaic-Copper-82";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Reads a child's pipe to the end in the background (so a chatty server never blocks on a full
/// pipe).
fn drain(mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out).await;
        out
    })
}

/// A running `ringup serve` with its output being captured.
struct Server {
    child: Child,
    base: String,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

async fn start_server(dir: &Path, database_url: &str) -> Server {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let data_dir = dir.join("data");
    let mut child = Command::new(RINGUP)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGUP_BIND", &bind)
        .env("RINGUP_DATA_DIR", &data_dir)
        .env("DATABASE_URL", database_url)
        .env("RINGUP_LOG", "debug,sqlx=debug")
        .env("RINGUP_LOG_FORMAT", "json")
        .env("RINGUP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RINGUP_SHUTDOWN_GRACE", "2")
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ringup starts");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let base = format!("http://{bind}");
    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().as_u16() == 200
        {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let err = stderr.await.unwrap();
            panic!(
                "ringup exited with {status} before answering: {}",
                String::from_utf8_lossy(&err)
            );
        }
        assert!(Instant::now() < deadline, "/healthz did not answer in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        stdout,
        stderr,
    }
}

impl Server {
    /// Sends SIGTERM, waits for the exit and returns everything the process wrote.
    async fn stop(mut self) -> String {
        let pid = self.child.id().expect("running").to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("ringup exits within 15 s of SIGTERM")
            .unwrap();
        let stdout = self.stdout.await.unwrap();
        let stderr = self.stderr.await.unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{status}; stderr: {}",
            String::from_utf8_lossy(&stderr)
        );
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )
    }
}

async fn post(client: &Client, url: String, token: Option<&str>, body: Value) -> Response {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn text_of(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {value}"))
        .to_owned()
}

#[tokio::test]
async fn a_whole_session_leaves_no_secret_in_the_logs() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let server = start_server(dir.path(), database.url().expose()).await;
    let base = server.base.clone();
    let url = |path: &str| format!("{base}{path}");
    let client = Client::new();
    let mut secrets: Vec<(&str, String)> = vec![
        ("admin password", ADMIN_PASSWORD.into()),
        ("wrong guess", WRONG_GUESS.into()),
        ("user password", USER_PASSWORD.into()),
        ("changed password", CHANGED_PASSWORD.into()),
        ("reset password", RESET_PASSWORD.into()),
    ];

    // Act: a whole session.
    let failed = post(
        &client,
        url("/api/v1/auth/login"),
        None,
        json!({ "username": "admin", "password": WRONG_GUESS }),
    )
    .await;
    assert_eq!(failed.status().as_u16(), 401);
    let login = expect_json(
        post(
            &client,
            url("/api/v1/auth/login"),
            None,
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
        )
        .await,
        200,
    )
    .await;
    let (admin_access, admin_refresh) = (
        text_of(&login, "access_token"),
        text_of(&login, "refresh_token"),
    );
    let refreshed = expect_json(
        post(
            &client,
            url("/api/v1/auth/refresh"),
            None,
            json!({ "refresh_token": admin_refresh }),
        )
        .await,
        200,
    )
    .await;
    let (admin_access2, admin_refresh2) = (
        text_of(&refreshed, "access_token"),
        text_of(&refreshed, "refresh_token"),
    );
    expect_json(
        post(
            &client,
            url("/api/v1/users"),
            Some(&admin_access2),
            json!({
                "username": "till-one", "email": "till-one@example.com",
                "password": USER_PASSWORD, "role": "cashier", "store_ids": [],
            }),
        )
        .await,
        201,
    )
    .await;
    let key = expect_json(
        post(
            &client,
            url("/api/v1/api-keys"),
            Some(&admin_access2),
            json!({ "name": "books", "tier": "basic", "role": "cashier", "store_ids": [] }),
        )
        .await,
        201,
    )
    .await;
    let api_key = text_of(&key, "key");
    let me = client
        .request(Method::GET, url("/api/v1/me"))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(me, 200).await["kind"], "api_key");
    let user_login = expect_json(
        post(
            &client,
            url("/api/v1/auth/login"),
            None,
            json!({ "username": "till-one", "password": USER_PASSWORD }),
        )
        .await,
        200,
    )
    .await;
    let (user_access, user_refresh) = (
        text_of(&user_login, "access_token"),
        text_of(&user_login, "refresh_token"),
    );
    // A new password voids earlier reset links, so the reset is requested after it.
    let changed = post(
        &client,
        url("/api/v1/auth/password"),
        Some(&user_access),
        json!({ "current_password": USER_PASSWORD, "new_password": CHANGED_PASSWORD }),
    )
    .await;
    assert_eq!(changed.status().as_u16(), 204);
    let requested = post(
        &client,
        url("/api/v1/auth/password-reset/request"),
        None,
        json!({ "email": "till-one@example.com" }),
    )
    .await;
    assert_eq!(requested.status().as_u16(), 202);
    let mail = wait_for_reset_mail(
        &dir.path().join("data/mail"),
        "till-one@example.com",
        &base,
        Duration::from_secs(5),
    )
    .await;
    let confirmed = post(
        &client,
        url("/api/v1/auth/password-reset/confirm"),
        None,
        json!({ "token": mail.token, "new_password": RESET_PASSWORD }),
    )
    .await;
    assert_eq!(confirmed.status().as_u16(), 204);
    let user_login2 = expect_json(
        post(
            &client,
            url("/api/v1/auth/login"),
            None,
            json!({ "username": "till-one", "password": RESET_PASSWORD }),
        )
        .await,
        200,
    )
    .await;
    let (user_access2, user_refresh2) = (
        text_of(&user_login2, "access_token"),
        text_of(&user_login2, "refresh_token"),
    );
    // A spent refresh token presented again (reuse detection logs a warning).
    let reused = post(
        &client,
        url("/api/v1/auth/refresh"),
        None,
        json!({ "refresh_token": admin_refresh }),
    )
    .await;
    assert_eq!(reused.status().as_u16(), 401);
    for refresh in [&admin_refresh2, &user_refresh2] {
        let out = post(
            &client,
            url("/api/v1/auth/logout"),
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
        assert_eq!(out.status().as_u16(), 204);
    }
    let signing_secret = std::fs::read_to_string(dir.path().join("data/secret")).unwrap();
    let output = server.stop().await;

    // Assert
    for (name, token) in [
        ("admin access token", &admin_access),
        ("admin access token after refresh", &admin_access2),
        ("user access token", &user_access),
        ("user access token after reset", &user_access2),
    ] {
        secrets.push((name, token.clone()));
        let signature = token.rsplit('.').next().unwrap().to_owned();
        secrets.push(("a JWT signature", signature));
    }
    secrets.extend([
        ("admin refresh token", admin_refresh),
        ("admin refresh token after refresh", admin_refresh2),
        ("user refresh token", user_refresh),
        ("user refresh token after reset", user_refresh2),
        ("API key", api_key.clone()),
        (
            "API key without its prefix",
            api_key["rk_".len()..].to_owned(),
        ),
        ("reset token", mail.token.clone()),
        ("signing secret", signing_secret.trim().to_owned()),
        ("a password hash", "$argon2".to_owned()),
    ]);
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let requests = output.matches("request finished").count();
    assert!(
        requests >= 15,
        "the session was logged ({requests} requests): {output}"
    );
    assert!(
        output.contains("\"target\":\"sqlx::query\""),
        "SQL statements were logged at debug"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with('{'))
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "JSON log lines"
    );
    for (name, secret) in &secrets {
        assert!(!secret.is_empty(), "{name} is empty");
        if let Some(line) = lines.iter().find(|l| l.contains(secret.as_str())) {
            panic!("the logs contain the {name}: {line}");
        }
    }
}
