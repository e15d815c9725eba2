//! A shift's cash drawer.
//!
//! Invariant: the expected cash is computed with checked arithmetic only; `None` means a
//! figure overflowed, never a silently wrapped amount.

/// The cash figures of a shift (voided sales already taken out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawerTotals {
    pub opening_float: i64,
    pub cash_taken: i64,
    pub change_given: i64,
    pub cash_refunded: i64,
    pub paid_in: i64,
    pub paid_out: i64,
}

impl DrawerTotals {
    /// opening float + cash taken − change given − cash refunded + paid in − paid out.
    pub fn expected_cash(&self) -> Option<i64> {
        self.opening_float
            .checked_add(self.cash_taken)?
            .checked_sub(self.change_given)?
            .checked_sub(self.cash_refunded)?
            .checked_add(self.paid_in)?
            .checked_sub(self.paid_out)
    }
}

/// counted − expected (positive: over, negative: short).
pub fn over_short(counted: i64, expected: i64) -> Option<i64> {
    counted.checked_sub(expected)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn expected_cash_follows_the_drawer_formula() {
        let drawer = DrawerTotals {
            opening_float: 10_000,
            cash_taken: 45_000,
            change_given: 1_500,
            cash_refunded: 2_000,
            paid_in: 500,
            paid_out: 3_000,
        };
        assert_eq!(drawer.expected_cash(), Some(49_000));
        assert_eq!(over_short(48_900, 49_000), Some(-100));
        assert_eq!(over_short(49_050, 49_000), Some(50));
        assert_eq!(DrawerTotals::default().expected_cash(), Some(0));
    }

    #[test]
    fn figures_that_do_not_fit_give_none() {
        let drawer = DrawerTotals {
            opening_float: i64::MAX,
            cash_taken: 1,
            ..DrawerTotals::default()
        };
        assert_eq!(drawer.expected_cash(), None);
        let drawer = DrawerTotals {
            paid_out: i64::MIN,
            ..DrawerTotals::default()
        };
        assert_eq!(drawer.expected_cash(), None);
        assert_eq!(over_short(i64::MIN, 1), None);
    }

    proptest! {
        #[test]
        fn expected_cash_is_the_exact_sum_or_none(
            f in prop::array::uniform6(prop_oneof![0..=1_000_000_000_i64, any::<i64>()]),
        ) {
            let drawer = DrawerTotals {
                opening_float: f[0],
                cash_taken: f[1],
                change_given: f[2],
                cash_refunded: f[3],
                paid_in: f[4],
                paid_out: f[5],
            };
            let wide = |v: i64| i128::from(v);
            let exact = wide(f[0]) + wide(f[1]) - wide(f[2]) - wide(f[3]) + wide(f[4]) - wide(f[5]);
            match drawer.expected_cash() {
                Some(v) => prop_assert_eq!(wide(v), exact),
                // Only refused when the result, or a step on the way, leaves i64.
                None => prop_assert!(f.iter().any(|&v| v.unsigned_abs() > 1_000_000_000)),
            }
        }
    }
}
