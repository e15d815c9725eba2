//! An independent model of the rules of docs/API.md "Checkout" and docs/CHECKOUT.md — cart
//! pricing, the cart-discount spread and its tie rule, tax included or added, commission,
//! refunds due on returns, a shift's figures and expected cash — written here from the text,
//! not imported from `ringup-core`, so that the server's answers are checked against a second
//! reading of the contract. Includes the assertions comparing a sale view or a shift report
//! with the model.

use serde_json::{Value, json};

use crate::checkout_support::{Item, METHODS, Tax, line, pay};
use crate::support::is_uuid_v7;

/// `round(n / d)`, halves up, for `n >= 0`, `d > 0`.
pub(crate) fn half_up(n: i128, d: i128) -> i64 {
    assert!(n >= 0 && d > 0, "{n} / {d}");
    i64::try_from((2 * n + d) / (2 * d)).unwrap()
}

/// docs/API.md "Checkout" / docs/CHECKOUT.md "Returns": what returning `q` more of `sold`
/// units of a line worth `total`, `already` of them returned before, refunds.
pub(crate) fn refund_due(total: i64, sold: i64, already: i64, q: i64) -> i64 {
    let (t, s) = (i128::from(total), i128::from(sold));
    half_up(t * i128::from(already + q), s) - half_up(t * i128::from(already), s)
}

/// A line or cart discount.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Disc {
    Percent(i64),
    Amount(i64),
}

impl Disc {
    pub(crate) fn json(self) -> Value {
        match self {
            Disc::Percent(bp) => json!({ "percent_bp": bp }),
            Disc::Amount(amount) => json!({ "amount": amount }),
        }
    }

    /// The discount as one amount of `base`.
    fn of(self, base: i64) -> i64 {
        match self {
            Disc::Percent(bp) => half_up(i128::from(base) * i128::from(bp), 10_000),
            Disc::Amount(amount) => amount,
        }
    }
}

/// A cart line as a client sends it.
#[derive(Clone, Debug)]
pub(crate) struct CartLine {
    pub item: Item,
    pub quantity: i64,
    pub discount: Option<Disc>,
}

impl CartLine {
    pub(crate) fn json(&self) -> Value {
        let mut line = line(&self.item, self.quantity);
        if let Some(discount) = self.discount {
            line["discount"] = discount.json();
        }
        line
    }
}

/// A tender or refund.
#[derive(Clone, Debug)]
pub(crate) struct Tender {
    pub method: &'static str,
    pub amount: i64,
    pub reference: Option<String>,
}

impl Tender {
    pub(crate) fn with_ref(mut self, reference: &str) -> Tender {
        self.reference = Some(reference.to_owned());
        self
    }

    pub(crate) fn json(&self) -> Value {
        match &self.reference {
            Some(r) => json!({"method": self.method, "amount": self.amount, "reference": r}),
            None => pay(self.method, self.amount),
        }
    }

    /// How `tenders` answer in a view: `reference` always present.
    pub(crate) fn views(tenders: &[Tender]) -> Value {
        let view =
            |t: &Tender| json!({"method": t.method, "amount": t.amount, "reference": t.reference});
        Value::Array(tenders.iter().map(view).collect())
    }

    /// Amounts per method, in [`METHODS`] order.
    pub(crate) fn per_method(tenders: &[Tender]) -> [i64; 5] {
        let mut sums = [0; 5];
        for t in tenders {
            let i = METHODS.iter().position(|m| *m == t.method).unwrap();
            sums[i] += t.amount;
        }
        sums
    }
}

/// A priced line, as the sale view must show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PricedLine {
    pub quantity: i64,
    pub unit_price: i64,
    /// Own discount plus cart share.
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// A priced cart.
#[derive(Clone, Debug)]
pub(crate) struct Priced {
    pub lines: Vec<PricedLine>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub net_total: i64,
    pub tax_total: i64,
    pub total: i64,
}

