//! Sales (docs/API.md "Checkout", docs/CHECKOUT.md "Sales"): pricing to the minor unit in
//! stores whose prices include tax or not, line and cart discounts with the spread and its tie
//! rule, the tax breakdown and commission; the whole 201 body, with lines and payments in
//! request order; one `sale` movement per line; insufficient stock is 409 naming every short
//! line and writes nothing (not even a number); negative stock where the store allows it;
//! numbers gapless per store; `Idempotency-Key` replays; one `sale.completed` audit event per
//! sale; the list's filters and store scoping.

use chrono::{Duration, SecondsFormat};
use ringup_core::clock::Clock;
use serde_json::{Value, json};

use crate::checkout_model::{Disc, assert_sale, sorted_breakdown};
use crate::checkout_support::{
    CODE, SALES, cart_body, cl, conflict, expect, id, int, key, line, number, pay, problem,
    sale_body, shop, tender,
};
use crate::support::{error_fields, header, is_uuid_v7};

/// Every field of a sale as docs/API.md "Checkout" lists it.
const SALE_FIELDS: [&str; 24] = [
    "id",
    "number",
    "status",
    "store_id",
    "register_id",
    "shift_id",
    "cashier_id",
    "customer_id",
    "lines",
    "subtotal",
    "discount_total",
    "net_total",
    "tax_total",
    "total",
    "paid",
    "change",
    "payments",
    "tax_breakdown",
    "commission",
    "created_at",
    "voided_at",
    "voided_by",
    "void_reason",
    "note",
];

const LINE_FIELDS: [&str; 11] = [
    "id",
    "product_id",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "discount",
    "net",
    "tax",
    "total",
    "tax_rate_bp",
];

/// `[discount, net, tax, total]` of every line.
fn amounts(sale: &Value) -> Vec<[i64; 4]> {
    let lines = sale["lines"].as_array().unwrap();
    let of = |l: &Value| ["discount", "net", "tax", "total"].map(|f| int(l, f));
    lines.iter().map(of).collect()
}

/// `[subtotal, discount_total, net_total, tax_total, total]`.
fn totals(sale: &Value) -> [i64; 5] {
    [
        "subtotal",
        "discount_total",
        "net_total",
        "tax_total",
        "total",
    ]
    .map(|f| int(sale, f))
}

/// `tax_breakdown` entries, sorted by class as [`sorted_breakdown`] sorts them.
fn buckets(mut entries: Vec<Value>) -> Vec<Value> {
    entries.sort_by_key(|e| e["tax_class_id"].as_str().unwrap().to_owned());
    entries
}

