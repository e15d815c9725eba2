//! Transfers (stock-design.md "Transfers"): stock moving between two stores through
//! `requested → approved → received` (or `rejected`, or `cancelled`). Creating checks no stock;
//! the source's managers approve (stock leaves as `transfer_out`, 409 naming every short line)
//! or reject; the destination's staff receive (`transfer_in`); every other transition is 409;
//! cashiers have no part; a transfer neither of whose stores the caller sees is 404; racing
//! approvals move the stock once.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::join_all;
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::{ProductId, StoreId};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header, is_uuid_v7};

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
        let now = ringup_store::platform::time::to_db(self.app.clock.now());
        let checked = ringup_store::stock::check_ledger(&self.app.db, &now).await;
        let (_, offences) = checked.unwrap();
        assert!(offences.is_empty(), "{offences:?}");
    }
}

#[tokio::test]
async fn a_manager_requests_a_transfer_without_any_stock_check() {
    // Arrange
    let w = world(2).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let mut body = w.body(w.a, w.b, &[(1, 7), (0, 1_000_000)]);
    body["note"] = json!("for the weekend");

    // Act
    let transfer = created(&w.app, &manager.token, TRANSFERS, &body).await;

    // Assert
    assert!(is_uuid_v7(id(&transfer)), "{transfer}");
    assert_eq!(transfer["status"], "requested");
    assert_eq!(transfer["from_store_id"], w.a.to_string());
    assert_eq!(transfer["to_store_id"], w.b.to_string());
    assert_eq!(transfer["lines"], body["lines"], "lines echoed in order");
    assert_eq!(transfer["note"], "for the weekend");
    assert_eq!(transfer["requested_by"], manager.id.as_str());
    let unset = "approved_by received_by rejected_by reject_reason cancelled_by approved_at \
        received_at rejected_at cancelled_at";
    for field in unset.split_whitespace() {
        assert_eq!(transfer[field], Value::Null, "{field}: {transfer}");
    }
    assert!(transfer["created_at"].is_string() && transfer["updated_at"].is_string());
    let fetched = json_of(w.get(&manager.token, &transfer).await).await;
    assert_eq!(fetched, transfer);
    assert!(w.movements("transfer_out").await.is_empty());
    assert_eq!(w.qty(w.a, 0).await, None, "creating moves no stock");
}

#[tokio::test]
async fn creating_needs_an_idempotency_key_and_a_repeat_is_replayed() {
    // Arrange
    let w = world(1).await;
    let body = w.body(w.a, w.b, &[(0, 2)]);
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(3);

    // Act
    let missing = w.create(&w.admin, &body, None).await;
    let first = w.create(&w.admin, &body, Some("t-1")).await;
    let again = w.create(&w.admin, &body, Some("t-1")).await;
    let changed = w.create(&w.admin, &other, Some("t-1")).await;

    // Assert
    let missing = problem(missing, 422).await;
    assert_eq!(error_fields(&missing), ["Idempotency-Key"]);
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(again.status().as_u16(), 201);
    let replayed = header(&again, "idempotent-replayed");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(json_of(first).await, json_of(again).await);
    let changed = problem(changed, 422).await;
    assert_eq!(error_fields(&changed), ["Idempotency-Key"]);
    assert_eq!(w.list(&w.admin, "").await.len(), 1, "one transfer made");
}

