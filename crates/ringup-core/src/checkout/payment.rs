//! Tenders and change.
//!
//! Invariants of a `Settlement` that `settle` returns: `paid` = Σ tenders ≥ total,
//! `change = paid − total`, and `change ≤ cash_tendered` (only cash gives change, so a card
//! or voucher can never be overpaid into cash), and `paid ≤ Money::MAX` (so every figure of
//! it is money).

use std::fmt;

use crate::catalog::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TenderMethod {
    Cash,
    Card,
    MobileMoney,
    Voucher,
    Other,
}

impl TenderMethod {
    pub const ALL: [TenderMethod; 5] = [
        TenderMethod::Cash,
        TenderMethod::Card,
        TenderMethod::MobileMoney,
        TenderMethod::Voucher,
        TenderMethod::Other,
    ];

    pub fn parse(s: &str) -> Option<TenderMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TenderMethod::Cash => "cash",
            TenderMethod::Card => "card",
            TenderMethod::MobileMoney => "mobile_money",
            TenderMethod::Voucher => "voucher",
            TenderMethod::Other => "other",
        }
    }
}

impl fmt::Display for TenderMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tender {
    pub method: TenderMethod,
    /// The API takes only positive tenders; a zero one would change nothing here.
    pub amount: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Σ tenders.
    pub paid: Money,
    /// paid − total.
    pub change: Money,
    /// Σ cash tenders.
    pub cash_tendered: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("pay at least the total of {total}; {paid} was tendered")]
    Underpaid { paid: Money, total: Money },
    #[error("change of {change} is more than the {cash} tendered in cash; only cash gives change")]
    ChangeExceedsCash { change: Money, cash: Money },
    #[error(
        "are too large: payments may not add up to more than {} minor units",
        Money::MAX
    )]
    Overflow,
}

