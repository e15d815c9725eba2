//! Stock (stock-design.md): hand adjustments with their sign rules, roles and
//! `Idempotency-Key`; a decrease never takes `available` below zero unless the store allows
//! negative stock, and a refused one writes nothing; a store's stock list with its filters and
//! pages; the movement ledger with its filters and store scoping; one `stock.low` outbox event
//! per downward crossing of the threshold; and the `stock.adjusted` audit event.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, SubsecRound, Utc};
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::{ProductId, StoreId};
use ringup_testkit::{TestApp, json_of, spawn_app_with};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header};

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
    let app = spawn_app_with(|raw| raw.login_rate_per_minute = "1000".into()).await;
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
        let now = ringup_store::platform::time::to_db(self.app.clock.now());
        let checked = ringup_store::stock::check_ledger(&self.app.db, &now).await;
        let (_, offences) = checked.unwrap();
        assert!(offences.is_empty(), "{offences:?}");
    }
}

/// `(on_hand, available)` of a movement or level.
fn levels(m: &Value) -> (i64, i64) {
    let n = |f: &str| m[f].as_i64().unwrap();
    (n("on_hand"), n("available"))
}

/// The deltas of the movements the admin lists with `query`.
async fn of(w: &World, query: &[(&str, &str)]) -> Vec<i64> {
    deltas(&w.movements(&w.admin, query).await)
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

#[tokio::test]
async fn every_reason_records_a_signed_movement_and_returns_the_new_level() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await;
    let p = w.product(0).await;
    let steps = [
        (delta(&p, 10, "receiving"), "receiving", 10, 10),
        (delta(&p, -2, "damage"), "damage", -2, 8),
        (delta(&p, -1, "theft"), "theft", -1, 7),
        (delta(&p, -3, "correction"), "correction", -3, 4),
        (delta(&p, 2, "correction"), "correction", 2, 6),
        (count(&p, 9), "count", 3, 9),
        (count(&p, 9), "count", 0, 9),
        (count(&p, 0), "count", -9, 0),
    ];

    for (mut body, kind, expected, on_hand) in steps {
        // Act
        body["note"] = json!(format!("{kind} note"));
        let m = w.adjusted(&manager.token, w.store, &body).await;

        // Assert
        let got = (m["kind"].as_str(), m["delta"].as_i64(), levels(&m));
        assert_eq!(got, (Some(kind), Some(expected), (on_hand, on_hand)), "{m}");
        assert_eq!(m["store_id"], w.store.to_string());
        assert_eq!(m["product_id"], p.as_str());
        assert_eq!(m["ref_type"], "adjustment");
        assert!(m["ref_id"].is_null(), "{m}");
        assert_eq!(m["actor_id"], manager.id.as_str());
        assert_eq!(m["note"], format!("{kind} note"));
        let at = DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(at.with_timezone(&Utc), w.app.clock.now());
        assert_eq!(w.on_hand(w.store, &p).await, on_hand);
    }
    let ledger = w.movements(&w.admin, &[("product_id", &p)]).await;
    assert_eq!(deltas(&ledger), [10, -2, -1, -3, 2, 3, 0, -9]);
    let counts = w.movements(&w.admin, &[("kind", "count")]).await;
    assert_eq!(deltas(&counts), [3, 0, -9], "with the zero count");
    w.assert_ledger().await;
}

