//! Reservations (stock-design.md "Reservations"): units of a store's stock held until they are
//! released or expire. Reserved units stop being `available` at once and count again the
//! moment the reservation is released or its `expires_at` passes (no sweeper); a reservation
//! needs available stock on every line (even where negative stock is allowed) and otherwise
//! writes nothing; racing reservations never oversell; taking `available` down to the
//! threshold writes one `stock.low` outbox event.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, SubsecRound, Utc};
use futures::future::join_all;
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::{ProductId, ReservationId, StoreId};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header, is_uuid_v7};

mod over_time;

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A fresh `Idempotency-Key`.
fn key() -> String {
    format!("reservation-test-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn reservations(store: StoreId) -> String {
    format!("/api/v1/stores/{store}/reservations")
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

/// Expects 201 and returns the body.
async fn created(response: Response) -> Value {
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "{value}");
    value
}

/// Asserts a problem with `status` answering the request's own path; returns its body.
async fn problem(response: Response, status: u16) -> Value {
    let path = response.url().path().to_owned();
    assert_problem(response, status, &path).await
}

/// Asserts 409 `insufficient-stock` naming exactly `fields`.
async fn short(response: Response, fields: &[&str]) {
    let problem = problem(response, 409).await;
    assert_eq!(problem["type"], "/problems/insufficient-stock", "{problem}");
    assert_eq!(error_fields(&problem), fields, "{problem}");
}

fn instant(text: &Value) -> DateTime<Utc> {
    let parsed = DateTime::parse_from_rfc3339(text.as_str().unwrap());
    parsed.unwrap().with_timezone(&Utc)
}

/// A store S with an admin and `n` products (low-stock threshold 0, no stock yet). The
/// server clock stands on a whole second so boundaries are exact.
struct World {
    app: TestApp,
    admin: String,
    s: StoreId,
    tax: Value,
    p: Vec<String>,
}

async fn world(n: usize) -> World {
    let app = spawn_app().await;
    let whole = app.clock.now().trunc_subsecs(0) + Duration::seconds(1);
    app.clock.set(whole);
    let admin = app.admin_token().await;
    let s = app.create_store("RSV1").await;
    let tax = json!({"name": "VAT", "rate_bp": 1600});
    let tax = send(
        &app,
        Method::POST,
        "/api/v1/tax-classes",
        &admin,
        Some(&tax),
        None,
    );
    let tax = created(tax.await).await["id"].clone();
    let p = Vec::new();
    let mut w = World {
        app,
        admin,
        s,
        tax,
        p,
    };
    for _ in 0..n {
        let product = w.product(0).await;
        w.p.push(product);
    }
    w
}

impl World {
    async fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        send(&self.app, Method::POST, path, token, Some(body), None).await
    }

    async fn product(&self, threshold: i64) -> String {
        let sku = format!("SKU-{}", &ProductId::new().to_string()[24..]);
        let body = json!({"sku": sku, "name": "Product", "price": 100, "cost": 50,
            "tax_class_id": self.tax, "low_stock_threshold": threshold});
        let product = created(self.post(&self.admin, "/api/v1/products", &body).await).await;
        id(&product).to_owned()
    }

    async fn adjust(&self, store: StoreId, product: &str, delta: i64, reason: &str) -> Response {
        let body = json!({"product_id": product, "delta": delta, "reason": reason});
        let path = format!("/api/v1/stores/{store}/stock/adjustments");
        let key = key();
        send(
            &self.app,
            Method::POST,
            &path,
            &self.admin,
            Some(&body),
            Some(&key),
        )
        .await
    }

    async fn receive(&self, store: StoreId, product: &str, delta: i64) {
        created(self.adjust(store, product, delta, "receiving").await).await;
    }

    async fn read(&self, path: &str) -> Value {
        let response = send(&self.app, Method::GET, path, &self.admin, None, None).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        json_of(response).await
    }

    /// `(on_hand, reserved, available)` of `product` in `store`; zeros when it has no level.
    async fn level(&self, store: StoreId, product: &str) -> (i64, i64, i64) {
        let path = format!("/api/v1/stores/{store}/stock?product_id={product}");
        let page = self.read(&path).await;
        let first = page["items"].as_array().unwrap().first().cloned();
        first.map_or((0, 0, 0), |i| {
            let n = |f: &str| i[f].as_i64().unwrap();
            (n("on_hand"), n("reserved"), n("available"))
        })
    }

    /// RFC 3339 text of the server's now + `by`.
    fn at(&self, by: Duration) -> String {
        (self.app.clock.now() + by).to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// A reservation of `lines` expiring in an hour.
    fn body(&self, lines: &[(&str, i64)]) -> Value {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(p, q)| json!({"product_id": p, "quantity": q}))
            .collect();
        json!({"lines": lines, "expires_at": self.at(Duration::hours(1))})
    }

    async fn reserve(&self, token: &str, store: StoreId, body: &Value) -> Response {
        self.post(token, &reservations(store), body).await
    }

    /// Reserves as the admin, expecting 201.
    async fn hold(&self, store: StoreId, lines: &[(&str, i64)]) -> Value {
        created(self.reserve(&self.admin, store, &self.body(lines)).await).await
    }

    async fn release(&self, token: &str, store: StoreId, rid: &str) -> Response {
        let path = format!("{}/{rid}", reservations(store));
        send(&self.app, Method::DELETE, &path, token, None, None).await
    }

    async fn assert_ledger(&self) {
        let checked = ringup_store::stock::check_ledger(&self.app.db, self.app.clock.now()).await;
        let (_, offences) = checked.unwrap();
        assert!(offences.is_empty(), "{offences:?}");
    }
}

