//! The world the matrix runs in: two stores, a caller of every kind, and the catalog, shift, sale,
//! return and customer the rows act on; and, per request, what a row's `{id}` and body stand for
//! (fresh where the row spends or changes something).

use reqwest::Method;
use ringup_core::clock::Clock;
use ringup_core::ids::{StoreId, UserId};
use ringup_core::tokens::hash_token;
use ringup_testkit::{TestApp, USER_PASSWORD, json_of, spawn_app_with};
use serde_json::{Value, json};

use super::{Body, Caller, Id, NEW_PASSWORD, Row};

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

/// The shared world every row runs in.
pub(super) struct World {
    pub(super) app: TestApp,
    store: StoreId,
    /// A second store no non-admin caller belongs to.
    store_b: StoreId,
    pub(super) admin: String,
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
    /// The test event of the last `Id::FreshWebhook` (`{webhook_event}` in a body).
    webhook_event: std::sync::Mutex<String>,
    /// Makes `{n}` unique.
    counter: u32,
}

impl World {
    pub(super) async fn new() -> World {
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
            webhook_event: std::sync::Mutex::new(String::new()),
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
            Id::FreshWebhook => {
                // Disabled, on a public address: nothing is ever sent to it.
                let body = json!({"url": "http://93.184.216.34/matrix", "events": ["*"],
                    "enabled": false});
                let hook = self.admin_post("/api/v1/webhooks", body, 201).await;
                let id = hook["id"].as_str().unwrap().to_owned();
                let test = self
                    .admin_post(&format!("/api/v1/webhooks/{id}/test"), json!(null), 202)
                    .await;
                *self.webhook_event.lock().unwrap() = test["event_id"].as_str().unwrap().to_owned();
                row.path.replace("{id}", &id)
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
                    .replace("{webhook_event}", &self.webhook_event.lock().unwrap())
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
                    now + chrono::Duration::minutes(30),
                    now,
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
    pub(super) async fn call(&mut self, row: &Row, caller: Caller) -> (u16, String) {
        let token = match row.body {
            Body::OwnPasswordChange => self.fresh_caller(caller).await,
            _ => self.token(caller),
        };
        self.send(row, token).await
    }

    /// Sends one row with `token` as the bearer credential (none when `None`).
    pub(super) async fn send(&mut self, row: &Row, token: Option<String>) -> (u16, String) {
        let path = self.path(row).await;
        let body = self.body(row).await;
        let mut request = self
            .app
            .client
            .request(row.method.clone(), self.app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if row.path.starts_with("/api/v1/reports/") {
            // A period every dated report accepts (the valuation ignores it).
            request = request.query(&[("from", "2026-01-01"), ("to", "2026-01-31")]);
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
        // An event stream never ends: its status is the answer.
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        if streaming {
            return (status, "(an event stream)".to_owned());
        }
        (status, response.text().await.unwrap())
    }
}