#[tokio::test]
async fn invalid_requests_are_422_naming_the_field() {
    // Arrange
    let w = world(2).await;
    let c = w.app.create_store("OTHC").await;
    let outsider = w.app.create_user("manager", &[c]).await.token;
    let (admin, ghost) = (w.admin.as_str(), StoreId::new());
    let (p0, p1) = (w.p[0].as_str(), w.p[1].as_str());
    let unknown = ProductId::new().to_string();
    let l = |p: &str, q: i64| json!({"product_id": p, "quantity": q});
    let wl = |lines: Value| {
        let mut body = w.body(w.a, w.b, &[]);
        body["lines"] = lines;
        body
    };
    let cases = [
        (admin, w.body(w.a, w.a, &[(0, 1)]), "to_store_id"),
        (admin, w.body(ghost, w.b, &[(0, 1)]), "from_store_id"),
        (admin, w.body(w.a, ghost, &[(0, 1)]), "to_store_id"),
        (&*outsider, w.body(w.a, w.b, &[(0, 1)]), "from_store_id"),
        (
            admin,
            wl(json!([l(p0, 1), l(&unknown, 1)])),
            "lines[1].product_id",
        ),
        (
            admin,
            wl(json!([l("not-a-uuid", 1)])),
            "lines[0].product_id",
        ),
        (
            admin,
            wl(json!([l(p0, 1), l(p1, 2), l(p0, 3)])),
            "lines[2].product_id",
        ),
        (admin, wl(json!([l(p0, 1), l(p1, 0)])), "lines[1].quantity"),
        (admin, wl(json!([l(p0, -1)])), "lines[0].quantity"),
        (admin, wl(json!([l(p0, 1_000_001)])), "lines[0].quantity"),
        (admin, wl(json!([])), "lines"),
    ];

    for (token, body, field) in cases {
        // Act
        let response = w.create(token, &body, Some(&key())).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), [field], "{body}: {problem}");
    }
    assert!(w.list(&w.admin, "").await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn cashiers_have_no_part_in_transfers() {
    // Arrange
    let w = world(1).await;
    let cashier = w.app.create_user("cashier", &[w.a, w.b]).await.token;
    let transfer = w.request(&w.admin, &[(0, 1)]).await;
    let body = w.body(w.a, w.b, &[(0, 1)]);

    // Act
    let create = w.create(&cashier, &body, Some(&key())).await;
    let list = send(&w.app, Method::GET, TRANSFERS, &cashier, None, None).await;
    let get = w.get(&cashier, &transfer).await;
    let cancel = w.act(&cashier, &transfer, "cancel").await;
    let approve = w.act(&cashier, &transfer, "approve").await;

    // Assert
    for response in [create, list, get, cancel, approve] {
        problem(response, 403).await;
    }
    assert_eq!(w.list(&w.admin, "").await.len(), 1);
    assert_eq!(w.status(&transfer).await, "requested");
}

#[tokio::test]
async fn an_employee_requests_but_only_the_source_manager_approves_or_rejects() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_b = w.app.create_user("manager", &[w.b]).await.token;

    // Act
    let transfer = w.request(&employee_b.token, &[(0, 2)]).await;
    let denied = [
        w.act(&employee_b.token, &transfer, "approve").await,
        w.act(&employee_a, &transfer, "approve").await,
        w.act(&manager_b, &transfer, "approve").await,
        w.act(&manager_b, &transfer, "reject").await,
        w.act(&employee_a, &transfer, "reject").await,
    ];

    // Assert
    assert_eq!(transfer["requested_by"], employee_b.id.as_str());
    for response in denied {
        problem(response, 403).await;
    }
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
}

#[tokio::test]
async fn approving_moves_the_stock_out_of_the_source() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 4).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let transfer = w.request(&w.admin, &[(1, 4), (0, 3)]).await;

    // Act
    let approved = w.act_ok(&manager.token, &transfer, "approve").await;

    // Assert
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_by"], manager.id.as_str());
    assert!(approved["approved_at"].is_string(), "{approved}");
    assert_eq!(approved["lines"], transfer["lines"]);
    let out = w.movements("transfer_out").await;
    assert_eq!(out.len(), 2, "{out:?}");
    for (p, q) in [(1, 4), (0, 3)] {
        let m = out.iter().find(|m| m["product_id"] == w.p[p]).unwrap();
        assert_eq!(m["delta"], -q, "{m}");
        assert_eq!(m["store_id"], w.a.to_string());
        assert_eq!(m["ref_type"], "transfer");
        assert_eq!(m["ref_id"], transfer["id"]);
        assert_eq!(m["actor_id"], manager.id.as_str());
    }
    assert_eq!(w.qty(w.a, 0).await, Some(7));
    assert_eq!(w.qty(w.a, 1).await, Some(0));
    assert_eq!(w.qty(w.b, 0).await.unwrap_or(0), 0, "not arrived");
    assert!(w.movements("transfer_in").await.is_empty());
    w.assert_ledger().await;
}