#[tokio::test]
async fn sign_and_shape_rules_are_422_naming_the_field_and_write_nothing() {
    // Arrange
    let w = world().await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 5).await;
    // Past a given delta's range (10⁶), and past a level's (10⁹) for a count.
    let (big, big_count) = (1_000_001_i64, 1_000_000_001_i64);
    let long = "n".repeat(501);
    // [field named, body without product_id]; "" when any field may be named.
    let cases = json!([
        ["delta", {"reason": "receiving", "delta": 0}],
        ["delta", {"reason": "receiving", "delta": -1}],
        ["delta", {"reason": "damage", "delta": 1}],
        ["delta", {"reason": "damage", "delta": 0}],
        ["delta", {"reason": "theft", "delta": 1}],
        ["delta", {"reason": "correction", "delta": 0}],
        ["delta", {"reason": "receiving", "delta": big}],
        ["delta", {"reason": "correction", "delta": -big}],
        ["delta", {"reason": "damage"}],
        ["delta", {"reason": "count", "counted": 3, "delta": 1}],
        ["counted", {"reason": "receiving", "delta": 1, "counted": 3}],
        ["counted", {"reason": "count"}],
        ["counted", {"reason": "count", "counted": -1}],
        ["counted", {"reason": "count", "counted": big_count}],
        ["note", {"reason": "receiving", "delta": 1, "note": long}],
        ["reason", {"reason": "gift", "delta": 1}],
        ["", {"reason": "receiving", "delta": 1, "qty": 1}],
    ]);

    for case in cases.as_array().unwrap() {
        // Act
        let (field, body) = (case[0].as_str().unwrap(), with(&p, case[1].clone()));
        let response = w.adjust(&w.admin, w.store, &body).await;

        // Assert
        let problem = assert_problem(response, 422, &adjustments(w.store)).await;
        let fields = error_fields(&problem);
        let named = field.is_empty() || fields.contains(&field.to_owned());
        assert!(named, "{body}: {problem}");
    }
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [5]);
    assert_eq!(w.on_hand(w.store, &p).await, 5);
    // The limits themselves are accepted.
    let (most, note) = (1_000_000, "n".repeat(500));
    let body = json!({"product_id": p, "reason": "receiving", "delta": most, "note": note});
    w.adjusted(&w.admin, w.store, &body).await;
    let m = w.adjusted(&w.admin, w.store, &count(&p, most)).await;
    assert_eq!(m["delta"], -5);
    let m = w
        .adjusted(&w.admin, w.store, &count(&p, 1_000_000_000))
        .await;
    assert_eq!(m["delta"], 999_000_000);
}

#[tokio::test]
async fn idempotency_key_is_required_and_a_replay_answers_the_same_body_once() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(0).await;
    let body = delta(&p, 7, "receiving");
    let post = |key: Option<&'static str>, body: Value| {
        let (w, manager) = (&w, &manager);
        async move { post_adjustment(&w.app, manager, w.store, key, &body).await }
    };

    // Act
    let keyless = post(None, body.clone()).await;
    let first = post(Some("k-1"), body.clone()).await;
    let second = post(Some("k-1"), body.clone()).await;
    let other = post(Some("k-1"), delta(&p, 8, "receiving")).await;

    // Assert
    let problem = assert_problem(keyless, 422, &adjustments(w.store)).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(second.status().as_u16(), 201);
    let replayed = header(&second, "idempotent-replayed");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(json_of(first).await, json_of(second).await);
    let problem = assert_problem(other, 422, &adjustments(w.store)).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [7]);
    assert_eq!(w.on_hand(w.store, &p).await, 7);
    let events = w.audited(&w.admin).await;
    assert_eq!(events.len(), 1, "a replay records no event: {events:?}");
    // Keys belong to their caller: the admin's "k-1" is a new request.
    let admins = post_adjustment(&w.app, &w.admin, w.store, Some("k-1"), &body).await;
    assert_eq!(admins.status().as_u16(), 201);
    assert_eq!(header(&admins, "idempotent-replayed"), None);
    assert_eq!(w.on_hand(w.store, &p).await, 14);
}

