//! Authentication flows over real HTTP: login, enumeration-safe 401s, lockout and its expiry
//! (moved with the test clock, no sleeps), the per-IP login limit, refresh-token rotation and
//! reuse detection, logout, password change and deactivation, and a login flood that must not
//! stall other routes.
//!
//! The helpers at the top are shared with the other `auth_*` modules.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Method, Response};
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::support::{assert_problem, header};

pub const LOGIN: &str = "/api/v1/auth/login";
pub const REFRESH: &str = "/api/v1/auth/refresh";
pub const LOGOUT: &str = "/api/v1/auth/logout";
pub const PASSWORD: &str = "/api/v1/auth/password";
pub const ME: &str = "/api/v1/me";

/// A password that passes the policy and differs from every fixture password.
pub const NEW_PASSWORD: &str = "Velvet-Comet-Harbor-93";

/// The answer to a login attempt, whatever it is.
pub async fn login_response(app: &TestApp, username: &str, password: &str) -> Response {
    app.post_json(
        LOGIN,
        &json!({ "username": username, "password": password }),
    )
    .await
}

/// The status of a login attempt.
pub async fn login_status(app: &TestApp, username: &str, password: &str) -> u16 {
    login_response(app, username, password)
        .await
        .status()
        .as_u16()
}

/// The answer to `POST /auth/refresh` with `refresh_token`.
pub async fn refresh_response(app: &TestApp, refresh_token: &str) -> Response {
    app.post_json(REFRESH, &json!({ "refresh_token": refresh_token }))
        .await
}

/// The status of `GET /me` with a bearer token.
pub async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.authed(Method::GET, ME, token)
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

/// The `access_token` and `refresh_token` of a token-pair body.
pub fn pair_of(body: &Value) -> (String, String) {
    (
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token: {body}"))
            .to_owned(),
        body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token: {body}"))
            .to_owned(),
    )
}

/// A problem body without what differs between any two requests (`request_id`, `instance`).
pub fn problem_core(problem: &Value) -> Value {
    let mut core = problem.clone();
    let object = core.as_object_mut().expect("problem is an object");
    object.remove("request_id");
    object.remove("instance");
    core
}

/// Asserts a 401 problem on `path` that carries `WWW-Authenticate: Bearer ...`.
pub async fn assert_unauthorized(response: Response, path: &str) -> Value {
    let challenge = header(&response, "www-authenticate");
    let problem = assert_problem(response, 401, path).await;
    assert_eq!(problem["type"], "/problems/unauthorized", "{problem}");
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "WWW-Authenticate on a 401: {challenge:?}"
    );
    problem
}

/// The `Retry-After` of a response in seconds; fails the test when missing or not a number.
pub fn retry_after(response: &Response) -> u64 {
    header(response, "retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}", response.status()))
        .parse()
        .expect("Retry-After is a number of seconds")
}

/// The three `RateLimit-*` headers as numbers; fails the test when one is missing.
pub fn rate_headers(response: &Response) -> (u64, u64, u64) {
    let get = |name: &str| -> u64 {
        header(response, name)
            .unwrap_or_else(|| panic!("no {name} on {}", response.status()))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number"))
    };
    (
        get("ratelimit-limit"),
        get("ratelimit-remaining"),
        get("ratelimit-reset"),
    )
}

pub fn header_names(response: &Response) -> BTreeSet<String> {
    response
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// The address `create_user` gives a user.
pub fn email_of(username: &str) -> String {
    format!("{username}@example.com")
}

/// Deactivates a user as the admin; asserts 200.
pub async fn deactivate(app: &TestApp, user_id: &str) {
    let admin = app.admin_token().await;
    let response = app
        .authed(Method::PATCH, &format!("/api/v1/users/{user_id}"), &admin)
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(status, 200, "deactivate: {body}");
    assert_eq!(body["active"], false, "{body}");
}

/// A client whose connections come from another loopback address (another "till").
pub fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .expect("HTTP client")
}

// ---------------------------------------------------------------------------------------------
// Login

