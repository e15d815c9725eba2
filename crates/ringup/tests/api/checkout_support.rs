//! Fixtures shared by the checkout tests (shifts, sales, voids, returns): a store with a register
//! and two tax classes, products with chosen prices and stock, and shifts, sales, voids and
//! returns over HTTP. The model the answers are checked against is in `checkout_model`.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestUser, json_of};
use serde_json::{Value, json};

use crate::checkout_model::{CartLine, Disc, Tender};
use crate::stock::World;
use crate::support::assert_problem;

/// Every tender / refund method, in the order reports list them.
pub(crate) const METHODS: [&str; 5] = ["cash", "card", "mobile_money", "voucher", "other"];
pub(crate) const SHIFTS: &str = "/api/v1/shifts";
pub(crate) const SALES: &str = "/api/v1/sales";
pub(crate) const RETURNS: &str = "/api/v1/returns";
/// The code of the world's store (`stock::world`).
pub(crate) const CODE: &str = "STK1";

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A fresh `Idempotency-Key`.
pub(crate) fn key() -> String {
    format!("checkout-test-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

/// `<CODE>-<n, six digits>`.
pub(crate) fn number(code: &str, n: u32) -> String {
    format!("{code}-{n:06}")
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

/// Any request; `key` becomes the `Idempotency-Key`.
pub(crate) async fn send(
    w: &World,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Response {
    let mut request = w.app.authed(method, path, token);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// Asserts `status` and returns the JSON body.
pub(crate) async fn expect(response: Response, status: u16) -> Value {
    let (path, actual) = (response.url().path().to_owned(), response.status());
    let body = json_of(response).await;
    assert_eq!(actual.as_u16(), status, "{path}: {body}");
    body
}

/// Asserts a problem with `status` answering the request's own path; returns its body.
pub(crate) async fn problem(response: Response, status: u16) -> Value {
    let path = response.url().path().to_owned();
    assert_problem(response, status, &path).await
}

/// Asserts a 409 problem of type `/problems/<slug>`.
pub(crate) async fn conflict(response: Response, slug: &str) -> Value {
    let body = problem(response, 409).await;
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    body
}

/// A timestamp field, as UTC.
pub(crate) fn at(value: &Value, field: &str) -> DateTime<Utc> {
    let text = value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("`{field}` is not RFC 3339 ({e}): {value}"))
        .with_timezone(&Utc)
}

/// A tax class.
#[derive(Clone, Debug)]
pub(crate) struct Tax {
    pub id: String,
    pub rate: i64,
}

/// A product of the catalog with what pricing needs.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub tax: Tax,
}

/// The stock world (store `STK1`, its admin) plus a register and two tax classes.
pub(crate) struct Shop {
    pub w: World,
    pub register: String,
    /// 16 %.
    pub standard: Tax,
    /// 8 %.
    pub reduced: Tax,
    skus: AtomicU64,
}

impl Deref for Shop {
    type Target = World;

    fn deref(&self) -> &World {
        &self.w
    }
}

pub(crate) async fn shop() -> Shop {
    shop_in(crate::stock::world().await).await
}

/// [`shop`] with settings of the test's own (an SMTP server, say).
pub(crate) async fn shop_with(configure: impl FnOnce(&mut ringup::settings::RawSettings)) -> Shop {
    shop_in(crate::stock::world_with(configure).await).await
}

/// [`shop`] in a world made another way.
pub(crate) async fn shop_in(w: World) -> Shop {
    let register = register_in(&w, w.store, "Till 1").await;
    let standard = tax_class(&w, "Standard", 1600).await;
    let reduced = tax_class(&w, "Reduced", 800).await;
    Shop {
        w,
        register,
        standard,
        reduced,
        skus: AtomicU64::new(0),
    }
}

async fn tax_class(w: &World, name: &str, rate: i64) -> Tax {
    let body = json!({"name": name, "rate_bp": rate});
    let path = "/api/v1/tax-classes";
    let response = send(w, Method::POST, path, &w.admin, Some(&body), None).await;
    let id = id(&expect(response, 201).await);
    Tax { id, rate }
}

/// A register of `store`, created by the admin.
pub(crate) async fn register_in(w: &World, store: StoreId, name: &str) -> String {
    let path = format!("/api/v1/stores/{store}/registers");
    let body = json!({ "name": name });
    let response = send(w, Method::POST, &path, &w.admin, Some(&body), None).await;
    id(&expect(response, 201).await)
}

impl Shop {
    /// A product priced `price` (tax included or not, as the store says) in `tax`.
    pub(crate) async fn item(&self, price: i64, tax: &Tax) -> Item {
        let n = self.skus.fetch_add(1, Ordering::Relaxed);
        let sku = format!("CHK-{n:04}");
        let name = format!("Article {n}");
        let body = json!({"sku": sku, "name": name, "price": price, "cost": price / 2,
            "tax_class_id": tax.id, "low_stock_threshold": 0});
        let path = "/api/v1/products";
        let response = send(self, Method::POST, path, &self.admin, Some(&body), None).await;
        let id = id(&expect(response, 201).await);
        Item {
            id,
            sku,
            name,
            price,
            tax: tax.clone(),
        }
    }

    /// A product with `units` received into the shop's store.
    pub(crate) async fn stocked(&self, price: i64, tax: &Tax, units: i64) -> Item {
        let item = self.item(price, tax).await;
        self.receive(self.store, &item.id, units).await;
        item
    }

    /// PATCHes a store as the admin.
    pub(crate) async fn patch_store(&self, store: StoreId, body: &Value) {
        let path = format!("/api/v1/stores/{store}");
        let response = send(self, Method::PATCH, &path, &self.admin, Some(body), None).await;
        expect(response, 200).await;
    }

    /// A store created over HTTP, with its register.
    pub(crate) async fn other_store(&self, code: &str, negative: bool) -> (StoreId, String) {
        let body = json!({"code": code, "name": format!("Store {code}"), "currency": "KES",
            "timezone": "Africa/Nairobi", "prices_include_tax": true,
            "allow_negative_stock": negative});
        let path = "/api/v1/stores";
        let response = send(self, Method::POST, path, &self.admin, Some(&body), None).await;
        let store = StoreId::parse(&id(&expect(response, 201).await)).unwrap();
        let register = register_in(self, store, "Till 1").await;
        (store, register)
    }

    /// A user of the shop's store.
    pub(crate) async fn staff(&self, role: &str) -> TestUser {
        self.app.create_user(role, &[self.store]).await
    }

    /// A cashier of the shop's store earning `bp` commission.
    pub(crate) async fn commissioned(&self, bp: i64) -> TestUser {
        let user = self.staff("cashier").await;
        let path = format!("/api/v1/users/{}", user.id);
        let body = json!({ "commission_rate_bp": bp });
        let response = send(self, Method::PATCH, &path, &self.admin, Some(&body), None).await;
        let view = expect(response, 200).await;
        assert_eq!(view["commission_rate_bp"], bp, "{view}");
        user
    }

    /// GET as `token`.
    pub(crate) async fn get(&self, token: &str, path: &str) -> Response {
        send(self, Method::GET, path, token, None, None).await
    }

    /// GET as the admin, expecting 200.
    pub(crate) async fn read(&self, path: &str) -> Value {
        expect(self.get(&self.admin, path).await, 200).await
    }

    /// Every item of a paged list, as the admin (`query` without `?`).
    pub(crate) async fn list(&self, path: &str, query: &str) -> Vec<Value> {
        let (mut items, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let mut url = format!("{path}?limit=200&{query}");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.read(&url).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// The audit events with `action`.
    pub(crate) async fn audited(&self, action: &str) -> Vec<Value> {
        self.list("/api/v1/audit-events", &format!("action={action}"))
            .await
    }

    /// Every stock movement of `kind`, oldest first.
    pub(crate) async fn moves(&self, kind: &str) -> Vec<Value> {
        self.w.movements(&self.admin, &[("kind", kind)]).await
    }

    pub(crate) async fn try_open(&self, token: &str, body: &Value) -> Response {
        send(self, Method::POST, SHIFTS, token, Some(body), None).await
    }

    /// Opens a shift on `register` as `token`, expecting 201.
    pub(crate) async fn open(&self, token: &str, register: &str, float: i64) -> Value {
        let body = json!({"register_id": register, "opening_float": float});
        expect(self.try_open(token, &body).await, 201).await
    }

    pub(crate) async fn cash_movement(&self, token: &str, shift: &Value, body: &Value) -> Response {
        let path = format!("{SHIFTS}/{}/cash-movements", id(shift));
        send(self, Method::POST, &path, token, Some(body), None).await
    }

    /// A cash movement that must answer 201.
    pub(crate) async fn paid(&self, token: &str, shift: &Value, kind: &str, amount: i64) -> Value {
        let body = json!({"kind": kind, "amount": amount, "reason": format!("{kind} {amount}")});
        expect(self.cash_movement(token, shift, &body).await, 201).await
    }

    /// The shift's report as the admin.
    pub(crate) async fn report(&self, shift: &Value) -> Value {
        self.read(&format!("{SHIFTS}/{}/report", id(shift))).await
    }

    pub(crate) async fn close(&self, token: &str, shift: &Value, counted: i64) -> Response {
        let path = format!("{SHIFTS}/{}/close", id(shift));
        let body = json!({ "counted_cash": counted });
        send(self, Method::POST, &path, token, Some(&body), None).await
    }

    pub(crate) async fn try_sell(&self, token: &str, body: &Value, key: Option<&str>) -> Response {
        send(self, Method::POST, SALES, token, Some(body), key).await
    }

    /// A sale with a fresh key that must answer 201.
    pub(crate) async fn sell(&self, token: &str, body: &Value) -> Value {
        let response = self.try_sell(token, body, Some(&key())).await;
        let status = response.status().as_u16();
        let sale = json_of(response).await;
        assert_eq!(status, 201, "POST /sales {body}: {sale}");
        sale
    }

    pub(crate) async fn void(&self, token: &str, sale: &Value, reason: &str) -> Response {
        let path = format!("{SALES}/{}/void", id(sale));
        let body = json!({ "reason": reason });
        send(self, Method::POST, &path, token, Some(&body), None).await
    }

    pub(crate) async fn try_return(
        &self,
        token: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Response {
        send(self, Method::POST, RETURNS, token, Some(body), key).await
    }

    /// A return with a fresh key that must answer 201.
    pub(crate) async fn give_back(&self, token: &str, body: &Value) -> Value {
        let response = self.try_return(token, body, Some(&key())).await;
        let status = response.status().as_u16();
        let answer = json_of(response).await;
        assert_eq!(status, 201, "POST /returns {body}: {answer}");
        answer
    }

    /// `created_at` of a fresh resource: the server clock's now.
    pub(crate) fn assert_now(&self, value: &Value, field: &str) {
        assert_eq!(at(value, field), self.app.clock.now(), "{field}: {value}");
    }
}

/// A sale body on `shift` (its store, register and id).
pub(crate) fn sale_body(shift: &Value, lines: Vec<Value>, payments: Vec<Value>) -> Value {
    json!({"store_id": shift["store_id"], "register_id": shift["register_id"],
        "shift_id": shift["id"], "customer_id": null, "lines": lines, "payments": payments})
}

/// A sale body of a modelled cart.
pub(crate) fn cart_body(
    shift: &Value,
    lines: &[CartLine],
    cart: Option<Disc>,
    tenders: &[Tender],
) -> Value {
    let json_lines = lines.iter().map(CartLine::json).collect();
    let mut body = sale_body(
        shift,
        json_lines,
        tenders.iter().map(Tender::json).collect(),
    );
    if let Some(cart) = cart {
        body["discount"] = cart.json();
    }
    body
}

pub(crate) fn cl(item: &Item, quantity: i64, discount: Option<Disc>) -> CartLine {
    CartLine {
        item: item.clone(),
        quantity,
        discount,
    }
}

pub(crate) fn tender(method: &'static str, amount: i64) -> Tender {
    Tender {
        method,
        amount,
        reference: None,
    }
}

pub(crate) fn line(item: &Item, quantity: i64) -> Value {
    json!({"product_id": item.id, "quantity": quantity})
}

pub(crate) fn pay(method: &str, amount: i64) -> Value {
    json!({"method": method, "amount": amount})
}

/// A return body of whole `(sale line, quantity, restock)` lines.
pub(crate) fn return_body(
    sale: &Value,
    lines: &[(&Value, i64, bool)],
    refunds: Vec<Value>,
) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(l, q, restock)| json!({"sale_line_id": l["id"], "quantity": q, "restock": restock}))
        .collect();
    json!({"sale_id": sale["id"], "lines": lines, "refunds": refunds, "reason": "changed mind"})
}
