//! Daylight saving: a day is the store's own local day, 23 or 25 hours long on the change
//! days. Sales a second either side of local midnight on 2026-03-08 and 2026-11-01 in New
//! York and 2026-03-29 and 2026-10-25 in London land on the local day written next to each
//! (worked out by hand, not by a time-zone library), one store at a time and as a chain that
//! sums each store over its own days; the stock movement and shifts reports cut the days the
//! same way.

use serde_json::{Value, json};

use super::{Chain, MOVEMENTS, SALES_REPORT, SHIFTS_REPORT, Store, projected_rows, sale_body, utc};
use crate::checkout_support::pay;

/// (store: 0 New York, 1 London; instant; quantity; the local day it belongs to). Every
/// quantity is a distinct power of two, so a day's total names exactly the sales in it.
const SALES: [(usize, &str, i64, &str); 18] = [
    // New York, spring forward: 02:00 EST → 03:00 EDT on 8 March (a 23-hour day).
    (0, "2026-03-08T04:59:59Z", 1, "2026-03-07"), // 23:59:59 EST
    (0, "2026-03-08T05:00:00Z", 2, "2026-03-08"), // 00:00:00 EST
    (0, "2026-03-09T03:59:59Z", 4, "2026-03-08"), // 23:59:59 EDT
    (0, "2026-03-09T04:00:00Z", 8, "2026-03-09"), // 00:00:00 EDT
    // London, spring forward: 01:00 GMT → 02:00 BST on 29 March.
    (1, "2026-03-28T23:59:59Z", 1, "2026-03-28"), // 23:59:59 GMT
    (1, "2026-03-29T00:00:00Z", 2, "2026-03-29"), // 00:00:00 GMT
    (1, "2026-03-29T22:59:59Z", 4, "2026-03-29"), // 23:59:59 BST
    (1, "2026-03-29T23:00:00Z", 8, "2026-03-30"), // 00:00:00 BST
    // London, fall back: 02:00 BST → 01:00 GMT on 25 October (a 25-hour day).
    (1, "2026-10-24T22:59:59Z", 16, "2026-10-24"), // 23:59:59 BST
    (1, "2026-10-24T23:00:00Z", 32, "2026-10-25"), // 00:00:00 BST
    // The same instant in both stores: 23:30 EDT on the 24th in New York, 03:30 GMT on the
    // 25th in London.
    (0, "2026-10-25T03:30:00Z", 256, "2026-10-24"),
    (1, "2026-10-25T03:30:00Z", 512, "2026-10-25"),
    (1, "2026-10-25T23:59:59Z", 64, "2026-10-25"), // 23:59:59 GMT
    (1, "2026-10-26T00:00:00Z", 128, "2026-10-26"), // 00:00:00 GMT
    // New York, fall back: 02:00 EDT → 01:00 EST on 1 November (a 25-hour day).
    (0, "2026-11-01T03:59:59Z", 16, "2026-10-31"), // 23:59:59 EDT
    (0, "2026-11-01T04:00:00Z", 32, "2026-11-01"), // 00:00:00 EDT
    (0, "2026-11-02T04:30:00Z", 64, "2026-11-01"), // 23:30:00 EST
    (0, "2026-11-02T05:00:00Z", 128, "2026-11-02"), // 00:00:00 EST
];

/// The product's price: a day's total is 100 × the sum of its quantities.
const PRICE: i64 = 100;

/// `(key, sales, total)` of every row of a day report.
fn days(report: &Value) -> Vec<(String, i64, i64)> {
    projected_rows(report, &["key", "sales", "total"])
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["sales"].as_i64().unwrap(),
                r["total"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// What a day report over `from..=to` of `stores` must list, from the table above.
fn expected(stores: &[usize], from: &str, to: &str) -> Vec<(String, i64, i64)> {
    let (from, to) = (super::day(from), super::day(to));
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let key = d.to_string();
            let mine = SALES
                .iter()
                .filter(|(s, _, _, local)| stores.contains(s) && *local == key);
            let (n, q) = mine.fold((0, 0), |(n, q), (_, _, quantity, _)| (n + 1, q + quantity));
            (key, n, q * PRICE)
        })
        .collect()
}

async fn day_report(c: &Chain, store: Option<&Store>, from: &str, to: &str) -> Value {
    let mut q = vec![("from", from), ("to", to), ("group_by", "day")];
    if let Some(s) = store {
        q.push(("store_id", s.id.as_str()));
    }
    c.admin_report(SALES_REPORT, &q).await
}

