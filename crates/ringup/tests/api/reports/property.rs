//! The property: whatever sales, voids and returns a chain rings up, every report equals an
//! independent computation from the raw sales and returns as the API answered them
//! (`model`), never from a report.
//!
//! Each case is a fresh server with three stores — New York (USD, prices include tax),
//! London (USD, tax added) and Nairobi (KES) — five products over four tax classes and three
//! categories, two cashiers per store with random commission rates, and 6 to 16 random sales
//! (1–3 lines, line and cart discounts as percentages or amounts, exact, cash-with-change,
//! split and two-card tenders) spread over 22 October – 3 November 2026, across both autumn
//! changes (London on the 25th, New York on 1 November), many of them within two minutes of
//! a store's local midnight. Some sales are voided later; others get one or two partial
//! returns, by either cashier of the store at their own till, up to two days later. Then the
//! sales report in every grouping, the tax and the commission reports are compared with the
//! model for the dollar chain (`currency=USD`) and each store, over the whole fortnight and a
//! random sub-period (so `previous` holds trade too), and the stored rollups with their
//! recomputation from the sales (`ringup check`).
//!
//! A case takes a few seconds, so there are 12 by default (and 4 for the groupings by line) (`RINGUP_REPORT_CASES` overrides).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::Value;

use super::model::{Group, Model, Scope};
use super::{
    COMMISSIONS, Chain, LINE_GROUPS, SALE_GROUPS, SALES_REPORT, Store, TAX_REPORT, project,
    return_body, sale_body, utc,
};
use super::{assert_sales, sorted_rows};
use crate::checkout_model::{CartLine, Disc, price, refund_due};
use crate::checkout_support::{Item, Tax, pay};

const NON_CASH: [&str; 4] = ["card", "mobile_money", "voucher", "other"];
/// (code, currency, zone, prices include tax)
const STORES: [(&str, &str, &str, bool); 3] = [
    ("NYU", "USD", "America/New_York", true),
    ("LDN", "USD", "Europe/London", false),
    ("NBO", "KES", "Africa/Nairobi", true),
];
const RATES: [i64; 4] = [1600, 800, 0, 1250];
const FIRST_DAY: &str = "2026-10-22";
const DAYS: i64 = 13;

/// A discount: basis points, or a share in ‰ of what it applies to (as an amount).
#[derive(Clone, Debug)]
enum PlanDisc {
    Percent(i64),
    Share(i64),
}

impl PlanDisc {
    fn of(&self, base: i64) -> Disc {
        match self {
            PlanDisc::Percent(bp) => Disc::Percent(*bp),
            PlanDisc::Share(permille) => Disc::Amount(base * permille / 1000),
        }
    }
}

#[derive(Clone, Debug)]
struct PlanLine {
    product: usize,
    quantity: i64,
    discount: Option<PlanDisc>,
}

#[derive(Clone, Debug)]
enum PlanPay {
    /// The whole total in one non-cash tender.
    Exact(usize),
    /// Cash, with this much change.
    Cash(i64),
    /// ‰ of the total in a non-cash tender, the rest in cash with change.
    Split(usize, i64, i64),
    /// Two non-cash tenders, the first taking ‰ of the total.
    Two(usize, usize, i64),
}

#[derive(Clone, Debug)]
struct PlanReturn {
    /// Seconds after the sale (or the return before).
    delay: i64,
    /// Which of the store's two cashiers makes it, at their own till.
    cashier: usize,
    /// (line, a seed for how many of what is left).
    picks: Vec<(usize, i64)>,
    /// ‰ of the refund to a card, the rest in cash.
    card_permille: i64,
}

#[derive(Clone, Debug)]
enum Fate {
    Keep,
    Void(i64),
    Returns(Vec<PlanReturn>),
}

#[derive(Clone, Debug)]
enum When {
    /// Seconds into the fortnight.
    Any(i64),
    /// Seconds either side of one store's local midnight of one day.
    Edge(usize, i64, i64),
}

