//! Reports (API.md "Reports"), over HTTP against a spawned server, on either engine.
//!
//! - `access`: who may read which stores (managers their own, admins all, cashiers, employees
//!   and cashier keys none), `store_id` and `currency` scoping;
//! - `validation`: dates, span, `group_by`, formats and content negotiation;
//! - `by_hand`: a weekend in an Auckland café computed by hand — every grouping of the sales
//!   report (those by line in their own test), `previous` and `change_pct`, the tax and
//!   commission reports;
//! - `dst`: sales either side of local midnight on the four daylight-saving days of 2026 in
//!   New York and London, per store and as a chain, and a Santiago day that skips midnight;
//!   shifts and stock movements cut on the same days;
//! - `property`: random sales, voids and returns in three stores and two currencies around the
//!   autumn changes, every report compared with an independent model (`model`) of the raw
//!   sales (the groupings by line in a second, smaller property), and the stored rollups with
//!   their recomputation;
//! - `exports`: CSV, XLSX, PDF and the chart read back; `export_audit`: the `report.exported`
//!   audit events;
//! - `concurrency`: racing sales and voids on one store leave exact rollups;
//! - `integrity`: replays count once, a void racing a return leaves only the winner, a void
//!   after the store changed zone leaves no trace;
//! - `stock_reports`: the shifts, inventory valuation and stock movement reports.
//!
//! [`Chain`] is the shared fixture. Its clock trick: every token is issued with the server
//! clock at the scenario's end (`Chain::end`), and an access token is refused only once the
//! clock passes its expiry, so a test may then move the clock back to any instant of its
//! scenario and ring sales there without logging in again.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_testkit::{TestApp, TestUser, json_of, spawn_app_with};
use serde_json::{Value, json};

use crate::checkout_support::{Item, Tax};
use crate::support::{assert_problem, error_fields};

mod access;
mod by_hand;
mod concurrency;
mod dst;
mod export_audit;
mod exports;
mod integrity;
mod model;
mod property;
mod stock_reports;
mod validation;

pub(crate) const SALES_REPORT: &str = "/api/v1/reports/sales";
pub(crate) const CHART: &str = "/api/v1/reports/sales/chart";
pub(crate) const TAX_REPORT: &str = "/api/v1/reports/tax";
pub(crate) const COMMISSIONS: &str = "/api/v1/reports/commissions";
pub(crate) const SHIFTS_REPORT: &str = "/api/v1/reports/shifts";
pub(crate) const VALUATION: &str = "/api/v1/reports/inventory-valuation";
pub(crate) const MOVEMENTS: &str = "/api/v1/reports/stock-movements";

/// Every report route that takes dates.
pub(crate) const DATED: [&str; 6] = [
    SALES_REPORT,
    CHART,
    TAX_REPORT,
    COMMISSIONS,
    SHIFTS_REPORT,
    MOVEMENTS,
];

/// The `group_by`s of the sales report whose rows add up whole sales, returns and payments.
pub(crate) const SALE_GROUPS: [&str; 6] = ["day", "week", "month", "store", "cashier", "tender"];

/// The `group_by`s whose rows add up sale lines and returned lines (API.md: "every amount is
/// the lines' own").
pub(crate) const LINE_GROUPS: [&str; 2] = ["product", "category"];

/// The fields of a sales report row, as API.md lists them.
pub(crate) const SALES_FIELDS: [&str; 11] = [
    "key",
    "label",
    "sales",
    "gross",
    "discounts",
    "net",
    "tax",
    "total",
    "returns",
    "refunds",
    "average_basket",
];

/// The amount fields of the sales report totals (`SALES_FIELDS` without key and label).
pub(crate) const TOTAL_FIELDS: [&str; 9] = [
    "sales",
    "gross",
    "discounts",
    "net",
    "tax",
    "total",
    "returns",
    "refunds",
    "average_basket",
];

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A fresh `Idempotency-Key`.
pub(crate) fn key() -> String {
    format!("reports-test-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

/// `YYYY-MM-DD`.
pub(crate) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// An RFC 3339 instant.
pub(crate) fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

pub(crate) fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {value}"))
        .to_owned()
}

pub(crate) fn int(value: &Value, field: &str) -> i64 {
    value[field]
        .as_i64()
        .unwrap_or_else(|| panic!("`{field}` is not an integer: {value}"))
}

/// Only `fields` of `value` (absent ones as null): a row as the contract names it, whatever
/// the server adds.
pub(crate) fn project(value: &Value, fields: &[&str]) -> Value {
    let map = fields
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                value.get(*f).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    Value::Object(map)
}

/// `project` over every row of `report[field]`.
pub(crate) fn projected_rows(report: &Value, fields: &[&str]) -> Vec<Value> {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {report}"))
        .iter()
        .map(|r| project(r, fields))
        .collect()
}

/// A store made over HTTP, with one register.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub id: String,
    pub code: String,
    pub register: String,
}

/// One server with an admin, and the helpers every report test builds its sales with.
pub(crate) struct Chain {
    pub app: TestApp,
    pub admin: String,
    /// The instant every token was issued at: after everything the test rings up.
    pub end: DateTime<Utc>,
    skus: AtomicU64,
}

