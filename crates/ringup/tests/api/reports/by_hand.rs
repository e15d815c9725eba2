//! One weekend in a café in Auckland (NZST, UTC+12, prices include 15 % GST), every figure
//! worked out by hand from API.md: discounts (line percent, cart amount and cart percent with
//! their spread), a split tender with cash change, a void made the next day, two partial
//! returns of one line by two cashiers on two days (cumulative rounding of refund and tax),
//! and sales on both sides of local midnight whose UTC day is not their local day.
//!
//! The period is Sunday 2026-05-31 and Monday 2026-06-01, so it spans two ISO weeks and two
//! months; the period before it (29–30 May) holds one sale.

use serde_json::{Value, json};

use super::assert_change;
use super::{
    COMMISSIONS, Chain, LINE_GROUPS, SALE_GROUPS, SALES_FIELDS, SALES_REPORT, TAX_REPORT,
    TOTAL_FIELDS, int, project, projected_rows, return_body, sale_body, utc,
};
use crate::checkout_support::pay;

/// A sales report row: `[sales, gross, discounts, net, tax, total, returns, refunds,
/// average_basket]`.
fn row(key: &str, label: Option<&str>, f: [i64; 9]) -> Value {
    let mut v = figures(f);
    v["key"] = json!(key);
    v["label"] = json!(label);
    v
}

fn figures(f: [i64; 9]) -> Value {
    let mut v = json!({});
    for (name, value) in TOTAL_FIELDS.iter().zip(f) {
        v[*name] = json!(value);
    }
    v
}

fn line(product: &str, quantity: i64, discount: Option<Value>) -> Value {
    let mut l = json!({"product_id": product, "quantity": quantity});
    if let Some(d) = discount {
        l["discount"] = d;
    }
    l
}

/// Rows of `report` as the contract names them; labels only where the contract defines
/// them (store, cashier, product, category).
fn rows(report: &Value, labelled: bool) -> Value {
    let mut rows = projected_rows(report, &SALES_FIELDS);
    if !labelled {
        for r in &mut rows {
            r["label"] = Value::Null;
        }
    }
    Value::Array(rows)
}

/// The café, its cashiers and what they sold.
struct Weekend {
    c: Chain,
    store: super::Store,
    ana: ringup_testkit::TestUser,
    ben: ringup_testkit::TestUser,
    /// Flat white, muffin, stamp.
    products: [String; 3],
    /// Drinks, shop.
    categories: [String; 2],
    /// GST, zero rated.
    taxes: [String; 2],
}

const FROM: &str = "2026-05-31";
const TO: &str = "2026-06-01";