#[derive(Clone, Debug)]
struct PlanSale {
    store: usize,
    cashier: usize,
    when: When,
    lines: Vec<PlanLine>,
    cart: Option<PlanDisc>,
    pay: PlanPay,
    fate: Fate,
}

#[derive(Clone, Debug)]
struct Plan {
    /// (price, tax class, category) of each of five products.
    products: Vec<(i64, usize, usize)>,
    /// Commission of each of six cashiers (two per store).
    commissions: Vec<i64>,
    sales: Vec<PlanSale>,
    /// The sub-period: days after 20 October, and its length.
    sub: (i64, i64),
}

fn disc(max_percent: i64, max_share: i64) -> impl Strategy<Value = PlanDisc> {
    prop_oneof![
        (0..=max_percent).prop_map(PlanDisc::Percent),
        (0..=max_share).prop_map(PlanDisc::Share),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    let line = (
        0..5usize,
        1..=4i64,
        prop::option::weighted(0.4, disc(5_000, 500)),
    )
        .prop_map(|(product, quantity, discount)| PlanLine {
            product,
            quantity,
            discount,
        });
    let pay = prop_oneof![
        (0..4usize).prop_map(PlanPay::Exact),
        (0..=2_000i64).prop_map(PlanPay::Cash),
        (0..4usize, 1..1000i64, 0..=500i64).prop_map(|(m, p, e)| PlanPay::Split(m, p, e)),
        (0..4usize, 0..4usize, 1..1000i64).prop_map(|(a, b, p)| PlanPay::Two(a, b, p)),
    ];
    let ret = (
        60..(2 * 86_400i64),
        0..2usize,
        prop::collection::vec((0..3usize, 0..100i64), 1..=3),
        0..=1000i64,
    )
        .prop_map(|(delay, cashier, picks, card_permille)| PlanReturn {
            delay,
            cashier,
            picks,
            card_permille,
        });
    let fate = prop_oneof![
        2 => Just(Fate::Keep),
        1 => (60..86_400i64).prop_map(Fate::Void),
        2 => prop::collection::vec(ret, 1..=2).prop_map(Fate::Returns),
    ];
    let when = prop_oneof![
        (0..DAYS * 86_400).prop_map(When::Any),
        (0..3usize, 0..DAYS, -120..=120i64).prop_map(|(s, d, o)| When::Edge(s, d, o)),
    ];
    let sale = (
        0..3usize,
        0..2usize,
        when,
        prop::collection::vec(line, 1..=3),
        prop::option::weighted(0.4, disc(3_000, 300)),
        pay,
        fate,
    )
        .prop_map(|(store, cashier, when, lines, cart, pay, fate)| PlanSale {
            store,
            cashier,
            when,
            lines,
            cart,
            pay,
            fate,
        });
    (
        prop::collection::vec((100..=50_000i64, 0..4usize, 0..3usize), 5),
        prop::collection::vec(0..=1_500i64, 6),
        prop::collection::vec(sale, 6..=16),
        (0..15i64, 1..=10i64),
    )
        .prop_map(|(products, commissions, sales, sub)| Plan {
            products,
            commissions,
            sales,
            sub,
        })
}

fn zone(store: usize) -> Tz {
    STORES[store].2.parse().unwrap()
}

/// The instant a sale is rung up at.
fn instant(when: &When) -> DateTime<Utc> {
    let first = NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d").unwrap();
    match when {
        // From 05:00 UTC on the first day, inside every store's fortnight.
        When::Any(secs) => {
            Utc.from_utc_datetime(&first.and_hms_opt(5, 0, 0).unwrap()) + Duration::seconds(*secs)
        }
        When::Edge(store, day, offset) => {
            let local = (first + Duration::days(*day)).and_hms_opt(0, 0, 0).unwrap();
            let midnight = zone(*store).from_local_datetime(&local).earliest().unwrap();
            midnight.with_timezone(&Utc) + Duration::seconds(*offset)
        }
    }
}

/// What happens, in time order.
#[derive(Clone, Copy, Debug)]
enum Event {
    Sale(usize),
    Void(usize),
    Return(usize, usize),
}

fn timeline(plan: &Plan) -> Vec<(DateTime<Utc>, Event)> {
    let mut events = Vec::new();
    for (i, sale) in plan.sales.iter().enumerate() {
        let at = instant(&sale.when);
        events.push((at, Event::Sale(i)));
        match &sale.fate {
            Fate::Keep => {}
            Fate::Void(delay) => events.push((at + Duration::seconds(*delay), Event::Void(i))),
            Fate::Returns(returns) => {
                let mut t = at;
                for (j, r) in returns.iter().enumerate() {
                    t += Duration::seconds(r.delay);
                    events.push((t, Event::Return(i, j)));
                }
            }
        }
    }
    // A sale comes before its void and returns (at least a minute later); ties keep order.
    events.sort_by_key(|(at, _)| *at);
    events
}

/// The world of one case.
struct World {
    c: Chain,
    stores: Vec<Store>,
    items: Vec<Item>,
    /// (token, register, shift) of each cashier; cashier `2 × store + k`.
    tills: Vec<(String, String, Value)>,
    model: Model,
}

async fn world(plan: &Plan) -> World {
    let c = Chain::new(utc("2026-11-08T00:00:00Z")).await;
    let mut model = Model::default();
    let mut stores = Vec::new();
    for (code, currency, tz, inclusive) in STORES {
        let store = c.store(code, currency, tz, inclusive).await;
        model.labels.insert(store.id.clone(), code.to_owned());
        stores.push(store);
    }
    let mut taxes: Vec<Tax> = Vec::new();
    for (i, rate) in RATES.iter().enumerate() {
        let name = format!("Class {i}");
        let tax = c.tax(&name, *rate).await;
        model.labels.insert(tax.id.clone(), name);
        taxes.push(tax);
    }
    let mut categories = Vec::new();
    for i in 0..3 {
        let name = format!("Aisle {i}");
        let category = c.category(&name).await;
        model.labels.insert(category.clone(), name);
        categories.push(category);
    }
    let mut items = Vec::new();
    for (i, (price, tax, category)) in plan.products.iter().enumerate() {
        let name = format!("Product {i}");
        let item = c
            .product(&name, *price, &taxes[*tax], Some(&categories[*category]))
            .await;
        model.labels.insert(item.id.clone(), name);
        model
            .categories
            .insert(item.id.clone(), categories[*category].clone());
        model
            .classes
            .insert(item.id.clone(), taxes[*tax].id.clone());
        for store in &stores {
            c.receive(store, &item, 10_000).await;
        }
        items.push(item);
    }
    let mut tills = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for k in 0..2 {
            let cashier = c
                .user("cashier", &[store], plan.commissions[2 * i + k])
                .await;
            model
                .labels
                .insert(cashier.id.clone(), cashier.username.clone());
            let register = if k == 0 {
                store.register.clone()
            } else {
                c.register(&store.id, "Till 2").await
            };
            c.at(utc("2026-10-20T00:00:00Z"));
            let shift = c.open(&cashier.token, &register).await;
            tills.push((cashier.token, register, shift));
        }
    }
    World {
        c,
        stores,
        items,
        tills,
        model,
    }
}

