//! Browser sessions by cookie: set only on request, `HttpOnly` + `SameSite=Strict`, unsafe
//! requests need the CSRF token, and an `Authorization` header always wins over cookies.

use reqwest::Method;
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, spawn_app};
use serde_json::json;

use crate::support::assert_problem;

/// The `name=value` pairs of every Set-Cookie header, and the raw headers.
fn set_cookies(response: &reqwest::Response) -> (Vec<(String, String)>, Vec<String>) {
    let raw: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let pairs = raw
        .iter()
        .map(|c| {
            let first = c.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect();
    (pairs, raw)
}

fn value_of(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} cookie in {pairs:?}"))
}

/// Logs the admin in with `"cookie": true` and returns the cookies set.
async fn cookie_login(app: &TestApp) -> Vec<(String, String)> {
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "cookie": true}),
        )
        .await;
    assert_eq!(login.status(), 200);
    set_cookies(&login).0
}

#[tokio::test]
async fn login_sets_cookies_only_when_asked() {
    let app = spawn_app().await;
    let plain = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(plain.status(), 200);
    assert!(set_cookies(&plain).1.is_empty(), "no cookies unless asked");

    let with = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "cookie": true}),
        )
        .await;
    assert_eq!(with.status(), 200);
    let (pairs, raw) = set_cookies(&with);
    for name in ["ringup_access", "ringup_refresh", "csrf_token"] {
        assert!(!value_of(&pairs, name).is_empty());
    }
    let access = raw
        .iter()
        .find(|c| c.starts_with("ringup_access="))
        .unwrap();
    assert!(
        access.contains("HttpOnly") && access.contains("SameSite=Strict"),
        "{access}"
    );
    let csrf = raw.iter().find(|c| c.starts_with("csrf_token=")).unwrap();
    assert!(
        !csrf.contains("HttpOnly"),
        "the page must be able to read it: {csrf}"
    );
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_on_unsafe_requests() {
    let app = spawn_app().await;
    let pairs = cookie_login(&app).await;
    let jar = format!(
        "ringup_access={}; csrf_token={}",
        value_of(&pairs, "ringup_access"),
        value_of(&pairs, "csrf_token")
    );

    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "a safe request needs only the cookie");

    let body = json!({"current_password": "wrong-one", "new_password": "x"});
    let without = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .header("cookie", &jar)
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(without, 403, "/api/v1/auth/password").await;
    assert_eq!(problem["type"], "/problems/csrf-failed");

    let wrong = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .header("cookie", &jar)
        .header("x-csrf-token", "not-the-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);

    let with = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .header("cookie", &jar)
        .header("x-csrf-token", value_of(&pairs, "csrf_token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with.status(),
        422,
        "past the CSRF check, the wrong password is reported"
    );
}

#[tokio::test]
async fn an_authorization_header_wins_over_cookies() {
    let app = spawn_app().await;
    let pairs = cookie_login(&app).await;
    let response = app
        .authed(Method::GET, "/api/v1/me", "not-a-token")
        .header(
            "cookie",
            format!("ringup_access={}", value_of(&pairs, "ringup_access")),
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "/api/v1/me").await;
}

#[tokio::test]
async fn cookie_logout_ends_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    let pairs = cookie_login(&app).await;
    let access = value_of(&pairs, "ringup_access");
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header(
            "cookie",
            format!(
                "ringup_access={access}; ringup_refresh={}; csrf_token={}",
                value_of(&pairs, "ringup_refresh"),
                value_of(&pairs, "csrf_token")
            ),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let (cleared, _) = set_cookies(&logout);
    assert_eq!(value_of(&cleared, "ringup_access"), "");
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("ringup_access={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

/// POSTs a category with a cookie session's `jar` and `X-CSRF-Token: csrf`.
async fn post_category(app: &TestApp, jar: &str, csrf: &str, name: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/categories"))
        .header("cookie", jar)
        .header("x-csrf-token", csrf)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
}

async fn categories(app: &TestApp) -> usize {
    let admin = app.admin_token().await;
    let list = app
        .authed(Method::GET, "/api/v1/categories?limit=200", &admin)
        .send()
        .await
        .unwrap();
    ringup_testkit::json_of(list).await["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_csrf_token_not_bound_to_the_session_is_403_even_when_cookie_and_header_match() {
    // Arrange: two cookie sessions of the same admin, and an attacker who can plant cookies.
    let app = spawn_app().await;
    let mine = cookie_login(&app).await;
    let theirs = cookie_login(&app).await;
    let access = value_of(&mine, "ringup_access");
    let own = value_of(&mine, "csrf_token");
    let other = value_of(&theirs, "csrf_token");
    assert_ne!(own, other);
    let (nonce, _) = own.split_once('.').expect("a signed token: nonce.mac");
    let forged = [
        "attacker".to_owned(),
        other.clone(),
        format!("{nonce}.{}", other.split_once('.').unwrap().1),
        format!("{nonce}."),
    ];
    let before = categories(&app).await;

    for token in &forged {
        // Act: cookie and header agree, as a planted cookie makes them.
        let jar = format!("ringup_access={access}; csrf_token={token}");
        let response = post_category(&app, &jar, token, "Pwned").await;

        // Assert
        let problem = assert_problem(response, 403, "/api/v1/categories").await;
        assert_eq!(problem["type"], "/problems/csrf-failed", "{token}");
    }
    assert_eq!(categories(&app).await, before, "nothing was created");

    // Control: the session's own token is accepted, with the same cookie and request.
    let jar = format!("ringup_access={access}; csrf_token={own}");
    let created = post_category(&app, &jar, &own, "Mine").await;
    assert_eq!(created.status(), 201);
    assert_eq!(categories(&app).await, before + 1);
}

#[tokio::test]
async fn a_refreshed_cookie_session_gets_a_csrf_token_bound_to_it() {
    // Arrange
    let app = spawn_app().await;
    let pairs = cookie_login(&app).await;
    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header(
            "cookie",
            format!("ringup_refresh={}", value_of(&pairs, "ringup_refresh")),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let (renewed, _) = set_cookies(&refreshed);
    let access = value_of(&renewed, "ringup_access");
    let csrf = value_of(&renewed, "csrf_token");
    assert_ne!(csrf, value_of(&pairs, "csrf_token"));

    // Act
    let jar = format!("ringup_access={access}; csrf_token={csrf}");
    let created = post_category(&app, &jar, &csrf, "After refresh").await;

    // Assert
    assert_eq!(created.status(), 201);
}