/// Prices `lines` with an optional cart discount per docs/API.md, in a store whose prices include
/// tax or not.
pub(crate) fn price(lines: &[CartLine], cart: Option<Disc>, inclusive: bool) -> Priced {
    let gross: Vec<i64> = lines.iter().map(|l| l.item.price * l.quantity).collect();
    let own: Vec<i64> = lines
        .iter()
        .zip(&gross)
        .map(|(l, g)| l.discount.map_or(0, |d| d.of(*g)))
        .collect();
    let amounts: Vec<i64> = gross.iter().zip(&own).map(|(g, o)| g - o).collect();
    let sum: i64 = amounts.iter().sum();
    let cart_amount = cart.map_or(0, |d| d.of(sum));
    let mut shares: Vec<i64> = amounts
        .iter()
        .map(|a| match sum {
            0 => 0,
            _ => i64::try_from(i128::from(cart_amount) * i128::from(*a) / i128::from(sum)).unwrap(),
        })
        .collect();
    let mut left = cart_amount - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|i| (-amounts[*i], *i));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    let priced: Vec<PricedLine> = (0..lines.len())
        .map(|i| {
            let amount = amounts[i] - shares[i];
            let rate = i128::from(lines[i].item.tax.rate);
            let (net, tax, total) = if inclusive {
                let tax = half_up(i128::from(amount) * rate, 10_000 + rate);
                (amount - tax, tax, amount)
            } else {
                let tax = half_up(i128::from(amount) * rate, 10_000);
                (amount, tax, amount + tax)
            };
            PricedLine {
                quantity: lines[i].quantity,
                unit_price: lines[i].item.price,
                discount: own[i] + shares[i],
                net,
                tax,
                total,
            }
        })
        .collect();
    Priced {
        subtotal: gross.iter().sum(),
        discount_total: own.iter().sum::<i64>() + cart_amount,
        net_total: priced.iter().map(|l| l.net).sum(),
        tax_total: priced.iter().map(|l| l.tax).sum(),
        total: priced.iter().map(|l| l.total).sum(),
        lines: priced,
    }
}

/// `(tax_class_id, rate_bp, net, tax)` sums per class, sorted by class id.
fn breakdown(lines: &[CartLine], priced: &Priced) -> Vec<Value> {
    let mut buckets: Vec<(String, i64, i64, i64)> = Vec::new();
    for (l, p) in lines.iter().zip(&priced.lines) {
        match buckets.iter_mut().find(|b| b.0 == l.item.tax.id) {
            Some(b) => (b.2, b.3) = (b.2 + p.net, b.3 + p.tax),
            None => buckets.push((l.item.tax.id.clone(), l.item.tax.rate, p.net, p.tax)),
        }
    }
    buckets.sort();
    let entry = |(c, r, n, t): (String, i64, i64, i64)| json!({"tax_class_id": c, "rate_bp": r, "net": n, "tax": t});
    buckets.into_iter().map(entry).collect()
}

/// `tax_breakdown` of a view, sorted by class id (docs/API.md fixes no order).
pub(crate) fn sorted_breakdown(sale: &Value) -> Vec<Value> {
    let mut entries = sale["tax_breakdown"].as_array().unwrap().clone();
    entries.sort_by_key(|e| e["tax_class_id"].as_str().unwrap().to_owned());
    entries
}

