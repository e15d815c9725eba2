//! Verification of the audit log's hash chains: over HTTP and on the command line, untouched,
//! edited and truncated.

use std::process::Stdio;

use reqwest::Method;
use ringup_testkit::{TestApp, USER_PASSWORD, json_of};
use serde_json::{Value, json};

use crate::audit::{VERIFY, all_events, send, spawn, tamper};
use crate::support::assert_problem;

/// An app with a few events: the first admin, logins, a user created and updated.
async fn app_with_events() -> (TestApp, String, Vec<Value>) {
    let app = spawn().await;
    let admin = app.admin_token().await;
    let user = send(
        app.authed(Method::POST, "/api/v1/users", &admin)
            .json(&json!({
                "username": "till.one", "email": "till.one@example.com",
                "password": USER_PASSWORD, "role": "cashier",
            })),
    )
    .await;
    let user_id = json_of(user).await["id"].as_str().unwrap().to_owned();
    let patched = send(
        app.authed(Method::PATCH, &format!("/api/v1/users/{user_id}"), &admin)
            .json(&json!({"commission_rate_bp": 100})),
    )
    .await;
    assert_eq!(patched.status().as_u16(), 200);
    app.login("till.one", USER_PASSWORD).await;
    let events = all_events(&app, &admin, &[]).await;
    (app, admin, events)
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let response = send(app.authed(Method::GET, VERIFY, token)).await;
    assert_eq!(response.status().as_u16(), 200);
    json_of(response).await
}

#[tokio::test]
async fn verification_of_an_untouched_log_checks_every_event() {
    // Arrange
    let (app, admin, events) = app_with_events().await;
    assert_eq!(events.len(), 5, "{events:#?}");

    // Act
    let outcome = verify(&app, &admin).await;

    // Assert
    assert_eq!(outcome, json!({"ok": true, "checked": events.len()}));
}

#[tokio::test]
async fn an_edited_row_breaks_verification_at_exactly_that_row() {
    // Arrange
    let (app, admin, events) = app_with_events().await;
    let position = events
        .iter()
        .position(|e| e["action"] == "user.created" && e["actor_id"].is_string())
        .unwrap();
    let edited = events[position]["id"].as_str().unwrap();
    tamper(
        &app,
        r#"update audit_events set details = '{"x":1}' where id = $1"#,
        edited,
    )
    .await;

    // Act
    let outcome = verify(&app, &admin).await;

    // Assert
    assert_eq!(outcome["ok"], false, "{outcome}");
    assert_eq!(outcome["checked"], position, "{outcome}");
    let broken = &outcome["broken_at"];
    assert_eq!(broken["id"], edited, "{outcome}");
    assert_eq!(broken["chain"], "global", "{outcome}");
    assert_eq!(broken["seq"], position + 1, "{outcome}");
    assert!(
        broken["reason"].as_str().unwrap().contains("hash"),
        "{outcome}"
    );
}

#[tokio::test]
async fn deleting_the_last_event_is_caught_as_truncation() {
    // Arrange
    let (app, admin, events) = app_with_events().await;
    let last = events.last().unwrap()["id"].as_str().unwrap();
    tamper(&app, "delete from audit_events where id = $1", last).await;

    // Act
    let outcome = verify(&app, &admin).await;

    // Assert
    assert_eq!(outcome["ok"], false, "{outcome}");
    assert_eq!(outcome["checked"], events.len() - 1, "{outcome}");
    let broken = &outcome["broken_at"];
    assert_eq!(broken["chain"], "global", "{outcome}");
    assert_eq!(
        broken["seq"],
        events.len(),
        "the missing event's seq: {outcome}"
    );
    assert!(
        broken["reason"].as_str().unwrap().contains("missing"),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_manager_may_not_verify_the_log() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let manager = app.create_user("manager", &[store]).await;

    // Act
    let response = send(app.authed(Method::GET, VERIFY, &manager.token)).await;

    // Assert
    assert_problem(response, 403, VERIFY).await;
}

/// `ringup audit verify` against the test's database, with a clean environment.
async fn cli_verify(app: &TestApp) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_ringup"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", app.settings.database_url.expose())
        .env("RINGUP_DATA_DIR", dir.path().join("data"))
        .env("RINGUP_LOG", "warn")
        .args(["audit", "verify"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("ringup audit verify finishes within a minute")
        .unwrap()
}

#[tokio::test]
async fn the_command_line_verifies_the_log_and_names_the_edited_event() {
    // Arrange
    let (app, _admin, events) = app_with_events().await;

    // Act
    let intact = cli_verify(&app).await;
    let edited = events[2]["id"].as_str().unwrap();
    tamper(
        &app,
        "update audit_events set ip = '203.0.113.9' where id = $1",
        edited,
    )
    .await;
    let broken = cli_verify(&app).await;

    // Assert
    let stdout = String::from_utf8_lossy(&intact.stdout);
    let stderr = String::from_utf8_lossy(&intact.stderr);
    assert!(
        intact.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("intact"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} events", events.len())),
        "{stdout}"
    );

    let stdout = String::from_utf8_lossy(&broken.stdout);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        !broken.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains(edited), "names the edited event: {stderr}");
    assert!(!stdout.contains("intact"), "{stdout}");
}
