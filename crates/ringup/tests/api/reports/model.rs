//! An independent model of API.md "Reports", fed only with what the API answered when the
//! sales, voids and returns were made (never with a report), and the comparisons of a
//! report with it.
//!
//! The model keeps every sale as its 201 body said (lines with quantity, unit price, discount,
//! net, tax and total; payments; change; commission), the local day of its `created_at` in
//! its store's zone (counted here with chrono-tz), whether it was voided, and every return as
//! its 201 body said (lines with quantity and refund; refunds) with the tax share of each
//! line's refund computed here from the sold line: `round(tax × (already + q) / sold) −
//! round(tax × already / sold)`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{TOTAL_FIELDS, int};
use crate::checkout_model::{half_up, refund_due};

/// A sold line as the sale's answer gave it, with what has been returned of it since.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub id: String,
    pub product: String,
    pub tax_class: String,
    pub rate: i64,
    pub quantity: i64,
    pub gross: i64,
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub returned: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Sale {
    pub id: String,
    pub store: String,
    pub cashier: String,
    pub day: NaiveDate,
    pub voided: bool,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub commission: i64,
    pub change: i64,
    pub lines: Vec<Line>,
    pub payments: Vec<(String, i64)>,
}

#[derive(Clone, Debug)]
pub(crate) struct ReturnLine {
    pub product: String,
    pub tax_class: String,
    pub rate: i64,
    pub quantity: i64,
    pub refund: i64,
    pub tax: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Return {
    pub store: String,
    pub cashier: String,
    pub day: NaiveDate,
    pub total: i64,
    pub lines: Vec<ReturnLine>,
    pub refunds: Vec<(String, i64)>,
}

/// The figures of a sales report row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fig {
    pub sales: i64,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub returns: i64,
    pub refunds: i64,
}

impl Fig {
    fn add(&mut self, o: &Fig) {
        self.sales += o.sales;
        self.gross += o.gross;
        self.discounts += o.discounts;
        self.net += o.net;
        self.tax += o.tax;
        self.total += o.total;
        self.returns += o.returns;
        self.refunds += o.refunds;
    }
}

/// `round(total / sales)` half-up, 0 without sales.
pub(crate) fn basket(total: i64, sales: i64) -> i64 {
    if sales <= 0 {
        0
    } else {
        half_up(i128::from(total), i128::from(sales))
    }
}

/// `(current − previous) × 100 / previous`, rounded half away from zero to two decimals, or
/// null when `previous` is 0.
pub(crate) fn pct(current: i64, previous: i64) -> Value {
    if previous == 0 {
        return Value::Null;
    }
    let n = (i128::from(current) - i128::from(previous)) * 10_000;
    let d = i128::from(previous);
    let hundredths = (2 * n.abs() + d.abs()) / (2 * d.abs());
    let signed = if (n < 0) == (d < 0) {
        hundredths
    } else {
        -hundredths
    };
    #[allow(clippy::cast_precision_loss)]
    let value = signed as f64 / 100.0;
    json!(value)
}

/// The local day of `at` in `zone`.
pub(crate) fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

fn at_of(value: &Value) -> DateTime<Utc> {
    super::utc(value["created_at"].as_str().unwrap())
}

/// A report's scope: which stores and which local days.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    pub stores: BTreeSet<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Scope {
    fn holds(&self, store: &str, day: NaiveDate) -> bool {
        self.stores.contains(store) && self.from <= day && day <= self.to
    }

    /// The same number of days just before `from`.
    pub(crate) fn previous(&self) -> Scope {
        let days = (self.to - self.from).num_days() + 1;
        Scope {
            stores: self.stores.clone(),
            from: self.from - Duration::days(days),
            to: self.from - Duration::days(1),
        }
    }
}

/// What a report row is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Day,
    Week,
    Month,
    Store,
    Cashier,
    Product,
    Category,
    Tender,
}

impl Group {
    pub(crate) fn parse(name: &str) -> Group {
        match name {
            "day" => Group::Day,
            "week" => Group::Week,
            "month" => Group::Month,
            "store" => Group::Store,
            "cashier" => Group::Cashier,
            "product" => Group::Product,
            "category" => Group::Category,
            "tender" => Group::Tender,
            other => panic!("no group {other}"),
        }
    }