/// The weekend rung up, with what the assertions need.
async fn weekend() -> Weekend {
    // Arrange: a store far east of UTC, two cashiers on two registers.
    let c = Chain::new(utc("2026-06-03T00:00:00Z")).await;
    let store = c.store("AKL1", "NZD", "Pacific/Auckland", true).await;
    let till2 = c.register(&store.id, "Till 2").await;
    let gst = c.tax("GST", 1500).await;
    let zero = c.tax("Zero rated", 0).await;
    let drinks = c.category("Drinks").await;
    let shop = c.category("Shop").await;
    let flat_white = c.product("Flat white", 550, &gst, Some(&drinks)).await;
    let muffin = c.product("Muffin", 475, &gst, Some(&shop)).await;
    let stamp = c.product("Stamp", 300, &zero, Some(&shop)).await;
    for p in [&flat_white, &muffin, &stamp] {
        c.receive(&store, p, 100).await;
    }
    let ana = c.user("cashier", &[&store], 200).await;
    let ben = c.user("cashier", &[&store], 100).await;
    c.at(utc("2026-05-29T00:00:00Z"));
    let shift_a = c.open(&ana.token, &store.register).await;
    let shift_b = c.open(&ben.token, &till2).await;
    let (fw, mu, st) = (&flat_white.id, &muffin.id, &stamp.id);

    // Act: local times in the comments (UTC+12).
    // Sat 30 May 23:59:59 — the period before.
    let body = sale_body(&shift_a, vec![line(fw, 2, None)], vec![pay("cash", 1100)]);
    let s0 = c
        .sell_at(utc("2026-05-30T11:59:59Z"), &ana.token, &body)
        .await;
    // Sun 31 May 00:30 (UTC still the 30th): 3 flat whites at 10 % off and a muffin, 1.01
    // off the cart, paid 15.00 by card and 5.00 cash.
    let mut body = sale_body(
        &shift_a,
        vec![
            line(fw, 3, Some(json!({"percent_bp": 1000}))),
            line(mu, 1, None),
        ],
        vec![
            json!({"method": "card", "amount": 1500, "reference": "AUTH-1"}),
            pay("cash", 500),
        ],
    );
    body["discount"] = json!({"amount": 101});
    let s1 = c
        .sell_at(utc("2026-05-30T12:30:00Z"), &ana.token, &body)
        .await;
    // 09:15: three stamps (zero rated), mobile money.
    let body = sale_body(
        &shift_b,
        vec![line(st, 3, None)],
        vec![json!({"method": "mobile_money", "amount": 900, "reference": "QK12AB34CD"})],
    );
    let s2 = c
        .sell_at(utc("2026-05-30T21:15:00Z"), &ben.token, &body)
        .await;
    // 12:00: a muffin, voided on Monday.
    let body = sale_body(&shift_b, vec![line(mu, 1, None)], vec![pay("cash", 500)]);
    let s3 = c
        .sell_at(utc("2026-05-31T00:00:00Z"), &ben.token, &body)
        .await;
    // 15:00: Ben takes back one of Sale 1's three flat whites at his own till.
    let body = return_body(&s1, Some(&till2), &[(0, 1)], vec![pay("cash", 469)]);
    let r1 = c
        .return_at(utc("2026-05-31T03:00:00Z"), &ben.token, &body)
        .await;
    // 23:50: a flat white and a stamp, 5 % off the cart, by card.
    let mut body = sale_body(
        &shift_a,
        vec![line(fw, 1, None), line(st, 1, None)],
        vec![pay("card", 807)],
    );
    body["discount"] = json!({"percent_bp": 500});
    let s4 = c
        .sell_at(utc("2026-05-31T11:50:00Z"), &ana.token, &body)
        .await;
    // Mon 1 June 00:10 (UTC still the 31st): two muffins, 10.00 cash.
    let body = sale_body(&shift_b, vec![line(mu, 2, None)], vec![pay("cash", 1000)]);
    let s5 = c
        .sell_at(utc("2026-05-31T12:10:00Z"), &ben.token, &body)
        .await;
    // 10:00: Ana takes back a second flat white of Sale 1, refunded to the card.
    let body = return_body(&s1, None, &[(0, 1)], vec![pay("card", 470)]);
    let r2 = c
        .return_at(utc("2026-05-31T22:00:00Z"), &ana.token, &body)
        .await;
    // 11:00: Sunday's muffin is voided.
    c.void_at(utc("2026-05-31T23:00:00Z"), &s3).await;
    // Tue 2 June 00:00:00 exactly — the day after the period.
    let body = sale_body(&shift_a, vec![line(st, 1, None)], vec![pay("cash", 300)]);
    let s6 = c
        .sell_at(utc("2026-06-01T12:00:00Z"), &ana.token, &body)
        .await;

    // The sales and returns are what the hand computation below starts from.
    let amounts = |s: &Value| {
        [
            "subtotal",
            "discount_total",
            "net_total",
            "tax_total",
            "total",
            "change",
            "commission",
        ]
        .map(|f| int(s, f))
    };
    assert_eq!(amounts(&s0), [1100, 0, 957, 143, 1100, 0, 19]);
    assert_eq!(amounts(&s1), [2125, 266, 1616, 243, 1859, 141, 32]);
    let line_amounts = |s: &Value, i: usize| {
        ["quantity", "discount", "net", "tax", "total"].map(|f| int(&s["lines"][i], f))
    };
    assert_eq!(line_amounts(&s1, 0), [3, 242, 1224, 184, 1408]);
    assert_eq!(line_amounts(&s1, 1), [1, 24, 392, 59, 451]);
    assert_eq!(amounts(&s2), [900, 0, 900, 0, 900, 0, 9]);
    assert_eq!(amounts(&s3), [475, 0, 413, 62, 475, 25, 4]);
    assert_eq!(amounts(&s4), [850, 43, 739, 68, 807, 0, 15]);
    assert_eq!(line_amounts(&s4, 0), [1, 28, 454, 68, 522]);
    assert_eq!(line_amounts(&s4, 1), [1, 15, 285, 0, 285]);
    assert_eq!(amounts(&s5), [950, 0, 826, 124, 950, 50, 8]);
    assert_eq!(amounts(&s6)[4], 300);
    assert_eq!((int(&r1, "total"), int(&r2, "total")), (469, 470));
    assert_eq!(r1["cashier_id"], ben.id.as_str());
    assert_eq!(r2["cashier_id"], ana.id.as_str());
    Weekend {
        c,
        store,
        ana,
        ben,
        products: [flat_white.id, muffin.id, stamp.id],
        categories: [drinks, shop],
        taxes: [gst.id, zero.id],
    }
}

