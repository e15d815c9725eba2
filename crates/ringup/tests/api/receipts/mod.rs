//! Receipts (docs/API.md "Checkout", docs/CHECKOUT.md "Receipts"): `GET /sales/{id}/receipt` by
//! `Accept` — JSON (absent, `*/*`, `application/json`) with the sale's values and the printed
//! text, the 42-column `text/plain` layout (store time zone, amounts in major units with
//! thousands separators and the currency's decimals, wrapped names, tax breakdown, tenders,
//! change, VOID), `application/pdf` whose extracted text (`pdftotext -layout`) shows the same
//! lines, 406 for anything else; 404 outside the caller's stores, 403 for employees; and
//! `POST /sales/{id}/receipt/email`, 202 and then a mail (the file mailer's `.eml`) whose
//! subject is `Receipt <number>` and whose body is the text receipt.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use reqwest::{Method, Response};
use ringup_core::ids::{SaleId, StoreId};
use ringup_testkit::{TestApp, TestUser};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::auth::reset::{decode_message, files_in, mail_dir};
use crate::checkout_support::{
    CODE, Item, SALES, Shop, Tax, at, expect, id, int, line, number, pay, problem, register_in,
    sale_body, send, shop,
};
use crate::support::{error_fields, header};

/// Printer width in columns.
const WIDTH: usize = 42;
const STORE_NAME: &str = "Duka Moja Supermarket";
const OIL: &str = "Cooking Oil 5L";
/// Longer than a printed line: wraps.
const MILK: &str = "Fresh Milk Long Life UHT Full Cream 500ml Tetra Pak";
const BREAD: &str = "Bread";
const CUSTOMER: &str = "Peter Kamau";
const MAIL_TO: &str = "customer@example.com";
/// How long a queued mail may take to appear.
const MAIL_WAIT: Duration = Duration::from_secs(5);
/// Africa/Nairobi: UTC+3 all year.
const NAIROBI_MINUTES: i32 = 3 * 60;

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

/// A GET without any `Accept` header (reqwest always sends `Accept: */*`), as a bare
/// HTTP/1.1 request: `(status, content type, body)`.
async fn get_without_accept(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n",
        app.port
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert!(
        find("content-encoding").is_none(),
        "no encoding was offered: {head}"
    );
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)
    } else {
        body.to_vec()
    };
    let content_type = find("content-type").unwrap_or_default();
    (status, content_type, String::from_utf8(body).unwrap())
}

/// A `Transfer-Encoding: chunked` body, joined.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_line = std::str::from_utf8(&raw[..end]).unwrap();
        let size_hex = size_line.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
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

/// The tax breakdown row of `rate` (as printed, e.g. `16.00%`) shows `net` and `tax`, on its
/// line or the two after it.
fn assert_tax_row(text: &str, rate: &str, net: &str, tax: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(rate))
        .unwrap_or_else(|| panic!("no tax row for {rate}:\n{text}"));
    let block = lines[start..(start + 3).min(lines.len())].join("\n");
    for amount in [net, tax] {
        assert!(
            block.split_whitespace().any(|word| word == amount),
            "tax row {rate} lacks {amount}:\n{text}"
        );
    }
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

/// A store created over HTTP with its register and a cashier.
async fn store(
    s: &Shop,
    code: &str,
    currency: &str,
    timezone: &str,
) -> (StoreId, String, TestUser) {
    let body = json!({"code": code, "name": format!("Shop {code}"), "currency": currency,
        "timezone": timezone, "prices_include_tax": true, "allow_negative_stock": false});
    let response = send(
        s,
        Method::POST,
        "/api/v1/stores",
        &s.admin,
        Some(&body),
        None,
    )
    .await;
    let store = StoreId::parse(&id(&expect(response, 201).await)).unwrap();
    let register = register_in(s, store, "Till 1").await;
    let cashier = s.app.create_user("cashier", &[store]).await;
    (store, register, cashier)
}

