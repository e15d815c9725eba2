//! Password reset by mail, end to end: the request (always 202, rate-limited per client IP and
//! per address), the mail with its link (written as `.eml` by the default file mailer, or
//! delivered over SMTP to a real `aiosmtpd` server process), and the confirmation (single use,
//! 30 minutes, policy-checked, revoking every session).
//!
//! The mail helpers here are shared with `auth_logs`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::{Method, Response};
use ringup_testkit::{TestApp, TestUser, spawn_app, spawn_app_with};
use serde_json::json;

use crate::auth::flows::{
    ME, NEW_PASSWORD, REFRESH, assert_unauthorized, client_from, email_of, login_status, me_status,
    refresh_response, retry_after,
};
use crate::support::{assert_problem, error_fields, header};

pub const RESET_REQUEST: &str = "/api/v1/auth/password-reset/request";
pub const RESET_CONFIRM: &str = "/api/v1/auth/password-reset/confirm";

/// How long a mail may take to appear.
const MAIL_WAIT: Duration = Duration::from_secs(5);

/// Where the default (file) mailer of a test app writes.
pub fn mail_dir(app: &TestApp) -> PathBuf {
    app.data_dir().join("data/mail")
}

/// The base of links in mail, as the server builds it.
fn public_base(app: &TestApp) -> String {
    app.settings
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}

pub async fn request_reset(app: &TestApp, email: &str) -> Response {
    app.post_json(RESET_REQUEST, &json!({ "email": email }))
        .await
}

pub async fn confirm_reset(app: &TestApp, token: &str, new_password: &str) -> Response {
    app.post_json(
        RESET_CONFIRM,
        &json!({ "token": token, "new_password": new_password }),
    )
    .await
}

/// Every file in `dir` (none when it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Decodes a quoted-printable body: soft line breaks (`=` at the end of a line) are removed
/// and `=XX` becomes the byte `XX`.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A raw message split into its header block and its body, the body decoded from its
/// `Content-Transfer-Encoding`.
pub fn decode_message(raw: &str) -> (String, String) {
    let (headers, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or_else(|| panic!("a message has headers and a body: {raw}"));
    let encoding = headers
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-transfer-encoding")
                .then(|| value.trim().to_ascii_lowercase())
        })
        .unwrap_or_default();
    let body = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 body");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_owned(),
    };
    (headers.to_owned(), body)
}

