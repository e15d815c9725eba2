//! Worked examples from docs/API.md "Checkout"; `properties` holds the property tests and the
//! reference model.

use uuid::Uuid;

use super::*;

mod properties;

fn class(n: u128) -> TaxClassId {
    TaxClassId::from_uuid(Uuid::from_u128(n + 1))
}

fn money(minor: i64) -> Money {
    Money::new(minor).unwrap()
}

fn rate(bp: i64) -> RateBp {
    RateBp::new(bp).unwrap()
}

fn percent(bp: i64) -> Discount {
    Discount::percent(bp).unwrap()
}

fn amount(minor: i64) -> Discount {
    Discount::amount(minor).unwrap()
}

fn line(unit_price: i64, quantity: i64, discount: Option<Discount>, rate_bp: i64) -> LineInput {
    LineInput {
        unit_price: money(unit_price),
        quantity: Quantity::new(quantity).unwrap(),
        discount,
        tax_class_id: class(0),
        tax_rate_bp: rate(rate_bp),
    }
}

/// Lines of quantity 1 with these amounts, tax free: isolates the cart-discount allocation.
fn lines_of(amounts: &[i64]) -> Vec<LineInput> {
    amounts.iter().map(|&a| line(a, 1, None, 0)).collect()
}

fn shares(cart: &PricedCart) -> Vec<i64> {
    cart.lines.iter().map(|l| l.cart_share).collect()
}

// ---------------------------------------------------------------- worked examples

#[test]
fn inclusive_vat_is_taken_out_of_the_amount() {
    let cart = price_cart(&[line(11_600, 1, None, 1_600)], None, true).unwrap();
    let l = &cart.lines[0];
    assert_eq!(
        (l.amount, l.tax, l.net, l.total),
        (11_600, 1_600, 10_000, 11_600)
    );
    assert_eq!(
        (
            cart.net_total.value(),
            cart.tax_total.value(),
            cart.total.value()
        ),
        (10_000, 1_600, 11_600)
    );
}

#[test]
fn exclusive_vat_is_added_to_the_amount() {
    let cart = price_cart(&[line(10_000, 1, None, 1_600)], None, false).unwrap();
    let l = &cart.lines[0];
    assert_eq!(
        (l.amount, l.tax, l.net, l.total),
        (10_000, 1_600, 10_000, 11_600)
    );
    assert_eq!(
        (cart.subtotal.value(), cart.total.value()),
        (10_000, 11_600)
    );
}

#[test]
fn the_request_example_prices_line_then_cart_then_tax() {
    // docs/API.md's body: quantity 2, 10 % off the line, 500 off the cart.
    let lines = [line(5_000, 2, Some(percent(1_000)), 1_600)];
    let cart = price_cart(&lines, Some(amount(500)), false).unwrap();
    let l = &cart.lines[0];
    assert_eq!(l.gross, 10_000);
    assert_eq!(l.line_discount, 1_000);
    assert_eq!(l.cart_share, 500);
    assert_eq!(l.discount, 1_500);
    assert_eq!(l.amount, 8_500);
    assert_eq!((l.net, l.tax, l.total), (8_500, 1_360, 9_860));
    assert_eq!(
        (
            cart.subtotal.value(),
            cart.cart_discount.value(),
            cart.discount_total.value()
        ),
        (10_000, 500, 1_500)
    );
}

#[test]
fn cart_leftover_goes_to_the_largest_lines_earlier_first_on_ties() {
    // 200 over three equal lines: floors 66 each, two units left → lines 0 and 1.
    let cart = price_cart(&lines_of(&[100, 100, 100]), Some(amount(200)), false).unwrap();
    assert_eq!(shares(&cart), [67, 67, 66]);

    // 100 over 300/500/500/200 (sum 1500): floors 20, 33, 33, 13 = 99; the one unit left
    // goes to the first of the two largest lines.
    let cart = price_cart(&lines_of(&[300, 500, 500, 200]), Some(amount(100)), false).unwrap();
    assert_eq!(shares(&cart), [20, 34, 33, 13]);
}

#[test]
fn cart_leftover_follows_size_not_remainder() {
    // 5 over 7/9/4 (sum 20): exact 1.75, 2.25, 1.00 → floors 1, 2, 1. The unit left goes to
    // the largest line (9), not to the largest remainder (line 0's .75).
    let cart = price_cart(&lines_of(&[7, 9, 4]), Some(amount(5)), false).unwrap();
    assert_eq!(shares(&cart), [1, 3, 1]);
}

#[test]
fn a_whole_exact_share_can_still_take_the_leftover_unit() {
    // 12 over 12/20/32 (sum 64): exact 2.25, 3.75, 6 → floors 2, 3, 6. The unit left goes to
    // the largest line although its exact share was already whole: 7 is exactly 1 above 6.
    let cart = price_cart(&lines_of(&[12, 20, 32]), Some(amount(12)), false).unwrap();
    assert_eq!(shares(&cart), [2, 3, 7]);
}