#[tokio::test]
async fn login_returns_a_bearer_pair_and_the_user() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = login_response(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let (limit, remaining, reset) = rate_headers(&response);
    assert_eq!((limit, remaining), (30, 29), "first login of this client");
    assert!(reset <= 60, "RateLimit-Reset {reset}");
    let body = json_of(response).await;
    let (access, refresh) = pair_of(&body);
    assert_eq!(access.split('.').count(), 3, "a JWT: {access}");
    assert_eq!(refresh.len(), 43, "256 bits, base64url: {refresh}");
    assert!(
        refresh
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let user = &body["user"];
    assert!(
        crate::support::is_uuid_v7(user["id"].as_str().unwrap()),
        "{user}"
    );
    assert_eq!(user["username"], ADMIN_USERNAME);
    assert_eq!(user["role"], "admin");
    assert_eq!(user["active"], true);
    assert!(user["store_ids"].is_array(), "{user}");
    assert!(user["email"].is_string(), "{user}");
    assert!(
        !body.to_string().contains("argon2"),
        "no password hash in the answer: {body}"
    );
    let me = app.authed(Method::GET, ME, &access).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let me = json_of(me).await;
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["username"], ADMIN_USERNAME);
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn wrong_password_unknown_user_and_deactivated_user_get_the_same_401() {
    // Arrange
    let app = spawn_app().await;
    let known = app.create_user("cashier", &[]).await;
    let gone = app.create_user("cashier", &[]).await;
    deactivate(&app, &gone.id).await;

    // Act
    let wrong_password = login_response(&app, &known.username, "Not-The-Password-1").await;
    let unknown_user = login_response(&app, "nobody-here", "Not-The-Password-1").await;
    // The deactivated user presents the right password.
    let deactivated = login_response(&app, &gone.username, &gone.password).await;

    // Assert
    let names: Vec<BTreeSet<String>> = [&wrong_password, &unknown_user, &deactivated]
        .iter()
        .map(|r| header_names(r))
        .collect();
    assert_eq!(
        names[0], names[1],
        "same headers, wrong password vs unknown"
    );
    assert_eq!(
        names[0], names[2],
        "same headers, wrong password vs inactive"
    );
    for response in [&wrong_password, &unknown_user, &deactivated] {
        let (limit, _, _) = rate_headers(response);
        assert_eq!(limit, 30);
        assert_eq!(header(response, "retry-after"), None);
    }
    let a = problem_core(&assert_unauthorized(wrong_password, LOGIN).await);
    let b = problem_core(&assert_unauthorized(unknown_user, LOGIN).await);
    let c = problem_core(&assert_unauthorized(deactivated, LOGIN).await);
    assert_eq!(a, b, "wrong password vs unknown user");
    assert_eq!(a, c, "wrong password vs deactivated user");
    for field in ["type", "title", "status", "detail"] {
        assert!(!a[field].is_null(), "{field} in {a}");
    }
    assert!(a.get("errors").is_none(), "nothing field-specific: {a}");
}

#[tokio::test]
async fn usernames_are_matched_ignoring_case() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let status = login_status(&app, &ADMIN_USERNAME.to_uppercase(), ADMIN_PASSWORD).await;

    // Assert
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------------------------
// Lockout

#[tokio::test]
async fn five_failures_lock_the_username_even_for_the_right_password() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    for attempt in 1..=5 {
        let status = login_status(&app, &user.username, "Wrong-Guess-Number-9").await;
        assert_eq!(status, 401, "failure {attempt} is an ordinary 401");
    }

    // Act
    let locked = login_response(&app, &user.username, &user.password).await;

    // Assert
    assert_eq!(locked.status().as_u16(), 429);
    let wait = retry_after(&locked);
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let (limit, _, _) = rate_headers(&locked);
    assert_eq!(limit, 30, "the lockout answer carries the rate headers too");
    let problem = assert_problem(locked, 429, LOGIN).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    // Still locked a moment before the five minutes are over.
    app.clock
        .advance(chrono::Duration::minutes(5) - chrono::Duration::seconds(2));
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        429
    );
}

#[tokio::test]
async fn a_lockout_ends_after_five_minutes() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("employee", &[]).await;
    for _ in 0..5 {
        login_status(&app, &user.username, "Wrong-Guess-Number-9").await;
    }
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        429
    );

    // Act
    app.clock
        .advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    let response = login_response(&app, &user.username, &user.password).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let (access, _) = pair_of(&json_of(response).await);
    assert_eq!(me_status(&app, &access).await, 200);
}

#[tokio::test]
async fn failures_of_one_username_do_not_lock_another() {
    // Arrange
    let app = spawn_app().await;
    let victim = app.create_user("cashier", &[]).await;
    let bystander = app.create_user("cashier", &[]).await;
    for _ in 0..5 {
        login_status(&app, &victim.username, "Wrong-Guess-Number-9").await;
    }

    // Act
    let victim_status = login_status(&app, &victim.username, &victim.password).await;
    let bystander_status = login_status(&app, &bystander.username, &bystander.password).await;

    // Assert
    assert_eq!(victim_status, 429);
    assert_eq!(bystander_status, 200);
}

