//! Property tests of the invariants stated at the top of `pricing.rs`, and an independent
//! reference model (exact rationals, plain loops, nothing shared with `pricing.rs`) that random
//! carts are compared against.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------- reference model

/// A non-negative-denominator fraction, exact in i128 for the sizes the tests generate.
#[derive(Clone, Copy, Debug)]
struct Ratio {
    num: i128,
    den: i128,
}

impl Ratio {
    fn new(num: i128, den: i128) -> Ratio {
        assert!(den > 0);
        Ratio { num, den }
    }

    fn floor(self) -> i128 {
        self.num.div_euclid(self.den)
    }

    /// floor(x + ½) = floor((2·num + den) / (2·den)): half-up for x ≥ 0.
    fn round_half_up(self) -> i128 {
        (2 * self.num + self.den).div_euclid(2 * self.den)
    }
}

struct RefLine {
    gross: i128,
    own: i128,
    share: i128,
    net: i128,
    tax: i128,
    total: i128,
}

/// docs/API.md's rules read literally, written without any code of `pricing.rs`.
fn reference(
    lines: &[LineInput],
    cart: Option<Discount>,
    inclusive: bool,
) -> Result<PricedCart, PricingError> {
    let mut out: Vec<RefLine> = Vec::new();
    for (index, l) in lines.iter().enumerate() {
        let gross = i128::from(l.unit_price.value()) * i128::from(l.quantity.value());
        let own = match l.discount {
            None => 0,
            Some(Discount::Amount(a)) => i128::from(a.value()),
            Some(Discount::PercentBp(bp)) => {
                Ratio::new(gross * i128::from(bp.value()), 10_000).round_half_up()
            }
        };
        if own < 0 || own > gross {
            return Err(PricingError::LineDiscountTooLarge { index });
        }
        out.push(RefLine {
            gross,
            own,
            share: 0,
            net: 0,
            tax: 0,
            total: 0,
        });
    }

    let mut sum = 0;
    for l in &out {
        sum += l.gross - l.own;
    }
    let cart = match cart {
        None => 0,
        Some(Discount::Amount(a)) => i128::from(a.value()),
        Some(Discount::PercentBp(bp)) => {
            Ratio::new(sum * i128::from(bp.value()), 10_000).round_half_up()
        }
    };
    if cart < 0 || cart > sum {
        return Err(PricingError::CartDiscountTooLarge);
    }

    // Floors, then hand out what is left one unit at a time: each round picks the largest
    // amount not yet served, scanning left to right so the earlier line wins a tie.
    let mut left = cart;
    if sum > 0 {
        for l in out.iter_mut() {
            l.share = Ratio::new(cart * (l.gross - l.own), sum).floor();
            left -= l.share;
        }
    }
    let mut served = vec![false; out.len()];
    while left > 0 {
        let mut best: Option<usize> = None;
        for i in 0..out.len() {
            let amount = out[i].gross - out[i].own;
            let better = match best {
                None => true,
                Some(b) => amount > out[b].gross - out[b].own,
            };
            if !served[i] && better {
                best = Some(i);
            }
        }
        let b = best.expect("leftover is smaller than the number of lines");
        served[b] = true;
        out[b].share += 1;
        left -= 1;
    }

    for (l, input) in out.iter_mut().zip(lines) {
        let amount = l.gross - l.own - l.share;
        let rate = i128::from(input.tax_rate_bp.value());
        if inclusive {
            l.tax = Ratio::new(amount * rate, 10_000 + rate).round_half_up();
            l.net = amount - l.tax;
            l.total = amount;
        } else {
            l.tax = Ratio::new(amount * rate, 10_000).round_half_up();
            l.net = amount;
            l.total = amount + l.tax;
        }
    }

    let to64 = |v: i128| i64::try_from(v).map_err(|_| PricingError::Overflow);
    let to_money = |v: i128| {
        let v = to64(v)?;
        Money::new(v).map_err(|_| PricingError::Overflow)
    };
    let mut priced = Vec::new();
    let (mut subtotal, mut discounts, mut net, mut tax, mut total) = (0, 0, 0, 0, 0);
    for (l, input) in out.iter().zip(lines) {
        subtotal += l.gross;
        discounts += l.own + l.share;
        net += l.net;
        tax += l.tax;
        total += l.total;
        priced.push(PricedLine {
            gross: to64(l.gross)?,
            line_discount: to64(l.own)?,
            cart_share: to64(l.share)?,
            discount: to64(l.own + l.share)?,
            amount: to64(l.gross - l.own - l.share)?,
            net: to64(l.net)?,
            tax: to64(l.tax)?,
            total: to64(l.total)?,
            tax_class_id: input.tax_class_id,
            tax_rate_bp: input.tax_rate_bp,
        });
    }

    let mut classes: Vec<(TaxClassId, RateBp)> = Vec::new();
    for input in lines {
        if !classes.iter().any(|(c, _)| *c == input.tax_class_id) {
            classes.push((input.tax_class_id, input.tax_rate_bp));
        }
    }
    let mut tax_breakdown = Vec::new();
    for (id, rate_bp) in classes {
        let (mut n, mut t) = (0, 0);
        for (l, input) in out.iter().zip(lines) {
            if input.tax_class_id == id {
                n += l.net;
                t += l.tax;
            }
        }
        tax_breakdown.push(TaxBucket {
            tax_class_id: id,
            rate_bp,
            net: to64(n)?,
            tax: to64(t)?,
        });
    }

    Ok(PricedCart {
        lines: priced,
        subtotal: to_money(subtotal)?,
        cart_discount: to_money(cart)?,
        discount_total: to_money(discounts)?,
        net_total: to_money(net)?,
        tax_total: to_money(tax)?,
        total: to_money(total)?,
        tax_breakdown,
    })
}