#[tokio::test]
async fn roles_decide_who_adjusts_which_reason() {
    // Arrange
    let w = world().await;
    let s = w.store;
    let other = w.app.create_store("STK2").await;
    let employee = w.app.create_user("employee", &[s]).await.token;
    let cashier = w.app.create_user("cashier", &[s]).await.token;
    let outsider = w.app.create_user("manager", &[other]).await.token;
    let api_key = w.app.create_api_key("manager", &[s]).await.key;
    let p = w.product(0).await;
    w.receive(s, &p, 20).await;
    let path = adjustments(s);

    // Act / Assert: allowed
    w.adjusted(&employee, s, &delta(&p, 2, "receiving")).await;
    w.adjusted(&employee, s, &count(&p, 21)).await;
    let by_key = w.adjusted(&api_key, s, &delta(&p, -1, "correction")).await;
    assert!(by_key["actor_id"].as_str().is_some_and(|a| !a.is_empty()));

    // Act / Assert: refused
    for reason in ["damage", "theft", "correction"] {
        let response = w.adjust(&employee, s, &delta(&p, -1, reason)).await;
        assert_problem(response, 403, &path).await;
    }
    for body in [
        delta(&p, 1, "receiving"),
        count(&p, 3),
        delta(&p, -1, "damage"),
    ] {
        assert_problem(w.adjust(&cashier, s, &body).await, 403, &path).await;
    }
    let response = w.adjust(&outsider, s, &delta(&p, 1, "receiving")).await;
    assert_problem(response, 404, &path).await;
    let unknown = StoreId::new();
    let response = w.adjust(&w.admin, unknown, &delta(&p, 1, "damage")).await;
    assert_problem(response, 404, &adjustments(unknown)).await;
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [20, 2, -1, -1]);
    assert_eq!(w.on_hand(s, &p).await, 20);
}

#[tokio::test]
async fn an_unknown_or_malformed_product_is_422_product_id() {
    // Arrange
    let w = world().await;
    let archived = w.product(0).await;
    let path = format!("/api/v1/products/{archived}");
    let response = w.app.authed(Method::DELETE, &path, &w.admin).send().await;
    assert!(response.unwrap().status().is_success());
    let unknown = ProductId::new().to_string();

    for product in [unknown.as_str(), "not-a-product", ""] {
        // Act
        let response = w
            .adjust(&w.admin, w.store, &delta(product, 1, "receiving"))
            .await;

        // Assert
        let problem = assert_problem(response, 422, &adjustments(w.store)).await;
        assert_eq!(error_fields(&problem), ["product_id"], "{product}");
    }
    assert!(w.movements(&w.admin, &[]).await.is_empty());
    // An archived product still has stock.
    w.receive(w.store, &archived, 2).await;
    assert_eq!(w.on_hand(w.store, &archived).await, 2);
}