/// Rings up sale `i` of the plan; returns the sale's answer.
async fn ring(w: &mut World, sale: &PlanSale, at: DateTime<Utc>) -> Value {
    let (store, inclusive) = (sale.store, STORES[sale.store].3);
    let cart: Vec<CartLine> = sale
        .lines
        .iter()
        .map(|l| {
            let item = w.items[l.product].clone();
            let gross = item.price * l.quantity;
            CartLine {
                item,
                quantity: l.quantity,
                discount: l.discount.as_ref().map(|d| d.of(gross)),
            }
        })
        .collect();
    let own_amounts: i64 = price(&cart, None, inclusive)
        .lines
        .iter()
        .map(|l| l.quantity * l.unit_price - l.discount)
        .sum();
    let cart_discount = sale.cart.as_ref().map(|d| d.of(own_amounts));
    let total = price(&cart, cart_discount, inclusive).total;
    let payments = match &sale.pay {
        PlanPay::Exact(m) => vec![pay(NON_CASH[*m], total)],
        PlanPay::Cash(extra) => vec![pay("cash", total + extra)],
        PlanPay::Split(m, permille, extra) => {
            let part = total * permille / 1000;
            vec![pay(NON_CASH[*m], part), pay("cash", total - part + extra)]
        }
        PlanPay::Two(a, b, permille) => {
            let part = total * permille / 1000;
            vec![pay(NON_CASH[*a], part), pay(NON_CASH[*b], total - part)]
        }
    };
    let till = &w.tills[2 * store + sale.cashier];
    let lines = cart.iter().map(CartLine::json).collect();
    let mut body = sale_body(&till.2, lines, payments);
    if let Some(d) = cart_discount {
        body["discount"] = d.json();
    }
    let answer = w.c.sell_at(at, &till.0.clone(), &body).await;
    assert_eq!(
        answer["total"], total,
        "the checkout model prices {body} as {total}: {answer}"
    );
    w.model.sale(&answer, zone(store));
    answer
}

