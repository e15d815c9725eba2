//! A property test of the stock rules over random sequences of operations: an in-memory ledger
//! that changes stock only through [`StockLevel`], [`AdjustmentRequest`] and the transfer state
//! machine, checked after every step against the invariants the database must keep too.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const STORES: usize = 3;
const PRODUCTS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    Adjust {
        store: usize,
        product: usize,
        reason: u8,
        amount: i64,
    },
    Reserve {
        store: usize,
        product: usize,
        quantity: i64,
        ttl: i64,
    },
    Release {
        index: usize,
    },
    Tick {
        seconds: i64,
    },
    Request {
        from: usize,
        to: usize,
        product: usize,
        quantity: i64,
    },
    Act {
        index: usize,
        action: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..STORES, 0..PRODUCTS, 0u8..5, -30i64..30).prop_map(
            |(store, product, reason, amount)| Op::Adjust {
                store,
                product,
                reason,
                amount
            }
        ),
        (0..STORES, 0..PRODUCTS, 1i64..15, 1i64..100).prop_map(
            |(store, product, quantity, ttl)| Op::Reserve {
                store,
                product,
                quantity,
                ttl
            }
        ),
        (0usize..20).prop_map(|index| Op::Release { index }),
        (1i64..60).prop_map(|seconds| Op::Tick { seconds }),
        (0..STORES, 0..STORES, 0..PRODUCTS, 1i64..15).prop_map(|(from, to, product, quantity)| {
            Op::Request {
                from,
                to,
                product,
                quantity,
            }
        }),
        (0usize..20, 0u8..4).prop_map(|(index, action)| Op::Act { index, action }),
    ]
}

struct Reservation {
    store: usize,
    product: usize,
    quantity: i64,
    expires_at: i64,
    released: bool,
}

struct Transfer {
    from: usize,
    to: usize,
    product: usize,
    quantity: i64,
    status: TransferStatus,
}

#[derive(Default)]
struct Ledger {
    on_hand: HashMap<(usize, usize), i64>,
    movements: Vec<(usize, usize, i64, MovementKind)>,
    reservations: Vec<Reservation>,
    transfers: Vec<Transfer>,
    now: i64,
    /// Σ of every delta that entered or left the chain of stores from outside.
    external: i64,
}

/// Store 2 allows negative stock; the others do not.
fn allows_negative(store: usize) -> bool {
    store == 2
}

impl Ledger {
    fn level(&self, store: usize, product: usize) -> StockLevel {
        let reserved = self
            .reservations
            .iter()
            .filter(|r| r.store == store && r.product == product)
            .filter(|r| !r.released && r.expires_at > self.now)
            .map(|r| r.quantity)
            .sum();
        StockLevel::new(
            self.on_hand.get(&(store, product)).copied().unwrap_or(0),
            reserved,
        )
    }

    fn record(&mut self, store: usize, product: usize, delta: i64, kind: MovementKind) -> bool {
        match self
            .level(store, product)
            .apply(delta, allows_negative(store))
        {
            Ok(after) => {
                self.on_hand.insert((store, product), after.on_hand);
                self.movements.push((store, product, delta, kind));
                true
            }
            Err(_) => false,
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Adjust {
                store,
                product,
                reason,
                amount,
            } => {
                let reason = [
                    AdjustmentReason::Receiving,
                    AdjustmentReason::Count,
                    AdjustmentReason::Damage,
                    AdjustmentReason::Theft,
                    AdjustmentReason::Correction,
                ][usize::from(reason)];
                let request = if reason == AdjustmentReason::Count {
                    AdjustmentRequest::new(reason, None, Some(amount.abs()))
                } else {
                    AdjustmentRequest::new(reason, Some(amount), None)
                };
                if let Ok(request) = request {
                    let delta = request.delta_against(self.level(store, product).on_hand);
                    if self.record(store, product, delta, reason.kind()) {
                        self.external += delta;
                    }
                }
            }
            Op::Reserve {
                store,
                product,
                quantity,
                ttl,
            } => {
                if self.level(store, product).reserve(quantity).is_ok() {
                    self.reservations.push(Reservation {
                        store,
                        product,
                        quantity,
                        expires_at: self.now + ttl,
                        released: false,
                    });
                }
            }
            Op::Release { index } => {
                if let Some(r) = self.reservations.get_mut(index) {
                    r.released = true;
                }
            }
            Op::Tick { seconds } => self.now += seconds,
            Op::Request {
                from,
                to,
                product,
                quantity,
            } => {
                if from != to {
                    self.transfers.push(Transfer {
                        from,
                        to,
                        product,
                        quantity,
                        status: TransferStatus::Requested,
                    });
                }
            }
            Op::Act { index, action } => self.act(index, TransferAction::ALL[usize::from(action)]),
        }
    }

    fn act(&mut self, index: usize, action: TransferAction) {
        let Some(t) = self.transfers.get(index) else {
            return;
        };
        let (from, to, product, quantity) = (t.from, t.to, t.product, t.quantity);
        let Ok(next) = t.status.next(action) else {
            return;
        };
        let moved = match action {
            TransferAction::Approve => {
                self.record(from, product, -quantity, MovementKind::TransferOut)
            }
            TransferAction::Receive => self.record(to, product, quantity, MovementKind::TransferIn),
            TransferAction::Reject | TransferAction::Cancel => true,
        };
        if let (true, Some(t)) = (moved, self.transfers.get_mut(index)) {
            t.status = next;
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let mut sums: HashMap<(usize, usize), i64> = HashMap::new();
        for (store, product, delta, _) in &self.movements {
            *sums.entry((*store, *product)).or_default() += delta;
        }
        for (key, on_hand) in &self.on_hand {
            prop_assert_eq!(
                sums.get(key).copied().unwrap_or(0),
                *on_hand,
                "level == Σ movements"
            );
        }
        for store in 0..STORES {
            for product in 0..PRODUCTS {
                let level = self.level(store, product);
                prop_assert!(
                    allows_negative(store) || level.available() >= 0,
                    "{level:?}"
                );
            }
        }
        let in_transit: i64 = self
            .transfers
            .iter()
            .filter(|t| t.status == TransferStatus::Approved)
            .map(|t| t.quantity)
            .sum();
        let on_hand: i64 = self.on_hand.values().sum();
        prop_assert_eq!(
            on_hand + in_transit,
            self.external,
            "transfers conserve stock"
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ledger_invariants_hold_over_any_sequence(ops in prop::collection::vec(op(), 1..80)) {
        let mut ledger = Ledger::default();
        for op in ops {
            ledger.run(op);
            ledger.check()?;
        }
    }
}