#[tokio::test]
async fn a_manager_reserves_stock_and_it_stops_being_available() {
    // Arrange
    let w = world(2).await;
    w.receive(w.s, &w.p[0], 10).await;
    w.receive(w.s, &w.p[1], 5).await;
    let manager = w.app.create_user("manager", &[w.s]).await;
    let mut body = w.body(&[(&w.p[1], 1), (&w.p[0], 2)]);
    body["reference"] = json!("web order 42");

    // Act
    let reservation = created(w.reserve(&manager.token, w.s, &body).await).await;

    // Assert
    assert!(is_uuid_v7(id(&reservation)), "{reservation}");
    assert_eq!(reservation["store_id"], w.s.to_string());
    assert_eq!(reservation["lines"], body["lines"]);
    let expires_at = instant(&reservation["expires_at"]);
    assert_eq!(expires_at, instant(&body["expires_at"]));
    assert_eq!(reservation["reference"], "web order 42");
    assert_eq!(reservation["created_by"], manager.id.as_str());
    let created_at = instant(&reservation["created_at"]);
    assert_eq!(created_at, w.app.clock.now());
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 2, 8));
    assert_eq!(w.level(w.s, &w.p[1]).await, (5, 1, 4));
    let movements = w.read("/api/v1/stock-movements").await;
    let count = movements["items"].as_array().unwrap().len();
    assert_eq!(count, 2, "reserving is no movement");
    w.assert_ledger().await;
}

#[tokio::test]
async fn a_reservation_sent_twice_with_one_key_is_made_once() {
    // Arrange
    let w = world(1).await;
    w.receive(w.s, &w.p[0], 10).await;
    let body = w.body(&[(&w.p[0], 3)]);
    let path = reservations(w.s);

    // Act
    let first = send(
        &w.app,
        Method::POST,
        &path,
        &w.admin,
        Some(&body),
        Some("r-1"),
    )
    .await;
    let again = send(
        &w.app,
        Method::POST,
        &path,
        &w.admin,
        Some(&body),
        Some("r-1"),
    )
    .await;

    // Assert
    let replayed = header(&again, "idempotent-replayed");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(created(first).await, created(again).await);
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 3, 7));
}