#[tokio::test]
async fn a_tax_inclusive_sale_is_priced_to_the_minor_unit_and_shows_every_field() {
    // Arrange
    let s = shop().await;
    let cashier = s.commissioned(250).await;
    let a = s.stocked(1160, &s.standard, 10).await;
    let b = s.stocked(540, &s.reduced, 10).await;
    let c = s.stocked(999, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let lines = [
        cl(&a, 2, Some(Disc::Percent(1000))),
        cl(&b, 3, Some(Disc::Amount(20))),
        cl(&c, 1, None),
    ];
    let cart = Some(Disc::Amount(500));
    let tenders = [
        tender("cash", 3000),
        tender("mobile_money", 1500).with_ref("QK12AB34CD"),
    ];
    let mut body = cart_body(&shift, &lines, cart, &tenders);
    body["note"] = json!("table 4");

    // Act
    let sale = s.sell(&cashier.token, &body).await;
    let fetched = s.read(&format!("{SALES}/{}", id(&sale))).await;

    // Assert: to the minor unit, by hand (2320 − 232, 1620 − 20, 999; cart 500 spread
    // 222 + 1, 170 + 1, 106).
    assert_eq!(
        amounts(&sale),
        [
            [455, 1608, 257, 1865],
            [191, 1323, 106, 1429],
            [106, 770, 123, 893]
        ]
    );
    assert_eq!(totals(&sale), [4939, 752, 3701, 486, 4187]);
    assert_eq!((int(&sale, "paid"), int(&sale, "change")), (4500, 313));
    assert_eq!(sale["commission"], 93, "round(3701 × 2.5 %)");
    let standard = json!({"tax_class_id": s.standard.id, "rate_bp": 1600, "net": 2378, "tax": 380});
    let reduced = json!({"tax_class_id": s.reduced.id, "rate_bp": 800, "net": 1323, "tax": 106});
    assert_eq!(sorted_breakdown(&sale), buckets(vec![standard, reduced]));
    assert_sale(&sale, &lines, cart, true, &tenders, 250);
    // The shape.
    for field in SALE_FIELDS {
        assert!(sale.get(field).is_some(), "`{field}` missing: {sale}");
    }
    for l in sale["lines"].as_array().unwrap() {
        for field in LINE_FIELDS {
            assert!(l.get(field).is_some(), "line `{field}` missing: {l}");
        }
    }
    assert!(is_uuid_v7(&id(&sale)), "{sale}");
    assert_eq!(sale["number"], number(CODE, 1));
    assert_eq!(sale["store_id"], s.store.to_string());
    assert_eq!(sale["register_id"], s.register.as_str());
    assert_eq!(sale["shift_id"], shift["id"]);
    assert_eq!(sale["cashier_id"], cashier.id.as_str());
    assert!(sale["customer_id"].is_null(), "{sale}");
    assert_eq!(sale["note"], "table 4");
    s.assert_now(&sale, "created_at");
    assert_eq!(fetched, sale, "GET answers the 201 body");
}

#[tokio::test]
async fn a_tax_exclusive_store_adds_tax_on_top_of_the_prices() {
    // Arrange
    let s = shop().await;
    s.patch_store(s.store, &json!({"prices_include_tax": false}))
        .await;
    let cashier = s.commissioned(250).await;
    let a = s.stocked(1160, &s.standard, 10).await;
    let b = s.stocked(540, &s.reduced, 10).await;
    let c = s.stocked(999, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let lines = [
        cl(&a, 2, Some(Disc::Percent(1000))),
        cl(&b, 3, Some(Disc::Amount(20))),
        cl(&c, 1, None),
    ];
    let cart = Some(Disc::Amount(500));
    let tenders = [tender("card", 4742).with_ref("AUTH-0042")];

    // Act
    let sale = s
        .sell(&cashier.token, &cart_body(&shift, &lines, cart, &tenders))
        .await;

    // Assert: the same amounts as in the inclusive store, tax on top.
    assert_eq!(
        amounts(&sale),
        [
            [455, 1865, 298, 2163],
            [191, 1429, 114, 1543],
            [106, 893, 143, 1036]
        ]
    );
    assert_eq!(totals(&sale), [4939, 752, 4187, 555, 4742]);
    assert_eq!((int(&sale, "paid"), int(&sale, "change")), (4742, 0));
    assert_eq!(
        sale["commission"], 105,
        "round(4187 × 2.5 %) = round(104.675)"
    );
    let standard = json!({"tax_class_id": s.standard.id, "rate_bp": 1600, "net": 2758, "tax": 441});
    let reduced = json!({"tax_class_id": s.reduced.id, "rate_bp": 800, "net": 1429, "tax": 114});
    assert_eq!(sorted_breakdown(&sale), buckets(vec![standard, reduced]));
    assert_sale(&sale, &lines, cart, false, &tenders, 250);
}

#[tokio::test]
async fn a_cart_discount_is_spread_by_floors_and_leftovers_go_to_the_largest_earliest_lines() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let small = s.stocked(100, &s.standard, 10).await;
    let (big, twin) = (
        s.stocked(300, &s.standard, 10).await,
        s.stocked(300, &s.reduced, 10).await,
    );
    let odd = s.stocked(125, &s.reduced, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let lines = [cl(&small, 1, None), cl(&big, 1, None), cl(&twin, 1, None)];
    let t = &cashier.token;

    // Act
    // 99 off 700: floors 14, 42, 42; the unit left over goes to the earlier of the two 300s.
    let amount = Some(Disc::Amount(99));
    let tied = cart_body(&shift, &lines, amount, &[tender("cash", 601)]);
    let tied = s.sell(t, &tied).await;
    // 2.5 % of 700 = 17.5 → 18 once: floors 2, 7, 7; two left over.
    let percent = Some(Disc::Percent(250));
    let spread = cart_body(&shift, &lines, percent, &[tender("cash", 682)]);
    let spread = s.sell(t, &spread).await;
    // A line percent rounds half-up: 10 % of 125 = 12.5 → 13.
    let half = [cl(&odd, 1, Some(Disc::Percent(1000)))];
    let rounded = s
        .sell(t, &cart_body(&shift, &half, None, &[tender("cash", 112)]))
        .await;

    // Assert
    let discounts = |sale: &Value| -> Vec<i64> { amounts(sale).iter().map(|a| a[0]).collect() };
    assert_eq!(discounts(&tied), [14, 43, 42]);
    assert_eq!(discounts(&spread), [2, 8, 8]);
    assert_eq!(spread["discount_total"], 18);
    assert_eq!(discounts(&rounded), [13]);
    assert_eq!(rounded["total"], 112);
    assert_sale(&tied, &lines, amount, true, &[tender("cash", 601)], 0);
    assert_sale(&spread, &lines, percent, true, &[tender("cash", 682)], 0);
    assert_sale(&rounded, &half, None, true, &[tender("cash", 112)], 0);
    assert_eq!(tied["commission"], 0, "no rate, no commission");
}

#[tokio::test]
async fn lines_and_payments_keep_the_request_order() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(250, &s.standard, 10).await;
    let b = s.stocked(180, &s.reduced, 10).await;
    let c = s.stocked(1999, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    // The same product on two lines.
    let lines = [
        cl(&c, 1, None),
        cl(&a, 2, Some(Disc::Amount(50))),
        cl(&b, 1, None),
        cl(&a, 1, Some(Disc::Percent(5000))),
    ];
    // 1999 + 450 + 180 + 125 = 2754.
    let tenders = [
        tender("voucher", 100).with_ref("V-77"),
        tender("card", 200).with_ref("AUTH-1"),
        tender("other", 50),
        tender("mobile_money", 300).with_ref("QK99"),
        tender("cash", 3000),
    ];

    // Act
    let body = cart_body(&shift, &lines, None, &tenders);
    let sale = s.sell(&cashier.token, &body).await;

    // Assert
    let products: Vec<&str> = sale["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(products, [&c.id, &a.id, &b.id, &a.id].map(String::as_str));
    let methods: Vec<&str> = sale["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["voucher", "card", "other", "mobile_money", "cash"]
    );
    assert_eq!(sale["payments"][2]["reference"], Value::Null);
    assert_eq!((int(&sale, "total"), int(&sale, "change")), (2754, 896));
    assert_sale(&sale, &lines, None, true, &tenders, 0);
    assert_eq!(s.on_hand(s.store, &a.id).await, 7);
}

#[tokio::test]
async fn each_line_is_a_sale_movement_of_its_quantity() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let b = s.stocked(200, &s.reduced, 5).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let lines = vec![line(&a, 2), line(&b, 3), line(&a, 1)];

    // Act
    let sale = s
        .sell(
            &cashier.token,
            &sale_body(&shift, lines, vec![pay("cash", 900)]),
        )
        .await;

    // Assert
    let moves = s.moves("sale").await;
    let mut got: Vec<(String, i64)> = moves
        .iter()
        .map(|m| {
            (
                m["product_id"].as_str().unwrap().to_owned(),
                int(m, "delta"),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![(a.id.clone(), -2), (b.id.clone(), -3), (a.id.clone(), -1)];
    want.sort();
    assert_eq!(got, want, "one movement per line: {moves:?}");
    for m in &moves {
        assert_eq!(m["kind"], "sale", "{m}");
        assert_eq!(m["ref_type"], "sale", "{m}");
        assert_eq!(m["ref_id"], sale["id"], "{m}");
        assert_eq!(m["store_id"], s.store.to_string(), "{m}");
    }
    assert_eq!(s.on_hand(s.store, &a.id).await, 7);
    assert_eq!(s.on_hand(s.store, &b.id).await, 2);
    s.assert_ledger().await;
}

#[tokio::test]
async fn insufficient_stock_is_409_naming_every_short_line_and_writes_nothing() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 5).await;
    let b = s.stocked(100, &s.standard, 3).await;
    let never = s.item(100, &s.standard).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let lines = vec![line(&a, 2), line(&b, 10), line(&never, 4)];
    let body = sale_body(&shift, lines, vec![pay("cash", 1600)]);

    // Act
    let refused = s.try_sell(&cashier.token, &body, Some(&key())).await;
    let problem = conflict(refused, "insufficient-stock").await;
    let exact = sale_body(&shift, vec![line(&a, 5)], vec![pay("cash", 500)]);
    let after = s.sell(&cashier.token, &exact).await;

    // Assert
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        ["lines[1].quantity", "lines[2].quantity"],
        "{problem}"
    );
    let sales = s.list(SALES, "").await;
    assert_eq!(sales.len(), 1, "only the later sale: {sales:?}");
    assert_eq!(
        after["number"],
        number(CODE, 1),
        "the refused sale took no number"
    );
    assert_eq!(s.moves("sale").await.len(), 1);
    assert_eq!(s.on_hand(s.store, &a.id).await, 0);
    assert_eq!(s.on_hand(s.store, &b.id).await, 3);
    assert_eq!(s.level(s.store, &never.id).await, None);
    assert_eq!(s.audited("sale.completed").await.len(), 1);
    assert_eq!(s.report(&shift).await["sales_count"], 1);
    s.assert_ledger().await;
}

#[tokio::test]
async fn a_store_that_allows_negative_stock_sells_below_zero() {
    // Arrange
    let s = shop().await;
    let (store, register) = s.other_store("NEG1", true).await;
    let a = s.item(100, &s.standard).await;
    let never = s.item(100, &s.standard).await;
    s.receive(store, &a.id, 1).await;
    let shift = s.open(&s.admin, &register, 0).await;
    let lines = vec![line(&a, 3), line(&never, 1)];

    // Act
    let sale = s
        .sell(&s.admin, &sale_body(&shift, lines, vec![pay("cash", 400)]))
        .await;

    // Assert
    assert_eq!(sale["number"], number("NEG1", 1));
    assert_eq!(s.on_hand(store, &a.id).await, -2);
    assert_eq!(s.on_hand(store, &never.id).await, -1);
    s.assert_ledger().await;
}

#[tokio::test]
async fn numbers_are_gapless_per_store_and_independent_between_stores() {
    // Arrange
    let s = shop().await;
    let (other, other_register) = s.other_store("OTH2", false).await;
    let second_register = crate::checkout_support::register_in(&s, s.store, "Till 2").await;
    let a = s.stocked(100, &s.standard, 50).await;
    s.receive(other, &a.id, 50).await;
    let cashier = s.staff("cashier").await;
    let first = s.open(&cashier.token, &s.register, 0).await;
    let second = s.open(&s.admin, &second_register, 0).await;
    let elsewhere = s.open(&s.admin, &other_register, 0).await;
    let body =
        |shift: &Value, q: i64| sale_body(shift, vec![line(&a, q)], vec![pay("cash", 100 * q)]);
    let mut numbers = Vec::new();

    // Act: sales interleaved over two registers of one store and another store, with a
    // refused sale of each kind in between.
    for round in 0..3 {
        numbers.push(s.sell(&cashier.token, &body(&first, 1)).await["number"].clone());
        let underpaid = sale_body(&first, vec![line(&a, 1)], vec![pay("cash", 99)]);
        let refused = s.try_sell(&cashier.token, &underpaid, Some(&key())).await;
        problem(refused, 422).await;
        let short = s
            .try_sell(&s.admin, &body(&second, 1000), Some(&key()))
            .await;
        conflict(short, "insufficient-stock").await;
        numbers.push(s.sell(&s.admin, &body(&elsewhere, 1)).await["number"].clone());
        if round < 2 {
            numbers.push(s.sell(&s.admin, &body(&second, 2)).await["number"].clone());
        }
    }

    // Assert
    let want = [
        number(CODE, 1),
        number("OTH2", 1),
        number(CODE, 2),
        number(CODE, 3),
        number("OTH2", 2),
        number(CODE, 4),
        number(CODE, 5),
        number("OTH2", 3),
    ];
    assert_eq!(numbers, want.map(Value::from));
    s.assert_ledger().await;
}

#[tokio::test]
async fn a_replay_answers_the_same_sale_once_and_each_sale_is_audited_once() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);
    let other = sale_body(&shift, vec![line(&a, 2)], vec![pay("cash", 200)]);
    let t = &cashier.token;

    // Act
    let first = s.try_sell(t, &body, Some("till-1-0001")).await;
    let first_replayed = header(&first, "idempotent-replayed");
    let first = expect(first, 201).await;
    let again = s.try_sell(t, &body, Some("till-1-0001")).await;
    let replayed = header(&again, "idempotent-replayed");
    let again = expect(again, 201).await;
    let changed = s.try_sell(t, &other, Some("till-1-0001")).await;
    let changed = problem(changed, 422).await;
    let next = s.try_sell(t, &body, Some("till-1-0002")).await;
    let next = expect(next, 201).await;

    // Assert
    assert_eq!(first_replayed, None);
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first, "the original body");
    assert!(changed["errors"].is_array(), "{changed}");
    assert_eq!(next["number"], number(CODE, 2));
    let sales = s.list(SALES, "").await;
    assert_eq!(
        sales.iter().map(id).collect::<Vec<_>>(),
        [id(&first), id(&next)]
    );
    assert_eq!(s.moves("sale").await.len(), 2);
    assert_eq!(s.on_hand(s.store, &a.id).await, 8);
    let events = s.audited("sale.completed").await;
    let targets: Vec<&Value> = events.iter().map(|e| &e["target_id"]).collect();
    assert_eq!(targets, [&first["id"], &next["id"]], "{events:?}");
    for e in &events {
        assert_eq!(e["store_id"], s.store.to_string(), "{e}");
        assert_eq!(e["actor_id"], cashier.id.as_str(), "{e}");
    }
    let outbox = ringup_store::platform::outbox::list(&s.app.db, None, 200)
        .await
        .unwrap();
    let completed: Vec<&Value> = outbox
        .items
        .iter()
        .filter(|e| e.event_type == "sale.completed")
        .map(|e| &e.payload)
        .collect();
    assert_eq!(completed.len(), 2, "one outbox event per sale");
    assert_eq!(completed[0]["id"], first["id"]);
    assert_eq!(completed[0]["number"], first["number"]);
}