impl Chain {
    /// A fresh server whose clock stands at `end` while the admin logs in.
    pub(crate) async fn new(end: DateTime<Utc>) -> Chain {
        let app = spawn_app_with(|raw| raw.login_rate_per_minute = "10000".into()).await;
        app.clock.set(end);
        let admin = app.admin_token().await;
        Chain {
            app,
            admin,
            end,
            skus: AtomicU64::new(0),
        }
    }

    /// Moves the server clock.
    pub(crate) fn at(&self, at: DateTime<Utc>) {
        assert!(at < self.end, "{at} is after the chain's end {}", self.end);
        self.app.clock.set(at);
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        idempotency: bool,
    ) -> Response {
        let mut request = self.app.authed(method, path, token);
        if idempotency {
            request = request.header("idempotency-key", key());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// `POST path body` as `token`, expecting `status`; the JSON answer.
    pub(crate) async fn post(&self, token: &str, path: &str, body: &Value, status: u16) -> Value {
        let keyed = ["/api/v1/sales", "/api/v1/returns"].contains(&path)
            || path.ends_with("/stock/adjustments");
        let response = self
            .send(Method::POST, path, token, Some(body), keyed)
            .await;
        let actual = response.status().as_u16();
        let answer = json_of(response).await;
        assert_eq!(actual, status, "POST {path} {body}: {answer}");
        answer
    }

    /// A store with one register: `inclusive` says whether its prices include tax.
    pub(crate) async fn store(
        &self,
        code: &str,
        currency: &str,
        timezone: &str,
        inclusive: bool,
    ) -> Store {
        let body = json!({"code": code, "name": format!("Store {code}"), "currency": currency,
            "timezone": timezone, "prices_include_tax": inclusive, "allow_negative_stock": false});
        let store = self.post(&self.admin, "/api/v1/stores", &body, 201).await;
        let id = id(&store);
        let register = self.register(&id, "Till 1").await;
        Store {
            id,
            code: code.to_owned(),
            register,
        }
    }

    pub(crate) async fn register(&self, store: &str, name: &str) -> String {
        let path = format!("/api/v1/stores/{store}/registers");
        id(&self
            .post(&self.admin, &path, &json!({ "name": name }), 201)
            .await)
    }

    pub(crate) async fn tax(&self, name: &str, rate: i64) -> Tax {
        let body = json!({"name": name, "rate_bp": rate});
        let class = self
            .post(&self.admin, "/api/v1/tax-classes", &body, 201)
            .await;
        Tax {
            id: id(&class),
            rate,
        }
    }

    pub(crate) async fn category(&self, name: &str) -> String {
        let body = json!({ "name": name });
        id(&self
            .post(&self.admin, "/api/v1/categories", &body, 201)
            .await)
    }

    /// A product in `category` (none when `None`).
    pub(crate) async fn product(
        &self,
        name: &str,
        price: i64,
        tax: &Tax,
        category: Option<&str>,
    ) -> Item {
        let n = self.skus.fetch_add(1, Ordering::Relaxed);
        let sku = format!("RPT-{n:04}");
        let body = json!({"sku": sku, "name": name, "price": price, "cost": price / 2,
            "tax_class_id": tax.id, "category_id": category, "low_stock_threshold": 0});
        let product = self.post(&self.admin, "/api/v1/products", &body, 201).await;
        Item {
            id: id(&product),
            sku,
            name: name.to_owned(),
            price,
            tax: tax.clone(),
        }
    }

    /// `units` of `product` received into `store`.
    pub(crate) async fn receive(&self, store: &Store, product: &Item, units: i64) {
        let path = format!("/api/v1/stores/{}/stock/adjustments", store.id);
        let body = json!({"product_id": product.id, "delta": units, "reason": "receiving"});
        self.post(&self.admin, &path, &body, 201).await;
    }

    /// A user of `role` in `stores` earning `commission_bp`, its token issued at `end`.
    pub(crate) async fn user(&self, role: &str, stores: &[&Store], commission_bp: i64) -> TestUser {
        let now = self.app.clock.now();
        self.app.clock.set(self.end);
        let ids: Vec<_> = stores
            .iter()
            .map(|s| ringup_core::ids::StoreId::parse(&s.id).unwrap())
            .collect();
        let user = self.app.create_user(role, &ids).await;
        if commission_bp != 0 {
            let path = format!("/api/v1/users/{}", user.id);
            let body = json!({ "commission_rate_bp": commission_bp });
            let response = self
                .send(Method::PATCH, &path, &self.admin, Some(&body), false)
                .await;
            assert_eq!(response.status().as_u16(), 200);
        }
        self.app.clock.set(now);
        user
    }

    /// Opens a shift on `register` as `token` (float 0).
    pub(crate) async fn open(&self, token: &str, register: &str) -> Value {
        let body = json!({"register_id": register, "opening_float": 0});
        self.post(token, "/api/v1/shifts", &body, 201).await
    }

    /// A sale rung up by `token` at `at`, which must answer 201.
    pub(crate) async fn sell_at(&self, at: DateTime<Utc>, token: &str, body: &Value) -> Value {
        self.at(at);
        self.post(token, "/api/v1/sales", body, 201).await
    }

    /// The admin voids `sale` at `at`.
    pub(crate) async fn void_at(&self, at: DateTime<Utc>, sale: &Value) -> Value {
        self.at(at);
        let path = format!("/api/v1/sales/{}/void", id(sale));
        let voided = self
            .post(&self.admin, &path, &json!({"reason": "rung up twice"}), 200)
            .await;
        assert_eq!(voided["status"], "voided", "{voided}");
        voided
    }

    /// A return made by `token` at `at`, which must answer 201.
    pub(crate) async fn return_at(&self, at: DateTime<Utc>, token: &str, body: &Value) -> Value {
        self.at(at);
        self.post(token, "/api/v1/returns", body, 201).await
    }

    /// GET `path?query` as `token`.
    pub(crate) async fn get(&self, token: &str, path: &str, query: &[(&str, &str)]) -> Response {
        let request = self.app.authed(Method::GET, path, token).query(query);
        request.send().await.unwrap()
    }

    /// A report as `token`, which must answer 200 JSON.
    pub(crate) async fn report(&self, token: &str, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self.get(token, path, query).await;
        let status = response.status().as_u16();
        let body = json_of(response).await;
        assert_eq!(status, 200, "GET {path} {query:?}: {body}");
        body
    }

    /// A report as the admin.
    pub(crate) async fn admin_report(&self, path: &str, query: &[(&str, &str)]) -> Value {
        self.report(&self.admin, path, query).await
    }

    /// A request that must be a 422 problem; the `field`s of its errors.
    pub(crate) async fn invalid(
        &self,
        token: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Vec<String> {
        let response = self.get(token, path, query).await;
        let problem = assert_problem(response, 422, path).await;
        error_fields(&problem)
    }

    /// The `report.exported` audit events, oldest first.
    pub(crate) async fn exports_audited(&self) -> Vec<Value> {
        let query = [("action", "report.exported"), ("limit", "200")];
        let page = self
            .report(&self.admin, "/api/v1/audit-events", &query)
            .await;
        assert!(page["next_cursor"].is_null(), "{page}");
        let mut items = page["items"].as_array().unwrap().clone();
        items.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
        items
    }
}

/// A sale body on `shift`.
pub(crate) fn sale_body(shift: &Value, lines: Vec<Value>, payments: Vec<Value>) -> Value {
    json!({"store_id": shift["store_id"], "register_id": shift["register_id"],
        "shift_id": shift["id"], "customer_id": null, "lines": lines, "payments": payments})
}

/// A return body made at `register` (the sale's when `None`).
pub(crate) fn return_body(
    sale: &Value,
    register: Option<&str>,
    lines: &[(usize, i64)],
    refunds: Vec<Value>,
) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(i, q)| json!({"sale_line_id": sale["lines"][*i]["id"], "quantity": q, "restock": true}))
        .collect();
    let mut body = json!({"sale_id": sale["id"], "lines": lines, "refunds": refunds, "reason": "changed mind"});
    if let Some(register) = register {
        body["register_id"] = json!(register);
    }
    body
}

/// Asserts that `report` (a sales report of `group`) says what `want` says: rows in order,
/// totals, previous and change_pct (numbers compared as numbers).
pub(crate) fn assert_sales(
    report: &Value,
    want: &model::Expected,
    group: model::Group,
    context: &str,
) {
    let labelled = matches!(
        group,
        model::Group::Store
            | model::Group::Cashier
            | model::Group::Product
            | model::Group::Category
    );
    let mut rows = projected_rows(report, &SALES_FIELDS);
    if !labelled {
        for row in &mut rows {
            row["label"] = Value::Null;
        }
    }
    assert_eq!(
        rows,
        want.rows,
        "{context}: rows of {group:?}\n got: {}\nwant: {}",
        Value::Array(rows.clone()),
        Value::Array(want.rows.clone())
    );
    assert_eq!(
        project(&report["totals"], &TOTAL_FIELDS),
        want.totals,
        "{context}: totals of {group:?}"
    );
    assert_eq!(
        project(&report["previous"], &TOTAL_FIELDS),
        want.previous,
        "{context}: previous of {group:?}"
    );
    assert_change(&report["change_pct"], &want.change_pct, context);
}

/// change_pct field by field: both null, or the same number.
pub(crate) fn assert_change(got: &Value, want: &Value, context: &str) {
    for field in TOTAL_FIELDS {
        let (g, w) = (&got[field], &want[field]);
        let same = match (g.as_f64(), w.as_f64()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => g.is_null() && w.is_null(),
            _ => false,
        };
        assert!(
            same,
            "{context}: change_pct.{field} is {g}, want {w} (all: {got})"
        );
    }
}

/// Rows sorted by `keys` and projected on `fields`.
pub(crate) fn sorted_rows(report: &Value, fields: &[&str], keys: &[&str]) -> Vec<Value> {
    let mut rows = projected_rows(report, fields);
    rows.sort_by_key(|r| keys.iter().map(|k| r[*k].to_string()).collect::<Vec<_>>());
    rows
}