/// A sale of `units` × a `price` product (16 %) in a new store, paid in cash.
async fn sale_in_store(
    s: &Shop,
    code: &str,
    currency: &str,
    timezone: &str,
    (price, units, cash): (i64, i64, i64),
) -> (Value, TestUser) {
    let (store, register, cashier) = store(s, code, currency, timezone).await;
    let item = product(
        s,
        store,
        &format!("{code}-1"),
        "Rice 2kg",
        price,
        &s.standard,
        10,
    )
    .await;
    let shift = s.open(&cashier.token, &register, 0).await;
    let body = sale_body(&shift, vec![line(&item, units)], vec![pay("cash", cash)]);
    (s.sell(&cashier.token, &body).await, cashier)
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

/// `fields` of every entry of `value[key]`.
fn project(value: &Value, key: &str, fields: &[&str]) -> Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array: {value}"))
        .iter()
        .map(|entry| {
            let object = fields
                .iter()
                .map(|f| {
                    (
                        (*f).to_owned(),
                        entry.get(*f).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            Value::Object(object)
        })
        .collect()
}

fn sorted(mut entries: Vec<Value>) -> Vec<Value> {
    entries.sort_by_key(|e| e.to_string());
    entries
}

#[tokio::test]
async fn the_json_receipt_shows_the_sale_and_its_printed_text_whatever_accepts_json() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let path = receipt_path(&sale);

    // Act
    let (status, content_type, bare) = get_without_accept(&s.app, &path, &cashier.token).await;
    let any = json_receipt(&s.app, &cashier.token, &sale, "*/*").await;
    let explicit = json_receipt(&s.app, &cashier.token, &sale, "application/json").await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let browsing = json_receipt(&s.app, &cashier.token, &sale, browser).await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;
    let by_admin = json_receipt(&s.app, &s.admin, &sale, "application/json").await;

    // Assert
    assert_eq!(status, 200, "no Accept: {bare}");
    assert_eq!(content_type, "application/json", "no Accept");
    let receipt: Value = serde_json::from_str(&bare).unwrap();
    for other in [&any, &explicit, &browsing, &by_admin] {
        assert_eq!(other, &receipt, "one receipt whatever accepts JSON");
    }
    assert_eq!(receipt["number"], number(CODE, 1));
    assert_eq!(receipt["number"], sale["number"]);
    assert_eq!(receipt["store_code"], CODE);
    assert_eq!(receipt["store_name"], STORE_NAME);
    assert_eq!(receipt["cashier"], cashier.username.as_str());
    assert_eq!(receipt["currency"], "KES");
    assert_eq!(receipt["customer"], CUSTOMER);
    assert_eq!(receipt["date"], local_date(&sale, NAIROBI_MINUTES));
    let line_fields = ["name", "sku", "quantity", "unit_price", "discount", "total"];
    assert_eq!(
        project(&receipt, "lines", &line_fields),
        project(&sale, "lines", &line_fields),
        "{receipt}"
    );
    let names: Vec<&str> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [OIL, MILK, BREAD]);
    assert_eq!(
        receipt["lines"][1],
        json!({"name": MILK, "sku": "MILK-500", "quantity": 3, "unit_price": 6_500,
            "discount": 2_065, "total": 17_435}),
        "line discount 1,950 plus 115 of the cart's"
    );
    for field in [
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "paid",
        "change",
    ] {
        assert_eq!(receipt[field], sale[field], "{field}: {receipt}");
    }
    assert_eq!(
        [
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "paid",
            "change"
        ]
        .map(|f| int(&receipt, f)),
        [153_956, 2_950, 19_714, 151_006, 160_000, 8_994]
    );
    let tax_fields = ["rate_bp", "net", "tax"];
    assert_eq!(
        sorted(project(&receipt, "tax_breakdown", &tax_fields)),
        sorted(project(&sale, "tax_breakdown", &tax_fields)),
        "{receipt}"
    );
    assert_eq!(
        sorted(project(&receipt, "tax_breakdown", &tax_fields)),
        sorted(vec![
            json!({"rate_bp": 1600, "net": 115_148, "tax": 18_423}),
            json!({"rate_bp": 800, "net": 16_144, "tax": 1_291}),
        ])
    );
    let payment_fields = ["method", "amount", "reference"];
    assert_eq!(
        project(&receipt, "payments", &payment_fields),
        vec![
            json!({"method": "mobile_money", "amount": 50_000, "reference": "QK12AB34CD"}),
            json!({"method": "card", "amount": 20_000, "reference": "VISA-4242"}),
            json!({"method": "cash", "amount": 90_000, "reference": null}),
        ]
    );
    assert_eq!(
        project(&receipt, "payments", &payment_fields),
        project(&sale, "payments", &payment_fields)
    );
    assert_eq!(receipt["voided"], false);
    assert_eq!(
        receipt["text"],
        text.as_str(),
        "`text` is the text/plain body"
    );
}

#[tokio::test]
async fn the_text_receipt_is_42_columns_local_time_and_formatted_amounts() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;

    // Act
    let text = text_receipt(&s.app, &cashier.token, &sale).await;

    // Assert
    assert_printable(&text);
    let squashed = squash(&text);
    assert!(text.contains(STORE_NAME), "{text}");
    assert!(text.contains(CODE), "{text}");
    assert!(text.contains(&number(CODE, 1)), "{text}");
    assert!(text.contains(&cashier.username), "{text}");
    assert!(text.contains(CUSTOMER), "{text}");
    // The store's local time (UTC+3), not UTC.
    let local = local_date(&sale, NAIROBI_MINUTES);
    assert!(text.contains(&local), "date {local}:\n{text}");
    assert!(!text.contains(&local_date(&sale, 0)), "UTC time:\n{text}");
    // Items; the milk's name is too long for a line: wrapped, every word kept.
    for name in [OIL, MILK, BREAD] {
        assert!(squashed.contains(name), "{name}:\n{text}");
    }
    assert!(!text.contains(MILK), "{MILK} fits on no line:\n{text}");
    for word in MILK.split_whitespace() {
        assert!(text.contains(word), "{word}:\n{text}");
    }
    // Line totals include the line's share of the cart discount (oil 813, milk 115, bread 72).
    assert_row(&text, "  1 x 1,234.56", "1,226.43");
    assert_row(&text, "  Discount", "-8.13");
    assert_row(&text, "  3 x 65.00", "174.35");
    assert_row(&text, "  Discount", "-20.65");
    assert_row(&text, "  2 x 55.00", "109.28");
    assert_row(&text, "  Discount", "-0.72");
    // Totals.
    assert_row(&text, "Subtotal", "1,539.56");
    assert_row(&text, "Discount", "-29.50");
    assert!(
        text.lines()
            .any(|l| l.contains("VAT") && l.ends_with(" 197.14")),
        "tax total:\n{text}"
    );
    assert_row(&text, "TOTAL KES", "1,510.06");
    // Tax breakdown by rate.
    assert_tax_row(&text, "16.00%", "1,151.48", "184.23");
    assert_tax_row(&text, "8.00%", "161.44", "12.91");
    // Tenders with their references, paid, change.
    assert_row(&text, "Mobile money", "500.00");
    assert!(text.contains("QK12AB34CD"), "{text}");
    assert_row(&text, "Card", "200.00");
    assert!(text.contains("VISA-4242"), "{text}");
    assert_row(&text, "Cash", "900.00");
    assert_row(&text, "Paid", "1,600.00");
    assert_row(&text, "Change", "89.94");
    assert!(!text.contains("VOID"), "not voided:\n{text}");
    // Amounts are in major units, never the minor ones.
    let without_names = text.replace(&cashier.username, "");
    for minor in ["123456", "151006", "8994"] {
        assert!(
            !without_names.contains(minor),
            "{minor} in minor units:\n{text}"
        );
    }
}

