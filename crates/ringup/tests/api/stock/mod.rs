//! Stock (stock-design.md): hand adjustments with their sign rules, roles and
//! `Idempotency-Key`; a decrease never takes `available` below zero unless the store allows
//! negative stock, and a refused one writes nothing; a store's stock list with its filters and
//! pages; the movement ledger with its filters and store scoping; one `stock.low` outbox event
//! per downward crossing of the threshold; and the `stock.adjusted` audit event.
//!
//! The one-store `World` and the adjustment requests are here, shared by the modules below and
//! by other stock tests (`stock_check`, `stock_concurrency`, `bounds`, `checkout_support`).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, SubsecRound};
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::{ProductId, StoreId};
use ringup_testkit::{TestApp, json_of, spawn_app_with};
use serde_json::{Value, json};

mod adjustments;
mod availability;
mod events;
mod list;
mod movements;

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A fresh `Idempotency-Key`.
pub(crate) fn key() -> String {
    format!("stock-test-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn adjustments(store: StoreId) -> String {
    format!("/api/v1/stores/{store}/stock/adjustments")
}

fn stock(store: StoreId) -> String {
    format!("/api/v1/stores/{store}/stock")
}

const MOVEMENTS: &str = "/api/v1/stock-movements";

/// An adjustment body with a `delta`.
pub(crate) fn delta(product: &str, delta: i64, reason: &str) -> Value {
    json!({"product_id": product, "delta": delta, "reason": reason})
}

/// A `count` body.
fn count(product: &str, counted: i64) -> Value {
    json!({"product_id": product, "counted": counted, "reason": "count"})
}

/// `body` with `product_id` set.
fn with(product: &str, mut body: Value) -> Value {
    body["product_id"] = json!(product);
    body
}

/// `POST` an adjustment with `key` (none when `None`).
pub(crate) async fn post_adjustment(
    app: &TestApp,
    token: &str,
    store: StoreId,
    key: Option<&str>,
    body: &Value,
) -> Response {
    let request = app.authed(Method::POST, &adjustments(store), token);
    let request = match key {
        Some(key) => request.header("idempotency-key", key),
        None => request,
    };
    request.json(body).send().await.unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str, query: &[(&str, &str)]) -> Response {
    let request = app.authed(Method::GET, path, token).query(query);
    request.send().await.unwrap()
}

/// `POST path body` as `token`, which must answer 201; returns the new resource's `id`.
async fn created(app: &TestApp, token: &str, path: &str, body: &Value) -> String {
    let response = app.authed(Method::POST, path, token).json(body);
    let response = response.send().await.unwrap();
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "POST {path} {body}: {value}");
    value["id"].as_str().unwrap().to_owned()
}

/// A store with an admin and a tax class; the server clock stands on a whole second.
pub(crate) struct World {
    pub app: TestApp,
    pub admin: String,
    pub store: StoreId,
    tax: String,
}

pub(crate) async fn world() -> World {
    world_with(|_| {}).await
}

/// [`world`] with settings of the test's own (an SMTP server, say).
pub(crate) async fn world_with(
    configure: impl FnOnce(&mut ringup::settings::RawSettings),
) -> World {
    let app = spawn_app_with(|raw| {
        raw.login_rate_per_minute = "1000".into();
        configure(raw);
    })
    .await;
    let start = app.clock.now().trunc_subsecs(0) + Duration::seconds(1);
    app.clock.set(start);
    let admin = app.admin_token().await;
    let store = app.create_store("STK1").await;
    let vat = json!({"name": "VAT", "rate_bp": 1600});
    let tax = created(&app, &admin, "/api/v1/tax-classes", &vat).await;
    let (app, admin) = (app, admin);
    World {
        app,
        admin,
        store,
        tax,
    }
}

impl World {
    /// A product with `threshold`; no stock anywhere.
    pub(crate) async fn product(&self, threshold: i64) -> String {
        let sku = format!("SKU-{}", &ProductId::new().to_string()[24..]);
        let body = json!({"sku": sku, "name": "Product", "price": 100, "cost": 50,
            "tax_class_id": self.tax, "low_stock_threshold": threshold});
        created(&self.app, &self.admin, "/api/v1/products", &body).await
    }