/// Makes return `r` of a sale, if anything is left to return on the lines it picks.
async fn give_back(
    w: &mut World,
    sale: &PlanSale,
    answer: &Value,
    r: &PlanReturn,
    at: DateTime<Utc>,
) {
    let id = super::id(answer);
    let modelled = w.model.sales.iter().find(|s| s.id == id).unwrap().clone();
    let mut picked: Vec<(usize, i64)> = Vec::new();
    let mut due = 0;
    for (line, seed) in &r.picks {
        let i = line % modelled.lines.len();
        let l = &modelled.lines[i];
        let left = l.quantity - l.returned;
        if left == 0 || picked.iter().any(|(p, _)| *p == i) {
            continue;
        }
        let q = 1 + seed % left;
        due += refund_due(l.total, l.quantity, l.returned, q);
        picked.push((i, q));
    }
    if picked.is_empty() {
        return;
    }
    let card = due * r.card_permille / 1000;
    let mut refunds = Vec::new();
    if card > 0 {
        refunds.push(pay("card", card));
    }
    if due - card > 0 || refunds.is_empty() {
        refunds.push(pay("cash", due - card));
    }
    let (token, register, _) = w.tills[2 * sale.store + r.cashier].clone();
    let body = return_body(answer, Some(&register), &picked, refunds);
    let ret = w.c.return_at(at, &token, &body).await;
    assert_eq!(ret["total"], due, "{ret}");
    w.model.give_back(&ret, zone(sale.store));
}