/// What the report of `group` must say, worked out by hand:
/// (labelled, rows, totals, previous, change_pct).
fn expected(w: &Weekend, group: &str) -> (bool, Value, Value, Value, Value) {
    let (ana, ben, store) = (&w.ana, &w.ben, &w.store);
    let [fw, mu, st] = &w.products;
    let [drinks, shop] = &w.categories;

    let day_rows = json!([
        row(
            "2026-05-31",
            None,
            [3, 3875, 309, 3255, 311, 3566, 1, 469, 1189]
        ),
        row("2026-06-01", None, [1, 950, 0, 826, 124, 950, 1, 470, 950]),
    ]);
    let totals = figures([4, 4825, 309, 4081, 435, 4516, 2, 939, 1129]);
    let previous = figures([1, 1100, 0, 957, 143, 1100, 0, 0, 1100]);
    let change = json!({"sales": 300.0, "gross": 338.64, "discounts": null, "net": 326.44,
        "tax": 204.2, "total": 310.55, "returns": null, "refunds": null,
        "average_basket": 2.64});
    let ana_row = |f| row(&ana.id, Some(&ana.username), f);
    let ben_row = |f| row(&ben.id, Some(&ben.username), f);
    let all: Vec<(&str, bool, Value, Value, Value, Value)> = vec![
        (
            "day",
            false,
            day_rows.clone(),
            totals.clone(),
            previous.clone(),
            change.clone(),
        ),
        (
            "week",
            false,
            json!([
                row(
                    "2026-W22",
                    None,
                    [3, 3875, 309, 3255, 311, 3566, 1, 469, 1189]
                ),
                row("2026-W23", None, [1, 950, 0, 826, 124, 950, 1, 470, 950]),
            ]),
            totals.clone(),
            previous.clone(),
            change.clone(),
        ),
        (
            "month",
            false,
            json!([
                row(
                    "2026-05",
                    None,
                    [3, 3875, 309, 3255, 311, 3566, 1, 469, 1189]
                ),
                row("2026-06", None, [1, 950, 0, 826, 124, 950, 1, 470, 950]),
            ]),
            totals.clone(),
            previous.clone(),
            change.clone(),
        ),
        (
            "store",
            true,
            json!([row(
                &store.id,
                Some("AKL1"),
                [4, 4825, 309, 4081, 435, 4516, 2, 939, 1129]
            )]),
            totals.clone(),
            previous.clone(),
            change.clone(),
        ),
        (
            "cashier",
            true,
            json!([
                ana_row([2, 2975, 309, 2355, 311, 2666, 1, 470, 1333]),
                ben_row([2, 1850, 0, 1726, 124, 1850, 1, 469, 925]),
            ]),
            totals.clone(),
            previous.clone(),
            change.clone(),
        ),
        (
            "product",
            true,
            json!([
                row(
                    fw,
                    Some("Flat white"),
                    [4, 2200, 270, 1678, 252, 1930, 2, 939, 483]
                ),
                row(
                    mu,
                    Some("Muffin"),
                    [3, 1425, 24, 1218, 183, 1401, 0, 0, 467]
                ),
                row(st, Some("Stamp"), [4, 1200, 15, 1185, 0, 1185, 0, 0, 296]),
            ]),
            figures([11, 4825, 309, 4081, 435, 4516, 2, 939, 411]),
            figures([2, 1100, 0, 957, 143, 1100, 0, 0, 550]),
            json!({"sales": 450.0, "gross": 338.64, "discounts": null, "net": 326.44,
                "tax": 204.2, "total": 310.55, "returns": null, "refunds": null,
                "average_basket": -25.27}),
        ),
        (
            "category",
            true,
            json!([
                row(
                    shop,
                    Some("Shop"),
                    [7, 2625, 39, 2403, 183, 2586, 0, 0, 369]
                ),
                row(
                    drinks,
                    Some("Drinks"),
                    [4, 2200, 270, 1678, 252, 1930, 2, 939, 483]
                ),
            ]),
            figures([11, 4825, 309, 4081, 435, 4516, 2, 939, 411]),
            figures([2, 1100, 0, 957, 143, 1100, 0, 0, 550]),
            json!({"sales": 450.0, "gross": 338.64, "discounts": null, "net": 326.44,
                "tax": 204.2, "total": 310.55, "returns": null, "refunds": null,
                "average_basket": -25.27}),
        ),
        (
            "tender",
            false,
            json!([
                row("card", None, [2, 0, 0, 0, 0, 2307, 0, 470, 0]),
                row("cash", None, [2, 0, 0, 0, 0, 1309, 0, 469, 0]),
                row("mobile_money", None, [1, 0, 0, 0, 0, 900, 0, 0, 0]),
            ]),
            figures([5, 0, 0, 0, 0, 4516, 0, 939, 0]),
            figures([1, 0, 0, 0, 0, 1100, 0, 0, 0]),
            json!({"sales": 400.0, "gross": null, "discounts": null, "net": null,
                "tax": null, "total": 310.55, "returns": null, "refunds": null,
                "average_basket": null}),
        ),
    ];
    let (_, labelled, rows, totals, previous, change) = all
        .into_iter()
        .find(|e| e.0 == group)
        .unwrap_or_else(|| panic!("no group {group}"));
    (labelled, rows, totals, previous, change)
}

