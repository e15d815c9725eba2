//! Receipts (docs/API.md "Checkout", docs/CHECKOUT.md "Receipts"): `GET /sales/{id}/receipt` by
//! `Accept` — JSON (absent, `*/*`, `application/json`) with the sale's values and the printed
//! text, the 42-column `text/plain` layout (store time zone, amounts in major units with
//! thousands separators and the currency's decimals, wrapped names, tax breakdown, tenders,
//! change, VOID), `application/pdf` whose extracted text (`pdftotext -layout`) shows the same
//! lines, 406 for anything else; 404 outside the caller's stores, 403 for employees; and
//! `POST /sales/{id}/receipt/email`, 202 and then a mail (the file mailer's `.eml`) whose
//! subject is `Receipt <number>` and whose body is the text receipt.
//!
//! The receipt sale (`fixture`), the requests for each format and the checks of a printed
//! receipt are here, shared by the modules below.

use std::io::Write as _;
use std::process::Command;

use chrono::FixedOffset;
use reqwest::{Method, Response};
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, TestUser};
use serde_json::{Value, json};

use crate::checkout_support::{
    Item, SALES, Shop, Tax, at, expect, id, int, line, pay, sale_body, send, shop,
};
use crate::support::header;

mod access;
mod json;
mod mail;
mod pdf;
mod text;

/// Printer width in columns.
const WIDTH: usize = 42;
const STORE_NAME: &str = "Duka Moja Supermarket";
const OIL: &str = "Cooking Oil 5L";
/// Longer than a printed line: wraps.
const MILK: &str = "Fresh Milk Long Life UHT Full Cream 500ml Tetra Pak";
const BREAD: &str = "Bread";
const CUSTOMER: &str = "Peter Kamau";
const MAIL_TO: &str = "customer@example.com";
/// Africa/Nairobi: UTC+3 all year.
const NAIROBI_MINUTES: i32 = 3 * 60;

/// The header blocks of the mails in the app's mail directory. Not every mail there is a
/// test's: the store's daily summary goes to its managers once the store's local time passes
/// its summary time, whatever the test does.
fn mail_headers(app: &TestApp) -> Vec<String> {
    crate::auth::reset::files_in(&crate::auth::reset::mail_dir(app))
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|raw| raw.contains("\r\n\r\n") || raw.contains("\n\n"))
        .map(|raw| crate::auth::reset::decode_message(&raw).0)
        .collect()
}

/// The header blocks of the receipt mails (subject `Receipt <number>`).
fn receipt_mails(app: &TestApp) -> Vec<String> {
    mail_headers(app)
        .into_iter()
        .filter(|h| h.lines().any(|l| l.starts_with("Subject: Receipt ")))
        .collect()
}

fn receipt_path(sale: &Value) -> String {
    format!("{SALES}/{}/receipt", id(sale))
}

fn email_path(sale: &Value) -> String {
    format!("{SALES}/{}/receipt/email", id(sale))
}

/// `POST /sales/{id}/receipt/email` as `token`.
async fn email(s: &Shop, token: &str, sale: &Value, body: &Value) -> Response {
    send(s, Method::POST, &email_path(sale), token, Some(body), None).await
}

/// `GET /sales/{id}/receipt` as `token` with `Accept: accept`.
async fn get_receipt(app: &TestApp, token: &str, sale: &Value, accept: &str) -> Response {
    app.authed(Method::GET, &receipt_path(sale), token)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

/// The JSON receipt (200, `application/json`) for `accept`.
async fn json_receipt(app: &TestApp, token: &str, sale: &Value, accept: &str) -> Value {
    let response = get_receipt(app, token, sale, accept).await;
    let content_type = header(&response, "content-type");
    let body = expect(response, 200).await;
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "Accept: {accept}"
    );
    body
}

/// The text receipt: 200, `text/plain; charset=utf-8`.
async fn text_receipt(app: &TestApp, token: &str, sale: &Value) -> String {
    let response = get_receipt(app, token, sale, "text/plain").await;
    let status = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; charset=utf-8"),
        "{text}"
    );
    text
}

/// The PDF receipt's bytes: 200, `application/pdf`, starting with `%PDF`.
async fn pdf_receipt(app: &TestApp, token: &str, sale: &Value) -> Vec<u8> {
    let response = get_receipt(app, token, sale, "application/pdf").await;
    let status = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type.as_deref(), Some("application/pdf"));
    assert!(
        bytes.starts_with(b"%PDF"),
        "not a PDF: {:?}",
        bytes.get(..16)
    );
    bytes
}