    fn time_key(self, day: NaiveDate) -> Option<String> {
        match self {
            Group::Day => Some(day.format("%Y-%m-%d").to_string()),
            Group::Week => {
                let w = day.iso_week();
                Some(format!("{:04}-W{:02}", w.year(), w.week()))
            }
            Group::Month => Some(format!("{:04}-{:02}", day.year(), day.month())),
            _ => None,
        }
    }
}

/// Every sale, void and return as the API answered them, and the names reports label with.
#[derive(Default)]
pub(crate) struct Model {
    pub sales: Vec<Sale>,
    pub returns: Vec<Return>,
    /// Store codes, usernames, product, category and tax class names, by id.
    pub labels: HashMap<String, String>,
    /// Each product's category.
    pub categories: HashMap<String, String>,
    /// Each product's tax class (the sale answer gives a line's rate, not its class).
    pub classes: HashMap<String, String>,
}

/// What a sales report must say.
#[derive(Clone, Debug)]
pub(crate) struct Expected {
    pub rows: Vec<Value>,
    pub totals: Value,
    pub previous: Value,
    pub change_pct: Value,
}

fn fig_json(f: &Fig, basket_of: Option<(i64, i64)>) -> Value {
    let average = basket_of.map_or(0, |(t, s)| basket(t, s));
    json!({"sales": f.sales, "gross": f.gross, "discounts": f.discounts, "net": f.net,
        "tax": f.tax, "total": f.total, "returns": f.returns, "refunds": f.refunds,
        "average_basket": average})
}

impl Model {
    /// Records a 201 sale answer of a store in `zone`; returns its index.
    pub(crate) fn sale(&mut self, sale: &Value, zone: Tz) -> usize {
        let lines = sale["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let product = l["product_id"].as_str().unwrap().to_owned();
                Line {
                    id: super::id(l),
                    tax_class: self.classes[&product].clone(),
                    product,
                    rate: int(l, "tax_rate_bp"),
                    quantity: int(l, "quantity"),
                    gross: int(l, "unit_price") * int(l, "quantity"),
                    discount: int(l, "discount"),
                    net: int(l, "net"),
                    tax: int(l, "tax"),
                    total: int(l, "total"),
                    returned: 0,
                }
            })
            .collect::<Vec<_>>();
        let payments = sale["payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["method"].as_str().unwrap().to_owned(), int(p, "amount")))
            .collect();
        self.sales.push(Sale {
            id: super::id(sale),
            store: sale["store_id"].as_str().unwrap().to_owned(),
            cashier: sale["cashier_id"].as_str().unwrap().to_owned(),
            day: local_day(at_of(sale), zone),
            voided: false,
            gross: int(sale, "subtotal"),
            discounts: int(sale, "discount_total"),
            net: int(sale, "net_total"),
            tax: int(sale, "tax_total"),
            total: int(sale, "total"),
            commission: int(sale, "commission"),
            change: int(sale, "change"),
            lines,
            payments,
        });
        self.sales.len() - 1
    }

    pub(crate) fn void(&mut self, sale_id: &str) {
        let sale = self.sales.iter_mut().find(|s| s.id == sale_id).unwrap();
        assert!(!sale.voided, "voided twice: {sale_id}");
        sale.voided = true;
    }