// ---------------------------------------------------------------- generators

/// Each generated tax class always carries the same rate, as in a real catalog.
const RATES: [i64; 5] = [0, 1_600, 800, 1, 10_000];

/// How a generated discount is chosen; `Fraction` is turned into an amount of at most what it
/// applies to, so most generated carts are valid. Every one is a valid discount on its own (the
/// types allow no other); `Raw` may be more than what it applies to.
#[derive(Clone, Copy, Debug)]
enum DiscountSpec {
    None,
    Percent(i64),
    Fraction(i64),
    Raw(i64),
}

impl DiscountSpec {
    fn resolve(self, base: i64) -> Option<Discount> {
        match self {
            DiscountSpec::None => None,
            DiscountSpec::Percent(bp) => Some(percent(bp)),
            DiscountSpec::Fraction(bp) => Some(amount(base * bp / 10_000)),
            DiscountSpec::Raw(minor) => Some(amount(minor)),
        }
    }
}

fn valid_discount() -> impl Strategy<Value = DiscountSpec> {
    prop_oneof![
        Just(DiscountSpec::None),
        (0..=10_000_i64).prop_map(DiscountSpec::Percent),
        (0..=10_000_i64).prop_map(DiscountSpec::Fraction),
        Just(DiscountSpec::Fraction(10_000)),
    ]
}

fn any_discount() -> impl Strategy<Value = DiscountSpec> {
    prop_oneof![
        valid_discount(),
        // The edges of the percent range, where rounding meets "all of it".
        prop_oneof![0..=5_i64, 9_995..=10_000_i64].prop_map(DiscountSpec::Percent),
        (0..=2_000_i64).prop_map(DiscountSpec::Raw),
    ]
}

fn price() -> impl Strategy<Value = i64> {
    prop_oneof![0..=20_i64, 0..=2_000_000_i64, Just(0), Just(1)]
}

fn line_with(discount: impl Strategy<Value = DiscountSpec>) -> impl Strategy<Value = LineInput> {
    (price(), 1..=50_i64, 0..RATES.len(), discount).prop_map(|(unit_price, quantity, c, d)| {
        LineInput {
            unit_price: money(unit_price),
            quantity: Quantity::new(quantity).unwrap(),
            discount: d.resolve(unit_price * quantity),
            tax_class_id: class(c as u128),
            tax_rate_bp: rate(RATES[c]),
        }
    })
}

/// A cart whose discounts all fit: lines, cart discount, prices_include_tax.
fn valid_cart() -> impl Strategy<Value = (Vec<LineInput>, Option<Discount>, bool)> {
    (
        prop::collection::vec(line_with(valid_discount()), 0..12),
        valid_discount(),
        any::<bool>(),
    )
        .prop_map(|(lines, cart, inclusive)| {
            let sum: i64 = lines
                .iter()
                .map(|l| {
                    let gross = l.unit_price.value() * l.quantity.value();
                    let own = match l.discount {
                        Some(Discount::Amount(a)) => a.value(),
                        Some(Discount::PercentBp(bp)) => (gross * bp.value() + 5_000) / 10_000,
                        None => 0,
                    };
                    gross - own
                })
                .sum();
            (lines, cart.resolve(sum), inclusive)
        })
}

