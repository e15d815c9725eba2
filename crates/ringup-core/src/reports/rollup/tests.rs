#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;

use super::*;

fn products(n: usize) -> Vec<ProductId> {
    (0..n).map(|_| ProductId::new()).collect()
}

fn classes(n: usize) -> Vec<TaxClassId> {
    (0..n).map(|_| TaxClassId::new()).collect()
}

/// A sale whose lines and payments are consistent the way checkout makes them: net + tax =
/// total per line, the sale's amounts the sums of its lines', payments covering the total
/// with cash change.
fn sale() -> impl Strategy<Value = SaleFacts> {
    let products = products(4);
    let classes = classes(2);
    let line = (
        0usize..4,
        0usize..2,
        1i64..20,
        0i64..100_000,
        0i64..1_000,
        0i64..=1_600,
    );
    (
        prop::collection::vec(line, 1..6),
        prop::collection::vec((0usize..5, 1i64..50_000), 0..3),
        0i64..5_000,
        0i64..1_000,
    )
        .prop_map(move |(lines, extra, change, commission)| {
            let lines: Vec<LineFacts> = lines
                .into_iter()
                .map(|(p, c, quantity, unit_price, discount, rate)| {
                    let gross = unit_price * quantity;
                    let discount = discount.min(gross);
                    let total = gross - discount;
                    let tax = total * rate / (10_000 + rate);
                    LineFacts {
                        product_id: products[p],
                        tax_class_id: classes[c],
                        rate_bp: rate,
                        quantity,
                        unit_price,
                        discount,
                        net: total - tax,
                        tax,
                        total,
                    }
                })
                .collect();
            let sum = |f: fn(&LineFacts) -> i64| lines.iter().map(f).sum::<i64>();
            let total = sum(|l| l.total);
            // Other tenders never pay more than is still due; cash covers the rest.
            let mut due = total;
            let mut payments: Vec<(TenderMethod, i64)> = Vec::new();
            for (m, a) in extra {
                let amount = a.min(due);
                if amount > 0 {
                    payments.push((TenderMethod::ALL[m], amount));
                    due -= amount;
                }
            }
            let rest = due;
            // Cash covers the rest and hands back change only if cash was paid.
            let change = if rest > 0 { change } else { 0 };
            if rest > 0 {
                payments.push((TenderMethod::Cash, rest + change));
            }
            SaleFacts {
                cashier_id: UserId::new(),
                gross: sum(|l| l.unit_price * l.quantity),
                discounts: sum(|l| l.discount),
                net: sum(|l| l.net),
                tax: sum(|l| l.tax),
                total,
                commission,
                change,
                lines,
                payments,
            }
        })
}

fn sorted_unique<K: Ord>(keys: impl Iterator<Item = K>) -> bool {
    let keys: Vec<K> = keys.collect();
    keys.windows(2).all(|w| w[0] < w[1])
}

proptest! {
    #[test]
    fn a_sale_s_rows_add_up_to_the_sale(sale in sale()) {
        let c = Contribution::of_sale(&sale).unwrap();
        prop_assert_eq!(c.cashier.sales, 1);
        prop_assert_eq!(c.cashier.total, sale.total);
        prop_assert!(sorted_unique(c.lines.iter().map(|(k, _)| *k)));
        prop_assert!(sorted_unique(c.tenders.iter().map(|(k, _)| *k)));
        let lines = c.lines.iter().fold(LineFigures::default(), |a, (_, f)| a.checked_add(f).unwrap());
        prop_assert_eq!(lines.gross, sale.gross);
        prop_assert_eq!(lines.discounts, sale.discounts);
        prop_assert_eq!(lines.net, sale.net);
        prop_assert_eq!(lines.tax, sale.tax);
        prop_assert_eq!(lines.total, sale.total);
        prop_assert_eq!(lines.quantity, sale.lines.iter().map(|l| l.quantity).sum::<i64>());
        let taken: i64 = c.tenders.iter().map(|(_, f)| f.taken).sum();
        prop_assert_eq!(taken, sale.total, "tenders take in the total, cash net of change");
        let payments: i64 = c.tenders.iter().map(|(_, f)| f.payments).sum();
        prop_assert_eq!(payments, sale.payments.len() as i64);
    }

    #[test]
    fn a_void_leaves_no_trace(sales in prop::collection::vec(sale(), 1..6), voided in any::<prop::sample::Index>()) {
        let store = StoreId::new();
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let voided = voided.index(sales.len());
        let mut with_void = Rollups::default();
        let mut without = Rollups::default();
        for (i, s) in sales.iter().enumerate() {
            with_void.add(store, day, &Contribution::of_sale(s).unwrap()).unwrap();
            if i != voided {
                without.add(store, day, &Contribution::of_sale(s).unwrap()).unwrap();
            }
        }
        with_void.add(store, day, &Contribution::of_void(&sales[voided]).unwrap()).unwrap();
        prop_assert_eq!(with_void.without_zeros(), without.without_zeros());
    }

    #[test]
    fn a_return_counts_for_its_cashier_and_tenders(sale in sale(), cut in 1i64..4) {
        let cashier = UserId::new();
        let lines: Vec<ReturnLineFacts> = sale.lines.iter().map(|l| ReturnLineFacts {
            product_id: l.product_id,
            tax_class_id: l.tax_class_id,
            rate_bp: l.rate_bp,
            quantity: l.quantity.min(cut),
            refund: l.total * l.quantity.min(cut) / l.quantity,
            refund_tax: l.tax * l.quantity.min(cut) / l.quantity,
        }).collect();
        let total: i64 = lines.iter().map(|l| l.refund).sum();
        let ret = ReturnFacts { cashier_id: cashier, total, lines, refunds: vec![(TenderMethod::Card, total)] };
        let c = Contribution::of_return(&ret).unwrap();
        prop_assert_eq!(c.cashier_id, cashier);
        prop_assert_eq!((c.cashier.returns, c.cashier.refunds, c.cashier.sales), (1, total, 0));
        let refunds: i64 = c.lines.iter().map(|(_, f)| f.refunds).sum();
        prop_assert_eq!(refunds, total);
        prop_assert!(c.lines.iter().all(|(_, f)| f.quantity == 0 && f.total == 0));
        prop_assert_eq!(c.tenders.iter().map(|(_, f)| f.refunds).sum::<i64>(), total);
    }
}

#[test]
fn overflow_is_refused_not_wrapped() {
    let line = LineFacts {
        product_id: ProductId::new(),
        tax_class_id: TaxClassId::new(),
        rate_bp: 0,
        quantity: 2,
        unit_price: i64::MAX,
        discount: 0,
        net: 0,
        tax: 0,
        total: 0,
    };
    let sale = SaleFacts {
        cashier_id: UserId::new(),
        gross: 0,
        discounts: 0,
        net: 0,
        tax: 0,
        total: 0,
        commission: 0,
        change: 0,
        lines: vec![line],
        payments: vec![],
    };
    assert_eq!(Contribution::of_sale(&sale), None);
    let min = CashierFigures {
        total: i64::MIN,
        ..CashierFigures::default()
    };
    assert_eq!(min.checked_neg(), None);
}
