//! Responses that carry a secret — login's and refresh's tokens (in the body and in cookies),
//! a new API key shown once — say `Cache-Control: no-store` and `Pragma: no-cache`, so no
//! browser, proxy or CDN keeps a copy.

use reqwest::{Method, Response};
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, json_of, spawn_app};
use serde_json::json;

use crate::support::header;

fn assert_no_store(response: &Response, what: &str) {
    assert_eq!(response.status().as_u16() / 100, 2, "{what}");
    assert_eq!(
        header(response, "cache-control").as_deref(),
        Some("no-store"),
        "{what}"
    );
    assert_eq!(
        header(response, "pragma").as_deref(),
        Some("no-cache"),
        "{what}"
    );
}

#[tokio::test]
async fn tokens_and_new_api_keys_are_never_stored_by_caches() {
    // Arrange
    let app = spawn_app().await;
    let login = "/api/v1/auth/login";
    let credentials = json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD});
    let with_cookies =
        json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "cookie": true});

    // Act
    let plain = app.post_json(login, &credentials).await;
    let cookie = app.post_json(login, &with_cookies).await;
    assert_no_store(&plain, "login");
    assert_no_store(&cookie, "cookie login");
    let refresh_cookie = cookie
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("ringup_refresh="))
        .unwrap();
    let body = json_of(plain).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": body["refresh_token"] }),
        )
        .await;
    let refreshed_by_cookie = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", refresh_cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let key = app
        .authed(Method::POST, "/api/v1/api-keys", &token)
        .json(&json!({"name": "till sync", "tier": "basic", "role": "cashier", "store_ids": []}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_no_store(&refreshed, "refresh");
    assert_no_store(&refreshed_by_cookie, "cookie refresh");
    assert_no_store(&key, "API key creation");
    assert!(
        json_of(key).await["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("rk_"))
    );
}