fn any_cart() -> impl Strategy<Value = (Vec<LineInput>, Option<Discount>, bool)> {
    (
        prop::collection::vec(line_with(any_discount()), 0..8),
        any_discount(),
        any::<bool>(),
    )
        .prop_map(|(lines, cart, inclusive)| (lines, cart.resolve(0), inclusive))
}

// ---------------------------------------------------------------- properties

fn sum(values: impl Iterator<Item = i64>) -> i64 {
    values.sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn valid_carts_price_and_their_parts_add_up((lines, cart_discount, inclusive) in valid_cart()) {
        let cart = price_cart(&lines, cart_discount, inclusive).unwrap();
        let l = &cart.lines;
        prop_assert_eq!(l.len(), lines.len());
        prop_assert_eq!(sum(l.iter().map(|l| l.gross)), cart.subtotal.value());
        prop_assert_eq!(sum(l.iter().map(|l| l.discount)), cart.discount_total.value());
        prop_assert_eq!(sum(l.iter().map(|l| l.cart_share)), cart.cart_discount.value());
        prop_assert_eq!(
            sum(l.iter().map(|l| l.amount)),
            cart.subtotal.value() - cart.discount_total.value()
        );
        prop_assert_eq!(sum(l.iter().map(|l| l.net)), cart.net_total.value());
        prop_assert_eq!(sum(l.iter().map(|l| l.tax)), cart.tax_total.value());
        prop_assert_eq!(sum(l.iter().map(|l| l.total)), cart.total.value());
        prop_assert_eq!(cart.net_total.value() + cart.tax_total.value(), cart.total.value());
        prop_assert_eq!(sum(cart.tax_breakdown.iter().map(|b| b.net)), cart.net_total.value());
        prop_assert_eq!(sum(cart.tax_breakdown.iter().map(|b| b.tax)), cart.tax_total.value());
        for (p, input) in l.iter().zip(&lines) {
            prop_assert_eq!(p.gross, input.unit_price.value() * input.quantity.value());
            prop_assert_eq!(p.discount, p.line_discount + p.cart_share);
            prop_assert_eq!(p.amount, p.gross - p.discount);
            prop_assert_eq!(p.net + p.tax, p.total);
            prop_assert_eq!(p.total, if inclusive { p.amount } else { p.amount + p.tax });
            // Discounts never exceed what they apply to; nothing goes negative.
            prop_assert!(0 <= p.line_discount && p.line_discount <= p.gross);
            prop_assert!(0 <= p.cart_share && p.cart_share <= p.gross - p.line_discount);
            prop_assert!(p.amount >= 0 && p.net >= 0 && p.tax >= 0);
            prop_assert_eq!((p.tax_class_id, p.tax_rate_bp), (input.tax_class_id, input.tax_rate_bp));
        }
    }

    #[test]
    fn cart_shares_are_within_one_unit_of_exact_and_deterministic(
        (lines, cart_discount, inclusive) in valid_cart()
    ) {
        let cart = price_cart(&lines, cart_discount, inclusive).unwrap();
        prop_assert_eq!(&price_cart(&lines, cart_discount, inclusive).unwrap(), &cart);
        let amounts: Vec<i128> =
            cart.lines.iter().map(|l| i128::from(l.gross - l.line_discount)).collect();
        let total: i128 = amounts.iter().sum();
        for (l, amount) in cart.lines.iter().zip(&amounts) {
            // |share − cart × amount / total| ≤ 1, multiplied out by total; below the exact
            // share it is strictly less than 1 (a floor).
            let exact = i128::from(cart.cart_discount.value()) * amount;
            let diff = i128::from(l.cart_share) * total - exact;
            prop_assert!(-total < diff || total == 0);
            prop_assert!(diff <= total);
        }
    }

    #[test]
    fn valid_carts_match_the_reference_model((lines, cart_discount, inclusive) in valid_cart()) {
        prop_assert_eq!(
            price_cart(&lines, cart_discount, inclusive),
            reference(&lines, cart_discount, inclusive)
        );
    }

    #[test]
    fn any_cart_matches_the_reference_model_errors_included(
        (lines, cart_discount, inclusive) in any_cart()
    ) {
        prop_assert_eq!(
            price_cart(&lines, cart_discount, inclusive),
            reference(&lines, cart_discount, inclusive)
        );
    }

    #[test]
    fn allocation_matches_the_reference_on_many_small_ties(
        amounts in prop::collection::vec(0..=6_i64, 1..20),
        fraction in 0..=10_000_i64,
    ) {
        let lines = lines_of(&amounts);
        let cart = Some(amount(amounts.iter().sum::<i64>() * fraction / 10_000));
        prop_assert_eq!(price_cart(&lines, cart, false), reference(&lines, cart, false));
    }
}