/// Asserts the report of `group` over the weekend, as the chain and as the store.
async fn assert_group(w: &Weekend, group: &'static str) {
    let (c, store) = (&w.c, &w.store);
    let (from, to) = (FROM, TO);
    let (labelled, want_rows, want_totals, want_previous, want_change) = expected(w, group);
    for scoped in [false, true] {
        let mut q = vec![("from", from), ("to", to), ("group_by", group)];
        if scoped {
            q.push(("store_id", store.id.as_str()));
        }
        let r = c.admin_report(SALES_REPORT, &q).await;
        let context = format!("group_by={group} store_id={scoped}");
        assert_eq!(r["from"], from, "{context}: {r}");
        assert_eq!(r["to"], to, "{context}: {r}");
        assert_eq!(r["group_by"], group, "{context}: {r}");
        assert_eq!(r["currency"], "NZD", "{context}: {r}");
        let want_store = if scoped { json!(store.id) } else { Value::Null };
        assert_eq!(r["store_id"], want_store, "{context}: {r}");
        assert_eq!(rows(&r, labelled), want_rows, "{context}: rows of {r}");
        assert_eq!(
            project(&r["totals"], &TOTAL_FIELDS),
            want_totals,
            "{context}: {r}"
        );
        assert_eq!(
            project(&r["previous"], &TOTAL_FIELDS),
            want_previous,
            "{context}: {r}"
        );
        assert_change(&r["change_pct"], &want_change, &context);
    }
}