#[tokio::test]
async fn a_decrease_beyond_available_is_409_and_writes_nothing() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(0).await;
    let never_stocked = w.product(0).await;
    w.receive(s, &p, 3).await;
    let path = adjustments(s);
    let before = w.level(s, &p).await.unwrap();

    for body in [
        delta(&p, -4, "damage"),
        delta(&p, -4, "theft"),
        delta(&p, -1_000_000, "correction"),
    ] {
        // Act
        let response = w.adjust(a, s, &body).await;

        // Assert
        let problem = assert_problem(response, 409, &path).await;
        assert_eq!(problem["type"], "/problems/insufficient-stock");
        assert_eq!(error_fields(&problem), ["delta"]);
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("3 available"), "{message}");
    }
    let response = w.adjust(a, s, &delta(&never_stocked, -1, "damage")).await;
    assert_problem(response, 409, &path).await;

    assert_eq!(w.level(s, &p).await.unwrap(), before);
    assert_eq!(w.level(s, &never_stocked).await, None, "no level");
    assert_eq!(deltas(&w.movements(a, &[]).await), [3]);
    assert_eq!(w.audited(a).await.len(), 1);
    // Exactly what is available may go.
    let m = w.adjusted(a, s, &delta(&p, -3, "damage")).await;
    assert_eq!(levels(&m), (0, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn a_store_that_allows_negative_stock_goes_below_zero() {
    // Arrange
    let w = world().await;
    let store = w.negative_store("NEG1").await;
    let p = w.product(0).await;
    w.receive(store, &p, 1).await;

    // Act
    let m = w.adjusted(&w.admin, store, &delta(&p, -3, "damage")).await;
    let listed = w.level(store, &p).await.unwrap();
    let counted = w.adjusted(&w.admin, store, &count(&p, 0)).await;

    // Assert
    assert_eq!(levels(&m), (-2, -2));
    assert_eq!(levels(&listed), (-2, -2));
    assert_eq!(counted["delta"], 2, "a count from -2 to 0 adds 2");
    w.assert_ledger().await;
}

#[tokio::test]
async fn the_stock_list_shows_levels_with_filters_and_pages() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let other = w.app.create_store("STK2").await;
    let (p1, p2, p3) = (w.product(5).await, w.product(0).await, w.product(2).await);
    let p4 = w.product(1).await;
    w.receive(s, &p1, 10).await;
    w.receive(s, &p2, 3).await;
    w.adjusted(a, s, &delta(&p2, -3, "damage")).await;
    w.receive(s, &p3, 2).await;
    w.receive(other, &p4, 9).await;
    let mut expected = vec![(p1.clone(), 10, 5), (p2.clone(), 0, 0), (p3.clone(), 2, 2)];
    expected.sort();
    let mut low_expected = vec![p2.as_str(), p3.as_str()];
    low_expected.sort_unstable();
    let path = stock(s);
    let ids = |items: &[Value]| -> Vec<String> {
        let id = |i: &Value| i["product_id"].as_str().unwrap().to_owned();
        items.iter().map(id).collect()
    };

    // Act
    let all = w.all(a, &path, &[], "50").await;
    let paged = w.all(a, &path, &[], "1").await;
    let low = w.all(a, &path, &[("below_threshold", "true")], "50").await;
    let not_low = w.all(a, &path, &[("below_threshold", "false")], "50").await;
    let one = w.all(a, &path, &[("product_id", &p3)], "50").await;
    let elsewhere = w.all(a, &path, &[("product_id", &p4)], "50").await;

    // Assert
    let listed: Vec<(String, i64, i64)> = all
        .iter()
        .map(|i| {
            let (on_hand, reserved, available) = stocked(i);
            assert_eq!((reserved, available), (0, on_hand), "{i}");
            let n = |f: &str| i[f].as_i64().unwrap();
            (
                ids(std::slice::from_ref(i)).remove(0),
                n("on_hand"),
                n("low_stock_threshold"),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(paged, all);
    assert_eq!(ids(&low), low_expected);
    assert_eq!(not_low, all);
    assert_eq!(ids(&one), [p3.as_str()]);
    assert!(elsewhere.is_empty());
    let bad = [
        ("product_id", "nope"),
        ("below_threshold", "yes"),
        ("limit", "0"),
        ("limit", "201"),
    ];
    for (name, value) in bad {
        let response = get(&w.app, a, &path, &[(name, value)]).await;
        let problem = assert_problem(response, 422, &path).await;
        assert_eq!(error_fields(&problem), [name], "{name}={value}");
    }
}

#[tokio::test]
async fn every_role_of_the_store_reads_its_stock_and_others_get_404() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 4).await;
    let path = stock(w.store);
    let outsider = w.app.create_user("manager", &[other]).await.token;

    for role in ["cashier", "employee", "manager"] {
        // Act
        let token = w.app.create_user(role, &[w.store]).await.token;
        let response = get(&w.app, &token, &path, &[]).await;

        // Assert
        assert_eq!(response.status().as_u16(), 200, "{role}");
        let page = json_of(response).await;
        assert_eq!(page["items"][0]["on_hand"], 4, "{role}: {page}");
    }
    assert_problem(get(&w.app, &outsider, &path, &[]).await, 404, &path).await;
    for unknown in [
        stock(StoreId::new()),
        "/api/v1/stores/nope/stock".to_owned(),
    ] {
        assert_problem(get(&w.app, &w.admin, &unknown, &[]).await, 404, &unknown).await;
    }
}

#[tokio::test]
async fn movements_filter_by_store_product_kind_and_time() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let (p, q) = (w.product(0).await, w.product(0).await);
    let t0 = w.app.clock.now();
    w.receive(w.store, &p, 5).await;
    w.app.clock.advance(Duration::seconds(10));
    w.receive(other, &p, 6).await;
    w.adjusted(&w.admin, w.store, &delta(&p, -1, "damage"))
        .await;
    w.app.clock.advance(Duration::seconds(10));
    w.receive(w.store, &q, 7).await;
    let t10 = (t0 + Duration::seconds(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let nairobi = FixedOffset::east_opt(3 * 3600).unwrap();
    let t10_nairobi = (t0 + Duration::seconds(10)).with_timezone(&nairobi);
    let t10_nairobi = t10_nairobi.to_rfc3339();
    let t20 = (t0 + Duration::seconds(20)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let (s, o) = (w.store.to_string(), other.to_string());
    // Act / Assert
    assert_eq!(of(&w, &[]).await, [5, 6, -1, 7]);
    assert_eq!(of(&w, &[("store_id", &s)]).await, [5, -1, 7]);
    assert_eq!(of(&w, &[("store_id", &o)]).await, [6]);
    assert_eq!(of(&w, &[("product_id", &p)]).await, [5, 6, -1]);
    let both = [("store_id", s.as_str()), ("product_id", &p)];
    assert_eq!(of(&w, &both).await, [5, -1]);
    assert_eq!(of(&w, &[("kind", "receiving")]).await, [5, 6, 7]);
    assert_eq!(of(&w, &[("kind", "damage")]).await, [-1]);
    assert!(of(&w, &[("kind", "transfer_in")]).await.is_empty());
    // `from` is inclusive, `to` exclusive, and any offset is understood.
    assert_eq!(of(&w, &[("from", &t10)]).await, [6, -1, 7]);
    assert_eq!(of(&w, &[("from", &t10_nairobi)]).await, [6, -1, 7]);
    assert_eq!(of(&w, &[("to", &t10)]).await, [5]);
    assert_eq!(of(&w, &[("to", &t10_nairobi)]).await, [5]);
    assert_eq!(of(&w, &[("from", &t10), ("to", &t20)]).await, [6, -1]);
    assert_eq!(of(&w, &[("to", &t20)]).await, [5, 6, -1]);
}

#[tokio::test]
async fn bad_movement_filters_are_422_and_non_admins_see_only_their_stores() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 5).await;
    w.receive(other, &p, 6).await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let cashier = w.app.create_user("cashier", &[other]).await.token;
    let other_text = other.to_string();
    let bad = [
        ("kind", "gift"),
        ("kind", "Receiving"),
        ("from", "yesterday"),
        ("to", "2026-13-01T00:00:00Z"),
        ("from", "2026-01-01"),
        ("product_id", "nope"),
        ("store_id", "nope"),
        ("store_id", other_text.as_str()),
        ("limit", "0"),
    ];

    for (name, value) in bad {
        // Act
        let response = get(&w.app, &manager, MOVEMENTS, &[(name, value)]).await;

        // Assert
        let problem = assert_problem(response, 422, MOVEMENTS).await;
        assert_eq!(error_fields(&problem), [name], "{name}={value}");
    }
    assert_eq!(deltas(&w.movements(&manager, &[]).await), [5]);
    assert_eq!(deltas(&w.movements(&cashier, &[]).await), [6]);
    let of_p = w.movements(&cashier, &[("product_id", &p)]).await;
    assert_eq!(deltas(&of_p), [6]);
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [5, 6]);
}

#[tokio::test]
async fn stock_low_is_written_once_per_downward_crossing() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(5).await;
    let bystander = w.product(100).await;

    // Act / Assert: 0 → 10 is a rise; 10 → 6 stays above the threshold.
    w.receive(s, &p, 10).await;
    w.adjusted(a, s, &delta(&p, -4, "damage")).await;
    assert!(w.low_events(&p).await.is_empty());
    // 6 → 5 crosses; 5 → 3 stays low; a refused decrease writes nothing.
    w.adjusted(a, s, &delta(&p, -1, "theft")).await;
    w.adjusted(a, s, &delta(&p, -2, "damage")).await;
    let refused = w.adjust(a, s, &delta(&p, -4, "damage")).await;
    assert_eq!(refused.status().as_u16(), 409);
    let events = w.low_events(&p).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let expected = json!({"store_id": s.to_string(), "product_id": p, "on_hand": 5,
        "reserved": 0, "available": 5, "low_stock_threshold": 5});
    assert_eq!(events[0], expected);
    // Back above (3 → 13), then a count crosses again (13 → 4).
    w.receive(s, &p, 10).await;
    assert_eq!(w.low_events(&p).await.len(), 1);
    w.adjusted(a, s, &count(&p, 4)).await;
    let events = w.low_events(&p).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(levels(&events[1]), (4, 4));
    // A product that never was above its threshold raised nothing.
    w.receive(s, &bystander, 50).await;
    w.adjusted(a, s, &delta(&bystander, -10, "damage")).await;
    assert!(w.low_events(&bystander).await.is_empty());
}

