//! Security headers on every response, whatever its status.

use reqwest::Response;
use ringup_testkit::{spawn_app, spawn_app_with};

use crate::support::header;

const API_CSP: &str = "default-src 'none'";

pub(crate) fn assert_security_headers(response: &Response) {
    let expect = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ];
    for (name, value) in expect {
        assert_eq!(header(response, name).as_deref(), Some(value), "{name}");
    }
    assert!(
        header(response, "permissions-policy").is_some_and(|p| !p.is_empty()),
        "Permissions-Policy"
    );
}

fn csp(response: &Response) -> String {
    header(response, "content-security-policy").expect("Content-Security-Policy")
}

#[tokio::test]
async fn a_success_carries_the_security_headers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_security_headers(&response);
    assert!(csp(&response).starts_with(API_CSP), "{}", csp(&response));
    assert_eq!(header(&response, "strict-transport-security"), None);
}

#[tokio::test]
async fn a_not_found_carries_the_security_headers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/api/v1/nope").await;

    // Assert
    assert_eq!(response.status().as_u16(), 404);
    assert_security_headers(&response);
    assert!(csp(&response).starts_with(API_CSP), "{}", csp(&response));
}

#[tokio::test]
async fn a_panic_carries_the_security_headers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/__test/panic").await;

    // Assert
    assert_eq!(response.status().as_u16(), 500);
    assert_security_headers(&response);
}

#[tokio::test]
async fn the_docs_have_their_own_csp_allowing_own_scripts() {
    // Arrange
    let app = spawn_app().await;
    let api = app.get("/healthz").await;

    // Act
    let docs = app.get("/docs/").await;

    // Assert
    assert_eq!(docs.status().as_u16(), 200);
    assert_security_headers(&docs);
    let docs_csp = csp(&docs);
    assert_ne!(docs_csp, csp(&api));
    assert!(docs_csp.contains("script-src 'self'"), "{docs_csp}");
    assert!(!docs_csp.contains("http"), "no remote sources: {docs_csp}");
    assert!(!docs_csp.contains('*'), "no wildcards: {docs_csp}");
}

#[tokio::test]
async fn hsts_is_off_by_default() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(header(&response, "strict-transport-security"), None);
}

#[tokio::test]
async fn hsts_is_sent_when_enabled() {
    // Arrange
    let app = spawn_app_with(|raw| raw.hsts = "true".into()).await;

    // Act
    let ok = app.get("/healthz").await;
    let not_found = app.get("/nope").await;

    // Assert
    for response in [ok, not_found] {
        let hsts = header(&response, "strict-transport-security").expect("HSTS");
        assert!(hsts.contains("max-age="), "{hsts}");
    }
}