#[tokio::test]
async fn sales_either_side_of_midnight_on_the_change_days_land_on_their_local_day() {
    // Arrange: two stores in dollars, so the chain sums them.
    let c = Chain::new(utc("2026-11-03T00:00:00Z")).await;
    let ny = c.store("NYC1", "USD", "America/New_York", true).await;
    let london = c.store("LON1", "USD", "Europe/London", true).await;
    let stores = [&ny, &london];
    let exempt = c.tax("Exempt", 0).await;
    let item = c.product("Token", PRICE, &exempt, None).await;
    let mut tokens = Vec::new();
    let mut shifts = Vec::new();
    for store in stores {
        c.receive(store, &item, 10_000).await;
        let cashier = c.user("cashier", &[store], 0).await;
        c.at(utc("2026-03-01T12:00:00Z"));
        shifts.push(c.open(&cashier.token, &store.register).await);
        tokens.push(cashier.token);
    }

    // Act
    let mut order: Vec<_> = SALES.iter().collect();
    order.sort_by_key(|(_, at, _, _)| utc(at));
    for (store, at, quantity, _) in order {
        let lines = vec![json!({"product_id": item.id, "quantity": quantity})];
        let body = sale_body(&shifts[*store], lines, vec![pay("card", PRICE * quantity)]);
        let sale = c.sell_at(utc(at), &tokens[*store], &body).await;
        assert_eq!(sale["created_at"].as_str().map(super::utc), Some(utc(at)));
    }

    // Assert: each store over its own days.
    for (store, from, to) in [
        (0, "2026-03-07", "2026-03-09"),
        (0, "2026-10-24", "2026-10-25"),
        (0, "2026-10-31", "2026-11-02"),
        (1, "2026-03-28", "2026-03-30"),
        (1, "2026-10-24", "2026-10-26"),
    ] {
        let report = day_report(&c, Some(stores[store]), from, to).await;
        assert_eq!(
            days(&report),
            expected(&[store], from, to),
            "{} {from}..{to}: {report}",
            stores[store].code
        );
    }
    // The chain: each store's sales on that store's local day, summed.
    for (from, to) in [("2026-03-07", "2026-03-30"), ("2026-10-24", "2026-11-02")] {
        let report = day_report(&c, None, from, to).await;
        assert_eq!(
            days(&report),
            expected(&[0, 1], from, to),
            "chain {from}..{to}: {report}"
        );
        let want: i64 = expected(&[0, 1], from, to).iter().map(|d| d.2).sum();
        assert_eq!(report["totals"]["total"], want, "{report}");
    }
    // The 23-hour and 25-hour days as one-day reports, with the day before as `previous`.
    for (store, on, before) in [
        (0, "2026-03-08", "2026-03-07"),
        (0, "2026-11-01", "2026-10-31"),
        (1, "2026-03-29", "2026-03-28"),
        (1, "2026-10-25", "2026-10-24"),
    ] {
        let report = day_report(&c, Some(stores[store]), on, on).await;
        let (today, yesterday) = (
            &expected(&[store], on, on)[0],
            &expected(&[store], before, before)[0],
        );
        assert_eq!(days(&report), std::slice::from_ref(today), "{on}: {report}");
        assert_eq!(report["previous"]["sales"], yesterday.1, "{on}: {report}");
        assert_eq!(report["previous"]["total"], yesterday.2, "{on}: {report}");
    }
    // Stock movements are cut on the same local days.
    for (store, on) in [
        (0, "2026-03-08"),
        (0, "2026-11-01"),
        (1, "2026-03-29"),
        (1, "2026-10-25"),
    ] {
        let q = [
            ("from", on),
            ("to", on),
            ("store_id", stores[store].id.as_str()),
        ];
        let report = c.admin_report(MOVEMENTS, &q).await;
        let want = &expected(&[store], on, on)[0];
        let rows = projected_rows(&report, &["kind", "movements", "quantity"]);
        assert_eq!(
            rows,
            [json!({"kind": "sale", "movements": want.1, "quantity": -want.2 / PRICE})],
            "{on}: {report}"
        );
    }
}