#[tokio::test]
async fn adjustments_are_audited_as_stock_adjusted_on_the_store() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let manager = w.app.create_user("manager", &[w.store]).await;
    let (p, t) = (w.product(0).await, &manager.token);

    // Act
    let received = w.adjusted(t, w.store, &delta(&p, 5, "receiving")).await;
    let damaged = w.adjusted(t, w.store, &delta(&p, -2, "damage")).await;
    w.receive(other, &p, 1).await;

    // Assert
    let events = w.audited(&w.admin).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let by = |e: &&Value| e["actor_id"] == manager.id.as_str();
    let mine: Vec<&Value> = events.iter().filter(by).collect();
    assert_eq!(mine.len(), 2, "{events:?}");
    for event in &mine {
        assert_eq!(event["action"], "stock.adjusted");
        assert_eq!(event["store_id"], w.store.to_string());
    }
    let text = serde_json::to_string(&mine).unwrap();
    for m in [&received, &damaged] {
        let id = m["id"].as_str().unwrap();
        assert!(text.contains(id), "movement {id} is named: {text}");
    }
    // The store's manager sees its store's events only.
    let seen = w.audited(t).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[tokio::test]
async fn reserved_units_are_not_available_to_decreases_or_counts_until_they_expire() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(0).await;
    w.receive(s, &p, 5).await;
    let expires_at = (w.app.clock.now() + Duration::minutes(10)).to_rfc3339();
    let lines = json!([{"product_id": p, "quantity": 3}]);
    let body = json!({"lines": lines, "expires_at": expires_at});
    let reservations = format!("/api/v1/stores/{s}/reservations");
    created(&w.app, a, &reservations, &body).await;
    let path = adjustments(s);

    // Act
    let listed = w.level(s, &p).await.unwrap();
    let damage = w.adjust(a, s, &delta(&p, -3, "damage")).await;
    let low_count = w.adjust(a, s, &count(&p, 2)).await;
    let exact_count = w.adjusted(a, s, &count(&p, 3)).await;
    w.app.clock.advance(Duration::minutes(10));
    let expired = w.level(s, &p).await.unwrap();

    // Assert
    assert_eq!(stocked(&listed), (5, 3, 2));
    let problem = assert_problem(damage, 409, &path).await;
    assert_eq!(error_fields(&problem), ["delta"]);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("2 available"), "{message}");
    let problem = assert_problem(low_count, 409, &path).await;
    assert_eq!(error_fields(&problem), ["counted"]);
    assert_eq!(
        (exact_count["delta"].as_i64(), levels(&exact_count)),
        (Some(-2), (3, 0))
    );
    assert_eq!(stocked(&expired), (3, 0, 3));
    w.assert_ledger().await;
}