#[tokio::test]
async fn reserving_more_than_is_available_is_409_naming_every_short_line_and_reserves_nothing() {
    // Arrange
    let w = world(3).await;
    w.receive(w.s, &w.p[0], 10).await;
    w.receive(w.s, &w.p[1], 10).await;
    w.hold(w.s, &[(&w.p[1], 6)]).await;
    // p1: on hand 10 but only 4 available; p2: no stock at all.
    let body = w.body(&[(&w.p[2], 1), (&w.p[0], 3), (&w.p[1], 5)]);

    // Act
    let response = w.reserve(&w.admin, w.s, &body).await;

    // Assert
    short(response, &["lines[0].quantity", "lines[2].quantity"]).await;
    assert_eq!(
        w.level(w.s, &w.p[0]).await,
        (10, 0, 10),
        "fitting line held"
    );
    assert_eq!(w.level(w.s, &w.p[1]).await, (10, 6, 4));
    let stock = w.read(&format!("/api/v1/stores/{}/stock", w.s)).await;
    let levels = stock["items"].as_array().unwrap().len();
    assert_eq!(levels, 2, "no level left behind: {stock}");
    // Exactly the available units can still be reserved.
    w.hold(w.s, &[(&w.p[1], 4)]).await;
    assert_eq!(w.level(w.s, &w.p[1]).await, (10, 10, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn a_store_that_allows_negative_stock_still_reserves_only_available_units() {
    // Arrange
    let w = world(2).await;
    let store = json!({"code": "NEG1", "name": "Negative", "currency": "KES",
        "timezone": "Africa/Nairobi", "allow_negative_stock": true});
    let store = created(w.post(&w.admin, "/api/v1/stores", &store).await).await;
    assert_eq!(store["allow_negative_stock"], true);
    let neg = StoreId::parse(id(&store)).unwrap();
    w.receive(neg, &w.p[0], 2).await;

    // Act
    let too_many = w.reserve(&w.admin, neg, &w.body(&[(&w.p[0], 3)])).await;
    let none_there = w.reserve(&w.admin, neg, &w.body(&[(&w.p[1], 1)])).await;
    w.hold(neg, &[(&w.p[0], 2)]).await;
    // The store really lets stock go below zero…
    let theft = w.adjust(neg, &w.p[0], -1, "theft").await;
    // …but a reservation still needs available units.
    let after_theft = w.reserve(&w.admin, neg, &w.body(&[(&w.p[0], 1)])).await;

    // Assert
    short(too_many, &["lines[0].quantity"]).await;
    short(none_there, &["lines[0].quantity"]).await;
    assert_eq!(theft.status().as_u16(), 201, "negative stock is allowed");
    short(after_theft, &["lines[0].quantity"]).await;
    assert_eq!(w.level(neg, &w.p[0]).await, (1, 2, -1));
    assert_eq!(w.level(neg, &w.p[1]).await, (0, 0, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn expires_at_must_be_in_the_future_and_at_most_30_days_ahead() {
    // Arrange
    let w = world(1).await;
    w.receive(w.s, &w.p[0], 100).await;
    let now = w.app.clock.now();
    let naive = (now + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S");
    let bad = [
        json!(w.at(Duration::seconds(-60))),
        json!(w.at(Duration::zero())),
        json!(w.at(Duration::days(30) + Duration::seconds(1))),
        json!(w.at(Duration::days(365))),
        json!("tomorrow"),
        json!("2030-13-01T00:00:00Z"),
        json!(naive.to_string()),
        json!(""),
        json!(1_900_000_000),
        Value::Null,
    ];

    for expires_at in bad {
        let mut body = w.body(&[(&w.p[0], 1)]);
        body["expires_at"] = expires_at.clone();

        // Act
        let response = w.reserve(&w.admin, w.s, &body).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), ["expires_at"], "{expires_at}");
    }
    let mut body = w.body(&[(&w.p[0], 1)]);
    body.as_object_mut().unwrap().remove("expires_at");
    let missing = problem(w.reserve(&w.admin, w.s, &body).await, 422).await;
    assert_eq!(error_fields(&missing), ["expires_at"]);
    assert_eq!(w.level(w.s, &w.p[0]).await, (100, 0, 100), "nothing held");
    for ahead in [Duration::seconds(1), Duration::days(30)] {
        body["expires_at"] = json!(w.at(ahead));
        created(w.reserve(&w.admin, w.s, &body).await).await;
    }
    // Another offset, the same instant.
    let east = FixedOffset::east_opt(3 * 3600).unwrap();
    let later = now + Duration::hours(2);
    body["expires_at"] = json!(later.with_timezone(&east).to_rfc3339());
    let shifted = created(w.reserve(&w.admin, w.s, &body).await).await;
    assert_eq!(instant(&shifted["expires_at"]), later);
    assert_eq!(w.level(w.s, &w.p[0]).await, (100, 3, 97));
}

#[tokio::test]
async fn invalid_lines_and_references_are_422_naming_the_field() {
    // Arrange
    let w = world(2).await;
    w.receive(w.s, &w.p[0], 10).await;
    w.receive(w.s, &w.p[1], 10).await;
    let (p0, p1) = (w.p[0].as_str(), w.p[1].as_str());
    let ghost = ProductId::new().to_string();
    let mut long = w.body(&[(p0, 1)]);
    long["reference"] = json!("r".repeat(201));
    let cases = [
        (w.body(&[]), "lines"),
        (w.body(&[(p0, 1), (p1, 1), (p0, 2)]), "lines[2].product_id"),
        (w.body(&[(p0, 1), (&ghost, 1)]), "lines[1].product_id"),
        (w.body(&[("nope", 1)]), "lines[0].product_id"),
        (w.body(&[(p0, 1), (p1, 0)]), "lines[1].quantity"),
        (w.body(&[(p0, 1_000_001)]), "lines[0].quantity"),
        (long, "reference"),
    ];

    for (body, field) in cases {
        // Act
        let response = w.reserve(&w.admin, w.s, &body).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), [field], "{body}: {problem}");
    }
    let mut unknown_field = w.body(&[(p0, 1)]);
    unknown_field["store_id"] = json!(w.s.to_string());
    problem(w.reserve(&w.admin, w.s, &unknown_field).await, 422).await;
    assert_eq!(w.level(w.s, p0).await, (10, 0, 10));
    assert_eq!(w.level(w.s, p1).await, (10, 0, 10));
}
