//! The authorization matrix: one table of route × caller → expected status,
//! driven against a real server. Every operation in the OpenAPI document must have a row, so a
//! new route without a rule fails the suite; every row must name a documented route, so the
//! table cannot go stale.
//!
//! Bodies are valid wherever the caller is allowed, so an allowed caller gets the route's
//! success status and a refused one its 401/403 — never a 422 that would hide which rule
//! answered. Rows that spend something (a refresh token, a reset token, an API key, the
//! caller's own sessions) get a fresh one per request, so the rows are independent of their
//! order.
//!
//! Later capabilities add their routes here, in the same table.

use std::collections::BTreeSet;

use reqwest::Method;
use ringup_core::clock::Clock;
use ringup_core::ids::{StoreId, UserId};
use ringup_core::tokens::hash_token;
use ringup_testkit::{TestApp, USER_PASSWORD, json_of, spawn_app_with};

use crate::support::documented_operations;
use serde_json::{Value, json};

/// A random suffix for unique SKUs.
fn uuid_suffix() -> String {
    StoreId::new().to_string().replace('-', "")
}

/// A tax class written through SQL (the matrix needs one before any caller acts).
async fn insert_tax_class(app: &TestApp) -> String {
    let id = ringup_core::ids::TaxClassId::new().to_string();
    let now = ringup_store::platform::time::to_db(app.clock.now());
    let mut tx = app.db.begin_write().await.unwrap();
    sqlx::query(
        "insert into tax_classes (id, name, rate_bp, created_at, updated_at) \
         values ($1, $2, 1600, $3, $3)",
    )
    .bind(&id)
    .bind(format!("VAT {id}"))
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A product written through SQL, so rows that archive one get their own.
async fn insert_product(app: &TestApp, tax_class: &str, sku: &str) -> String {
    let id = ringup_core::ids::ProductId::new().to_string();
    let now = ringup_store::platform::time::to_db(app.clock.now());
    let mut tx = app.db.begin_write().await.unwrap();
    sqlx::query(
        "insert into products (id, sku, sku_key, barcode, name, name_key, category_id, price, \
         cost, tax_class_id, low_stock_threshold, active, created_at, updated_at) \
         values ($1, $2, $3, null, $4, $5, null, 1000, 600, $6, 0, 1, $7, $7)",
    )
    .bind(&id)
    .bind(sku)
    .bind(sku.to_uppercase())
    .bind(format!("Matrix item {sku}"))
    .bind(format!("matrix item {}", sku.to_lowercase()))
    .bind(tax_class)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Who calls, in the order of each row's `expect` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Admin,
    Manager,
    Cashier,
    Employee,
    /// No `Authorization` header at all.
    Anonymous,
    /// An API key with role `cashier` in store A.
    CashierKey,
}

const CALLERS: [Caller; 6] = [
    Caller::Admin,
    Caller::Manager,
    Caller::Cashier,
    Caller::Employee,
    Caller::Anonymous,
    Caller::CashierKey,
];

/// What `{id}` in a row's path stands for.
#[derive(Clone, Copy, Debug)]
enum Id {
    None,
    /// A cashier of store A (a user every manager of A may see and manage).
    StaffUser,
    /// An API key issued for this request.
    FreshApiKey,
    /// Store A, the store of every non-admin caller.
    StoreA,
    /// A product every caller may read.
    Product,
    /// A product made for this request (rows that archive it).
    FreshProduct,
    /// A transfer from store A to store B, requested by the admin for this request.
    FreshTransfer,
    /// A transfer from store B to store A, approved for this request.
    ApprovedTransfer,
    /// Store A (`{id}`) and a reservation there made for this request (`{rid}`).
    FreshReservation,
    /// A shift the matrix cashier opened on a fresh register of store A for this request.
    FreshShift,
    /// A sale on the matrix cashier's shared shift, made once.
    Sale,
    /// A sale made for this request (rows that void it).
    FreshSale,
    /// A return made once against `Sale`.
    Return,
    /// A customer made once.
    Customer,
}

/// A row's request body.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    /// JSON text with `{store}` (store A's id), `{store_b}`, `{product}`, `{expires}` (a day
    /// ahead), `{login}` (the login user's name) and `{n}` (a number unique to the request)
    /// replaced.
    Json(&'static str),
    /// `{"refresh_token"}` of a session opened for this request.
    FreshRefreshToken,
    /// `{"token","new_password"}` with a reset token issued for this request.
    FreshResetToken,
    /// `{"current_password","new_password"}`. The caller is a user of the column's role made
    /// for this request, since a password change ends all of that user's sessions.
    OwnPasswordChange,
    /// `{"register_id","opening_float"}` with a register made for this request.
    FreshRegisterShift,
    /// A one-line sale on the matrix cashier's shared shift.
    SaleOnSharedShift,
    /// A full return of a sale made for this request.
    FreshReturn,
}

struct Row {
    method: Method,
    path: &'static str,
    id: Id,
    body: Body,
    /// admin, manager, cashier, employee, anonymous, cashier API key.
    expect: [u16; 6],
}

const NEW_PASSWORD: &str = "Velvet-Harbor-Quince-93";

fn rows() -> Vec<Row> {
    use Body::{FreshRefreshToken, FreshResetToken, Json, OwnPasswordChange};
    const GET: Method = Method::GET;
    const POST: Method = Method::POST;
    const PATCH: Method = Method::PATCH;
    const DELETE: Method = Method::DELETE;
    let row = |expect, method, path, id, body| Row {
        method,
        path,
        id,
        body,
        expect,
    };
    #[rustfmt::skip]
    let rows = vec![
        //  admin mgr  cash empl anon key
        // Operations: public.
        row([200, 200, 200, 200, 200, 200], GET, "/healthz", Id::None, Body::None),
        row([200, 200, 200, 200, 200, 200], GET, "/readyz", Id::None, Body::None),
        row([200, 200, 200, 200, 200, 200], GET, "/metrics", Id::None, Body::None),
        row([200, 200, 200, 200, 200, 200], GET, "/api/v1/openapi.json", Id::None, Body::None),
        // Auth: the body is the credential, whoever sends it.
        row([200, 200, 200, 200, 200, 200], POST, "/api/v1/auth/login", Id::None,
            Json(r#"{"username":"{login}","password":"Quartz-Lantern-Orbit-77"}"#)),
        row([200, 200, 200, 200, 200, 200], POST, "/api/v1/auth/refresh", Id::None, FreshRefreshToken),
        row([204, 204, 204, 204, 204, 204], POST, "/api/v1/auth/logout", Id::None, FreshRefreshToken),
        row([204, 204, 204, 204, 401, 403], POST, "/api/v1/auth/password", Id::None, OwnPasswordChange),
        row([202, 202, 202, 202, 202, 202], POST, "/api/v1/auth/password-reset/request", Id::None,
            Json(r#"{"email":"nobody.{n}@example.com"}"#)),
        row([204, 204, 204, 204, 204, 204], POST, "/api/v1/auth/password-reset/confirm", Id::None,
            FreshResetToken),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/me", Id::None, Body::None),
        // Users: admins; managers for cashiers and employees of their stores.
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/users", Id::None, Body::None),
        row([201, 201, 403, 403, 401, 403], POST, "/api/v1/users", Id::None,
            Json(r#"{"username":"matrix.{n}","email":"matrix.{n}@example.com",
                     "password":"Quartz-Lantern-Orbit-77","role":"cashier","store_ids":["{store}"]}"#)),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/users/{id}", Id::StaffUser, Body::None),
        row([200, 200, 403, 403, 401, 403], PATCH, "/api/v1/users/{id}", Id::StaffUser,
            Json(r#"{"commission_rate_bp":100}"#)),
        // API keys: admins only.
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/api-keys", Id::None, Body::None),
        row([201, 403, 403, 403, 401, 403], POST, "/api/v1/api-keys", Id::None,
            Json(r#"{"name":"matrix {n}","tier":"free","role":"cashier","store_ids":["{store}"]}"#)),
        row([204, 403, 403, 403, 401, 403], DELETE, "/api/v1/api-keys/{id}", Id::FreshApiKey, Body::None),
        // Audit: admins and managers read (managers their stores' events); admins verify.
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/audit-events", Id::None, Body::None),
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/audit-events/verify", Id::None, Body::None),
        // Stores: everyone sees their own; admins create and change them; admins and the
        // store's managers add registers.
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/stores", Id::None, Body::None),
        row([201, 403, 403, 403, 401, 403], POST, "/api/v1/stores", Id::None,
            Json(r#"{"code":"M{n}","name":"Matrix {n}","currency":"KES","timezone":"Africa/Nairobi"}"#)),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/stores/{id}", Id::StoreA, Body::None),
        row([200, 403, 403, 403, 401, 403], PATCH, "/api/v1/stores/{id}", Id::StoreA,
            Json(r#"{"name":"Store A {n}"}"#)),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/stores/{id}/registers", Id::StoreA, Body::None),
        row([201, 201, 403, 403, 401, 403], POST, "/api/v1/stores/{id}/registers", Id::StoreA,
            Json(r#"{"name":"Till {n}"}"#)),
        // Catalog classes: everyone authenticated lists; admins and managers create.
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/tax-classes", Id::None, Body::None),
        row([201, 201, 403, 403, 401, 403], POST, "/api/v1/tax-classes", Id::None,
            Json(r#"{"name":"Tax {n}","rate_bp":1600}"#)),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/categories", Id::None, Body::None),
        row([201, 201, 403, 403, 401, 403], POST, "/api/v1/categories", Id::None,
            Json(r#"{"name":"Category {n}"}"#)),
        // Products: everyone authenticated reads; admins and managers create, change, archive.
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/products", Id::None, Body::None),
        row([201, 201, 403, 403, 401, 403], POST, "/api/v1/products", Id::None,
            Json(r#"{"sku":"M-{n}","name":"Matrix {n}","price":1000,"cost":600,"tax_class_id":"{tax_class}"}"#)),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/products/{id}", Id::Product, Body::None),
        row([200, 200, 403, 403, 401, 403], PATCH, "/api/v1/products/{id}", Id::Product,
            Json(r#"{"price":1500}"#)),
        row([204, 204, 403, 403, 401, 403], DELETE, "/api/v1/products/{id}", Id::FreshProduct, Body::None),
        // Stock: everyone reads their stores' stock; admins and managers adjust for any reason,
        // employees receive and count, cashiers never adjust.
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/stores/{id}/stock", Id::StoreA, Body::None),
        row([201, 201, 403, 201, 401, 403], POST, "/api/v1/stores/{id}/stock/adjustments", Id::StoreA,
            Json(r#"{"product_id":"{product}","delta":1,"reason":"receiving"}"#)),
        row([200, 200, 200, 200, 401, 200], GET, "/api/v1/stock-movements", Id::None, Body::None),
        // Transfers: stock staff and managers request; the source's managers approve and
        // reject; the destination's staff receive; cashiers take no part.
        row([200, 200, 403, 200, 401, 403], GET, "/api/v1/transfers", Id::None, Body::None),
        row([201, 201, 403, 201, 401, 403], POST, "/api/v1/transfers", Id::None,
            Json(r#"{"from_store_id":"{store_b}","to_store_id":"{store}","lines":[{"product_id":"{product}","quantity":1}]}"#)),
        row([200, 200, 403, 200, 401, 403], GET, "/api/v1/transfers/{id}", Id::FreshTransfer, Body::None),
        row([200, 200, 403, 403, 401, 403], POST, "/api/v1/transfers/{id}/approve", Id::FreshTransfer, Body::None),
        row([200, 200, 403, 403, 401, 403], POST, "/api/v1/transfers/{id}/reject", Id::FreshTransfer,
            Json(r#"{"reason":"not now"}"#)),
        row([200, 200, 403, 200, 401, 403], POST, "/api/v1/transfers/{id}/receive", Id::ApprovedTransfer, Body::None),
        row([200, 200, 403, 403, 401, 403], POST, "/api/v1/transfers/{id}/cancel", Id::FreshTransfer, Body::None),
        // Reservations: a selling concern (admins, managers, cashiers), not stock staff's.
        row([201, 201, 201, 403, 401, 201], POST, "/api/v1/stores/{id}/reservations", Id::StoreA,
            Json(r#"{"lines":[{"product_id":"{product}","quantity":1}],"expires_at":"{expires}"}"#)),
        row([204, 204, 204, 403, 401, 204], DELETE, "/api/v1/stores/{id}/reservations/{rid}",
            Id::FreshReservation, Body::None),
        // Checkout: everyone but stock staff sells. Shifts are a person's drawer: API keys
        // neither open nor close them, and a cashier acts on their own shift only.
        row([201, 201, 201, 403, 401, 403], POST, "/api/v1/shifts", Id::None, Body::FreshRegisterShift),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/shifts", Id::None, Body::None),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/shifts/{id}", Id::FreshShift, Body::None),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/shifts/{id}/report", Id::FreshShift, Body::None),
        row([201, 201, 201, 403, 401, 403], POST, "/api/v1/shifts/{id}/cash-movements", Id::FreshShift,
            Json(r#"{"kind":"paid_in","amount":100,"reason":"float top-up"}"#)),
        row([200, 200, 200, 403, 401, 403], POST, "/api/v1/shifts/{id}/close", Id::FreshShift,
            Json(r#"{"counted_cash":0}"#)),
        // Sales: admins and managers sell on any shift of their stores, a cashier on their own,
        // a terminal's API key on any; only admins and managers void.
        row([201, 201, 201, 403, 401, 201], POST, "/api/v1/sales", Id::None, Body::SaleOnSharedShift),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/sales", Id::None, Body::None),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/sales/{id}", Id::Sale, Body::None),
        row([200, 200, 403, 403, 401, 403], POST, "/api/v1/sales/{id}/void", Id::FreshSale,
            Json(r#"{"reason":"rung up twice"}"#)),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/sales/{id}/receipt", Id::Sale, Body::None),
        row([202, 202, 202, 403, 401, 202], POST, "/api/v1/sales/{id}/receipt/email", Id::Sale,
            Json(r#"{"email":"receipt.{n}@example.com"}"#)),
        row([201, 201, 201, 403, 401, 201], POST, "/api/v1/returns", Id::None, Body::FreshReturn),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/returns", Id::None, Body::None),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/returns/{id}", Id::Return, Body::None),
        // Customers: checkout staff (everyone but stock staff).
        row([201, 201, 201, 403, 401, 201], POST, "/api/v1/customers", Id::None,
            Json(r#"{"name":"Matrix customer {n}"}"#)),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/customers", Id::None, Body::None),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/customers/{id}", Id::Customer, Body::None),
        row([200, 200, 200, 403, 401, 200], PATCH, "/api/v1/customers/{id}", Id::Customer,
            Json(r#"{"name":"Matrix customer {n}"}"#)),
        row([200, 200, 200, 403, 401, 200], GET, "/api/v1/customers/{id}/sales", Id::Customer, Body::None),
    ];
    rows
}

/// Routes in the table that the OpenAPI document does not list (the document itself).
const UNDOCUMENTED: [&str; 1] = ["/api/v1/openapi.json"];

/// The shared world every row runs in.
struct World {
    app: TestApp,
    store: StoreId,
    /// A second store no non-admin caller belongs to.
    store_b: StoreId,
    admin: String,
    /// Tokens of the non-admin callers, by `Caller`.
    manager: String,
    cashier: String,
    employee: String,
    cashier_key: String,
    /// A cashier of store A, the target of `Id::StaffUser`.
    staff_user: String,
    /// A tax class for product bodies (`{tax_class}`), and a product for `Id::Product`.
    tax_class: String,
    product: String,
    /// The user the login row logs in as and whose sessions refresh and logout spend.
    login_user: String,
    /// The user whose password the reset-confirm row sets.
    reset_user: UserId,
    /// The matrix cashier's open shift on a register of store A, where sales are rung up.
    register: String,
    shift: String,
    sale: String,
    return_id: String,
    customer: String,
    /// Makes `{n}` unique.
    counter: u32,
}

impl World {
    async fn new() -> World {
        let app = spawn_app_with(|raw| {
            raw.login_rate_per_minute = "10000".into();
            raw.password_reset_rate_per_hour = "10000".into();
            // The clock stands still, so the cashier key's bucket never refills.
            raw.limits.api_key_rate_basic = "100000".into();
        })
        .await;
        let store = app.create_store("AAA1").await;
        let admin = app.admin_token().await;
        let manager = app.create_user("manager", &[store]).await.token;
        let cashier = app.create_user("cashier", &[store]).await.token;
        let employee = app.create_user("employee", &[store]).await.token;
        let cashier_key = app.create_api_key("cashier", &[store]).await.key;
        let staff_user = app.create_user("cashier", &[store]).await.id;
        let login_user = app.create_user("employee", &[store]).await.username;
        let reset_user = UserId::parse(&app.create_user("employee", &[store]).await.id).unwrap();
        let tax_class = insert_tax_class(&app).await;
        let product = insert_product(&app, &tax_class, "MATRIX-0").await;
        let store_b = app.create_store("BBB1").await;
        for s in [store, store_b] {
            let response = app
                .authed(
                    Method::POST,
                    &format!("/api/v1/stores/{s}/stock/adjustments"),
                    &admin,
                )
                .header("idempotency-key", format!("matrix-stock-{s}"))
                .json(&json!({"product_id": product, "delta": 1_000_000, "reason": "receiving"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status().as_u16(),
                201,
                "{}",
                response.text().await.unwrap()
            );
        }
        let mut world = World {
            app,
            store,
            store_b,
            admin,
            manager,
            cashier,
            employee,
            cashier_key,
            staff_user,
            tax_class,
            product,
            login_user,
            reset_user,
            register: String::new(),
            shift: String::new(),
            sale: String::new(),
            return_id: String::new(),
            customer: String::new(),
            counter: 0,
        };
        let (register, shift) = world.cashier_shift().await;
        world.register = register;
        world.shift = shift;
        let sale = world.admin_sale().await;
        world.sale = sale["id"].as_str().unwrap().to_owned();
        let ret = world
            .admin_post("/api/v1/returns", world.full_return(&sale), 201)
            .await;
        world.return_id = ret["id"].as_str().unwrap().to_owned();
        let customer = world
            .admin_post("/api/v1/customers", json!({"name": "Matrix customer"}), 201)
            .await;
        world.customer = customer["id"].as_str().unwrap().to_owned();
        world
    }

    /// A fresh register of store A with a shift the matrix cashier opened on it.
    async fn cashier_shift(&self) -> (String, String) {
        let register = self
            .admin_post(
                &format!("/api/v1/stores/{}/registers", self.store),
                json!({"name": format!("Till {}", uuid_suffix())}),
                201,
            )
            .await;
        let register = register["id"].as_str().unwrap().to_owned();
        let response = self
            .app
            .authed(Method::POST, "/api/v1/shifts", &self.cashier)
            .json(&json!({"register_id": register, "opening_float": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "open a shift");
        let shift = json_of(response).await["id"].as_str().unwrap().to_owned();
        (register, shift)
    }

    fn sale_body(&self) -> Value {
        json!({
            "store_id": self.store, "register_id": self.register, "shift_id": self.shift,
            "lines": [{"product_id": self.product, "quantity": 1}],
            "payments": [{"method": "cash", "amount": 2000}],
        })
    }

    /// A sale of one unit on the shared shift, rung up by the admin.
    async fn admin_sale(&self) -> Value {
        self.admin_post("/api/v1/sales", self.sale_body(), 201)
            .await
    }

    /// A return of all of `sale`'s first line, refunded in cash.
    fn full_return(&self, sale: &Value) -> Value {
        let line = &sale["lines"][0];
        json!({
            "sale_id": sale["id"],
            "lines": [{"sale_line_id": line["id"], "quantity": line["quantity"], "restock": true}],
            "refunds": [{"method": "cash", "amount": line["total"]}],
            "reason": "matrix",
        })
    }

    fn token(&self, caller: Caller) -> Option<String> {
        match caller {
            Caller::Admin => Some(self.admin.clone()),
            Caller::Manager => Some(self.manager.clone()),
            Caller::Cashier => Some(self.cashier.clone()),
            Caller::Employee => Some(self.employee.clone()),
            Caller::Anonymous => None,
            Caller::CashierKey => Some(self.cashier_key.clone()),
        }
    }

    /// A user of the caller's role made for one request, or the shared credential of callers
    /// that are not users.
    async fn fresh_caller(&self, caller: Caller) -> Option<String> {
        let role = match caller {
            Caller::Admin => "admin",
            Caller::Manager => "manager",
            Caller::Cashier => "cashier",
            Caller::Employee => "employee",
            Caller::Anonymous | Caller::CashierKey => return self.token(caller),
        };
        Some(self.app.create_user(role, &[self.store]).await.token)
    }

    async fn path(&self, row: &Row) -> String {
        match row.id {
            Id::None => row.path.to_owned(),
            Id::StaffUser => row.path.replace("{id}", &self.staff_user),
            Id::StoreA => row.path.replace("{id}", &self.store.to_string()),
            Id::Product => row.path.replace("{id}", &self.product),
            Id::FreshProduct => {
                let sku = format!("MATRIX-{}", uuid_suffix());
                let id = insert_product(&self.app, &self.tax_class, &sku).await;
                row.path.replace("{id}", &id)
            }
            Id::FreshTransfer => {
                let id = self.admin_transfer(self.store, self.store_b).await;
                row.path.replace("{id}", &id)
            }
            Id::ApprovedTransfer => {
                let id = self.admin_transfer(self.store_b, self.store).await;
                self.admin_post(&format!("/api/v1/transfers/{id}/approve"), json!(null), 200)
                    .await;
                row.path.replace("{id}", &id)
            }
            Id::FreshReservation => {
                let expires = self.app.clock.now() + chrono::Duration::days(1);
                let body = json!({
                    "lines": [{"product_id": self.product, "quantity": 1}],
                    "expires_at": ringup_store::platform::time::to_db(expires),
                });
                let path = format!("/api/v1/stores/{}/reservations", self.store);
                let reservation = self.admin_post(&path, body, 201).await;
                row.path
                    .replace("{id}", &self.store.to_string())
                    .replace("{rid}", reservation["id"].as_str().unwrap())
            }
            Id::FreshShift => {
                let (_, shift) = self.cashier_shift().await;
                row.path.replace("{id}", &shift)
            }
            Id::Sale => row.path.replace("{id}", &self.sale),
            Id::FreshSale => {
                let sale = self.admin_sale().await;
                row.path.replace("{id}", sale["id"].as_str().unwrap())
            }
            Id::Return => row.path.replace("{id}", &self.return_id),
            Id::Customer => row.path.replace("{id}", &self.customer),
            Id::FreshApiKey => {
                let key = self.app.create_api_key("cashier", &[self.store]).await;
                row.path.replace("{id}", &key.id)
            }
        }
    }

    async fn body(&mut self, row: &Row) -> Option<Value> {
        self.counter += 1;
        match row.body {
            Body::None => None,
            Body::Json(text) => {
                let text = text
                    .replace("{store_b}", &self.store_b.to_string())
                    .replace("{store}", &self.store.to_string())
                    .replace("{product}", &self.product)
                    .replace(
                        "{expires}",
                        &ringup_store::platform::time::to_db(
                            self.app.clock.now() + chrono::Duration::days(1),
                        ),
                    )
                    .replace("{login}", &self.login_user)
                    .replace("{tax_class}", &self.tax_class)
                    .replace("{n}", &self.counter.to_string());
                Some(serde_json::from_str(&text).unwrap())
            }
            Body::FreshRefreshToken => {
                let login = self.app.login(&self.login_user, USER_PASSWORD).await;
                Some(json!({"refresh_token": login["refresh_token"]}))
            }
            Body::FreshResetToken => {
                let token = format!("matrix-reset-token-{}-{}", self.counter, StoreId::new());
                let now = self.app.clock.now();
                let mut tx = self.app.db.begin_write().await.unwrap();
                ringup_store::users::password_resets::insert_reset(
                    &mut tx,
                    self.reset_user,
                    &hash_token(&token),
                    &ringup_store::platform::time::to_db(now + chrono::Duration::minutes(30)),
                    &ringup_store::platform::time::to_db(now),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                Some(json!({"token": token, "new_password": NEW_PASSWORD}))
            }
            Body::FreshRegisterShift => {
                let register = self
                    .admin_post(
                        &format!("/api/v1/stores/{}/registers", self.store),
                        json!({"name": format!("Till {}", uuid_suffix())}),
                        201,
                    )
                    .await;
                Some(json!({"register_id": register["id"], "opening_float": 1000}))
            }
            Body::SaleOnSharedShift => Some(self.sale_body()),
            Body::FreshReturn => {
                let sale = self.admin_sale().await;
                Some(self.full_return(&sale))
            }
            Body::OwnPasswordChange => Some(json!({
                "current_password": USER_PASSWORD,
                "new_password": NEW_PASSWORD,
            })),
        }
    }

    /// POSTs `body` as the admin with a fresh idempotency key, expecting `status`.
    async fn admin_post(&self, path: &str, body: Value, status: u16) -> Value {
        let mut request = self
            .app
            .authed(Method::POST, path, &self.admin)
            .header("idempotency-key", format!("matrix-setup-{}", uuid_suffix()));
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "setup {path}");
        json_of(response).await
    }

    /// A transfer of one unit requested by the admin; returns its id.
    async fn admin_transfer(&self, from: StoreId, to: StoreId) -> String {
        let body = json!({
            "from_store_id": from, "to_store_id": to,
            "lines": [{"product_id": self.product, "quantity": 1}],
        });
        let transfer = self.admin_post("/api/v1/transfers", body, 201).await;
        transfer["id"].as_str().unwrap().to_owned()
    }

    /// Sends one row as one caller; returns the status and the body text.
    async fn call(&mut self, row: &Row, caller: Caller) -> (u16, String) {
        let token = match row.body {
            Body::OwnPasswordChange => self.fresh_caller(caller).await,
            _ => self.token(caller),
        };
        self.send(row, token).await
    }

    /// Sends one row with `token` as the bearer credential (none when `None`).
    async fn send(&mut self, row: &Row, token: Option<String>) -> (u16, String) {
        let path = self.path(row).await;
        let body = self.body(row).await;
        let mut request = self
            .app
            .client
            .request(row.method.clone(), self.app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if row.method == Method::POST {
            // Unique per request: routes that require a key get one, the rest ignore it.
            request = request.header("idempotency-key", format!("matrix-{}", self.counter));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    // Arrange
    let mut world = World::new().await;
    let rows = rows();
    let table: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(
        table.len(),
        rows.len(),
        "a route appears twice in the matrix"
    );
    let documented = documented_operations(&world.app).await;

    // Every documented operation has a row, and every row a documented operation.
    let missing: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    let stale: Vec<_> = table
        .difference(&documented)
        .filter(|(_, path)| !UNDOCUMENTED.contains(&path.as_str()))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes the API does not document: {stale:?}"
    );

    // Act
    let mut wrong = Vec::new();
    for row in &rows {
        for (caller, expected) in CALLERS.iter().zip(row.expect) {
            let (status, body) = world.call(row, *caller).await;
            if status != expected {
                wrong.push(format!(
                    "{} {} as {caller:?}: expected {expected}, got {status}: {body}",
                    row.method, row.path
                ));
            }
        }
    }

    // Assert
    assert!(
        wrong.is_empty(),
        "{} of {} calls answered otherwise:\n{}",
        wrong.len(),
        rows.len() * CALLERS.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn a_deactivated_users_token_and_a_revoked_key_are_401_on_every_authenticated_route() {
    // Arrange: credentials that were valid (an admin's, so no 403 could hide a 401).
    let mut world = World::new().await;
    let user = world.app.create_user("admin", &[]).await;
    let key = world.app.create_api_key("admin", &[]).await;
    let deactivate = world
        .app
        .authed(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            &world.admin,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivate.status().as_u16(), 200);
    let revoke = world
        .app
        .authed(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", key.id),
            &world.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 204);

    // Act: every route that turns anonymous callers away.
    let mut wrong = Vec::new();
    let mut checked = 0;
    for row in rows().iter().filter(|r| r.expect[4] == 401) {
        for (what, dead) in [("deactivated user", &user.token), ("revoked key", &key.key)] {
            checked += 1;
            let (status, body) = world.send(row, Some(dead.clone())).await;
            if status != 401 {
                wrong.push(format!(
                    "{} {} as {what}: {status}: {body}",
                    row.method, row.path
                ));
            }
        }
    }

    // Assert
    assert!(checked >= 20, "{checked}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