#[tokio::test]
async fn sales_are_listed_oldest_first_with_filters_and_only_in_the_callers_stores() {
    // Arrange
    let s = shop().await;
    let (other, other_register) = s.other_store("OTH2", false).await;
    let a = s.stocked(100, &s.standard, 10).await;
    s.receive(other, &a.id, 10).await;
    let cashier = s.staff("cashier").await;
    let outsider = s.app.create_user("manager", &[other]).await;
    let mine = s.open(&cashier.token, &s.register, 0).await;
    let theirs = s.open(&s.admin, &other_register, 0).await;
    let body = |shift: &Value| sale_body(shift, vec![line(&a, 1)], vec![pay("cash", 100)]);
    let t0 = s.app.clock.now();
    let first = s.sell(&cashier.token, &body(&mine)).await;
    s.app.clock.advance(Duration::seconds(10));
    let foreign = s.sell(&s.admin, &body(&theirs)).await;
    let second = s.sell(&cashier.token, &body(&mine)).await;
    let t10 = (t0 + Duration::seconds(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let ids = |sales: Vec<Value>| -> Vec<String> { sales.iter().map(id).collect() };
    let (f, x, n) = (id(&first), id(&foreign), id(&second));
    let (f, x, n) = (f.as_str(), x.as_str(), n.as_str());

    // Act / Assert
    assert_eq!(ids(s.list(SALES, "").await), [f, x, n]);
    let store = format!("store_id={}", s.store);
    assert_eq!(ids(s.list(SALES, &store).await), [f, n]);
    let register = format!("register_id={other_register}");
    assert_eq!(ids(s.list(SALES, &register).await), [x]);
    let shift = format!("shift_id={}", id(&mine));
    assert_eq!(ids(s.list(SALES, &shift).await), [f, n]);
    let by = format!("cashier_id={}", cashier.id);
    assert_eq!(ids(s.list(SALES, &by).await), [f, n]);
    assert_eq!(ids(s.list(SALES, &format!("from={t10}")).await), [x, n]);
    assert_eq!(ids(s.list(SALES, &format!("to={t10}")).await), [f]);
    // A manager of the other store sees its sale only; another store's sale is 404 to them.
    let page = expect(s.get(&outsider.token, SALES).await, 200).await;
    let seen: Vec<String> = page["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(seen, [x]);
    let path = format!("{SALES}/{f}");
    problem(s.get(&outsider.token, &path).await, 404).await;
    let unknown = format!("{SALES}/{}", ringup_core::ids::StoreId::new());
    problem(s.get(&s.admin, &unknown).await, 404).await;
    // Employees have no part in checkout, reads included.
    let employee = s.staff("employee").await;
    problem(s.get(&employee.token, SALES).await, 403).await;
    problem(s.get(&employee.token, &path).await, 403).await;
}
