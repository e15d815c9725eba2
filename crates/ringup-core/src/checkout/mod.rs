//! Checkout rules: exact pricing of a cart (docs/API.md "Checkout"), tenders and change, refunds
//! due on returns, a shift's expected cash, customers' contact details and the printed receipt.
//!
//! Invariants: what comes in (prices, quantities, rates, discounts, tenders) and the amounts a
//! priced cart or a settlement answers are the domain's newtypes (`Money`, `Quantity`,
//! `RateBp`); a line's working figures and running totals that can be taken back (voids) are
//! `i64` minor units; every division rounds half-up, explicitly, once, where docs/API.md says;
//! nothing here does I/O.

pub mod customer;
pub mod payment;
pub mod pricing;
pub mod receipt;
pub mod refund;
pub mod shift;
pub mod totals;

/// `round(numerator / denominator)` with halves rounded away from zero (half-up for the
/// non-negative amounts checkout deals in). `None` on overflow or a zero denominator.
pub fn div_round_half_up(numerator: i128, denominator: i128) -> Option<i128> {
    if denominator == 0 {
        return None;
    }
    let (n, d) = if denominator < 0 {
        (numerator.checked_neg()?, denominator.checked_neg()?)
    } else {
        (numerator, denominator)
    };
    let q = n / d;
    let r = n % d;
    // |r| * 2 >= d  → round away from zero.
    if r.checked_abs()?.checked_mul(2)? >= d {
        if n >= 0 {
            q.checked_add(1)
        } else {
            q.checked_sub(1)
        }
    } else {
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::div_round_half_up;

    #[test]
    fn rounds_halves_up() {
        assert_eq!(div_round_half_up(5, 2), Some(3));
        assert_eq!(div_round_half_up(4, 2), Some(2));
        assert_eq!(div_round_half_up(7, 3), Some(2));
        assert_eq!(div_round_half_up(8, 3), Some(3));
        assert_eq!(div_round_half_up(-5, 2), Some(-3));
        assert_eq!(div_round_half_up(1, 0), None);
        assert_eq!(div_round_half_up(0, 7), Some(0));
    }
}
