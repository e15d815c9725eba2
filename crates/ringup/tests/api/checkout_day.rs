//! A whole trading day in one store: two registers with a shift each, ~60 sales of random carts
//! (seeded, so a failure replays) with random line and cart discounts and split tenders, a
//! void, two partial returns, money paid in and out, then both shifts closed on a counted
//! drawer. Every sale is checked to the minor unit against the independent model in
//! `checkout_support` (not `ringup-core`'s pricing); each Z report must equal the sums of what
//! happened on its shift; the stock must equal start − sold + voided + restocked.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::checkout_model::{
    CartLine, Disc, Figures, Priced, Tender, assert_sale, price, refund_due,
};
use crate::checkout_support::{
    CODE, Item, SALES, cart_body, expect, id, int, number, register_in, return_body, shop, tender,
};

const START: i64 = 400;
const SALES_IN_A_DAY: usize = 60;

/// A register's shift and who works it.
struct Till {
    token: String,
    shift: serde_json::Value,
    commission_bp: i64,
    figures: Figures,
}

/// A sale made during the day, with what the model says of it.
struct Made {
    sale: serde_json::Value,
    till: usize,
    lines: Vec<CartLine>,
    priced: Priced,
    tenders: Vec<Tender>,
    voided: bool,
}

fn random_line(rng: &mut StdRng, items: &[Item]) -> CartLine {
    let item = items[rng.random_range(0..items.len())].clone();
    let quantity = rng.random_range(1..=4);
    let gross = item.price * quantity;
    let discount = match rng.random_range(0..10) {
        0..=5 => None,
        6 => Some(Disc::Percent(rng.random_range(0..=5000))),
        7 => Some(Disc::Percent(
            *[0, 1000, 2500, 5000].get(rng.random_range(0..4)).unwrap(),
        )),
        _ => Some(Disc::Amount(rng.random_range(0..=gross / 3))),
    };
    CartLine {
        item,
        quantity,
        discount,
    }
}

/// A cart discount small enough for any cart: lines keep at least half their gross.
fn random_cart_discount(rng: &mut StdRng, lines: &[CartLine]) -> Option<Disc> {
    let gross: i64 = lines.iter().map(|l| l.item.price * l.quantity).sum();
    match rng.random_range(0..10) {
        0..=5 => None,
        6 | 7 => Some(Disc::Percent(rng.random_range(0..=2000))),
        _ => Some(Disc::Amount(rng.random_range(0..=gross / 5))),
    }
}

/// Tenders for `total`: cash rounded up (change), an exact card, mobile money topped up with
/// cash, a voucher with a card, or "other" with cash.
fn random_tenders(rng: &mut StdRng, total: i64, n: usize) -> Vec<Tender> {
    if total == 0 {
        return Vec::new();
    }
    let round_up = |amount: i64, to: i64| (amount + to - 1) / to * to;
    match rng.random_range(0..5) {
        0 => {
            let extra = if rng.random_bool(0.2) { 1000 } else { 0 };
            vec![tender("cash", round_up(total, 500) + extra)]
        }
        1 => vec![tender("card", total).with_ref(&format!("AUTH-{n}"))],
        2 if total >= 2 => {
            let mobile = rng.random_range(1..total);
            vec![
                tender("mobile_money", mobile).with_ref(&format!("QK{n:04}")),
                tender("cash", round_up(total - mobile, 100)),
            ]
        }
        3 if total > 500 => vec![
            tender("voucher", 500).with_ref(&format!("V-{n}")),
            tender("card", total - 500),
        ],
        4 if total >= 2 => vec![
            tender("other", total / 2),
            tender("cash", total - total / 2),
        ],
        _ => vec![tender("cash", total)],
    }
}

/// Adds `q` of `product` to a per-product tally.
fn tally(map: &mut HashMap<String, i64>, product: &str, q: i64) {
    *map.entry(product.to_owned()).or_default() += q;
}