/// Checks tenders against a total: paid ≥ total, change = paid − total ≤ cash tendered, and
/// paid at most `Money::MAX` (so `paid`, `change` and every tender sum fit the stored range).
///
/// No tenders at all settle a total of 0 and nothing else.
pub fn settle(total: Money, tenders: &[Tender]) -> Result<Settlement, PaymentError> {
    let sum = |cash_only: bool| {
        tenders
            .iter()
            .filter(|t| !cash_only || t.method == TenderMethod::Cash)
            .try_fold(Money::ZERO, |acc, t| acc.checked_add(t.amount))
            .ok_or(PaymentError::Overflow)
    };
    let paid = sum(false)?;
    let cash_tendered = sum(true)?;
    if paid < total {
        return Err(PaymentError::Underpaid { paid, total });
    }
    let change = paid.checked_sub(total).ok_or(PaymentError::Overflow)?;
    if change > cash_tendered {
        return Err(PaymentError::ChangeExceedsCash {
            change,
            cash: cash_tendered,
        });
    }
    Ok(Settlement {
        paid,
        change,
        cash_tendered,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn money(amount: i64) -> Money {
        Money::new(amount).unwrap()
    }

    fn t(method: TenderMethod, amount: i64) -> Tender {
        Tender {
            method,
            amount: money(amount),
        }
    }

    fn settlement(paid: i64, change: i64, cash_tendered: i64) -> Settlement {
        Settlement {
            paid: money(paid),
            change: money(change),
            cash_tendered: money(cash_tendered),
        }
    }

    #[test]
    fn cash_over_the_total_gives_change() {
        // docs/API.md's body: 20000 cash + 5000 mobile money against a total of 24500.
        let tenders = [
            t(TenderMethod::Cash, 20_000),
            t(TenderMethod::MobileMoney, 5_000),
        ];
        assert_eq!(
            settle(money(24_500), &tenders),
            Ok(settlement(25_000, 500, 20_000))
        );
        assert_eq!(
            settle(money(25_000), &tenders),
            Ok(settlement(25_000, 0, 20_000))
        );
    }

    #[test]
    fn paying_less_than_the_total_is_refused() {
        let tenders = [t(TenderMethod::Card, 999)];
        assert_eq!(
            settle(money(1_000), &tenders),
            Err(PaymentError::Underpaid {
                paid: money(999),
                total: money(1_000)
            })
        );
        assert_eq!(
            settle(money(1), &[]),
            Err(PaymentError::Underpaid {
                paid: Money::ZERO,
                total: money(1)
            })
        );
        assert_eq!(
            PaymentError::Underpaid {
                paid: money(999),
                total: money(1_000)
            }
            .to_string(),
            "pay at least the total of 1000; 999 was tendered"
        );
    }

    #[test]
    fn only_cash_may_exceed_the_total() {
        assert_eq!(
            settle(money(1_000), &[t(TenderMethod::Card, 1_500)]),
            Err(PaymentError::ChangeExceedsCash {
                change: money(500),
                cash: Money::ZERO
            })
        );
        // 300 cash cannot give 400 change, even though the sum is right.
        let tenders = [t(TenderMethod::Cash, 300), t(TenderMethod::Voucher, 1_100)];
        assert_eq!(
            settle(money(1_000), &tenders),
            Err(PaymentError::ChangeExceedsCash {
                change: money(400),
                cash: money(300)
            })
        );
        // Change of exactly the cash tendered is allowed.
        let tenders = [t(TenderMethod::Cash, 300), t(TenderMethod::Voucher, 1_000)];
        assert_eq!(
            settle(money(1_000), &tenders).map(|s| s.change),
            Ok(money(300))
        );
        assert_eq!(
            PaymentError::ChangeExceedsCash {
                change: money(400),
                cash: money(300)
            }
            .to_string(),
            "change of 400 is more than the 300 tendered in cash; only cash gives change"
        );
    }

    #[test]
    fn a_free_sale_needs_no_tender() {
        assert_eq!(settle(Money::ZERO, &[]), Ok(settlement(0, 0, 0)));
    }

    #[test]
    fn sums_that_do_not_fit_are_overflow_errors() {
        let max = Money::MAX.value();
        let over = [t(TenderMethod::Card, max), t(TenderMethod::Cash, 1)];
        assert_eq!(settle(money(1), &over), Err(PaymentError::Overflow));
        let twice = [t(TenderMethod::Cash, max), t(TenderMethod::Cash, max)];
        assert_eq!(settle(Money::MAX, &twice), Err(PaymentError::Overflow));
        assert!(settle(Money::MAX, &[t(TenderMethod::Card, max)]).is_ok());
        let split = [t(TenderMethod::Cash, max - 1), t(TenderMethod::Card, 1)];
        assert_eq!(
            settle(money(1), &split),
            Ok(settlement(max, max - 1, max - 1))
        );
    }

    #[test]
    fn methods_round_trip_through_their_names() {
        for m in TenderMethod::ALL {
            assert_eq!(TenderMethod::parse(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(TenderMethod::parse("Cash"), None);
    }

    fn method() -> impl Strategy<Value = TenderMethod> {
        prop::sample::select(TenderMethod::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn settlement_is_consistent_and_change_never_exceeds_cash(
            tenders in prop::collection::vec((method(), 1..=10_000_000_i64), 0..6),
            total in 0..=40_000_000_i64,
        ) {
            let tenders: Vec<Tender> = tenders.into_iter().map(|(m, a)| t(m, a)).collect();
            let paid: i64 = tenders.iter().map(|t| t.amount.value()).sum();
            let cash: i64 = tenders
                .iter()
                .filter(|t| t.method == TenderMethod::Cash)
                .map(|t| t.amount.value())
                .sum();
            match settle(money(total), &tenders) {
                Ok(s) => {
                    prop_assert_eq!(s, settlement(paid, paid - total, cash));
                    prop_assert!(s.change <= s.cash_tendered);
                }
                Err(PaymentError::Underpaid { paid: p, total: tt }) => {
                    prop_assert_eq!((p.value(), tt.value()), (paid, total));
                    prop_assert!(paid < total);
                }
                Err(PaymentError::ChangeExceedsCash { change, cash: c }) => {
                    prop_assert_eq!((change.value(), c.value()), (paid - total, cash));
                    prop_assert!(paid >= total && change > c);
                }
                Err(PaymentError::Overflow) => prop_assert!(false, "small sums overflowed"),
            }
        }
    }
}