#[tokio::test]
async fn approving_a_short_transfer_is_409_naming_every_short_line_and_changes_nothing() {
    // Arrange
    let w = world(3).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 5).await;
    // Lines in another order than the products' ids: errors name body positions.
    let transfer = w.request(&w.admin, &[(2, 1), (0, 3), (1, 6)]).await;

    // Act
    let response = w.act(&w.admin, &transfer, "approve").await;

    // Assert
    let problem = conflict(response, "insufficient-stock").await;
    let fields = error_fields(&problem);
    assert_eq!(fields, ["lines[0].quantity", "lines[2].quantity"]);
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(10), "fitting line unmoved");
    assert_eq!(w.qty(w.a, 1).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
    let stock = w.read(&format!("/api/v1/stores/{}/stock", w.a)).await;
    let levels = stock["items"].as_array().unwrap().len();
    assert_eq!(levels, 2, "no new level: {stock}");
    w.assert_ledger().await;
}

#[tokio::test]
async fn a_manager_of_neither_store_gets_404() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let c = w.app.create_store("OTHC").await;
    let outsider = w.app.create_user("manager", &[c]).await.token;
    let transfer = w.request(&w.admin, &[(0, 2)]).await;

    // Act
    let mut responses = vec![w.get(&outsider, &transfer).await];
    for action in ["approve", "reject", "receive", "cancel"] {
        responses.push(w.act(&outsider, &transfer, action).await);
    }

    // Assert
    for response in responses {
        problem(response, 404).await;
    }
    assert!(w.list(&outsider, "").await.is_empty());
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(5));
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_moves_no_stock() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let transfer = w.request(&w.admin, &[(0, 2)]).await;
    let path = format!("{TRANSFERS}/{}/reject", id(&transfer));
    let reject = |body: Value| {
        let (app, path, token) = (&w.app, path.clone(), manager.token.clone());
        async move { send(app, Method::POST, &path, &token, Some(&body), None).await }
    };
    let long = "x".repeat(501);

    // Act
    let mut refused = Vec::new();
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": " "}),
        json!({"reason": long}),
    ] {
        refused.push(reject(body).await);
    }
    let rejected = reject(json!({"reason": "we need them here"})).await;

    // Assert
    for response in refused {
        assert_eq!(error_fields(&problem(response, 422).await), ["reason"]);
    }
    assert_eq!(rejected.status().as_u16(), 200);
    let rejected = json_of(rejected).await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "we need them here");
    assert_eq!(rejected["rejected_by"], manager.id.as_str());
    assert!(rejected["rejected_at"].is_string());
    assert_eq!(rejected["approved_by"], Value::Null);
    assert_eq!(w.qty(w.a, 0).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
}

#[tokio::test]
async fn the_destination_receives_and_the_stock_enters_it() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 10).await;
    w.receive(w.b, &w.p[0], 1).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_a = w.app.create_user("manager", &[w.a]).await.token;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let transfer = w.request(&w.admin, &[(0, 3), (1, 2)]).await;
    w.act_ok(&manager_a, &transfer, "approve").await;

    // Act
    let by_source_employee = w.act(&employee_a, &transfer, "receive").await;
    let by_source_manager = w.act(&manager_a, &transfer, "receive").await;
    let received = w.act_ok(&employee_b.token, &transfer, "receive").await;

    // Assert
    problem(by_source_employee, 403).await;
    problem(by_source_manager, 403).await;
    assert_eq!(received["status"], "received");
    assert_eq!(received["received_by"], employee_b.id.as_str());
    assert!(received["received_at"].is_string() && received["approved_at"].is_string());
    let incoming = w.movements("transfer_in").await;
    assert_eq!(incoming.len(), 2, "{incoming:?}");
    for (p, q) in [(0, 3), (1, 2)] {
        let m = incoming.iter().find(|m| m["product_id"] == w.p[p]).unwrap();
        assert_eq!(m["delta"], q, "{m}");
        assert_eq!(m["store_id"], w.b.to_string());
        assert_eq!(m["ref_type"], "transfer");
        assert_eq!(m["ref_id"], transfer["id"]);
    }
    assert_eq!(w.qty(w.b, 0).await, Some(4));
    assert_eq!(w.qty(w.b, 1).await, Some(2));
    assert_eq!(w.qty(w.a, 0).await, Some(7), "left the source once");
    assert_eq!(w.qty(w.a, 1).await, Some(8));
    w.assert_ledger().await;
}

