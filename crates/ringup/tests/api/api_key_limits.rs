//! API keys are rate-limited by tier (docs/API.md "Rate limits"): a key gets its burst, then
//! 429 with `Retry-After`; every API-key response carries `RateLimit-*`; keys are limited
//! apart; the quotas are settings; a user's own session is never throttled.
//!
//! The server's clock stands still unless a test moves it, so a bucket refills only when the
//! test says so and the counts below are exact.

use reqwest::{Method, Response};
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app_with};
use serde_json::json;

use crate::support::{assert_problem, header};

const ME: &str = "/api/v1/me";

async fn spawn(configure: impl FnOnce(&mut ringup::RawSettings)) -> TestApp {
    spawn_app_with(|raw| {
        raw.login_rate_per_minute = "1000".into();
        configure(raw);
    })
    .await
}

/// Issues a key of `tier` (role cashier, no stores) as the admin; the key.
async fn issue_key(app: &TestApp, admin: &str, tier: &str) -> String {
    let response = app
        .authed(Method::POST, "/api/v1/api-keys", admin)
        .json(&json!({"name": format!("{tier} sync"), "tier": tier, "role": "cashier"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    json_of(response).await["key"].as_str().unwrap().to_owned()
}

async fn call(app: &TestApp, token: &str) -> Response {
    app.authed(Method::GET, ME, token).send().await.unwrap()
}

/// `RateLimit-Limit`, `-Remaining` and `-Reset` as numbers.
fn rate_of(response: &Response) -> (u64, u64, u64) {
    let number = |name| {
        header(response, name)
            .unwrap_or_else(|| panic!("no {name} on {}", response.status()))
            .parse::<u64>()
            .unwrap()
    };
    (
        number("ratelimit-limit"),
        number("ratelimit-remaining"),
        number("ratelimit-reset"),
    )
}

/// Makes `n` calls with `key`, each of which must be allowed; their `RateLimit-*` headers.
async fn spend(app: &TestApp, key: &str, n: usize) -> Vec<(u64, u64, u64)> {
    let mut rates = Vec::new();
    for _ in 0..n {
        let response = call(app, key).await;
        assert_eq!(response.status(), 200, "call {} of {n}", rates.len() + 1);
        rates.push(rate_of(&response));
    }
    rates
}

#[tokio::test]
async fn a_free_key_gets_its_burst_then_429_with_retry_after() {
    // Arrange
    let app = spawn(|_| {}).await;
    let admin = app.admin_token().await;
    let key = issue_key(&app, &admin, "free").await;

    // Act
    let allowed = spend(&app, &key, 10).await;
    let refused = call(&app, &key).await;

    // Assert: 60 a minute, a burst of 10, one request back every second.
    let expected: Vec<_> = (1..=10).map(|used| (60, 10 - used, used)).collect();
    assert_eq!(allowed, expected);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("1"));
    assert_eq!(rate_of(&refused), (60, 0, 1));
    let problem = assert_problem(refused, 429, ME).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
}

#[tokio::test]
async fn a_refused_key_is_served_again_after_retry_after() {
    // Arrange
    let app = spawn(|_| {}).await;
    let admin = app.admin_token().await;
    let key = issue_key(&app, &admin, "free").await;
    spend(&app, &key, 10).await;
    let refused = call(&app, &key).await;
    assert_eq!(refused.status(), 429);
    let wait: i64 = header(&refused, "retry-after").unwrap().parse().unwrap();

    // Act
    app.clock.advance(chrono::Duration::seconds(wait));
    let again = call(&app, &key).await;
    let too_soon = call(&app, &key).await;

    // Assert
    assert_eq!(again.status(), 200);
    assert_eq!(
        rate_of(&again).1,
        0,
        "one request came back, and it is spent"
    );
    assert_eq!(too_soon.status(), 429);
}

#[tokio::test]
async fn keys_are_limited_apart() {
    // Arrange
    let app = spawn(|_| {}).await;
    let admin = app.admin_token().await;
    let spent = issue_key(&app, &admin, "free").await;
    let other = issue_key(&app, &admin, "free").await;
    spend(&app, &spent, 10).await;
    assert_eq!(call(&app, &spent).await.status(), 429);

    // Act
    let response = call(&app, &other).await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(rate_of(&response), (60, 9, 1));
}

#[tokio::test]
async fn each_tier_has_its_quota_and_a_tenth_as_burst() {
    // Arrange
    let app = spawn(|_| {}).await;
    let admin = app.admin_token().await;

    for (tier, quota) in [
        ("free", 60),
        ("basic", 600),
        ("pro", 6_000),
        ("enterprise", 60_000),
    ] {
        let key = issue_key(&app, &admin, tier).await;

        // Act
        let response = call(&app, &key).await;

        // Assert
        assert_eq!(response.status(), 200, "{tier}");
        let (limit, remaining, _) = rate_of(&response);
        assert_eq!(
            (limit, remaining),
            (quota, (quota / 10).max(10) - 1),
            "{tier}"
        );
    }
}

#[tokio::test]
async fn the_quota_of_a_tier_is_a_setting() {
    // Arrange: 3 a minute, so the burst is the quota itself and one comes back every 20 s.
    let app = spawn(|raw| raw.limits.api_key_rate_basic = "3".into()).await;
    let admin = app.admin_token().await;
    let key = issue_key(&app, &admin, "basic").await;

    // Act
    let allowed = spend(&app, &key, 3).await;
    let refused = call(&app, &key).await;

    // Assert
    assert_eq!(allowed, [(3, 2, 20), (3, 1, 40), (3, 0, 60)]);
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("20"));
    assert_eq!(rate_of(&refused), (3, 0, 20));
}

#[tokio::test]
async fn a_user_session_is_never_throttled() {
    // Arrange: every tier at one request a minute, so counting a user as any tier would show.
    let app = spawn(|raw| {
        raw.limits.api_key_rate_free = "1".into();
        raw.limits.api_key_rate_basic = "1".into();
        raw.limits.api_key_rate_pro = "1".into();
        raw.limits.api_key_rate_enterprise = "1".into();
    })
    .await;
    let admin = app.admin_token().await;
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "cookie": true}),
        )
        .await;
    let cookies: Vec<String> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let cookie = cookies.join("; ");

    // Act
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let by_token = call(&app, &admin).await;
        assert!(header(&by_token, "ratelimit-limit").is_none());
        statuses.push(by_token.status().as_u16());
        let by_cookie = app
            .client
            .get(app.url(ME))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(header(&by_cookie, "ratelimit-limit").is_none());
        statuses.push(by_cookie.status().as_u16());
    }

    // Assert
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn an_unknown_key_is_refused_by_routes_that_need_one_and_ignored_by_others() {
    // Arrange
    let app = spawn(|_| {}).await;
    let unknown = format!("rk_{}", "x".repeat(40));

    // Act
    let me = call(&app, &unknown).await;
    let health = app
        .authed(Method::GET, "/healthz", &unknown)
        .send()
        .await
        .unwrap();

    // Assert
    assert!(header(&me, "ratelimit-limit").is_none());
    assert_problem(me, 401, ME).await;
    assert_eq!(health.status(), 200);
    assert!(header(&health, "ratelimit-limit").is_none());
}

#[tokio::test]
async fn an_api_key_sent_as_a_cookie_is_refused_so_it_cannot_escape_its_tier() {
    // Arrange: a free key with a one-request quota, spent by its bearer.
    let app = spawn(|raw| raw.limits.api_key_rate_free = "1".into()).await;
    let admin = app.admin_token().await;
    let key = issue_key(&app, &admin, "free").await;
    spend(&app, &key, 1).await;
    assert_eq!(call(&app, &key).await.status(), 429);

    // Act: the same key as the session cookie, where the tier's limiter does not look.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = app
            .client
            .get(app.url(ME))
            .header("cookie", format!("ringup_access={key}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }

    // Assert
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
}