#[test]
fn cart_is_spread_over_line_amounts_after_line_discounts() {
    // Gross 1000 and 1000, but line 0 is 50 % off: amounts 500 and 1000, so 300 splits 100/200.
    let lines = [
        line(1_000, 1, Some(percent(5_000)), 0),
        line(1_000, 1, None, 0),
    ];
    let cart = price_cart(&lines, Some(amount(300)), false).unwrap();
    assert_eq!(shares(&cart), [100, 200]);
    assert_eq!(cart.lines[0].discount, 600);
    assert_eq!(cart.discount_total.value(), 800);
}

#[test]
fn percent_cart_discount_is_rounded_once_then_spread() {
    // 10 % of 333 + 333 + 333 = 99.9 → 100, then spread 34/33/33 (not 33.3 rounded per line).
    let cart = price_cart(&lines_of(&[333, 333, 333]), Some(percent(1_000)), false).unwrap();
    assert_eq!(cart.cart_discount.value(), 100);
    assert_eq!(shares(&cart), [34, 33, 33]);
}

#[test]
fn halves_round_up() {
    let priced =
        |l: LineInput, inclusive| price_cart(&[l], None, inclusive).unwrap().lines[0].clone();
    // Percent line discounts: 0.5 → 1, 1.5 → 2, 0.4999 → 0.
    assert_eq!(
        priced(line(1, 1, Some(percent(5_000)), 0), false).line_discount,
        1
    );
    assert_eq!(
        priced(line(3, 1, Some(percent(5_000)), 0), false).line_discount,
        2
    );
    assert_eq!(
        priced(line(4_999, 1, Some(percent(1)), 0), false).line_discount,
        0
    );
    assert_eq!(
        priced(line(5_000, 1, Some(percent(1)), 0), false).line_discount,
        1
    );
    // Exclusive tax: 25 × 2 % = 0.5 → 1; 3 × 16 % = 0.48 → 0; 1 × 50 % = 0.5 → 1.
    assert_eq!(priced(line(25, 1, None, 200), false).tax, 1);
    assert_eq!(priced(line(3, 1, None, 1_600), false).tax, 0);
    assert_eq!(priced(line(1, 1, None, 5_000), false).tax, 1);
    // Inclusive tax: 1 × 10000 / 20000 = 0.5 → 1, leaving a net of 0; 29 at 16 % is exactly 4.
    let l = priced(line(1, 1, None, 10_000), true);
    assert_eq!((l.net, l.tax, l.total), (0, 1, 1));
    let l = priced(line(29, 1, None, 1_600), true);
    assert_eq!((l.net, l.tax, l.total), (25, 4, 29));
    // Percent cart discount: 10 % of 5 = 0.5 → 1.
    let cart = price_cart(&lines_of(&[5]), Some(percent(1_000)), false).unwrap();
    assert_eq!(cart.cart_discount.value(), 1);
}

#[test]
fn tax_breakdown_has_one_bucket_per_class_in_first_appearance_order() {
    let mut lines = vec![
        line(1_000, 1, None, 1_600),
        line(500, 2, None, 0),
        line(2_000, 1, None, 1_600),
    ];
    lines[0].tax_class_id = class(7);
    lines[1].tax_class_id = class(3);
    lines[2].tax_class_id = class(7);
    let cart = price_cart(&lines, None, false).unwrap();
    assert_eq!(
        cart.tax_breakdown,
        [
            TaxBucket {
                tax_class_id: class(7),
                rate_bp: rate(1_600),
                net: 3_000,
                tax: 480
            },
            TaxBucket {
                tax_class_id: class(3),
                rate_bp: RateBp::ZERO,
                net: 1_000,
                tax: 0
            },
        ]
    );
}

#[test]
fn discounts_may_take_everything_but_not_more() {
    let lines = [line(100, 1, None, 0), line(100, 1, Some(amount(100)), 0)];
    let cart = price_cart(&lines, None, false).unwrap();
    assert_eq!(cart.lines[1].amount, 0);
    let cart = price_cart(&lines, Some(amount(100)), false).unwrap();
    assert_eq!((cart.total.value(), cart.discount_total.value()), (0, 200));
    // The fully discounted line has amount 0, so it takes none of the cart discount.
    assert_eq!(shares(&cart), [100, 0]);

    let too_much = [line(100, 1, None, 0), line(100, 1, Some(amount(101)), 0)];
    assert_eq!(
        price_cart(&too_much, None, false),
        Err(PricingError::LineDiscountTooLarge { index: 1 })
    );
    assert_eq!(
        price_cart(&lines, Some(amount(101)), false),
        Err(PricingError::CartDiscountTooLarge)
    );
}

