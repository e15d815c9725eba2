//! Who serves customers: employees are refused on every customer route, managers and cashier API
//! keys are served, an unknown or malformed id is 404, and every change is audited without
//! personal data.

use reqwest::Method;
use ringup_core::ids::CustomerId;
use ringup_testkit::{json_of, spawn_app};
use serde_json::{Value, json};

use super::{CUSTOMERS, create, names, search, send};
use crate::support::assert_problem;

#[tokio::test]
async fn employees_are_refused_on_every_customer_route() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("NRB1").await;
    let employee = app.create_user("employee", &[store]).await;
    let customer = create(&app, &admin, json!({"name": "Wanjiru"})).await;
    let path = format!("{CUSTOMERS}/{}", customer["id"].as_str().unwrap());
    let sales = format!("{path}/sales");

    // Act / Assert
    let calls = [
        (Method::POST, CUSTOMERS, Some(json!({"name": "Otieno"}))),
        (Method::GET, CUSTOMERS, None),
        (Method::GET, path.as_str(), None),
        (
            Method::PATCH,
            path.as_str(),
            Some(json!({"name": "Changed"})),
        ),
        (Method::GET, sales.as_str(), None),
    ];
    for (method, route, body) in calls {
        let response = send(&app, method.clone(), route, &employee.token, body).await;
        assert_problem(response, 403, route).await;
    }
    let unchanged = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    assert_eq!(unchanged["name"], "Wanjiru");
}

#[tokio::test]
async fn managers_and_cashier_api_keys_serve_customers() {
    // Arrange
    let app = spawn_app().await;
    let store = app.create_store("NRB1").await;
    let manager = app.create_user("manager", &[store]).await;
    let key = app.create_api_key("cashier", &[store]).await;

    // Act
    let by_manager = create(&app, &manager.token, json!({"name": "Wanjiru"})).await;
    let by_key = create(
        &app,
        &key.key,
        json!({"name": "Otieno", "phone": "0722000111"}),
    )
    .await;

    // Assert
    assert_eq!(by_manager["name"], "Wanjiru");
    assert_eq!(by_key["phone"], "+254722000111");
    assert_eq!(
        names(&search(&app, &key.key, &[]).await),
        ["Wanjiru", "Otieno"]
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_customer_id_is_404() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act / Assert
    for id in [CustomerId::new().to_string(), "nope".to_owned()] {
        let path = format!("{CUSTOMERS}/{id}");
        let got = send(&app, Method::GET, &path, &admin, None).await;
        assert_problem(got, 404, &path).await;
        let patched = send(
            &app,
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"name": "X"})),
        )
        .await;
        assert_problem(patched, 404, &path).await;
        let sales = format!("{path}/sales");
        let listed = send(&app, Method::GET, &sales, &admin, None).await;
        assert_problem(listed, 404, &sales).await;
    }
}

#[tokio::test]
async fn customer_changes_are_audited_without_personal_data() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("NRB1").await;
    let cashier = app.create_user("cashier", &[store]).await;
    let customer = create(
        &app,
        &cashier.token,
        json!({"name": "Wanjiru", "phone": "0712 345 678", "email": "w@example.com"}),
    )
    .await;
    let id = customer["id"].as_str().unwrap();
    let path = format!("{CUSTOMERS}/{id}");
    send(
        &app,
        Method::PATCH,
        &path,
        &cashier.token,
        Some(json!({"email": null})),
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
    let mine: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == id)
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["customer.created", "customer.updated"]);
    for event in &mine {
        assert_eq!(event["actor_id"], cashier.id.as_str());
        assert_eq!(event["target_type"], "customer");
        assert_eq!(event["store_id"], store.to_string());
        let text = event.to_string();
        assert!(
            !text.contains("712345678") && !text.contains("Wanjiru"),
            "{text}"
        );
        assert!(!text.contains("w@example.com"), "{text}");
    }
    assert_eq!(mine[1]["details"]["changed"], json!(["email"]));
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