#[tokio::test]
async fn the_requester_or_a_manager_cancels_only_while_requested() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 10).await;
    let requester = w.app.create_user("employee", &[w.b]).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_b = w.app.create_user("manager", &[w.b]).await.token;
    let first = w.request(&requester.token, &[(0, 1)]).await;
    let second = w.request(&requester.token, &[(0, 2)]).await;
    let third = w.request(&employee_a, &[(0, 3)]).await;

    // Act
    let not_requester = w.act(&employee_a, &first, "cancel").await;
    let cancelled = w.act_ok(&requester.token, &first, "cancel").await;
    let by_manager = w.act_ok(&manager_b, &third, "cancel").await;
    w.act_ok(&w.admin, &second, "approve").await;
    let too_late = w.act(&requester.token, &second, "cancel").await;

    // Assert
    problem(not_requester, 403).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelled_by"], requester.id.as_str());
    assert!(cancelled["cancelled_at"].is_string());
    assert_eq!(by_manager["status"], "cancelled");
    conflict(too_late, "invalid-transition").await;
    assert_eq!(w.status(&second).await, "approved");
    assert_eq!(w.qty(w.a, 0).await, Some(8), "only the approved one moved");
}

#[tokio::test]
async fn every_transition_the_state_machine_does_not_allow_is_409() {
    // Arrange: one transfer in every status; the admin may do anything.
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 100).await;
    let mut made = Vec::new();
    for (quantity, steps) in [
        (1, &[][..]),
        (2, &["approve"][..]),
        (3, &["approve", "receive"][..]),
        (4, &["reject"][..]),
        (5, &["cancel"][..]),
    ] {
        let transfer = w.request(&w.admin, &[(0, quantity)]).await;
        for step in steps {
            w.act_ok(&w.admin, &transfer, step).await;
        }
        made.push(transfer);
    }
    let all = ["approve", "reject", "receive", "cancel"];
    let cases: [(&str, &[&str]); 5] = [
        ("requested", &["receive"]),
        ("approved", &["approve", "reject", "cancel"]),
        ("received", &all),
        ("rejected", &all),
        ("cancelled", &all),
    ];

    for (transfer, (status, actions)) in made.iter().zip(cases) {
        for action in actions {
            // Act
            let response = w.act(&w.admin, transfer, action).await;

            // Assert
            conflict(response, "invalid-transition").await;
            assert_eq!(w.status(transfer).await, status, "{action} on {status}");
        }
    }
    assert_eq!(w.movements("transfer_out").await.len(), 2);
    assert_eq!(w.movements("transfer_in").await.len(), 1);
    assert_eq!(w.qty(w.a, 0).await, Some(95));
    assert_eq!(w.qty(w.b, 0).await, Some(3));
    w.assert_ledger().await;
}