async fn trading_day(prices_include_tax: bool, seed: u64) {
    // Arrange: the store, its catalog at START units each, two tills, a manager.
    let s = shop().await;
    if !prices_include_tax {
        s.patch_store(s.store, &json!({"prices_include_tax": false}))
            .await;
    }
    let second_register = register_in(&s, s.store, "Till 2").await;
    let (alice, bob) = (s.commissioned(300).await, s.staff("cashier").await);
    let manager = s.staff("manager").await;
    let mut items = Vec::new();
    for (i, price) in [99, 250, 1160, 1999, 4550, 75, 12_345, 333]
        .into_iter()
        .enumerate()
    {
        let tax = if i % 3 == 0 { &s.reduced } else { &s.standard };
        items.push(s.stocked(price, tax, START).await);
    }
    let mut tills = [
        Till {
            shift: s.open(&alice.token, &s.register, 20_000).await,
            token: alice.token.clone(),
            commission_bp: 300,
            figures: Figures::float(20_000),
        },
        Till {
            shift: s.open(&bob.token, &second_register, 15_000).await,
            token: bob.token.clone(),
            commission_bp: 0,
            figures: Figures::float(15_000),
        },
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut sold, mut voided, mut restocked) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut made: Vec<Made> = Vec::new();

    // Act / Assert: the day's sales, each against the model.
    for n in 0..SALES_IN_A_DAY {
        let t = rng.random_range(0..2);
        let lines: Vec<CartLine> = (0..rng.random_range(1..=5))
            .map(|_| random_line(&mut rng, &items))
            .collect();
        let cart = random_cart_discount(&mut rng, &lines);
        let priced = price(&lines, cart, prices_include_tax);
        let tenders = random_tenders(&mut rng, priced.total, n);
        let till = &mut tills[t];
        let body = cart_body(&till.shift, &lines, cart, &tenders);
        let sale = s.sell(&till.token, &body).await;
        assert_sale(
            &sale,
            &lines,
            cart,
            prices_include_tax,
            &tenders,
            till.commission_bp,
        );
        assert_eq!(sale["shift_id"], till.shift["id"]);
        till.figures.sale(&priced, &tenders, 1);
        for l in &lines {
            tally(&mut sold, &l.item.id, l.quantity);
        }
        made.push(Made {
            sale,
            till: t,
            lines,
            priced,
            tenders,
            voided: false,
        });
        match n {
            15 => {
                s.paid(&tills[0].token, &tills[0].shift, "paid_in", 2000)
                    .await;
                tills[0].figures.paid_in += 2000;
            }
            30 => {
                s.paid(&manager.token, &tills[1].shift, "paid_out", 1500)
                    .await;
                tills[1].figures.paid_out += 1500;
            }
            40 => {
                s.paid(&tills[0].token, &tills[0].shift, "paid_out", 300)
                    .await;
                tills[0].figures.paid_out += 300;
            }
            45 => {
                // The manager voids one of the sales made so far.
                let victim = rng.random_range(0..made.len());
                let m = &mut made[victim];
                let response = s.void(&manager.token, &m.sale, "rung up twice").await;
                let answer = expect(response, 200).await;
                assert_eq!(answer["status"], "voided");
                m.voided = true;
                tills[m.till].figures.void(&m.priced, &m.tenders);
                for l in &m.lines {
                    tally(&mut voided, &l.item.id, l.quantity);
                }
            }
            _ => {}
        }
    }

    // Two partial returns, one per till: one unit of a line of several (restocked, refunded
    // in cash), then of another sale's line (not restocked, refunded by card and cash).
    for (t, restock) in [(0, true), (1, false)] {
        let candidate = made
            .iter()
            .find(|m| m.till == t && !m.voided && m.lines.iter().any(|l| l.quantity >= 2));
        let m = candidate.expect("a sale with a line of several units");
        let i = m.lines.iter().position(|l| l.quantity >= 2).unwrap();
        let line = &m.sale["lines"][i];
        let due = refund_due(m.priced.lines[i].total, m.lines[i].quantity, 0, 1);
        let refunds = if restock || due < 2 {
            vec![tender("cash", due)]
        } else {
            vec![tender("card", due - 1).with_ref("RF-9"), tender("cash", 1)]
        };
        let refunds = refunds
            .into_iter()
            .filter(|r| r.amount > 0)
            .collect::<Vec<_>>();
        let body = return_body(
            &m.sale,
            &[(line, 1, restock)],
            refunds.iter().map(Tender::json).collect(),
        );
        let answer = s.give_back(&tills[t].token, &body).await;
        assert_eq!(answer["total"], due, "{answer}");
        assert_eq!(answer["lines"][0]["refund"], due, "{answer}");
        assert_eq!(answer["shift_id"], tills[t].shift["id"]);
        assert_eq!(answer["refunds"], Tender::views(&refunds));
        tills[t].figures.refund(&refunds);
        if restock {
            tally(&mut restocked, &m.lines[i].item.id, 1);
        }
    }

    // Close both drawers: one over by 50, one short by 120.
    for (till, off) in tills.iter().zip([50, -120]) {
        let expected = till.figures.expected_cash();
        let counted = expected + off;
        let closed = expect(s.close(&till.token, &till.shift, counted).await, 200).await;
        assert_eq!(int(&closed, "expected_cash"), expected, "{closed}");
        assert_eq!(int(&closed, "over_short"), off, "{closed}");
        till.figures.assert_report(&closed["report"], Some(counted));
        assert_eq!(s.report(&till.shift).await, closed["report"]);
        let listed = s
            .list(SALES, &format!("shift_id={}", id(&till.shift)))
            .await;
        let made_here = made.iter().filter(|m| m.shift_is(till)).count();
        assert_eq!(listed.len(), made_here);
    }

    // The numbers are gapless over both registers.
    let mut numbers: Vec<String> = s
        .list(SALES, &format!("store_id={}", s.store))
        .await
        .iter()
        .map(|sale| sale["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let want: Vec<String> = (1..=u32::try_from(SALES_IN_A_DAY).unwrap())
        .map(|n| number(CODE, n))
        .collect();
    assert_eq!(numbers, want);

    // The stock: start − sold + voided + restocked, and the ledger agrees by kind.
    for item in &items {
        let of = |map: &HashMap<String, i64>| map.get(&item.id).copied().unwrap_or(0);
        let expected = START - of(&sold) + of(&voided) + of(&restocked);
        assert_eq!(s.on_hand(s.store, &item.id).await, expected, "{}", item.sku);
    }
    for (kind, map, sign) in [
        ("sale", &sold, -1),
        ("void", &voided, 1),
        ("return", &restocked, 1),
    ] {
        let mut sums: HashMap<String, i64> = HashMap::new();
        for m in s.moves(kind).await {
            tally(
                &mut sums,
                m["product_id"].as_str().unwrap(),
                m["delta"].as_i64().unwrap(),
            );
        }
        let want: HashMap<String, i64> = map.iter().map(|(k, v)| (k.clone(), sign * v)).collect();
        assert_eq!(sums, want, "{kind} movements");
    }
    s.assert_ledger().await;
}

impl Made {
    fn shift_is(&self, till: &Till) -> bool {
        self.sale["shift_id"] == till.shift["id"]
    }
}

#[tokio::test]
async fn a_day_in_a_store_whose_prices_include_tax_adds_up() {
    trading_day(true, 20_261_125).await;
}

#[tokio::test]
async fn a_day_in_a_store_that_adds_tax_to_its_prices_adds_up() {
    trading_day(false, 7).await;
}
