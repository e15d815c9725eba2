//! `/api/v1/api-keys`: keys shown once, usable as bearer tokens with the role and stores they
//! were given, revocation that takes effect at once, and admins only.

use std::collections::BTreeSet;

use reqwest::{Method, Response};
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of, spawn_app_with};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, is_uuid_v7};

const KEYS: &str = "/api/v1/api-keys";
const ME: &str = "/api/v1/me";

async fn spawn() -> TestApp {
    spawn_app_with(|raw| raw.login_rate_per_minute = "1000".into()).await
}

async fn post_key(app: &TestApp, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, KEYS, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str) -> Response {
    app.authed(method, path, token).send().await.unwrap()
}

fn key_body(role: &str, stores: &[StoreId]) -> Value {
    json!({
        "name": "Webshop sync",
        "tier": "pro",
        "role": role,
        "store_ids": stores.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn an_admin_creates_a_key_that_is_shown_only_once() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let admin = app.admin_token().await;

    // Act
    let response = post_key(&app, &admin, &key_body("cashier", &[store])).await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    let created = json_of(response).await;
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("rk_"), "{key}");
    assert!(key.len() >= 35, "{key}");
    assert!(
        key[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {key}"
    );
    assert!(is_uuid_v7(created["id"].as_str().unwrap()), "{created}");
    assert_eq!(created["name"], "Webshop sync");
    assert_eq!(created["tier"], "pro");
    assert_eq!(created["role"], "cashier");
    assert_eq!(created["store_ids"], json!([store.to_string()]));

    let response = call(&app, Method::GET, KEYS, &admin).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(key),
        "the list must not reveal the key: {text}"
    );
    let list: Value = serde_json::from_str(&text).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], created["id"]);
    assert_eq!(items[0]["name"], "Webshop sync");
    assert!(items[0].get("key").is_none(), "{list}");
}

#[tokio::test]
async fn a_key_is_a_bearer_credential_for_me() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let admin = app.admin_token().await;
    let created = json_of(post_key(&app, &admin, &key_body("employee", &[store])).await).await;
    let key = created["key"].as_str().unwrap();

    // Act
    let response = call(&app, Method::GET, ME, key).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let me = json_of(response).await;
    assert_eq!(
        me,
        json!({
            "id": created["id"],
            "name": "Webshop sync",
            "role": "employee",
            "store_ids": [store.to_string()],
            "kind": "api_key",
        })
    );
}

#[tokio::test]
async fn an_unknown_tier_is_422() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let mut body = key_body("cashier", &[]);
    body["tier"] = json!("platinum");

    // Act
    let response = post_key(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 422, KEYS).await;
    assert_eq!(error_fields(&problem), ["tier"]);
}

#[tokio::test]
async fn an_invalid_name_role_and_store_are_all_reported() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"name": " ", "tier": "free", "role": "owner", "store_ids": ["x"]});

    // Act
    let response = post_key(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 422, KEYS).await;
    let fields: BTreeSet<String> = error_fields(&problem).into_iter().collect();
    assert_eq!(
        fields,
        ["name", "role", "store_ids[0]"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let key = app.create_api_key("cashier", &[]).await;
    // Used once, so any cache in front of the database knows it.
    assert_eq!(call(&app, Method::GET, ME, &key.key).await.status(), 200);

    // Act
    let response = call(&app, Method::DELETE, &format!("{KEYS}/{}", key.id), &admin).await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_problem(call(&app, Method::GET, ME, &key.key).await, 401, ME).await;
    let list = json_of(call(&app, Method::GET, KEYS, &admin).await).await;
    assert!(list["items"][0]["revoked_at"].is_string(), "{list}");
}

#[tokio::test]
async fn revoking_a_key_twice_is_404() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let key = app.create_api_key("cashier", &[]).await;
    let path = format!("{KEYS}/{}", key.id);
    assert_eq!(
        call(&app, Method::DELETE, &path, &admin).await.status(),
        204
    );

    // Act
    let response = call(&app, Method::DELETE, &path, &admin).await;

    // Assert
    assert_problem(response, 404, &path).await;
}

#[tokio::test]
async fn revoking_an_unknown_or_malformed_key_id_is_404() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;

    for path in [format!("{KEYS}/{}", StoreId::new()), format!("{KEYS}/nope")] {
        // Act
        let response = call(&app, Method::DELETE, &path, &admin).await;

        // Assert
        assert_problem(response, 404, &path).await;
    }
}

#[tokio::test]
async fn a_manager_may_not_create_or_list_keys() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let manager = app.create_user("manager", &[store]).await;

    // Act
    let create = post_key(&app, &manager.token, &key_body("cashier", &[store])).await;
    let list = call(&app, Method::GET, KEYS, &manager.token).await;

    // Assert
    assert_problem(create, 403, KEYS).await;
    assert_problem(list, 403, KEYS).await;
}

#[tokio::test]
async fn a_manager_may_not_revoke_a_key() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let manager = app.create_user("manager", &[store]).await;
    let key = app.create_api_key("cashier", &[store]).await;
    let path = format!("{KEYS}/{}", key.id);

    // Act
    let response = call(&app, Method::DELETE, &path, &manager.token).await;

    // Assert
    assert_problem(response, 403, &path).await;
    assert_eq!(call(&app, Method::GET, ME, &key.key).await.status(), 200);
}

#[tokio::test]
async fn a_made_up_key_is_401() {
    // Arrange
    let app = spawn().await;
    let made_up = format!("rk_{}", "Zq9-xY_3".repeat(5));

    // Act
    let response = call(&app, Method::GET, ME, &made_up).await;

    // Assert
    assert_problem(response, 401, ME).await;
}

#[tokio::test]
async fn a_manager_key_acts_as_a_manager_of_its_stores() {
    // Arrange
    let app = spawn().await;
    let (a, b) = (
        app.create_store("AAA1").await,
        app.create_store("BBB1").await,
    );
    let cashier_a = app.create_user("cashier", &[a]).await;
    app.create_user("cashier", &[b]).await;
    let key = app.create_api_key("manager", &[a]).await;

    // Act
    let response = call(&app, Method::GET, "/api/v1/users", &key.key).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let page = json_of(response).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [cashier_a.id.as_str()], "{page}");
}

#[tokio::test]
async fn a_cashier_key_may_not_list_users() {
    // Arrange
    let app = spawn().await;
    let a = app.create_store("AAA1").await;
    let key = app.create_api_key("cashier", &[a]).await;

    // Act
    let response = call(&app, Method::GET, "/api/v1/users", &key.key).await;

    // Assert
    assert_problem(response, 403, "/api/v1/users").await;
}
