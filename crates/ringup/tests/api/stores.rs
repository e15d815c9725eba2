//! Stores and registers: admins create and change stores, everyone else sees only their own,
//! and a store outside the caller's view is 404.

use reqwest::{Method, Response};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields};

const STORES: &str = "/api/v1/stores";

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn nairobi(code: &str) -> Value {
    json!({"code": code, "name": format!("Store {code}"), "currency": "KES", "timezone": "Africa/Nairobi"})
}

async fn create_store(app: &TestApp, admin: &str, code: &str) -> Value {
    let response = send(app, Method::POST, STORES, admin, Some(nairobi(code))).await;
    assert_eq!(response.status().as_u16(), 201);
    json_of(response).await
}

#[tokio::test]
async fn an_admin_creates_a_store_with_the_contract_defaults() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act
    let store = create_store(&app, &admin, "NRB1").await;

    // Assert
    assert_eq!(store["code"], "NRB1");
    assert_eq!(store["currency"], "KES");
    assert_eq!(store["timezone"], "Africa/Nairobi");
    assert_eq!(store["prices_include_tax"], true);
    assert_eq!(store["allow_negative_stock"], false);
    let path = format!("{STORES}/{}", store["id"].as_str().unwrap());
    let fetched = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    assert_eq!(fetched, store);
}

#[tokio::test]
async fn a_store_code_is_unique() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_store(&app, &admin, "NRB1").await;

    // Act
    let again = send(&app, Method::POST, STORES, &admin, Some(nairobi("NRB1"))).await;

    // Assert
    let problem = assert_problem(again, 409, STORES).await;
    assert_eq!(error_fields(&problem), ["code"]);
}

#[tokio::test]
async fn every_invalid_store_field_is_reported_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"code": "nb1", "name": " ", "currency": "KSH1", "timezone": "Mars/Olympus"});

    // Act
    let response = send(&app, Method::POST, STORES, &admin, Some(body)).await;

    // Assert
    let problem = assert_problem(response, 422, STORES).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        ["code", "currency", "name", "timezone"],
        "{problem}"
    );
}

#[tokio::test]
async fn non_admins_see_only_their_stores() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("AAA1").await;
    let b = app.create_store("BBB1").await;
    let manager = app.create_user("manager", &[a]).await;

    // Act
    let listed = json_of(send(&app, Method::GET, STORES, &manager.token, None).await).await;
    let other = send(
        &app,
        Method::GET,
        &format!("{STORES}/{b}"),
        &manager.token,
        None,
    )
    .await;
    let all = json_of(send(&app, Method::GET, STORES, &admin, None).await).await;

    // Assert
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.to_string()]);
    assert_problem(other, 404, &format!("{STORES}/{b}")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_malformed_or_unknown_store_id_is_404() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act / Assert
    for path in [
        format!("{STORES}/nope"),
        format!("{STORES}/{}", ringup_core::ids::StoreId::new()),
    ] {
        let response = send(&app, Method::GET, &path, &admin, None).await;
        assert_problem(response, 404, &path).await;
    }
}

#[tokio::test]
async fn an_admin_changes_store_settings_but_never_the_code() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = create_store(&app, &admin, "NRB1").await;
    let path = format!("{STORES}/{}", store["id"].as_str().unwrap());

    // Act
    let changed = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({
            "name": "Nairobi CBD", "timezone": "Africa/Kampala", "allow_negative_stock": true
        })),
    )
    .await;
    let code = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"code": "XYZ"})),
    )
    .await;
    let bad = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"timezone": "Nowhere/Else"})),
    )
    .await;

    // Assert
    assert_eq!(changed.status().as_u16(), 200);
    let body = json_of(changed).await;
    assert_eq!(body["name"], "Nairobi CBD");
    assert_eq!(body["timezone"], "Africa/Kampala");
    assert_eq!(body["allow_negative_stock"], true);
    assert_eq!(body["code"], "NRB1");
    assert_problem(code, 422, &path).await;
    let problem = assert_problem(bad, 422, &path).await;
    assert_eq!(error_fields(&problem), ["timezone"]);
}

#[tokio::test]
async fn a_manager_may_not_change_store_settings() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_store("AAA1").await;
    let manager = app.create_user("manager", &[a]).await;
    let path = format!("{STORES}/{a}");

    // Act
    let response = send(
        &app,
        Method::PATCH,
        &path,
        &manager.token,
        Some(json!({"name": "Mine"})),
    )
    .await;

    // Assert
    assert_problem(response, 403, &path).await;
}

#[tokio::test]
async fn registers_are_added_by_admins_and_the_stores_managers_with_unique_names() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("AAA1").await;
    let b = app.create_store("BBB1").await;
    let manager = app.create_user("manager", &[a]).await;
    let cashier = app.create_user("cashier", &[a]).await;
    let registers_a = format!("{STORES}/{a}/registers");
    let registers_b = format!("{STORES}/{b}/registers");

    // Act
    let by_manager = send(
        &app,
        Method::POST,
        &registers_a,
        &manager.token,
        Some(json!({"name": "Till 1"})),
    )
    .await;
    let duplicate = send(
        &app,
        Method::POST,
        &registers_a,
        &admin,
        Some(json!({"name": "Till 1"})),
    )
    .await;
    let same_name_elsewhere = send(
        &app,
        Method::POST,
        &registers_b,
        &admin,
        Some(json!({"name": "Till 1"})),
    )
    .await;
    let by_cashier = send(
        &app,
        Method::POST,
        &registers_a,
        &cashier.token,
        Some(json!({"name": "Till 2"})),
    )
    .await;
    let other_store = send(
        &app,
        Method::POST,
        &registers_b,
        &manager.token,
        Some(json!({"name": "Till 3"})),
    )
    .await;
    let listed = json_of(send(&app, Method::GET, &registers_a, &cashier.token, None).await).await;

    // Assert
    assert_eq!(by_manager.status().as_u16(), 201);
    let register = json_of(by_manager).await;
    assert_eq!(register["store_id"], a.to_string());
    assert_eq!(register["name"], "Till 1");
    assert_eq!(register["active"], true);
    let problem = assert_problem(duplicate, 409, &registers_a).await;
    assert_eq!(error_fields(&problem), ["name"]);
    assert_eq!(same_name_elsewhere.status().as_u16(), 201);
    assert_problem(by_cashier, 403, &registers_a).await;
    assert_problem(other_store, 404, &registers_b).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], register["id"]);
}

#[tokio::test]
async fn store_changes_are_audited_in_the_stores_chain() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = create_store(&app, &admin, "NRB1").await;
    let id = store["id"].as_str().unwrap();
    send(
        &app,
        Method::POST,
        &format!("{STORES}/{id}/registers"),
        &admin,
        Some(json!({"name": "Till 1"})),
    )
    .await;

    // Act
    let events = json_of(
        send(
            &app,
            Method::GET,
            "/api/v1/audit-events?limit=200",
            &admin,
            None,
        )
        .await,
    )
    .await;

    // Assert
    let in_store: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["store_id"] == id)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(in_store, ["store.created", "register.created"]);
    let verify = json_of(
        send(
            &app,
            Method::GET,
            "/api/v1/audit-events/verify",
            &admin,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(verify["ok"], true, "{verify}");
}