#[tokio::test]
async fn lists_filter_by_status_and_store_and_show_only_the_callers_stores() {
    // Arrange: A→B approved, B→C requested, C→A requested.
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let c = w.app.create_store("OTHC").await;
    let ab = w.request(&w.admin, &[(0, 1)]).await;
    w.act_ok(&w.admin, &ab, "approve").await;
    let bc = created(&w.app, &w.admin, TRANSFERS, &w.body(w.b, c, &[(0, 1)])).await;
    let ca = created(&w.app, &w.admin, TRANSFERS, &w.body(c, w.a, &[(0, 1)])).await;
    let (ab, bc, ca) = (id(&ab), id(&bc), id(&ca));
    let manager_a = w.app.create_user("manager", &[w.a]).await.token;
    let employee_b = w.app.create_user("employee", &[w.b]).await.token;
    let bad = format!("{TRANSFERS}?status=lost");

    // Act
    let everything = w.list(&w.admin, "").await;
    let requested = w.list(&w.admin, "status=requested").await;
    let approved = w.list(&w.admin, "status=approved").await;
    let touching_b = w.list(&w.admin, &format!("store_id={}", w.b)).await;
    let c_requested = w
        .list(&w.admin, &format!("store_id={c}&status=requested"))
        .await;
    let seen_by_a = w.list(&manager_a, "").await;
    let seen_by_b = w.list(&employee_b, "").await;
    let a_requested = w.list(&manager_a, "status=requested").await;
    let bad_status = send(&w.app, Method::GET, &bad, &w.admin, None, None).await;

    // Assert
    assert_eq!(everything, [ab, bc, ca], "oldest first");
    assert_eq!(requested, [bc, ca]);
    assert_eq!(approved, [ab]);
    assert_eq!(touching_b, [ab, bc]);
    assert_eq!(c_requested, [bc, ca]);
    assert_eq!(seen_by_a, [ab, ca]);
    assert_eq!(seen_by_b, [ab, bc]);
    assert_eq!(a_requested, [ca]);
    assert_eq!(error_fields(&problem(bad_status, 422).await), ["status"]);
}

#[tokio::test]
async fn ten_concurrent_approvals_move_the_stock_exactly_once() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 50).await;
    w.receive(w.a, &w.p[1], 50).await;
    let manager = w.app.create_user("manager", &[w.a]).await.token;
    let transfer = w.request(&w.admin, &[(0, 5), (1, 7)]).await;

    // Act
    let responses = join_all((0..10).map(|_| w.act(&manager, &transfer, "approve"))).await;

    // Assert
    let mut approved = 0;
    for response in responses {
        if response.status().as_u16() == 200 {
            approved += 1;
        } else {
            conflict(response, "invalid-transition").await;
        }
    }
    assert_eq!(approved, 1);
    assert_eq!(w.status(&transfer).await, "approved");
    assert_eq!(w.movements("transfer_out").await.len(), 2);
    assert_eq!(w.qty(w.a, 0).await, Some(45));
    assert_eq!(w.qty(w.a, 1).await, Some(43));
    w.assert_ledger().await;
}

#[tokio::test]
async fn two_transfers_racing_for_the_last_units_approve_at_most_one() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let manager = w.app.create_user("manager", &[w.a]).await.token;
    let first = w.request(&w.admin, &[(0, 4)]).await;
    let second = w.request(&w.admin, &[(0, 3)]).await;

    // Act
    let (one, two) = tokio::join!(
        w.act(&manager, &first, "approve"),
        w.act(&manager, &second, "approve")
    );

    // Assert
    let mut approved = 0;
    for (transfer, response) in [(&first, one), (&second, two)] {
        if response.status().as_u16() == 200 {
            approved += 1;
            assert_eq!(w.status(transfer).await, "approved");
        } else {
            let problem = conflict(response, "insufficient-stock").await;
            assert_eq!(error_fields(&problem), ["lines[0].quantity"]);
            assert_eq!(w.status(transfer).await, "requested");
        }
    }
    assert_eq!(approved, 1, "exactly one of them fits");
    let left = w.qty(w.a, 0).await.unwrap();
    assert!(left == 1 || left == 2, "left {left}");
    assert_eq!(w.movements("transfer_out").await.len(), 1);
    w.assert_ledger().await;
}

#[tokio::test]
async fn who_may_reject_is_decided_before_the_reason_is_read() {
    // Arrange
    let w = world(1).await;
    let cashier = w.app.create_user("cashier", &[w.a, w.b]).await.token;
    let outsider_store = w.app.create_store("OUT1").await;
    let outsider = w.app.create_user("manager", &[outsider_store]).await.token;
    let transfer = w.request(&w.admin, &[(0, 1)]).await;
    let path = format!("{TRANSFERS}/{}/reject", id(&transfer));
    let empty = json!({"reason": ""});

    // Act
    let by_cashier = send(&w.app, Method::POST, &path, &cashier, Some(&empty), None).await;
    let by_outsider = send(&w.app, Method::POST, &path, &outsider, Some(&empty), None).await;
    let by_admin = send(&w.app, Method::POST, &path, &w.admin, Some(&empty), None).await;

    // Assert
    problem(by_cashier, 403).await;
    problem(by_outsider, 404).await;
    let invalid = problem(by_admin, 422).await;
    assert_eq!(error_fields(&invalid), ["reason"]);
    assert_eq!(w.status(&transfer).await, "requested");
}

