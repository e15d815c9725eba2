//! Mail notifications (docs/API.md "Mail notifications") against a real SMTP server process:
//! the durable queue (`queue`: receipts survive a server that is down at first, and a hung
//! server never holds up a sale), low-stock batching and opt-outs (`low_stock`), daily
//! summaries at each store's local time (`summary`), and the settings behind them
//! (`settings`).
//!
//! The server's clock is a manual one: tests move it to make batches and summaries due; the
//! worker looks every second, so "nothing more arrives" is checked after [`SETTLE`].

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use ringup_core::clock::Clock;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, TestUser, json_of};
use serde_json::{Value, json};

use crate::checkout_support::{Shop, shop_with};
use crate::smtp::{Received, SmtpServer, received, start_smtp_server};
use crate::stock::{delta, key, post_adjustment};

mod low_stock;
mod queue;
mod settings;
mod summary;

/// How long a mail that is due may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(15);
/// Long enough for the worker (which looks every second) to have done everything due.
const SETTLE: Duration = Duration::from_millis(3500);

fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// The checkout shop (store `STK1`, Africa/Nairobi, UTC+3) sending mail to `port`.
async fn shop_mailing_to(port: u16) -> Shop {
    let url = smtp_url(port);
    shop_with(move |raw| raw.smtp_url = Some(url)).await
}

/// The shop with a running SMTP server.
async fn mailing_shop() -> (Shop, SmtpServer) {
    let smtp = start_smtp_server().await;
    let s = shop_mailing_to(smtp.port).await;
    (s, smtp)
}

fn address(user: &TestUser) -> String {
    format!("{}@example.com", user.username)
}

/// What `smtp` received for `to` whose subject contains `subject`.
fn mails_to(smtp: &SmtpServer, to: &str, subject: &str) -> Vec<Received> {
    received(&smtp.maildir)
        .into_iter()
        .filter(|m| m.is_to(to) && m.header("Subject").is_some_and(|s| s.contains(subject)))
        .collect()
}

/// Sets the server's clock to `hh:mm` UTC on `day`.
fn set_clock(app: &TestApp, day: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    let at = day.and_hms_opt(hh, mm, 0).unwrap().and_utc();
    app.clock.set(at);
    at
}

/// A product with `threshold` and `units` in the shop's store; its SKU.
async fn product(s: &Shop, sku: &str, threshold: i64, units: i64) -> (String, String) {
    let admin = s.app.admin_token().await;
    let body = json!({"sku": sku, "name": format!("Item {sku}"), "price": 1000, "cost": 500,
        "tax_class_id": s.standard.id, "low_stock_threshold": threshold});
    let response = s
        .app
        .authed(Method::POST, "/api/v1/products", &admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let id = json_of(response).await["id"].as_str().unwrap().to_owned();
    adjust(s, s.store, &id, units, "receiving").await;
    (id, sku.to_owned())
}

/// An adjustment by a freshly signed-in admin (the clock may have outrun older tokens).
async fn adjust(s: &Shop, store: StoreId, product: &str, by: i64, reason: &str) {
    let admin = s.app.admin_token().await;
    let body = delta(product, by, reason);
    let response = post_adjustment(&s.app, &admin, store, Some(&key()), &body).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "{body}: {value}");
}

/// `PATCH /api/v1/me` as `user` (logged in again: the clock may have moved).
async fn patch_me(app: &TestApp, user: &TestUser, body: &Value) -> reqwest::Response {
    let token = app.login(&user.username, &user.password).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.authed(Method::PATCH, "/api/v1/me", &token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The server's clock now.
fn now(app: &TestApp) -> DateTime<Utc> {
    app.clock.now()
}
