//! `Idempotency-Key` (docs/API.md "Idempotency"): same key and request → the original response,
//! replayed, with one effect; same key and another request → 422; keys scoped to the caller;
//! racing duplicates make exactly one effect.

use futures::future::join_all;
use reqwest::{Method, Response};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header};

const STORES: &str = "/api/v1/stores";
const PRODUCTS: &str = "/api/v1/products";

async fn post_with_key(app: &TestApp, token: &str, path: &str, key: &str, body: &str) -> Response {
    app.authed(Method::POST, path, token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp, token: &str, path: &str) -> usize {
    let page = json_of(
        app.authed(Method::GET, &format!("{path}?limit=200"), token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    page["items"].as_array().unwrap().len()
}

async fn tax_class(app: &TestApp, token: &str) -> String {
    let response = app
        .authed(Method::POST, "/api/v1/tax-classes", token)
        .json(&json!({"name": "VAT", "rate_bp": 1600}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_repeated_request_replays_the_original_response_with_one_effect() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = r#"{"code":"NRB1","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;
    // The same JSON with other whitespace and key order is the same request.
    let same =
        r#"{ "timezone": "Africa/Nairobi", "currency": "KES", "name": "Nairobi", "code": "NRB1" }"#;

    // Act
    let first = post_with_key(&app, &admin, STORES, "till-7-0001", body).await;
    let second = post_with_key(&app, &admin, STORES, "till-7-0001", same).await;

    // Assert
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(second.status().as_u16(), 201);
    assert_eq!(
        header(&second, "idempotent-replayed").as_deref(),
        Some("true")
    );
    let (first, second): (Value, Value) = (json_of(first).await, json_of(second).await);
    assert_eq!(first, second, "the original response, byte for byte");
    assert_eq!(count(&app, &admin, STORES).await, 1, "one effect");
    let events = json_of(
        app.authed(
            Method::GET,
            "/api/v1/audit-events?action=store.created",
            &admin,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        1,
        "a replay records nothing"
    );
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let first = r#"{"code":"NRB1","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;
    let other = r#"{"code":"MSA1","name":"Mombasa","currency":"KES","timezone":"Africa/Nairobi"}"#;
    assert_eq!(
        post_with_key(&app, &admin, STORES, "k-1", first)
            .await
            .status()
            .as_u16(),
        201
    );

    // Act
    let response = post_with_key(&app, &admin, STORES, "k-1", other).await;

    // Assert
    let problem = assert_problem(response, 422, STORES).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(count(&app, &admin, STORES).await, 1);
}

#[tokio::test]
async fn a_failed_request_does_not_use_up_its_key() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let invalid = r#"{"code":"nrb","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;
    let valid = r#"{"code":"NRB1","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;

    // Act
    let refused = post_with_key(&app, &admin, STORES, "k-2", invalid).await;
    let created = post_with_key(&app, &admin, STORES, "k-2", valid).await;

    // Assert
    assert_eq!(refused.status().as_u16(), 422);
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(header(&created, "idempotent-replayed"), None);
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("AAA1").await;
    let manager = app.create_user("manager", &[store]).await;
    let class = tax_class(&app, &admin).await;
    let body = |sku: &str| {
        json!({"sku": sku, "name": "Soap", "price": 250, "cost": 120, "tax_class_id": class})
            .to_string()
    };

    // Act
    let by_admin = post_with_key(&app, &admin, PRODUCTS, "shared-key", &body("SOAP-1")).await;
    let by_manager = post_with_key(
        &app,
        &manager.token,
        PRODUCTS,
        "shared-key",
        &body("SOAP-2"),
    )
    .await;

    // Assert
    assert_eq!(by_admin.status().as_u16(), 201);
    assert_eq!(
        by_manager.status().as_u16(),
        201,
        "another caller's key is not this caller's"
    );
    assert_eq!(count(&app, &admin, PRODUCTS).await, 2);
}

#[tokio::test]
async fn racing_duplicates_of_one_key_make_exactly_one_product() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let class = tax_class(&app, &admin).await;
    let body =
        json!({"sku": "RACE-1", "name": "Racer", "price": 100, "cost": 50, "tax_class_id": class})
            .to_string();

    // Act
    let responses =
        join_all((0..10).map(|_| post_with_key(&app, &admin, PRODUCTS, "race-key", &body))).await;

    // Assert
    let mut ids = Vec::new();
    for response in responses {
        assert_eq!(
            response.status().as_u16(),
            201,
            "every duplicate gets the original answer"
        );
        ids.push(json_of(response).await["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one product, one id: {ids:?}");
    assert_eq!(count(&app, &admin, PRODUCTS).await, 1);
}

#[tokio::test]
async fn an_unusable_key_is_422() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = r#"{"code":"NRB1","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;

    // Act
    let too_long = post_with_key(&app, &admin, STORES, &"k".repeat(256), body).await;

    // Assert
    let problem = assert_problem(too_long, 422, STORES).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(count(&app, &admin, STORES).await, 0);
}

#[tokio::test]
async fn keys_are_kept_a_day_and_then_purged() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let first = r#"{"code":"NRB1","name":"Nairobi","currency":"KES","timezone":"Africa/Nairobi"}"#;
    let other = r#"{"code":"MSA1","name":"Mombasa","currency":"KES","timezone":"Africa/Nairobi"}"#;
    let created = post_with_key(&app, &admin, STORES, "k-day", first).await;
    assert_eq!(created.status().as_u16(), 201);
    let start = ringup_core::clock::Clock::now(&app.clock);
    let at = |hours| start + chrono::Duration::hours(hours);

    // Act: a purge within the day keeps the key; one after it removes it.
    ringup::startup::purge_idempotency_keys(&app.db, at(23)).await;
    let within_a_day = post_with_key(&app, &admin, STORES, "k-day", other).await;
    ringup::startup::purge_idempotency_keys(&app.db, at(25)).await;
    let after_the_purge = post_with_key(&app, &admin, STORES, "k-day", other).await;

    // Assert
    assert_problem(within_a_day, 422, STORES).await;
    assert_eq!(
        after_the_purge.status().as_u16(),
        201,
        "the key is free again"
    );
    assert_eq!(count(&app, &admin, STORES).await, 2);
}