#[tokio::test]
async fn a_zero_decimal_currency_prints_whole_amounts_with_separators() {
    // Arrange: 2 × 1,234,567 = 2,469,134, tax 16 % incl. 340,570, cash 2,500,000.
    let s = shop().await;
    let cases = [
        ("KLA1", "UGX", "Africa/Kampala", 3 * 60),
        ("TKY1", "JPY", "Asia/Tokyo", 9 * 60),
    ];

    for (code, currency, timezone, offset) in cases {
        // Act
        let (sale, cashier) =
            sale_in_store(&s, code, currency, timezone, (1_234_567, 2, 2_500_000)).await;
        let text = text_receipt(&s.app, &cashier.token, &sale).await;
        let receipt = json_receipt(&s.app, &cashier.token, &sale, "application/json").await;

        // Assert
        assert_printable(&text);
        assert_eq!(receipt["currency"], currency);
        assert_eq!(receipt["text"], text.as_str());
        assert_eq!(receipt["total"], 2_469_134, "minor units in JSON");
        assert_eq!(receipt["date"], local_date(&sale, offset), "{timezone}");
        assert!(
            text.contains(&local_date(&sale, offset)),
            "{timezone}:\n{text}"
        );
        assert!(text.contains(&number(code, 1)), "{text}");
        assert_row(&text, "  2 x 1,234,567", "2,469,134");
        assert_row(&text, "Subtotal", "2,469,134");
        assert_row(&text, &format!("TOTAL {currency}"), "2,469,134");
        assert_row(&text, "Cash", "2,500,000");
        assert_row(&text, "Change", "30,866");
        assert!(
            text.lines()
                .any(|l| l.contains("VAT") && l.ends_with(" 340,570")),
            "tax total:\n{text}"
        );
        assert_tax_row(&text, "16.00%", "2,128,564", "340,570");
        // No amount has decimals (only the tax rate, a percentage, does).
        for word in text.split_whitespace() {
            if word.chars().any(|c| c.is_ascii_digit()) && !word.ends_with('%') {
                assert!(!word.contains('.'), "{word} in {currency}:\n{text}");
            }
        }
    }
}