/// The sale's `created_at` as the receipt prints it at UTC + `offset_minutes`.
fn local_date(sale: &Value, offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
    at(sale, "created_at")
        .with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Whitespace runs as one space, so wrapped names and pdftotext's spacing compare equal.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every line at most 42 characters (not bytes), none with trailing spaces; ends with `\n`.
fn assert_printable(text: &str) {
    assert!(text.ends_with('\n'), "ends with a newline:\n{text}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "{} characters: {line:?}\n{text}",
            line.chars().count()
        );
        assert_eq!(line, line.trim_end(), "trailing spaces:\n{text}");
    }
}

/// Some line starts with `left` and ends at column 42 with `right`.
fn assert_row(text: &str, left: &str, right: &str) {
    assert!(
        text.lines().any(|l| l.starts_with(left)
            && l.ends_with(right)
            && l.chars().count() == WIDTH
            && l.get(l.len() - right.len() - 1..)
                .is_some_and(|tail| tail.starts_with(' '))),
        "no row {left:?} … {right:?} ending at column {WIDTH}:\n{text}"
    );
}

/// The text `pdftotext -layout` extracts from `pdf`. Fails (never skips) without pdftotext.
fn pdftotext(pdf: &[u8]) -> String {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    file.write_all(pdf).unwrap();
    file.flush().unwrap();
    let output = match Command::new("pdftotext")
        .arg("-layout")
        .arg(file.path())
        .arg("-")
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "could not run `pdftotext` ({e}): the receipt PDF is checked with it; install \
             poppler-utils (apt-get install poppler-utils)"
        ),
    };
    assert!(
        output.status.success(),
        "pdftotext failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A product named `name`, with `units` received into `store`.
async fn product(
    s: &Shop,
    store: StoreId,
    sku: &str,
    name: &str,
    price: i64,
    tax: &Tax,
    units: i64,
) -> Item {
    let body = json!({"sku": sku, "name": name, "price": price, "cost": price / 2,
        "tax_class_id": tax.id, "low_stock_threshold": 0});
    let path = "/api/v1/products";
    let response = send(s, Method::POST, path, &s.admin, Some(&body), None).await;
    let id = id(&expect(response, 201).await);
    s.receive(store, &id, units).await;
    Item {
        id,
        sku: sku.to_owned(),
        name: name.to_owned(),
        price,
        tax: tax.clone(),
    }
}

/// The receipt sale of the shop's store (KES, Africa/Nairobi, prices incl. tax), renamed
/// `STORE_NAME`: oil 1 × 1,234.56 (16 %), milk 3 × 65.00 less 10 % (8 %, a name that
/// wraps), bread 2 × 55.00 (16 %), 10.00 off the cart; for a customer; paid by mobile money
/// and card with references and cash, with change.
///
/// By hand: lines 123,456 / 17,550 / 11,000 (152,006); the cart's 1,000 spread 812 + 1 / 115
/// / 72 → totals 122,643 / 17,435 / 10,928 = 151,006; tax 16,916 / 1,291 / 1,507.
struct Fixture {
    s: Shop,
    cashier: TestUser,
    sale: Value,
}

async fn fixture() -> Fixture {
    let s = shop().await;
    s.patch_store(s.store, &json!({ "name": STORE_NAME })).await;
    let cashier = s.staff("cashier").await;
    let oil = product(&s, s.store, "OIL-5L", OIL, 123_456, &s.standard, 10).await;
    let milk = product(&s, s.store, "MILK-500", MILK, 6_500, &s.reduced, 10).await;
    let bread = product(&s, s.store, "BRD-400", BREAD, 5_500, &s.standard, 10).await;
    let customer = {
        let body = json!({"name": CUSTOMER, "phone": "0712 345 678"});
        let path = "/api/v1/customers";
        let response = send(&s, Method::POST, path, &cashier.token, Some(&body), None).await;
        id(&expect(response, 201).await)
    };
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let mut body = sale_body(
        &shift,
        vec![
            line(&oil, 1),
            json!({"product_id": milk.id, "quantity": 3, "discount": {"percent_bp": 1000}}),
            line(&bread, 2),
        ],
        vec![
            json!({"method": "mobile_money", "amount": 50_000, "reference": "QK12AB34CD"}),
            json!({"method": "card", "amount": 20_000, "reference": "VISA-4242"}),
            pay("cash", 90_000),
        ],
    );
    body["discount"] = json!({ "amount": 1_000 });
    body["customer_id"] = json!(customer);
    let sale = s.sell(&cashier.token, &body).await;
    assert_eq!(int(&sale, "total"), 151_006, "{sale}");
    assert_eq!(int(&sale, "change"), 8_994, "{sale}");
    Fixture { s, cashier, sale }
}