/// The token of the first `<base>/reset-password?token=` link in a decoded body.
pub fn reset_token_in(body: &str, base: &str) -> Option<String> {
    let prefix = format!("{base}/reset-password?token=");
    let start = body.find(&prefix)? + prefix.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// A delivered message that holds a reset link.
#[derive(Debug)]
pub struct ResetMail {
    pub path: PathBuf,
    pub headers: String,
    pub body: String,
    pub token: String,
}

/// Waits until a message to `recipient` with a complete reset link under `base` is in `dir`.
/// A file still being written simply does not match yet.
pub async fn wait_for_reset_mail(
    dir: &Path,
    recipient: &str,
    base: &str,
    within: Duration,
) -> ResetMail {
    let deadline = Instant::now() + within;
    loop {
        for path in files_in(dir) {
            let Ok(raw) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Some((headers, body)) = raw
                .split_once("\r\n\r\n")
                .or_else(|| raw.split_once("\n\n"))
                .map(|_| decode_message(&raw))
            else {
                continue;
            };
            if !headers.contains(recipient) {
                continue;
            }
            if let Some(token) = reset_token_in(&body, base)
                && token.len() >= 43
            {
                return ResetMail {
                    path,
                    headers,
                    body,
                    token,
                };
            }
        }
        assert!(
            Instant::now() < deadline,
            "no reset mail to {recipient} in {} within {within:?}; files: {:?}",
            dir.display(),
            files_in(dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Requests a reset for `user` and returns the token from the mail the file mailer wrote.
async fn reset_token_for(app: &TestApp, user: &TestUser) -> String {
    let email = email_of(&user.username);
    assert_eq!(request_reset(app, &email).await.status().as_u16(), 202);
    wait_for_reset_mail(&mail_dir(app), &email, &public_base(app), MAIL_WAIT)
        .await
        .token
}

async fn assert_token_refused(response: Response) {
    let problem = assert_problem(response, 422, RESET_CONFIRM).await;
    assert_eq!(error_fields(&problem), ["token"], "{problem}");
}

// ---------------------------------------------------------------------------------------------
// The file mailer (the default)

#[tokio::test]
async fn a_reset_request_mails_a_link_that_sets_a_new_password() {
    // Arrange
    let app = spawn_app_with(|raw| raw.public_url = Some("https://pos.example.test/".into())).await;
    let user = app.create_user("cashier", &[]).await;
    let email = email_of(&user.username);

    // Act
    let requested = request_reset(&app, &email).await;
    let mail = wait_for_reset_mail(
        &mail_dir(&app),
        &email,
        "https://pos.example.test",
        MAIL_WAIT,
    )
    .await;
    let confirmed = confirm_reset(&app, &mail.token, NEW_PASSWORD).await;

    // Assert
    assert_eq!(requested.status().as_u16(), 202);
    assert_eq!(mail.path.extension().and_then(|e| e.to_str()), Some("eml"));
    assert!(mail.headers.contains(&format!("To: {email}")), "{mail:?}");
    assert!(
        mail.body.contains(&format!(
            "https://pos.example.test/reset-password?token={}",
            mail.token
        )),
        "{mail:?}"
    );
    assert_eq!(mail.token.len(), 43, "256 bits, base64url: {}", mail.token);
    assert_eq!(confirmed.status().as_u16(), 204);
    assert_eq!(login_status(&app, &user.username, NEW_PASSWORD).await, 200);
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        401
    );
}

#[tokio::test]
async fn a_reset_token_works_only_once() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let token = reset_token_for(&app, &user).await;
    assert_eq!(
        confirm_reset(&app, &token, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        204
    );

    // Act
    let again = confirm_reset(&app, &token, "Another-Strong-Pass-61").await;

    // Assert
    assert_token_refused(again).await;
    assert_eq!(login_status(&app, &user.username, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_password_change_voids_outstanding_reset_links() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let token = reset_token_for(&app, &user).await;
    let changed = app
        .authed(Method::POST, "/api/v1/auth/password", &user.token)
        .json(&json!({"current_password": user.password, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status().as_u16(), 204);

    // Act
    let confirmed = confirm_reset(&app, &token, "Another-Strong-Pass-61").await;

    // Assert
    assert_token_refused(confirmed).await;
    assert_eq!(login_status(&app, &user.username, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_reset_token_is_refused_after_30_minutes() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let token = reset_token_for(&app, &user).await;

    // Act
    app.clock.advance(chrono::Duration::minutes(31));
    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;

    // Assert
    assert_token_refused(response).await;
    assert_eq!(login_status(&app, &user.username, NEW_PASSWORD).await, 401);
}

#[tokio::test]
async fn a_reset_token_is_still_valid_at_29_minutes() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let token = reset_token_for(&app, &user).await;

    // Act
    app.clock.advance(chrono::Duration::minutes(29));
    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn an_unknown_reset_token_is_422() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = confirm_reset(&app, "no-such-token", NEW_PASSWORD).await;

    // Assert
    assert_token_refused(response).await;
}

#[tokio::test]
async fn a_weak_password_is_refused_without_spending_the_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let token = reset_token_for(&app, &user).await;

    // Act
    let weak = confirm_reset(&app, &token, "Password1!").await;
    let strong = confirm_reset(&app, &token, NEW_PASSWORD).await;

    // Assert
    let problem = assert_problem(weak, 422, RESET_CONFIRM).await;
    assert_eq!(error_fields(&problem), ["new_password"], "{problem}");
    assert_eq!(strong.status().as_u16(), 204);
}

#[tokio::test]
async fn a_reset_revokes_every_session_of_the_user() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    assert_eq!(me_status(&app, &user.token).await, 200);
    let token = reset_token_for(&app, &user).await;

    // Act
    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
    assert_unauthorized(
        app.authed(Method::GET, ME, &user.token)
            .send()
            .await
            .unwrap(),
        ME,
    )
    .await;
    assert_unauthorized(refresh_response(&app, &user.refresh_token).await, REFRESH).await;
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_202_and_no_mail() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let known = email_of(&user.username);

    // Act
    let unknown_answer = request_reset(&app, "nobody@example.com").await;
    let known_answer = request_reset(&app, &known).await;

    // Assert
    assert_eq!(unknown_answer.status().as_u16(), 202);
    assert_eq!(known_answer.status().as_u16(), 202);
    let names = |r: &Response| {
        r.headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(names(&unknown_answer), names(&known_answer));
    assert_eq!(
        unknown_answer.text().await.unwrap(),
        known_answer.text().await.unwrap()
    );
    // The known address's mail arrives; by then the unknown one's would have been sent too.
    let mail = wait_for_reset_mail(&mail_dir(&app), &known, &public_base(&app), MAIL_WAIT).await;
    assert_eq!(
        files_in(&mail_dir(&app)),
        vec![mail.path],
        "exactly one mail"
    );
}

#[tokio::test]
async fn a_deactivated_user_gets_no_reset_mail() {
    // Arrange
    let app = spawn_app().await;
    let gone = app.create_user("cashier", &[]).await;
    let active = app.create_user("cashier", &[]).await;
    let admin = app.admin_token().await;
    let patched = app
        .authed(Method::PATCH, &format!("/api/v1/users/{}", gone.id), &admin)
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);

    // Act
    let answer = request_reset(&app, &email_of(&gone.username)).await;
    let other = request_reset(&app, &email_of(&active.username)).await;

    // Assert
    assert_eq!(answer.status().as_u16(), 202);
    assert_eq!(other.status().as_u16(), 202);
    let mail = wait_for_reset_mail(
        &mail_dir(&app),
        &email_of(&active.username),
        &public_base(&app),
        MAIL_WAIT,
    )
    .await;
    assert_eq!(
        files_in(&mail_dir(&app)),
        vec![mail.path],
        "exactly one mail"
    );
}

#[tokio::test]
async fn an_invalid_address_is_422_on_email() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = request_reset(&app, "not-an-address").await;

    // Assert
    let problem = assert_problem(response, 422, RESET_REQUEST).await;
    assert_eq!(error_fields(&problem), ["email"]);
}

#[tokio::test]
async fn the_fourth_reset_request_from_one_address_within_an_hour_is_429() {
    // Arrange: three different (unknown) addresses, so only the per-IP limit is in play.
    let app = spawn_app().await;
    for (i, expected_remaining) in [2, 1, 0].into_iter().enumerate() {
        let response = request_reset(&app, &format!("someone-{i}@example.com")).await;
        assert_eq!(response.status().as_u16(), 202);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&response, "ratelimit-remaining"),
            Some(expected_remaining.to_string())
        );
    }

    // Act
    let fourth = request_reset(&app, "someone-3@example.com").await;

    // Assert
    assert_eq!(fourth.status().as_u16(), 429);
    let wait = retry_after(&fourth);
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(header(&fourth, "ratelimit-remaining").as_deref(), Some("0"));
    let problem = assert_problem(fourth, 429, RESET_REQUEST).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
}

#[tokio::test]
async fn the_fourth_reset_request_for_one_address_within_an_hour_is_429() {
    // Arrange: four client addresses (127.0.0.1–4), so only the per-address limit is in play.
    let app = spawn_app().await;
    let target = "target@example.com";
    for last in 1..=3 {
        let response = client_from(Ipv4Addr::new(127, 0, 0, last))
            .post(app.url(RESET_REQUEST))
            .json(&json!({ "email": target }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "request {last}");
    }

    // Act
    let fourth = client_from(Ipv4Addr::new(127, 0, 0, 4))
        .post(app.url(RESET_REQUEST))
        .json(&json!({ "email": target.to_uppercase() }))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(
        fourth.status().as_u16(),
        429,
        "the address is the key, in any case"
    );
    assert!(retry_after(&fourth) >= 1);
    assert_problem(fourth, 429, RESET_REQUEST).await;
    let other = client_from(Ipv4Addr::new(127, 0, 0, 4))
        .post(app.url(RESET_REQUEST))
        .json(&json!({ "email": "someone-else@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status().as_u16(),
        202,
        "another address is not limited"
    );
}
