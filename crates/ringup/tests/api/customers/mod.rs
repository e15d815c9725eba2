//! Customers (docs/CHECKOUT.md "Customers"): phone numbers normalised to E.164 in the
//! store's country and unique across customers, validated e-mails, searches by name prefix or
//! phone in any form, pages, PATCH with `null` clearing, employees refused everywhere, audit
//! events without personal data, a customer's sales limited to the caller's stores; and the
//! stores' `country` that national numbers are read in.
//!
//! The helpers here (requests as a caller, a customer created, a search, a store in a country)
//! are shared by the modules below.

use reqwest::{Method, Response};
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of};
use serde_json::{Value, json};

mod access;
mod country;
mod create;
mod history;
mod search;

const CUSTOMERS: &str = "/api/v1/customers";
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

/// `POST /customers` as `token`, which must answer 201; returns the customer.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = send(app, Method::POST, CUSTOMERS, token, Some(body.clone())).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "POST {CUSTOMERS} {body}: {value}");
    value
}

/// `GET /customers?...` as `token`, which must answer 200.
async fn search(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let response = app
        .authed(Method::GET, CUSTOMERS, token)
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {CUSTOMERS} {query:?}");
    json_of(response).await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A store created over the API by the admin, in `country` (the default when `None`).
async fn store_in(app: &TestApp, admin: &str, code: &str, country: Option<&str>) -> StoreId {
    let mut body = json!({"code": code, "name": format!("Store {code}"), "currency": "KES",
        "timezone": "Africa/Nairobi"});
    if let Some(country) = country {
        body["country"] = json!(country);
    }
    let response = send(app, Method::POST, STORES, admin, Some(body)).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "{value}");
    value["id"].as_str().unwrap().parse().unwrap()
}