/// Asserts every field of a completed sale view against the model: lines (in request order,
/// product, sku, name, amounts), totals, payments, paid, change, tax breakdown and commission.
pub(crate) fn assert_sale(
    sale: &Value,
    lines: &[CartLine],
    cart: Option<Disc>,
    inclusive: bool,
    tenders: &[Tender],
    commission_bp: i64,
) -> Priced {
    let priced = price(lines, cart, inclusive);
    let got = sale["lines"].as_array().unwrap_or_else(|| panic!("{sale}"));
    assert_eq!(got.len(), lines.len(), "{sale}");
    for ((view, l), p) in got.iter().zip(lines).zip(&priced.lines) {
        assert!(is_uuid_v7(view["id"].as_str().unwrap_or("")), "{view}");
        let fields = ["quantity", "unit_price", "discount", "net", "tax", "total"];
        let actual: Vec<Option<i64>> = fields.iter().map(|f| view[*f].as_i64()).collect();
        let wanted = [p.quantity, p.unit_price, p.discount, p.net, p.tax, p.total];
        assert_eq!(actual, wanted.map(Some), "{fields:?} of {view} in {sale}");
        assert_eq!(view["product_id"], l.item.id.as_str(), "{view}");
        assert_eq!(view["sku"], l.item.sku.as_str(), "{view}");
        assert_eq!(view["name"], l.item.name.as_str(), "{view}");
        assert_eq!(view["tax_rate_bp"], l.item.tax.rate, "{view}");
    }
    let paid: i64 = tenders.iter().map(|t| t.amount).sum();
    let commission = half_up(
        i128::from(priced.net_total) * i128::from(commission_bp),
        10_000,
    );
    let totals = [
        "subtotal",
        "discount_total",
        "net_total",
        "tax_total",
        "total",
    ];
    let totals = totals.map(|f| (f, sale[f].as_i64()));
    let wanted = [
        ("subtotal", Some(priced.subtotal)),
        ("discount_total", Some(priced.discount_total)),
        ("net_total", Some(priced.net_total)),
        ("tax_total", Some(priced.tax_total)),
        ("total", Some(priced.total)),
    ];
    assert_eq!(totals, wanted, "{sale}");
    assert_eq!(sale["paid"], paid, "{sale}");
    assert_eq!(sale["change"], paid - priced.total, "{sale}");
    assert_eq!(sale["payments"], Tender::views(tenders), "{sale}");
    assert_eq!(sorted_breakdown(sale), breakdown(lines, &priced), "{sale}");
    assert_eq!(sale["commission"], commission, "{sale}");
    assert_eq!(sale["status"], "completed", "{sale}");
    for field in ["voided_at", "voided_by", "void_reason"] {
        assert!(sale[field].is_null(), "{field}: {sale}");
    }
    priced
}

/// A shift's figures as its report must show them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Figures {
    pub opening_float: i64,
    pub sales_count: i64,
    pub gross: i64,
    pub discounts: i64,
    pub tax: i64,
    pub net: i64,
    pub total: i64,
    pub tenders: [i64; 5],
    pub change_given: i64,
    pub voids_count: i64,
    pub voids_total: i64,
    pub returns_count: i64,
    pub returns_total: i64,
    pub refunds: [i64; 5],
    pub paid_in: i64,
    pub paid_out: i64,
}

impl Figures {
    pub(crate) fn float(opening_float: i64) -> Figures {
        Figures {
            opening_float,
            ..Figures::default()
        }
    }

    /// Adds (`sign` 1) or takes out (`sign` −1) a sale.
    pub(crate) fn sale(&mut self, priced: &Priced, tenders: &[Tender], sign: i64) {
        let paid: i64 = tenders.iter().map(|t| t.amount).sum();
        self.sales_count += sign;
        self.gross += sign * priced.subtotal;
        self.discounts += sign * priced.discount_total;
        self.tax += sign * priced.tax_total;
        self.net += sign * priced.net_total;
        self.total += sign * priced.total;
        for (sum, amount) in self.tenders.iter_mut().zip(Tender::per_method(tenders)) {
            *sum += sign * amount;
        }
        self.change_given += sign * (paid - priced.total);
    }

    /// Takes a sale out as voided.
    pub(crate) fn void(&mut self, priced: &Priced, tenders: &[Tender]) {
        self.sale(priced, tenders, -1);
        self.voids_count += 1;
        self.voids_total += priced.total;
    }

    pub(crate) fn refund(&mut self, refunds: &[Tender]) {
        self.returns_count += 1;
        self.returns_total += refunds.iter().map(|t| t.amount).sum::<i64>();
        for (sum, amount) in self.refunds.iter_mut().zip(Tender::per_method(refunds)) {
            *sum += amount;
        }
    }

    /// opening float + cash taken − change − cash refunded + paid in − paid out.
    pub(crate) fn expected_cash(&self) -> i64 {
        self.opening_float + self.tenders[0] - self.change_given - self.refunds[0] + self.paid_in
            - self.paid_out
    }