    /// A store that allows negative stock, created over HTTP.
    async fn negative_store(&self, code: &str) -> StoreId {
        let body = json!({"code": code, "name": "Anything goes", "currency": "KES",
            "timezone": "Africa/Nairobi", "allow_negative_stock": true});
        let id = created(&self.app, &self.admin, "/api/v1/stores", &body).await;
        StoreId::parse(&id).unwrap()
    }

    /// An adjustment with a fresh key; returns the response.
    pub(crate) async fn adjust(&self, token: &str, store: StoreId, body: &Value) -> Response {
        post_adjustment(&self.app, token, store, Some(&key()), body).await
    }

    /// An adjustment that must answer 201; returns the movement.
    pub(crate) async fn adjusted(&self, token: &str, store: StoreId, body: &Value) -> Value {
        let response = self.adjust(token, store, body).await;
        let status = response.status().as_u16();
        let value = json_of(response).await;
        assert_eq!(status, 201, "{body}: {value}");
        value
    }

    pub(crate) async fn receive(&self, store: StoreId, product: &str, units: i64) {
        let body = delta(product, units, "receiving");
        self.adjusted(&self.admin, store, &body).await;
    }

    /// The stock list item of `product` in `store`, if it has a level.
    pub(crate) async fn level(&self, store: StoreId, product: &str) -> Option<Value> {
        let query = [("product_id", product)];
        let response = get(&self.app, &self.admin, &stock(store), &query).await;
        assert_eq!(response.status().as_u16(), 200);
        let page = json_of(response).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1, "{page}");
        items.first().cloned()
    }

    pub(crate) async fn on_hand(&self, store: StoreId, product: &str) -> i64 {
        let level = self.level(store, product).await;
        level.map_or(0, |l| l["on_hand"].as_i64().unwrap())
    }

    /// Every item of a list, walking pages of `limit`.
    async fn all(
        &self,
        token: &str,
        path: &str,
        query: &[(&str, &str)],
        limit: &str,
    ) -> Vec<Value> {
        let (mut items, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let mut params = query.to_vec();
            params.push(("limit", limit));
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor));
            }
            let response = get(&self.app, token, path, &params).await;
            let status = response.status().as_u16();
            let page = json_of(response).await;
            assert_eq!(status, 200, "{path} {params:?}: {page}");
            let got = page["items"].as_array().unwrap();
            assert!(got.len() <= limit.parse().unwrap(), "{page}");
            items.extend(got.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    pub(crate) async fn movements(&self, token: &str, query: &[(&str, &str)]) -> Vec<Value> {
        self.all(token, MOVEMENTS, query, "2").await
    }

    /// The `stock.adjusted` audit events `token` may read.
    async fn audited(&self, token: &str) -> Vec<Value> {
        let query = [("action", "stock.adjusted")];
        self.all(token, "/api/v1/audit-events", &query, "50").await
    }

    /// `stock.low` outbox payloads about `product`, oldest first.
    async fn low_events(&self, product: &str) -> Vec<Value> {
        let page = ringup_store::platform::outbox::list(&self.app.db, None, 200).await;
        let events = page.unwrap().items.into_iter();
        let low = events.filter(|e| e.event_type == "stock.low");
        low.map(|e| e.payload)
            .filter(|p| p["product_id"] == product)
            .collect()
    }

    /// No level differs from the sum of its movements, none is negative where not allowed.
    pub(crate) async fn assert_ledger(&self) {
        let checked = ringup_store::stock::check_ledger(&self.app.db, self.app.clock.now()).await;
        let (_, offences) = checked.unwrap();
        assert!(offences.is_empty(), "{offences:?}");
    }
}

/// `(on_hand, available)` of a movement or level.
fn levels(m: &Value) -> (i64, i64) {
    let n = |f: &str| m[f].as_i64().unwrap();
    (n("on_hand"), n("available"))
}

/// `(on_hand, reserved, available)` of a stock list item.
fn stocked(level: &Value) -> (i64, i64, i64) {
    let n = |f: &str| level[f].as_i64().unwrap();
    (n("on_hand"), n("reserved"), n("available"))
}

fn deltas(movements: &[Value]) -> Vec<i64> {
    let delta = |m: &Value| m["delta"].as_i64().unwrap();
    movements.iter().map(delta).collect()
}