#[tokio::test]
async fn the_date_is_the_store_local_time_to_the_minute() {
    // Arrange: Asia/Kathmandu is UTC+05:45, so even the minutes differ from UTC.
    let s = shop().await;

    // Act
    let (sale, cashier) =
        sale_in_store(&s, "KTM1", "NPR", "Asia/Kathmandu", (10_000, 1, 10_000)).await;
    let receipt = json_receipt(&s.app, &cashier.token, &sale, "application/json").await;

    // Assert
    let local = local_date(&sale, 5 * 60 + 45);
    assert_eq!(receipt["date"], local);
    let text = receipt["text"].as_str().unwrap();
    assert!(text.contains(&local), "{local}:\n{text}");
    assert_row(text, "TOTAL NPR", "100.00");
}

#[tokio::test]
async fn a_voided_sale_receipt_says_void() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let manager = s.staff("manager").await;
    expect(s.void(&manager.token, &sale, "customer left").await, 200).await;

    // Act
    let receipt = json_receipt(&s.app, &cashier.token, &sale, "application/json").await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;
    let pdf = pdftotext(&pdf_receipt(&s.app, &cashier.token, &sale).await);

    // Assert
    assert_eq!(receipt["voided"], true, "{receipt}");
    assert_eq!(receipt["text"], text.as_str());
    assert_eq!(
        receipt["total"], sale["total"],
        "what was charged is still shown"
    );
    assert_printable(&text);
    assert!(text.contains("VOID"), "{text}");
    assert!(text.contains(&number(CODE, 1)), "{text}");
    assert_row(&text, "TOTAL KES", "1,510.06");
    assert!(pdf.contains("VOID"), "{pdf}");
}

#[tokio::test]
async fn the_pdf_receipt_reads_as_the_text_receipt() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;

    // Act
    let pdf = pdf_receipt(&s.app, &cashier.token, &sale).await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;
    let extracted = pdftotext(&pdf);

    // Assert
    let squashed = squash(&extracted);
    assert!(extracted.contains(&number(CODE, 1)), "{extracted}");
    assert!(extracted.contains(STORE_NAME), "{extracted}");
    for name in [OIL, MILK, BREAD] {
        assert!(squashed.contains(name), "{name}:\n{extracted}");
    }
    assert!(
        extracted
            .lines()
            .any(|l| l.contains("TOTAL KES") && l.trim_end().ends_with("1,510.06")),
        "total:\n{extracted}"
    );
    assert!(
        extracted.contains(&local_date(&sale, NAIROBI_MINUTES)),
        "{extracted}"
    );
    assert!(
        squashed.contains(&squash(&text)),
        "the PDF shows the text receipt's lines:\n{extracted}\n---\n{text}"
    );
}