#[tokio::test]
async fn approval_needs_available_stock_even_where_the_source_may_go_negative() {
    // Arrange
    let w = world(1).await;
    let store = json!({"code": "NEG1", "name": "Negative", "currency": "KES",
        "timezone": "Africa/Nairobi", "allow_negative_stock": true});
    let negative = created(&w.app, &w.admin, "/api/v1/stores", &store).await;
    let source = StoreId::parse(id(&negative)).unwrap();
    w.receive(source, &w.p[0], 1).await;
    let body = w.body(source, w.b, &[(0, 5)]);
    let transfer = json_of(w.create(&w.admin, &body, Some(&key())).await).await;

    // Act
    let approve = w.act(&w.admin, &transfer, "approve").await;

    // Assert
    let problem = conflict(approve, "insufficient-stock").await;
    assert_eq!(error_fields(&problem), ["lines[0].quantity"]);
    assert_eq!(w.qty(source, 0).await, Some(1));
    assert_eq!(w.status(&transfer).await, "requested");
}

#[tokio::test]
async fn every_step_is_audited_by_its_actor_on_the_store_it_happens_in() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 10).await;
    let manager_a = w.app.create_user("manager", &[w.a]).await;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let received = w.request(&employee_b.token, &[(0, 3), (1, 2)]).await;
    let rejected = w.request(&employee_b.token, &[(0, 1)]).await;
    let cancelled = w.request(&employee_b.token, &[(1, 1)]).await;

    // Act
    w.act_ok(&manager_a.token, &received, "approve").await;
    w.act_ok(&employee_b.token, &received, "receive").await;
    w.act_ok(&manager_a.token, &rejected, "reject").await;
    w.act_ok(&employee_b.token, &cancelled, "cancel").await;

    // Assert
    let w = &w;
    let audited = |action: &'static str| async move {
        let path = format!("/api/v1/audit-events?limit=200&action={action}");
        w.read(&path).await["items"].as_array().unwrap().clone()
    };
    let requested = audited("transfer.requested").await;
    assert_eq!(requested.len(), 3, "{requested:?}");
    let first = &requested[0];
    assert_eq!(first["actor_id"], employee_b.id.as_str());
    assert_eq!(first["target_type"], "transfer");
    assert_eq!(first["target_id"], received["id"]);
    assert_eq!(first["store_id"], w.a.to_string(), "on the source's chain");
    let lines =
        json!([{"product_id": w.p[0], "quantity": 3}, {"product_id": w.p[1], "quantity": 2}]);
    assert_eq!(
        first["details"],
        json!({"from_store_id": w.a.to_string(), "to_store_id": w.b.to_string(), "lines": lines})
    );
    for (action, transfer, actor, store, details) in [
        (
            "transfer.approved",
            &received,
            &manager_a,
            w.a,
            json!({"from": "requested", "reason": null}),
        ),
        (
            "transfer.received",
            &received,
            &employee_b,
            w.b,
            json!({"from": "approved", "reason": null}),
        ),
        (
            "transfer.rejected",
            &rejected,
            &manager_a,
            w.a,
            json!({"from": "requested", "reason": "not needed"}),
        ),
        (
            "transfer.cancelled",
            &cancelled,
            &employee_b,
            w.a,
            json!({"from": "requested", "reason": null}),
        ),
    ] {
        let events = audited(action).await;
        assert_eq!(events.len(), 1, "{action}: {events:?}");
        let event = &events[0];
        assert_eq!(event["actor_id"], actor.id.as_str(), "{action}");
        assert_eq!(event["target_type"], "transfer", "{action}");
        assert_eq!(event["target_id"], transfer["id"], "{action}");
        assert_eq!(event["store_id"], store.to_string(), "{action}");
        assert_eq!(event["details"], details, "{action}");
    }
}