    /// Records a 201 return answer of a store in `zone`. The refund of each line is checked
    /// against the cumulative rule, and its tax share computed the same way.
    pub(crate) fn give_back(&mut self, ret: &Value, zone: Tz) {
        let sale_id = ret["sale_id"].as_str().unwrap();
        let sale = self.sales.iter_mut().find(|s| s.id == sale_id).unwrap();
        let mut lines = Vec::new();
        for l in ret["lines"].as_array().unwrap() {
            let q = int(l, "quantity");
            let refund = int(l, "refund");
            let line_id = l["sale_line_id"].as_str().unwrap();
            let line = sale.lines.iter_mut().find(|x| x.id == line_id).unwrap();
            assert_eq!(
                refund,
                refund_due(line.total, line.quantity, line.returned, q),
                "the refund of {l}"
            );
            let tax = refund_due(line.tax, line.quantity, line.returned, q);
            line.returned += q;
            lines.push(ReturnLine {
                product: line.product.clone(),
                tax_class: line.tax_class.clone(),
                rate: line.rate,
                quantity: q,
                refund,
                tax,
            });
        }
        let refunds = ret["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["method"].as_str().unwrap().to_owned(), int(p, "amount")))
            .collect();
        self.returns.push(Return {
            store: ret["store_id"].as_str().unwrap().to_owned(),
            cashier: ret["cashier_id"].as_str().unwrap().to_owned(),
            day: local_day(at_of(ret), zone),
            total: int(ret, "total"),
            lines,
            refunds,
        });
    }

    fn live_sales<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a Sale> + 'a {
        self.sales
            .iter()
            .filter(move |s| !s.voided && scope.holds(&s.store, s.day))
    }