    /// Asserts the figures of `report`: `kind` x (open, nothing counted) or z (counted).
    pub(crate) fn assert_report(&self, report: &Value, counted: Option<i64>) {
        let per = |sums: [i64; 5]| -> Value {
            let entry = |(m, a): (&&str, i64)| json!({"method": m, "amount": a});
            Value::Array(METHODS.iter().zip(sums).map(entry).collect())
        };
        let expected = self.expected_cash();
        let wanted = json!({
            "kind": if counted.is_some() { "z" } else { "x" },
            "status": if counted.is_some() { "closed" } else { "open" },
            "opening_float": self.opening_float, "sales_count": self.sales_count,
            "gross": self.gross, "discounts": self.discounts, "tax": self.tax, "net": self.net,
            "total": self.total, "tenders": per(self.tenders), "change_given": self.change_given,
            "voids_count": self.voids_count, "voids_total": self.voids_total,
            "returns_count": self.returns_count, "returns_total": self.returns_total,
            "refunds": per(self.refunds), "paid_in": self.paid_in, "paid_out": self.paid_out,
            "expected_cash": expected, "counted_cash": counted,
            "over_short": counted.map(|c| c - expected),
        });
        let fields = wanted.as_object().unwrap().keys();
        let got: serde_json::Map<String, Value> =
            fields.map(|f| (f.clone(), report[f].clone())).collect();
        assert_eq!(Value::Object(got), wanted, "report: {report}");
        for field in [
            "shift_id",
            "store_id",
            "register_id",
            "cashier_id",
            "opened_at",
        ] {
            assert!(report[field].is_string(), "{field}: {report}");
        }
        assert_eq!(
            report["closed_at"].is_string(),
            counted.is_some(),
            "{report}"
        );
    }
}

#[test]
fn the_model_prices_the_worked_examples() {
    // The numbers the HTTP tests assert, computed by hand, checked against the model too.
    let tax = |rate| Tax {
        id: format!("t{rate}"),
        rate,
    };
    let item = |price, rate| Item {
        id: String::new(),
        sku: String::new(),
        name: String::new(),
        price,
        tax: tax(rate),
    };
    let cl = |price, rate, quantity, discount| CartLine {
        item: item(price, rate),
        quantity,
        discount,
    };
    let cart = [
        cl(1160, 1600, 2, Some(Disc::Percent(1000))),
        cl(540, 800, 3, Some(Disc::Amount(20))),
        cl(999, 1600, 1, None),
    ];
    let inclusive = price(&cart, Some(Disc::Amount(500)), true);
    let shown = |p: &Priced| -> Vec<[i64; 4]> {
        p.lines
            .iter()
            .map(|l| [l.discount, l.net, l.tax, l.total])
            .collect()
    };
    assert_eq!(
        shown(&inclusive),
        [
            [455, 1608, 257, 1865],
            [191, 1323, 106, 1429],
            [106, 770, 123, 893]
        ]
    );
    let sums = |p: &Priced| {
        [
            p.subtotal,
            p.discount_total,
            p.net_total,
            p.tax_total,
            p.total,
        ]
    };
    assert_eq!(sums(&inclusive), [4939, 752, 3701, 486, 4187]);
    let exclusive = price(&cart, Some(Disc::Amount(500)), false);
    assert_eq!(
        shown(&exclusive),
        [
            [455, 1865, 298, 2163],
            [191, 1429, 114, 1543],
            [106, 893, 143, 1036]
        ]
    );
    assert_eq!(sums(&exclusive), [4939, 752, 4187, 555, 4742]);
    // Ties: amounts 100, 300, 300 and 99 off → floors 14, 42, 42 and the one left over goes
    // to the earlier of the two largest.
    let tie = [
        cl(100, 1600, 1, None),
        cl(300, 1600, 1, None),
        cl(300, 1600, 1, None),
    ];
    let discounts = |p: &Priced| -> Vec<i64> { p.lines.iter().map(|l| l.discount).collect() };
    assert_eq!(
        discounts(&price(&tie, Some(Disc::Amount(99)), true)),
        [14, 43, 42]
    );
    // 2.5 % of 700 = 17.5 → 18: floors 2, 7, 7, two left over.
    assert_eq!(
        discounts(&price(&tie, Some(Disc::Percent(250)), true)),
        [2, 8, 8]
    );
    assert_eq!(refund_due(1000, 3, 0, 1), 333);
    assert_eq!(refund_due(1000, 3, 1, 1), 334);
    assert_eq!(refund_due(1000, 3, 2, 1), 333);
    assert_eq!(refund_due(1000, 3, 0, 2), 667);
}