#[tokio::test]
async fn a_weekend_in_auckland_adds_up_by_day_week_month_store_cashier_and_tender() {
    // Arrange / Act
    let w = weekend().await;

    // Assert: every such grouping of the period, as the chain and as the store.
    for group in SALE_GROUPS {
        assert_group(&w, group).await;
    }
    let c = &w.c;
    let (ana, ben) = (&w.ana, &w.ben);
    let (from, to) = (FROM, TO);
    let [gst, zero] = &w.taxes;
    // The UTC day of Sale 0 and Sale 1 holds only Sale 0 locally; Tuesday only Sale 6.
    let saturday = c
        .admin_report(
            SALES_REPORT,
            &[("from", "2026-05-30"), ("to", "2026-05-30")],
        )
        .await;
    assert_eq!(
        projected_rows(&saturday, &["key", "sales", "total"]),
        [json!({"key": "2026-05-30", "sales": 1, "total": 1100})],
        "{saturday}"
    );
    let tuesday = c
        .admin_report(
            SALES_REPORT,
            &[("from", "2026-06-02"), ("to", "2026-06-02")],
        )
        .await;
    assert_eq!(
        projected_rows(&tuesday, &["key", "sales", "total"]),
        [json!({"key": "2026-06-02", "sales": 1, "total": 300})],
        "{tuesday}"
    );

    // The VAT return: sales' own amounts; returns only in the refund columns, their tax split
    // per line cumulatively (round(184 / 3) = 61, then round(368 / 3) − 61 = 62).
    let tax = c
        .admin_report(TAX_REPORT, &[("from", from), ("to", to)])
        .await;
    let fields = [
        "tax_class_id",
        "name",
        "rate_bp",
        "net",
        "tax",
        "total",
        "refund_net",
        "refund_tax",
    ];
    let mut got = projected_rows(&tax, &fields);
    got.sort_by_key(|r| int(r, "rate_bp"));
    assert_eq!(
        got,
        [
            json!({"tax_class_id": zero, "name": "Zero rated", "rate_bp": 0, "net": 1185,
                "tax": 0, "total": 1185, "refund_net": 0, "refund_tax": 0}),
            json!({"tax_class_id": gst, "name": "GST", "rate_bp": 1500, "net": 2896,
                "tax": 435, "total": 3331, "refund_net": 816, "refund_tax": 123}),
        ],
        "{tax}"
    );
    assert_eq!(
        project(&tax["totals"], &fields[3..]),
        json!({"net": 4081, "tax": 435, "total": 4516, "refund_net": 816, "refund_tax": 123}),
        "{tax}"
    );

    // Commissions: the sales' own (2 % and 1 %), the voided sale's gone, returns change nothing.
    let commissions = c
        .admin_report(COMMISSIONS, &[("from", from), ("to", to)])
        .await;
    let fields = ["cashier_id", "username", "sales", "net_total", "commission"];
    let mut got = projected_rows(&commissions, &fields);
    got.sort_by_key(|r| int(r, "commission"));
    assert_eq!(
        got,
        [
            json!({"cashier_id": ben.id, "username": ben.username, "sales": 2,
                "net_total": 1726, "commission": 17}),
            json!({"cashier_id": ana.id, "username": ana.username, "sales": 2,
                "net_total": 2355, "commission": 47}),
        ],
        "{commissions}"
    );
    assert_eq!(
        project(&commissions["totals"], &fields[2..]),
        json!({"sales": 4, "net_total": 4081, "commission": 64}),
        "{commissions}"
    );
}

#[tokio::test]
async fn a_weekend_in_auckland_adds_up_by_product_and_category() {
    // Arrange / Act
    let w = weekend().await;

    // Assert: quantities and the lines' own amounts, the cart discount's share included.
    for group in LINE_GROUPS {
        assert_group(&w, group).await;
    }
}