    fn returns_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a Return> + 'a {
        self.returns
            .iter()
            .filter(move |r| scope.holds(&r.store, r.day))
    }

    /// The figures of every row of `group` over `scope`, by key.
    pub(crate) fn figures(&self, scope: &Scope, group: Group) -> BTreeMap<String, Fig> {
        let mut rows: BTreeMap<String, Fig> = BTreeMap::new();
        if group.time_key(scope.from).is_some() {
            let mut d = scope.from;
            while d <= scope.to {
                rows.entry(group.time_key(d).unwrap()).or_default();
                d += Duration::days(1);
            }
        }
        for s in self.live_sales(scope) {
            let whole = Fig {
                sales: 1,
                gross: s.gross,
                discounts: s.discounts,
                net: s.net,
                tax: s.tax,
                total: s.total,
                ..Fig::default()
            };
            match group {
                Group::Day | Group::Week | Group::Month => {
                    let key = group.time_key(s.day).unwrap();
                    rows.entry(key).or_default().add(&whole);
                }
                Group::Store => rows.entry(s.store.clone()).or_default().add(&whole),
                Group::Cashier => rows.entry(s.cashier.clone()).or_default().add(&whole),
                Group::Product | Group::Category => {
                    for l in &s.lines {
                        let key = match group {
                            Group::Product => l.product.clone(),
                            _ => self.categories[&l.product].clone(),
                        };
                        let f = Fig {
                            sales: l.quantity,
                            gross: l.gross,
                            discounts: l.discount,
                            net: l.net,
                            tax: l.tax,
                            total: l.total,
                            ..Fig::default()
                        };
                        rows.entry(key).or_default().add(&f);
                    }
                }
                Group::Tender => {
                    for (method, amount) in &s.payments {
                        let f = Fig {
                            sales: 1,
                            total: *amount,
                            ..Fig::default()
                        };
                        rows.entry(method.clone()).or_default().add(&f);
                    }
                    if s.change != 0 {
                        rows.entry("cash".to_owned()).or_default().total -= s.change;
                    }
                }
            }
        }
        for r in self.returns_in(scope) {
            let whole = Fig {
                returns: 1,
                refunds: r.total,
                ..Fig::default()
            };
            match group {
                Group::Day | Group::Week | Group::Month => {
                    let key = group.time_key(r.day).unwrap();
                    rows.entry(key).or_default().add(&whole);
                }
                Group::Store => rows.entry(r.store.clone()).or_default().add(&whole),
                Group::Cashier => rows.entry(r.cashier.clone()).or_default().add(&whole),
                Group::Product | Group::Category => {
                    for l in &r.lines {
                        let key = match group {
                            Group::Product => l.product.clone(),
                            _ => self.categories[&l.product].clone(),
                        };
                        let f = Fig {
                            returns: l.quantity,
                            refunds: l.refund,
                            ..Fig::default()
                        };
                        rows.entry(key).or_default().add(&f);
                    }
                }
                Group::Tender => {
                    for (method, amount) in &r.refunds {
                        rows.entry(method.clone()).or_default().refunds += amount;
                    }
                }
            }
        }
        rows
    }

    /// The sales report of `group` over `scope`, as API.md says it must read.
    pub(crate) fn sales_report(&self, scope: &Scope, group: Group) -> Expected {
        let tender = group == Group::Tender;
        let time = group.time_key(scope.from).is_some();
        let mut keyed: Vec<(String, Fig)> = self.figures(scope, group).into_iter().collect();
        if !time {
            keyed.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.cmp(&b.0)));
        }
        let labelled = matches!(
            group,
            Group::Store | Group::Cashier | Group::Product | Group::Category
        );
        let rows = keyed
            .iter()
            .map(|(k, f)| {
                let mut row = fig_json(f, (!tender).then_some((f.total, f.sales)));
                row["key"] = json!(k);
                row["label"] = if labelled {
                    json!(self.labels[k])
                } else {
                    Value::Null
                };
                row
            })
            .collect();
        let sum = |rows: &[(String, Fig)]| {
            let mut t = Fig::default();
            for (_, f) in rows {
                t.add(f);
            }
            t
        };
        let totals = sum(&keyed);
        let before: Vec<(String, Fig)> =
            self.figures(&scope.previous(), group).into_iter().collect();
        let previous = sum(&before);
        let basket_of = |f: &Fig| (!tender).then_some((f.total, f.sales));
        let (totals, previous) = (
            fig_json(&totals, basket_of(&totals)),
            fig_json(&previous, basket_of(&previous)),
        );
        let change_pct = TOTAL_FIELDS
            .iter()
            .map(|f| ((*f).to_owned(), pct(int(&totals, f), int(&previous, f))))
            .collect::<serde_json::Map<_, _>>();
        Expected {
            rows,
            totals,
            previous,
            change_pct: Value::Object(change_pct),
        }
    }

    /// The tax report's rows, by tax class id and rate, and its amount totals.
    pub(crate) fn tax_report(&self, scope: &Scope) -> (Vec<Value>, Value) {
        // (net, tax, total, refunds, refund tax)
        let mut rows: BTreeMap<(String, i64), [i64; 5]> = BTreeMap::new();
        for s in self.live_sales(scope) {
            for l in &s.lines {
                let r = rows.entry((l.tax_class.clone(), l.rate)).or_default();
                r[0] += l.net;
                r[1] += l.tax;
                r[2] += l.total;
            }
        }
        for ret in self.returns_in(scope) {
            for l in &ret.lines {
                let r = rows.entry((l.tax_class.clone(), l.rate)).or_default();
                r[3] += l.refund;
                r[4] += l.tax;
            }
        }
        let mut totals = [0; 5];
        let rows = rows
            .into_iter()
            .map(|((class, rate), r)| {
                for (t, v) in totals.iter_mut().zip(r) {
                    *t += v;
                }
                json!({"tax_class_id": class, "name": self.labels[&class], "rate_bp": rate,
                    "net": r[0], "tax": r[1], "total": r[2], "refund_net": r[3] - r[4],
                    "refund_tax": r[4]})
            })
            .collect();
        let totals = json!({"net": totals[0], "tax": totals[1], "total": totals[2],
            "refund_net": totals[3] - totals[4], "refund_tax": totals[4]});
        (rows, totals)
    }

    /// The commission report's rows, by cashier id, and its totals.
    pub(crate) fn commissions(&self, scope: &Scope) -> (Vec<Value>, Value) {
        // (sales, net, commission)
        let mut rows: BTreeMap<String, [i64; 3]> = BTreeMap::new();
        for s in self.live_sales(scope) {
            let r = rows.entry(s.cashier.clone()).or_default();
            r[0] += 1;
            r[1] += s.net;
            r[2] += s.commission;
        }
        let mut totals = [0; 3];
        let rows = rows
            .into_iter()
            .map(|(cashier, r)| {
                for (t, v) in totals.iter_mut().zip(r) {
                    *t += v;
                }
                json!({"cashier_id": cashier, "username": self.labels[&cashier], "sales": r[0],
                    "net_total": r[1], "commission": r[2]})
            })
            .collect();
        let totals = json!({"sales": totals[0], "net_total": totals[1], "commission": totals[2]});
        (rows, totals)
    }
}
