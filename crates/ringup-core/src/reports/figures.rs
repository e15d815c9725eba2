//! The figures of a sales report row and how rows compare with the period before.
//!
//! Invariants: sums are checked (an overflow is `None`, never a wrapped total); the average
//! basket is `round(total / sales)` half-up and 0 without sales; a change in percent is
//! `(current − previous) × 100 / previous` rounded half away from zero to two decimals, and
//! `None` when the previous value is 0 (API.md "Reports").

use crate::checkout::div_round_half_up;

/// What a row of the sales report adds up. For product and category rows `sales` and
/// `returns` are quantities; otherwise they count sales and returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SalesFigures {
    pub sales: i64,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub returns: i64,
    pub refunds: i64,
}

impl SalesFigures {
    /// The names of the fields, in the order of [`SalesFigures::values`].
    pub const FIELDS: [&'static str; 8] = [
        "sales",
        "gross",
        "discounts",
        "net",
        "tax",
        "total",
        "returns",
        "refunds",
    ];

    pub fn values(&self) -> [i64; 8] {
        [
            self.sales,
            self.gross,
            self.discounts,
            self.net,
            self.tax,
            self.total,
            self.returns,
            self.refunds,
        ]
    }

    /// Field by field sum; `None` on overflow.
    pub fn checked_add(&self, other: &SalesFigures) -> Option<SalesFigures> {
        Some(SalesFigures {
            sales: self.sales.checked_add(other.sales)?,
            gross: self.gross.checked_add(other.gross)?,
            discounts: self.discounts.checked_add(other.discounts)?,
            net: self.net.checked_add(other.net)?,
            tax: self.tax.checked_add(other.tax)?,
            total: self.total.checked_add(other.total)?,
            returns: self.returns.checked_add(other.returns)?,
            refunds: self.refunds.checked_add(other.refunds)?,
        })
    }

    /// `round(total / sales)`, half-up; 0 without sales.
    pub fn average_basket(&self) -> i64 {
        average_basket(self.total, self.sales)
    }
}

/// `round(total / count)` half-up (away from zero), 0 when `count` is not positive.
pub fn average_basket(total: i64, count: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    div_round_half_up(i128::from(total), i128::from(count))
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(0)
}

/// `(current − previous) × 100 / previous`, rounded half away from zero to two decimals;
/// `None` when `previous` is 0. Computed in integer hundredths, so `12.345` is never
/// mis-rounded by binary floating point; the result is the nearest `f64` to those hundredths.
pub fn change_pct(current: i64, previous: i64) -> Option<f64> {
    if previous == 0 {
        return None;
    }
    let difference = i128::from(current) - i128::from(previous);
    let hundredths = div_round_half_up(difference * 10_000, i128::from(previous))?;
    // |hundredths| ≤ 2⁶³ × 10⁴: exact enough in f64 for any figure a report can hold.
    #[allow(clippy::cast_precision_loss)]
    let value = hundredths as f64 / 100.0;
    Some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn average_basket_rounds_half_up_and_is_zero_without_sales() {
        assert_eq!(average_basket(1_000, 3), 333);
        assert_eq!(average_basket(1_001, 2), 501); // 500.5 → 501
        assert_eq!(average_basket(2_000, 3), 667);
        assert_eq!(average_basket(0, 0), 0);
        assert_eq!(average_basket(500, 0), 0);
    }

    #[test]
    fn change_is_rounded_to_two_decimals_away_from_zero() {
        assert_eq!(change_pct(150, 100), Some(50.0));
        assert_eq!(change_pct(50, 100), Some(-50.0));
        assert_eq!(change_pct(1, 3), Some(-66.67)); // -66.666…
        assert_eq!(change_pct(2, 3), Some(-33.33));
        // 1/8 = 12.5 % exactly; 1/80000 = 0.00125 % → 0.0 after rounding.
        assert_eq!(change_pct(9, 8), Some(12.5));
        assert_eq!(change_pct(80_001, 80_000), Some(0.0));
        // 0.005 % rounds away from zero: 1/20000.
        assert_eq!(change_pct(20_001, 20_000), Some(0.01));
        assert_eq!(change_pct(19_999, 20_000), Some(-0.01));
        assert_eq!(change_pct(7, 0), None);
        assert_eq!(change_pct(0, 0), None);
        assert_eq!(change_pct(0, 5), Some(-100.0));
        assert_eq!(
            change_pct(i64::MAX, 1),
            Some((i128::from(i64::MAX) - 1) as f64 * 100.0)
        );
    }

    #[test]
    fn figures_add_field_by_field_and_refuse_overflow() {
        let a = SalesFigures {
            sales: 1,
            gross: 10,
            discounts: 1,
            net: 8,
            tax: 1,
            total: 9,
            returns: 0,
            refunds: 0,
        };
        let b = SalesFigures {
            returns: 1,
            refunds: 4,
            ..a
        };
        let sum = a.checked_add(&b).unwrap();
        assert_eq!(sum.values(), [2, 20, 2, 16, 2, 18, 1, 4]);
        let huge = SalesFigures {
            total: i64::MAX,
            ..a
        };
        assert_eq!(huge.checked_add(&a), None);
    }

    proptest! {
        #[test]
        fn change_pct_is_within_half_a_hundredth_of_the_exact_value(
            current in -1_000_000_000_000i64..1_000_000_000_000,
            previous in (-1_000_000_000_000i64..1_000_000_000_000).prop_filter("non-zero", |p| *p != 0),
        ) {
            let got = change_pct(current, previous).unwrap();
            let exact = (current as f64 - previous as f64) * 100.0 / previous as f64;
            prop_assert!((got - exact).abs() <= 0.005 + exact.abs() * 1e-12, "{got} vs {exact}");
        }

        #[test]
        fn the_average_basket_times_sales_is_within_half_a_sale_of_the_total(
            total in 0i64..1_000_000_000_000, sales in 1i64..1_000_000,
        ) {
            let avg = average_basket(total, sales);
            let diff = i128::from(avg) * i128::from(sales) - i128::from(total);
            prop_assert!(diff.abs() * 2 <= i128::from(sales));
        }
    }
}
