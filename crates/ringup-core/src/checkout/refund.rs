//! Refunds due on returns.
//!
//! Invariant: rounding is cumulative (round the refund of everything returned so far, then
//! subtract what was already refunded), so the refunds of any sequence of partial returns of a
//! line telescope to exactly its total and each one lies between 0 and the total.

/// The refund due for returning `returning` more units of a line that sold `sold` units for
/// `line_total`, of which `already_returned` were returned before. Cumulative rounding:
/// `round(total × (already + returning) / sold) − round(total × already / sold)`, half-up —
/// for a first return this is exactly docs/API.md's `total × returned / sold`, and any sequence of
/// partial returns of a whole line refunds exactly its total, never more.
/// `None` if `already + returning > sold`, a count is not positive, or on overflow.
pub fn refund_due(
    line_total: i64,
    sold: i64,
    already_returned: i64,
    returning: i64,
) -> Option<i64> {
    if sold <= 0 || returning <= 0 || already_returned < 0 {
        return None;
    }
    let after = already_returned.checked_add(returning)?;
    if after > sold {
        return None;
    }
    // i64 × i64 always fits in i128.
    let refunded_after = |units: i64| {
        super::div_round_half_up(i128::from(line_total) * i128::from(units), i128::from(sold))
    };
    let due = refunded_after(after)?.checked_sub(refunded_after(already_returned)?)?;
    i64::try_from(due).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::refund_due;

    #[test]
    fn a_first_return_refunds_its_share_rounded_half_up() {
        assert_eq!(refund_due(1_000, 4, 0, 1), Some(250));
        assert_eq!(refund_due(5, 2, 0, 1), Some(3)); // 2.5 → 3
        assert_eq!(refund_due(1_000, 3, 0, 1), Some(333)); // 333.3 → 333
        assert_eq!(refund_due(1_000, 3, 0, 2), Some(667)); // 666.7 → 667
        assert_eq!(refund_due(1_000, 3, 0, 3), Some(1_000));
        assert_eq!(refund_due(0, 3, 0, 2), Some(0));
    }

    #[test]
    fn partial_returns_add_up_to_the_line_total() {
        // 1000 over three single returns: 333, then 667 − 333, then 1000 − 667.
        assert_eq!(refund_due(1_000, 3, 0, 1), Some(333));
        assert_eq!(refund_due(1_000, 3, 1, 1), Some(334));
        assert_eq!(refund_due(1_000, 3, 2, 1), Some(333));
        // 5 over two: 3 then 2, never 3 + 3.
        assert_eq!(refund_due(5, 2, 1, 1), Some(2));
    }

    #[test]
    fn impossible_returns_have_no_refund() {
        assert_eq!(refund_due(1_000, 3, 2, 2), None); // beyond what was sold
        assert_eq!(refund_due(1_000, 3, 3, 1), None);
        assert_eq!(refund_due(1_000, 3, 0, 0), None);
        assert_eq!(refund_due(1_000, 3, 0, -1), None);
        assert_eq!(refund_due(1_000, 3, -1, 1), None);
        assert_eq!(refund_due(1_000, 0, 0, 1), None);
        assert_eq!(refund_due(1_000, i64::MAX, i64::MAX, 1), None); // already + returning overflows
    }

    #[test]
    fn extreme_values_stay_exact() {
        assert_eq!(refund_due(i64::MAX, i64::MAX, 0, i64::MAX), Some(i64::MAX));
        assert_eq!(refund_due(i64::MAX, 2, 0, 1), Some(i64::MAX / 2 + 1));
        assert_eq!(refund_due(i64::MAX, 2, 1, 1), Some(i64::MAX / 2));
    }

    /// A line and a way to return all of it: (total, sold, the quantities of each return).
    fn line_and_returns() -> impl Strategy<Value = (i64, i64, Vec<i64>)> {
        (0..=1_000_000_000_i64, 1..=500_i64).prop_flat_map(|(total, sold)| {
            prop::collection::btree_set(1..sold.max(2), 0..12).prop_map(move |cuts| {
                let mut parts = Vec::new();
                let mut from = 0;
                for cut in cuts.into_iter().filter(|&c| c < sold).chain([sold]) {
                    parts.push(cut - from);
                    from = cut;
                }
                (total, sold, parts)
            })
        })
    }

    proptest! {
        #[test]
        fn any_sequence_of_returns_refunds_exactly_the_total(
            (total, sold, parts) in line_and_returns(),
        ) {
            let mut already = 0;
            let mut refunded = 0;
            for (n, &q) in parts.iter().enumerate() {
                let due = refund_due(total, sold, already, q).unwrap();
                prop_assert!(0 <= due && due <= total);
                if n == 0 {
                    // The first return is docs/API.md's total × returned / sold, half-up, written
                    // as floor((2·total·q + sold) / (2·sold)).
                    let exact = (2 * i128::from(total) * i128::from(q) + i128::from(sold))
                        / (2 * i128::from(sold));
                    prop_assert_eq!(i128::from(due), exact);
                }
                already += q;
                refunded += due;
                // Never ahead of the proportional refund by more than the rounding of it.
                let owed = i128::from(total) * i128::from(already);
                prop_assert!((i128::from(refunded) * i128::from(sold) - owed).abs() * 2 <= i128::from(sold));
            }
            prop_assert_eq!(already, sold);
            prop_assert_eq!(refunded, total);
            prop_assert_eq!(refund_due(total, sold, sold, 1), None);
        }
    }
}
