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
//! Later capabilities add their routes here, in the same table; `world` makes what a row's
//! `Id` and `Body` stand for.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use self::world::World;
use crate::support::documented_operations;

mod world;

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
    /// A disabled webhook endpoint made for this request, with a test event queued.
    FreshWebhook,
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
        row([200, 200, 200, 200, 401, 403], PATCH, "/api/v1/me", Id::None,
            Json(r#"{"notify_daily_summary":true}"#)),
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
        // Recorded server errors: admins only.
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/admin/errors", Id::None, Body::None),
        // Events: admins, managers and API keys (their stores' events and the chain's). The
        // WebSocket route without an upgrade is 400 once the caller may read events.
        row([200, 200, 403, 403, 401, 200], GET, "/api/v1/events", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 200], GET, "/api/v1/events/stream", Id::None, Body::None),
        row([400, 400, 403, 403, 401, 400], GET, "/api/v1/events/ws", Id::None, Body::None),
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
        // Reports: admins (every store) and managers (theirs); nobody else. The world's
        // stores share a currency, so the chain report of an admin is allowed.
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/sales", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/sales/chart", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/tax", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/commissions", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/shifts", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/inventory-valuation", Id::None, Body::None),
        row([200, 200, 403, 403, 401, 403], GET, "/api/v1/reports/stock-movements", Id::None, Body::None),
        // Webhooks: admins only.
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/webhooks", Id::None, Body::None),
        row([201, 403, 403, 403, 401, 403], POST, "/api/v1/webhooks", Id::None,
            Json(r#"{"url":"http://93.184.216.34/matrix-{n}","events":["sale.*"],"enabled":false}"#)),
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/webhooks/{id}", Id::FreshWebhook, Body::None),
        row([200, 403, 403, 403, 401, 403], PATCH, "/api/v1/webhooks/{id}", Id::FreshWebhook,
            Json(r#"{"description":"matrix {n}"}"#)),
        row([204, 403, 403, 403, 401, 403], DELETE, "/api/v1/webhooks/{id}", Id::FreshWebhook, Body::None),
        row([200, 403, 403, 403, 401, 403], POST, "/api/v1/webhooks/{id}/rotate-secret", Id::FreshWebhook, Body::None),
        row([202, 403, 403, 403, 401, 403], POST, "/api/v1/webhooks/{id}/test", Id::FreshWebhook, Body::None),
        row([200, 403, 403, 403, 401, 403], GET, "/api/v1/webhooks/{id}/deliveries", Id::FreshWebhook, Body::None),
        row([202, 403, 403, 403, 401, 403], POST, "/api/v1/webhooks/{id}/redeliver", Id::FreshWebhook,
            Json(r#"{"event_id":"{webhook_event}"}"#)),
    ];
    rows
}

/// Routes in the table that the OpenAPI document does not list (the document itself).
const UNDOCUMENTED: [&str; 1] = ["/api/v1/openapi.json"];

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