#[tokio::test]
async fn a_shift_closed_late_on_a_25_hour_day_is_in_that_days_shifts_report() {
    // Arrange
    let c = Chain::new(utc("2026-11-03T00:00:00Z")).await;
    let ny = c.store("NYC2", "USD", "America/New_York", true).await;
    let london = c.store("LON2", "USD", "Europe/London", true).await;
    let ny_cashier = c.user("cashier", &[&ny], 0).await;
    let london_cashier = c.user("cashier", &[&london], 0).await;

    // Act: 23:30 GMT on 25 October in London (00:30 on the 26th at the summer offset), and
    // 23:45 EST on 1 November in New York (00:45 on the 2nd at the summer offset).
    c.at(utc("2026-10-25T20:00:00Z"));
    let london_shift = c.open(&london_cashier.token, &london.register).await;
    c.at(utc("2026-10-25T23:30:00Z"));
    let path = format!("/api/v1/shifts/{}/close", super::id(&london_shift));
    c.post(
        &london_cashier.token,
        &path,
        &json!({"counted_cash": 0}),
        200,
    )
    .await;
    c.at(utc("2026-11-01T12:00:00Z"));
    let ny_shift = c.open(&ny_cashier.token, &ny.register).await;
    c.at(utc("2026-11-02T04:45:00Z"));
    let path = format!("/api/v1/shifts/{}/close", super::id(&ny_shift));
    c.post(&ny_cashier.token, &path, &json!({"counted_cash": 250}), 200)
        .await;

    // Assert
    for (store, shift, on, next, over) in [
        (&london, &london_shift, "2026-10-25", "2026-10-26", 0),
        (&ny, &ny_shift, "2026-11-01", "2026-11-02", 250),
    ] {
        let q = [("from", on), ("to", on), ("store_id", store.id.as_str())];
        let report = c.admin_report(SHIFTS_REPORT, &q).await;
        let rows = projected_rows(&report, &["shift_id", "over_short"]);
        assert_eq!(
            rows,
            [json!({"shift_id": shift["id"], "over_short": over})],
            "{on}: {report}"
        );
        let q = [
            ("from", next),
            ("to", next),
            ("store_id", store.id.as_str()),
        ];
        let report = c.admin_report(SHIFTS_REPORT, &q).await;
        assert_eq!(report["rows"], json!([]), "{next}: {report}");
    }
}

#[tokio::test]
async fn a_day_that_skips_midnight_starts_at_its_first_local_time() {
    // Arrange: Chile moves its clocks from 24:00 to 01:00 at the start of 6 September 2026,
    // so that day runs from 01:00 -03 (04:00 UTC) to 24:00 -03 (03:00 UTC on the 7th).
    let c = Chain::new(utc("2026-09-08T00:00:00Z")).await;
    let store = c.store("SCL1", "CLP", "America/Santiago", true).await;
    let exempt = c.tax("Exempt", 0).await;
    let item = c.product("Empanada", PRICE, &exempt, None).await;
    c.receive(&store, &item, 100).await;
    let cashier = c.user("cashier", &[&store], 0).await;
    c.at(utc("2026-09-05T12:00:00Z"));
    let shift = c.open(&cashier.token, &store.register).await;

    // Act
    for (at, quantity) in [
        ("2026-09-06T03:59:59Z", 1), // 23:59:59 -04 on the 5th
        ("2026-09-06T04:00:00Z", 2), // 01:00:00 -03 on the 6th
        ("2026-09-07T02:59:59Z", 4), // 23:59:59 -03 on the 6th
        ("2026-09-07T03:00:00Z", 8), // 00:00:00 -03 on the 7th
    ] {
        let lines = vec![json!({"product_id": item.id, "quantity": quantity})];
        let body = sale_body(&shift, lines, vec![pay("cash", PRICE * quantity)]);
        c.sell_at(utc(at), &cashier.token, &body).await;
    }

    // Assert
    let report = day_report(&c, Some(&store), "2026-09-05", "2026-09-07").await;
    assert_eq!(
        days(&report),
        [
            ("2026-09-05".to_owned(), 1, 100),
            ("2026-09-06".to_owned(), 2, 600),
            ("2026-09-07".to_owned(), 1, 800),
        ],
        "{report}"
    );
    let q = [
        ("from", "2026-09-06"),
        ("to", "2026-09-06"),
        ("store_id", store.id.as_str()),
    ];
    let movements = c.admin_report(MOVEMENTS, &q).await;
    assert_eq!(
        projected_rows(&movements, &["kind", "movements", "quantity"]),
        [json!({"kind": "sale", "movements": 2, "quantity": -6})],
        "{movements}"
    );
}
