//! The printed (`text/plain`) receipt: 42 columns, the store's local time, amounts in major units
//! with thousands separators and the currency's decimals, the tax breakdown, and VOID on a
//! voided sale.

use reqwest::Method;
use ringup_core::ids::StoreId;
use ringup_testkit::TestUser;
use serde_json::{Value, json};

use super::{
    BREAD, CUSTOMER, Fixture, MILK, NAIROBI_MINUTES, OIL, STORE_NAME, assert_printable, assert_row,
    fixture, json_receipt, local_date, pdf_receipt, pdftotext, product, squash, text_receipt,
};
use crate::checkout_support::{
    CODE, Shop, expect, id, line, number, pay, register_in, sale_body, send, shop,
};

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