async fn check_reports(
    w: &World,
    groups: &[&'static str],
    scope: &Scope,
    query: &[(&str, &str)],
    context: &str,
) {
    let (from, to) = (scope.from.to_string(), scope.to.to_string());
    let mut base = vec![("from", from.as_str()), ("to", to.as_str())];
    base.extend_from_slice(query);
    for name in groups {
        let mut q = base.clone();
        q.push(("group_by", name));
        let report = w.c.admin_report(SALES_REPORT, &q).await;
        let group = Group::parse(name);
        let want = w.model.sales_report(scope, group);
        assert_sales(&report, &want, group, &format!("{context} {from}..{to}"));
    }
    if groups == LINE_GROUPS {
        return;
    }
    let tax = w.c.admin_report(TAX_REPORT, &base).await;
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
    let (mut rows, totals) = w.model.tax_report(scope);
    let keys = ["tax_class_id", "rate_bp"];
    rows.sort_by_key(|r| keys.iter().map(|k| r[*k].to_string()).collect::<Vec<_>>());
    assert_eq!(
        sorted_rows(&tax, &fields, &keys),
        rows,
        "{context}: tax rows of {tax}"
    );
    assert_eq!(
        project(&tax["totals"], &fields[3..]),
        totals,
        "{context}: tax totals"
    );
    let commissions = w.c.admin_report(COMMISSIONS, &base).await;
    let fields = ["cashier_id", "username", "sales", "net_total", "commission"];
    let (rows, totals) = w.model.commissions(scope);
    assert_eq!(
        sorted_rows(&commissions, &fields, &["cashier_id"]),
        rows,
        "{context}: commission rows of {commissions}"
    );
    assert_eq!(
        project(&commissions["totals"], &fields[2..]),
        totals,
        "{context}"
    );
}

async fn run(plan: Plan, groups: &[&'static str]) {
    let mut w = world(&plan).await;
    let mut answers: HashMap<usize, Value> = HashMap::new();
    for (at, event) in timeline(&plan) {
        match event {
            Event::Sale(i) => {
                let answer = ring(&mut w, &plan.sales[i], at).await;
                answers.insert(i, answer);
            }
            Event::Void(i) => {
                w.c.void_at(at, &answers[&i]).await;
                w.model.void(&super::id(&answers[&i]));
            }
            Event::Return(i, j) => {
                let Fate::Returns(returns) = &plan.sales[i].fate else {
                    unreachable!()
                };
                let answer = answers[&i].clone();
                give_back(&mut w, &plan.sales[i], &answer, &returns[j], at).await;
            }
        }
    }

    let first = super::day("2026-10-20");
    let last = super::day("2026-11-04");
    let sub_from = first + Duration::days(plan.sub.0);
    let sub_to = (sub_from + Duration::days(plan.sub.1 - 1)).min(last);
    let usd: BTreeSet<String> = [0, 1].iter().map(|i| w.stores[*i].id.clone()).collect();
    let fields =
        w.c.invalid(
            &w.c.admin,
            SALES_REPORT,
            &[("from", "2026-10-20"), ("to", "2026-11-04")],
        )
        .await;
    assert_eq!(fields, ["currency"], "dollars and shillings are not summed");
    for (from, to) in [(first, last), (sub_from, sub_to)] {
        let scope = Scope {
            stores: usd.clone(),
            from,
            to,
        };
        check_reports(&w, groups, &scope, &[("currency", "USD")], "USD chain").await;
        for store in &w.stores {
            let scope = Scope {
                stores: BTreeSet::from([store.id.clone()]),
                from,
                to,
            };
            let query = [("store_id", store.id.as_str())];
            check_reports(&w, groups, &scope, &query, &store.code).await;
        }
    }
    let (_, mismatches) = ringup_store::reports::rebuild::check(&w.c.app.db)
        .await
        .unwrap();
    assert!(
        mismatches.is_empty(),
        "rollups differ from the sales: {mismatches:#?}"
    );
}

/// How many cases: `RINGUP_REPORT_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("RINGUP_REPORT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 8,
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

fn block_on(plan: Plan, groups: &[&'static str]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(plan, groups));
}

proptest! {
    #![proptest_config(config(cases(12)))]

    /// Every grouping by sale (day, week, month, store, cashier, tender), the tax and the
    /// commission reports, and the rollups against their recomputation.
    #[test]
    fn every_report_equals_the_model_of_the_raw_sales(plan in plan()) {
        block_on(plan, &SALE_GROUPS);
    }
}

proptest! {
    #![proptest_config(config(cases(4)))]

    /// The groupings by line (product, category): the same worlds, fewer cases.
    #[test]
    fn product_and_category_rows_equal_the_model_of_the_raw_sales(plan in plan()) {
        block_on(plan, &LINE_GROUPS);
    }
}