#[tokio::test]
async fn only_json_text_and_pdf_are_served_and_only_to_the_stores_sellers() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let colleague = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let employee = s.staff("employee").await;
    let (other, _) = s.other_store("OTH2", false).await;
    let outsider = s.app.create_user("cashier", &[other]).await;
    let outside_manager = s.app.create_user("manager", &[other]).await;
    let unknown = json!({ "id": SaleId::new().to_string() });
    let malformed = json!({ "id": "not-a-sale" });
    let mail = json!({ "email": MAIL_TO });

    // Act + Assert: what the store's sellers get.
    for token in [&cashier.token, &colleague.token, &manager.token, &s.admin] {
        for accept in ["application/json", "text/plain", "application/pdf"] {
            let response = get_receipt(&s.app, token, &sale, accept).await;
            assert_eq!(response.status().as_u16(), 200, "Accept: {accept}");
        }
    }
    // Nothing acceptable: 406, as a problem.
    for accept in ["image/png", "text/html", "application/xml"] {
        let response = get_receipt(&s.app, &cashier.token, &sale, accept).await;
        problem(response, 406).await;
    }
    // Unknown sales.
    for missing in [&unknown, &malformed] {
        for accept in ["application/json", "text/plain", "application/pdf"] {
            problem(get_receipt(&s.app, &s.admin, missing, accept).await, 404).await;
        }
        problem(email(&s, &s.admin, missing, &mail).await, 404).await;
    }
    // Another store's staff do not see the sale at all.
    for token in [&outsider.token, &outside_manager.token] {
        for accept in [
            "application/json",
            "text/plain",
            "application/pdf",
            "image/png",
        ] {
            problem(get_receipt(&s.app, token, &sale, accept).await, 404).await;
        }
        problem(email(&s, token, &sale, &mail).await, 404).await;
    }
    // Employees: 403 on every checkout route.
    for accept in ["application/json", "text/plain", "application/pdf"] {
        problem(
            get_receipt(&s.app, &employee.token, &sale, accept).await,
            403,
        )
        .await;
    }
    problem(email(&s, &employee.token, &sale, &mail).await, 403).await;
    // Without a token: 401.
    let anonymous = s.app.get(&receipt_path(&sale)).await;
    assert_eq!(anonymous.status().as_u16(), 401);
    // None of the refused requests sent mail.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(files_in(&mail_dir(&s.app)), Vec::<PathBuf>::new());
}

/// A delivered message: its header block and its decoded body with `\n` line ends.
struct Mail {
    headers: String,
    body: String,
}

/// Waits (at most [`MAIL_WAIT`]) for a message to `to` with `subject` in the app's mail
/// directory.
async fn wait_for_mail(app: &TestApp, to: &str, subject: &str) -> Mail {
    let dir = mail_dir(app);
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        for path in files_in(&dir) {
            let Ok(raw) = std::fs::read_to_string(&path) else {
                continue;
            };
            if raw.split_once("\r\n\r\n").is_none() && raw.split_once("\n\n").is_none() {
                continue; // still being written
            }
            let (headers, body) = decode_message(&raw);
            let has = |name: &str, value: &str| {
                headers.lines().any(|l| {
                    l.split_once(':').is_some_and(|(n, v)| {
                        n.trim().eq_ignore_ascii_case(name) && v.trim() == value
                    })
                })
            };
            if has("to", to) && has("subject", subject) {
                return Mail {
                    headers,
                    body: body.replace("\r\n", "\n"),
                };
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} with subject {subject:?} in {} within {MAIL_WAIT:?}; files: {:?}",
            dir.display(),
            files_in(&dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_emailed_receipt_is_queued_and_arrives_as_the_text_receipt() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;

    // Act
    let invalid = json!({ "email": "not-an-email" });
    let refused = email(&s, &cashier.token, &sale, &invalid).await;
    let body = json!({ "email": MAIL_TO });
    let response = email(&s, &cashier.token, &sale, &body).await;

    // Assert
    let problem = problem(refused, 422).await;
    assert_eq!(error_fields(&problem), ["email"], "{problem}");
    let queued = expect(response, 202).await;
    assert_eq!(queued, json!({ "status": "queued" }));
    let subject = format!("Receipt {}", number(CODE, 1));
    let mail = wait_for_mail(&s.app, MAIL_TO, &subject).await;
    let lines: Vec<&str> = mail.body.trim_end_matches('\n').lines().collect();
    let expected: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    assert_eq!(
        lines, expected,
        "the body is the text receipt\nheaders:\n{}",
        mail.headers
    );
    assert!(mail.body.contains(STORE_NAME));
    assert!(mail.body.contains("1,510.06"));
    assert_eq!(
        files_in(&mail_dir(&s.app)).len(),
        1,
        "one mail: none for the invalid address"
    );
}