#[tokio::test]
async fn failures_below_the_threshold_are_forgotten_after_a_success() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    for _ in 0..4 {
        login_status(&app, &user.username, "Wrong-Guess-Number-9").await;
    }
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        200
    );

    // Act: four more failures, eight in all within the window.
    for _ in 0..4 {
        login_status(&app, &user.username, "Wrong-Guess-Number-9").await;
    }
    let status = login_status(&app, &user.username, &user.password).await;

    // Assert
    assert_eq!(status, 200, "the success reset the count");
}

#[tokio::test]
async fn an_unknown_username_locks_out_exactly_like_a_known_one() {
    // Arrange
    let app = spawn_app().await;
    let known = app.create_user("cashier", &[]).await;
    let unknown = "ghost-user-42";
    for attempt in 1..=5 {
        assert_eq!(
            login_status(&app, unknown, "Wrong-Guess-Number-9").await,
            401,
            "unknown user, failure {attempt}"
        );
        assert_eq!(
            login_status(&app, &known.username, "Wrong-Guess-Number-9").await,
            401,
            "known user, failure {attempt}"
        );
    }

    // Act
    let unknown_locked = login_response(&app, unknown, "Any-Password-77!").await;
    let known_locked = login_response(&app, &known.username, &known.password).await;

    // Assert
    assert_eq!(retry_after(&unknown_locked), retry_after(&known_locked));
    assert_eq!(header_names(&unknown_locked), header_names(&known_locked));
    let a = problem_core(&assert_problem(unknown_locked, 429, LOGIN).await);
    let b = problem_core(&assert_problem(known_locked, 429, LOGIN).await);
    assert_eq!(a, b, "the lockout reveals nothing about existence");
}

// ---------------------------------------------------------------------------------------------
// The per-address login limit

#[tokio::test]
async fn the_login_limit_per_client_address_answers_429_past_the_budget() {
    // Arrange
    let app = spawn_app_with(|raw| raw.login_rate_per_minute = "3".into()).await;
    for expected_remaining in [2, 1, 0] {
        let response = login_response(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
        assert_eq!(response.status().as_u16(), 200);
        let (limit, remaining, _) = rate_headers(&response);
        assert_eq!(
            (limit, remaining),
            (3, expected_remaining),
            "login within the budget"
        );
    }

    // Act
    let fourth = login_response(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let other_till = client_from(Ipv4Addr::new(127, 0, 0, 2))
        .post(app.url(LOGIN))
        .json(&json!({ "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(fourth.status().as_u16(), 429);
    let wait = retry_after(&fourth);
    assert!(
        (1..=20).contains(&wait),
        "one request refills every 20 s: Retry-After {wait}"
    );
    let (limit, remaining, _) = rate_headers(&fourth);
    assert_eq!((limit, remaining), (3, 0));
    let problem = assert_problem(fourth, 429, LOGIN).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(
        other_till.status().as_u16(),
        200,
        "another address has its own budget"
    );
    let (limit, remaining, _) = rate_headers(&other_till);
    assert_eq!((limit, remaining), (3, 2));
}

#[tokio::test]
async fn concurrent_wrong_guesses_get_at_most_five_verdicts_before_the_lock() {
    // Arrange
    let app = spawn_app_with(|raw| raw.login_rate_per_minute = "1000".into()).await;
    let user = app.create_user("cashier", &[]).await;
    let guesses: Vec<String> = (0..20).map(|i| format!("Wrong-Guess-{i:02}!")).collect();

    // Act
    let statuses = futures::future::join_all(
        guesses
            .iter()
            .map(|guess| login_status(&app, &user.username, guess)),
    )
    .await;

    // Assert
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "only 401 or 429: {statuses:?}"
    );
    let verdicts = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        (1..=5).contains(&verdicts),
        "{verdicts} guesses got a verdict: {statuses:?}"
    );
    let right = login_response(&app, &user.username, &user.password).await;
    assert_eq!(right.status().as_u16(), 429, "the username is locked");
    // The test clock has not moved, so the whole five minutes remain (rounded up).
    let wait = retry_after(&right);
    assert_eq!(wait, 300, "Retry-After {wait}");
}
