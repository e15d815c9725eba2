//! Transfers (stock-design.md "Transfers"): stock moving between two stores through
//! `requested → approved → received` (or `rejected`, or `cancelled`). Creating checks no stock;
//! the source's managers approve (stock leaves as `transfer_out`, 409 naming every short line)
//! or reject; the destination's staff receive (`transfer_in`); every other transition is 409;
//! cashiers have no part; a transfer neither of whose stores the caller sees is 404; racing
//! approvals move the stock once.
//!
//! The two-store `World` and its requests are here, shared by the modules below.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::assert_problem;

mod access;
mod lifecycle;
mod requests;
mod stock;

const TRANSFERS: &str = "/api/v1/transfers";

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A fresh `Idempotency-Key`.
fn key() -> String {
    format!("transfer-test-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Response {
    let mut request = app.authed(method, path, token);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// POSTs with a fresh key and expects 201.
async fn created(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let response = send(app, Method::POST, path, token, Some(body), Some(&key())).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "POST {path} {body}: {value}");
    value
}

/// Asserts a problem with `status` answering the request's own path; returns its body.
async fn problem(response: Response, status: u16) -> Value {
    let path = response.url().path().to_owned();
    assert_problem(response, status, &path).await
}

async fn conflict(response: Response, slug: &str) -> Value {
    let body = problem(response, 409).await;
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    body
}

/// Two stores A and B, an admin, and `n` products (no stock anywhere yet).
struct World {
    app: TestApp,
    admin: String,
    a: StoreId,
    b: StoreId,
    p: Vec<String>,
}

async fn world(n: usize) -> World {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("SRCA").await;
    let b = app.create_store("DSTB").await;
    let tax = json!({"name": "VAT", "rate_bp": 1600});
    let tax = created(&app, &admin, "/api/v1/tax-classes", &tax).await;
    let mut p = Vec::new();
    for i in 0..n {
        let body = json!({"sku": format!("SKU-{i}"), "name": format!("Product {i}"),
            "price": 100, "cost": 50, "tax_class_id": tax["id"]});
        let product = created(&app, &admin, "/api/v1/products", &body).await;
        p.push(id(&product).to_owned());
    }
    World {
        app,
        admin,
        a,
        b,
        p,
    }
}

impl World {
    async fn receive(&self, store: StoreId, product: &str, delta: i64) {
        let body = json!({"product_id": product, "delta": delta, "reason": "receiving"});
        let path = format!("/api/v1/stores/{store}/stock/adjustments");
        created(&self.app, &self.admin, &path, &body).await;
    }

    /// GET as the admin, expecting 200.
    async fn read(&self, path: &str) -> Value {
        let response = send(&self.app, Method::GET, path, &self.admin, None, None).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        json_of(response).await
    }

    /// `on_hand` of `p[product]` in `store`, `None` when the store has no level for it.
    async fn qty(&self, store: StoreId, product: usize) -> Option<i64> {
        let product = &self.p[product];
        let path = format!("/api/v1/stores/{store}/stock?product_id={product}");
        let page = self.read(&path).await;
        let first = page["items"].as_array().unwrap().first().cloned();
        first.map(|i| i["on_hand"].as_i64().unwrap())
    }

    fn body(&self, from: StoreId, to: StoreId, lines: &[(usize, i64)]) -> Value {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(p, q)| json!({"product_id": self.p[*p], "quantity": q}))
            .collect();
        json!({"from_store_id": from.to_string(), "to_store_id": to.to_string(), "lines": lines})
    }

    /// Creates a transfer A → B as `token`.
    async fn request(&self, token: &str, lines: &[(usize, i64)]) -> Value {
        let body = self.body(self.a, self.b, lines);
        created(&self.app, token, TRANSFERS, &body).await
    }

    async fn create(&self, token: &str, body: &Value, key: Option<&str>) -> Response {
        send(&self.app, Method::POST, TRANSFERS, token, Some(body), key).await
    }

    /// `approve`, `receive` or `cancel` (no body), or `reject` with `{"reason"}`.
    async fn act(&self, token: &str, transfer: &Value, action: &str) -> Response {
        let path = format!("{TRANSFERS}/{}/{action}", id(transfer));
        let reason = json!({"reason": "not needed"});
        let body = (action == "reject").then_some(&reason);
        send(&self.app, Method::POST, &path, token, body, None).await
    }

    /// Runs `action` and expects 200 with the updated transfer.
    async fn act_ok(&self, token: &str, transfer: &Value, action: &str) -> Value {
        let response = self.act(token, transfer, action).await;
        let status = response.status().as_u16();
        let body = json_of(response).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }

    async fn get(&self, token: &str, transfer: &Value) -> Response {
        let path = format!("{TRANSFERS}/{}", id(transfer));
        send(&self.app, Method::GET, &path, token, None, None).await
    }

    async fn status(&self, transfer: &Value) -> String {
        let body = self.read(&format!("{TRANSFERS}/{}", id(transfer))).await;
        body["status"].as_str().unwrap().to_owned()
    }

    /// Ids of the transfers `token` lists with `query`, in order.
    async fn list(&self, token: &str, query: &str) -> Vec<String> {
        let path = format!("{TRANSFERS}?limit=200&{query}");
        let response = send(&self.app, Method::GET, &path, token, None, None).await;
        let status = response.status().as_u16();
        let page = json_of(response).await;
        assert_eq!(status, 200, "{query}: {page}");
        let items = page["items"].as_array().unwrap();
        items.iter().map(|t| id(t).to_owned()).collect()
    }

    async fn movements(&self, kind: &str) -> Vec<Value> {
        let path = format!("/api/v1/stock-movements?limit=200&kind={kind}");
        self.read(&path).await["items"].as_array().unwrap().clone()
    }

    async fn assert_ledger(&self) {
        let checked = ringup_store::stock::check_ledger(&self.app.db, self.app.clock.now()).await;
        let (_, offences) = checked.unwrap();
        assert!(offences.is_empty(), "{offences:?}");
    }
}