#[test]
fn out_of_range_discounts_are_refused_when_they_are_made() {
    // A discount outside its range cannot reach `price_cart`: its constructors refuse it,
    // with the messages the API answers for `percent_bp` and `amount`.
    for bad in [10_001, -1, i64::MIN, i64::MAX] {
        assert_eq!(
            Discount::percent(bad),
            Err(DiscountError::PercentOutOfRange)
        );
    }
    assert_eq!(Discount::amount(-1), Err(DiscountError::NegativeAmount));
    assert_eq!(
        Discount::amount(Money::MAX.value() + 1),
        Err(DiscountError::AmountTooLarge)
    );
    assert_eq!(
        DiscountError::PercentOutOfRange.to_string(),
        "must be between 0 and 10000 basis points"
    );
    assert_eq!(
        DiscountError::NegativeAmount.to_string(),
        "must not be negative"
    );
    assert_eq!(
        DiscountError::AmountTooLarge.to_string(),
        "must be at most 1000000000000 minor units"
    );
    // The bounds themselves are discounts.
    assert_eq!(Discount::percent(0), Ok(Discount::PercentBp(RateBp::ZERO)));
    assert_eq!(
        Discount::percent(10_000),
        Ok(Discount::PercentBp(RateBp::MAX))
    );
    assert_eq!(Discount::amount(0), Ok(Discount::Amount(Money::ZERO)));
    assert_eq!(
        Discount::amount(Money::MAX.value()),
        Ok(Discount::Amount(Money::MAX))
    );
    // 100 % of anything is exactly all of it, for a line and for the cart.
    let cart = price_cart(&[line(1, 1, Some(percent(10_000)), 0)], None, false).unwrap();
    assert_eq!((cart.lines[0].line_discount, cart.total), (1, Money::ZERO));
    let cart = price_cart(&lines_of(&[3, 4]), Some(percent(10_000)), false).unwrap();
    assert_eq!((cart.cart_discount, cart.total), (money(7), Money::ZERO));
}

#[test]
fn a_cart_worth_nothing_takes_only_a_zero_cart_discount() {
    let free = [line(0, 3, None, 1_600), line(0, 1, None, 0)];
    for ok in [None, Some(amount(0)), Some(percent(5_000))] {
        let cart = price_cart(&free, ok, true).unwrap();
        assert_eq!((cart.cart_discount.value(), cart.total.value()), (0, 0));
        assert_eq!(shares(&cart), [0, 0]);
    }
    assert_eq!(
        price_cart(&free, Some(amount(1)), true),
        Err(PricingError::CartDiscountTooLarge)
    );
    let empty = price_cart(&[], Some(amount(0)), false).unwrap();
    assert_eq!(
        (
            empty.subtotal.value(),
            empty.total.value(),
            empty.tax_breakdown.len()
        ),
        (0, 0, 0)
    );
    assert_eq!(
        price_cart(&[], Some(amount(1)), false),
        Err(PricingError::CartDiscountTooLarge)
    );
}

#[test]
fn amounts_that_do_not_fit_are_overflow_errors() {
    let overflow = Err(PricingError::Overflow);
    // Within i64 but past the 10¹² ringup stores: a subtotal, and a total grown by its tax.
    assert_eq!(
        price_cart(&[line(500_000_000_001, 2, None, 0)], None, false),
        overflow
    );
    assert!(price_cart(&[line(500_000_000_000, 2, None, 0)], None, true).is_ok());
    assert_eq!(
        price_cart(&[line(1_000_000_000_000, 1, None, 1_600)], None, false),
        overflow
    );
    assert!(price_cart(&[line(1_000_000_000_000, 1, None, 1_600)], None, true).is_ok());
    // The largest price times the largest quantity: in i64, far past what ringup stores.
    let max = Money::MAX.value();
    let most = Quantity::MAX.value();
    assert_eq!(
        price_cart(&[line(max, most, None, 0)], None, false),
        overflow
    );
    let two_max = [line(max, 1, None, 0), line(1, 1, None, 0)];
    assert_eq!(price_cart(&two_max, None, false), overflow);
    assert_eq!(
        price_cart(&[line(max, most, None, 10_000)], None, false),
        overflow
    );
    // Ten such lines do not fit in i64 at all.
    let huge: Vec<LineInput> = (0..10).map(|_| line(max, most, None, 0)).collect();
    assert_eq!(price_cart(&huge, None, false), overflow);
    // A line past the bound is refused only after every line's discount is checked: the
    // first failing line is the one reported.
    let then_too_much = [line(max, most, None, 0), line(100, 1, Some(amount(101)), 0)];
    assert_eq!(
        price_cart(&then_too_much, None, false),
        Err(PricingError::LineDiscountTooLarge { index: 1 })
    );
    // Inclusive tax never exceeds the amount, so the largest amount still prices.
    let cart = price_cart(&[line(max, 1, None, 1_600)], None, true).unwrap();
    assert_eq!(cart.total.value(), max);
    // Large but fitting values go through i128 without loss.
    let cart = price_cart(
        &[line(max / 2, 1, None, 0), line(max / 2, 1, None, 0)],
        Some(amount(3)),
        false,
    )
    .unwrap();
    assert_eq!(shares(&cart), [2, 1]);
}
