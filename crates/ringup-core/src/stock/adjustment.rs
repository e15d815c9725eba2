//! Movement kinds and stock adjustments: which reasons exist, which roles may use them, and
//! which deltas each reason accepts.

use crate::catalog::{LEVEL_MAX, QuantityError, SignedQuantity};
use crate::users::Role;

/// What caused a stock movement (docs/API.md `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MovementKind {
    Receiving,
    Count,
    Damage,
    Theft,
    Correction,
    Sale,
    Void,
    Return,
    TransferOut,
    TransferIn,
}

impl MovementKind {
    pub const ALL: [MovementKind; 10] = [
        MovementKind::Receiving,
        MovementKind::Count,
        MovementKind::Damage,
        MovementKind::Theft,
        MovementKind::Correction,
        MovementKind::Sale,
        MovementKind::Void,
        MovementKind::Return,
        MovementKind::TransferOut,
        MovementKind::TransferIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receiving => "receiving",
            MovementKind::Count => "count",
            MovementKind::Damage => "damage",
            MovementKind::Theft => "theft",
            MovementKind::Correction => "correction",
            MovementKind::Sale => "sale",
            MovementKind::Void => "void",
            MovementKind::Return => "return",
            MovementKind::TransferOut => "transfer_out",
            MovementKind::TransferIn => "transfer_in",
        }
    }

    pub fn parse(s: &str) -> Option<MovementKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why stock was adjusted by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// Goods arrived: adds stock.
    Receiving,
    /// A physical count: records the difference to what was counted.
    Count,
    /// Broken or spoiled goods: removes stock.
    Damage,
    /// Missing goods: removes stock.
    Theft,
    /// A fix of an earlier mistake, either way.
    Correction,
}

impl AdjustmentReason {
    pub fn kind(self) -> MovementKind {
        match self {
            AdjustmentReason::Receiving => MovementKind::Receiving,
            AdjustmentReason::Count => MovementKind::Count,
            AdjustmentReason::Damage => MovementKind::Damage,
            AdjustmentReason::Theft => MovementKind::Theft,
            AdjustmentReason::Correction => MovementKind::Correction,
        }
    }

    /// Whether a role may record this reason (docs/API.md "Roles"): admins and managers any;
    /// employees (stock staff) receiving and counts; cashiers none.
    pub fn allowed_for(self, role: Role) -> bool {
        match role {
            Role::Admin | Role::Manager => true,
            Role::Employee => matches!(self, AdjustmentReason::Receiving | AdjustmentReason::Count),
            Role::Cashier => false,
        }
    }
}

/// Why an adjustment's numbers are not acceptable; `field` names the body field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    #[error("is required for reason {0}")]
    Missing(&'static str),
    #[error("is not accepted for reason {0}")]
    NotAccepted(&'static str),
    #[error("must be positive for reason receiving")]
    MustAdd,
    #[error("must be negative for reason {0}")]
    MustRemove(&'static str),
    #[error("{0}")]
    Quantity(#[from] QuantityError),
    #[error("must be a whole number between 0 and {max}, got {value}", max = LEVEL_MAX)]
    CountOutOfRange { value: i64 },
}

/// A validated adjustment: a signed delta, or a count to compare with the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentRequest {
    Delta {
        reason: AdjustmentReason,
        delta: SignedQuantity,
    },
    Count {
        counted: i64,
    },
}

fn reason_name(reason: AdjustmentReason) -> &'static str {
    reason.kind().as_str()
}

impl AdjustmentRequest {
    /// Checks the numbers against the reason. Errors come with the field they concern
    /// (`delta` or `counted`).
    pub fn new(
        reason: AdjustmentReason,
        delta: Option<i64>,
        counted: Option<i64>,
    ) -> Result<AdjustmentRequest, Vec<(&'static str, AdjustmentError)>> {
        let name = reason_name(reason);
        if reason == AdjustmentReason::Count {
            let mut errors = Vec::new();
            if delta.is_some() {
                errors.push(("delta", AdjustmentError::NotAccepted(name)));
            }
            match counted {
                None => errors.push(("counted", AdjustmentError::Missing(name))),
                Some(c) if !(0..=LEVEL_MAX).contains(&c) => {
                    errors.push(("counted", AdjustmentError::CountOutOfRange { value: c }));
                }
                Some(_) => {}
            }
            return match (errors.is_empty(), counted) {
                (true, Some(counted)) => Ok(AdjustmentRequest::Count { counted }),
                _ => Err(errors),
            };
        }
        let mut errors = Vec::new();
        if counted.is_some() {
            errors.push(("counted", AdjustmentError::NotAccepted(name)));
        }
        let delta = match delta.map(SignedQuantity::new) {
            None => {
                errors.push(("delta", AdjustmentError::Missing(name)));
                None
            }
            Some(Err(e)) => {
                errors.push(("delta", e.into()));
                None
            }
            Some(Ok(d)) => {
                let sign_error = match reason {
                    AdjustmentReason::Receiving if !d.is_increase() => {
                        Some(AdjustmentError::MustAdd)
                    }
                    AdjustmentReason::Damage | AdjustmentReason::Theft if d.is_increase() => {
                        Some(AdjustmentError::MustRemove(name))
                    }
                    _ => None,
                };
                if let Some(e) = sign_error {
                    errors.push(("delta", e));
                }
                Some(d)
            }
        };
        match (errors.is_empty(), delta) {
            (true, Some(delta)) => Ok(AdjustmentRequest::Delta { reason, delta }),
            _ => Err(errors),
        }
    }

    pub fn reason(self) -> AdjustmentReason {
        match self {
            AdjustmentRequest::Delta { reason, .. } => reason,
            AdjustmentRequest::Count { .. } => AdjustmentReason::Count,
        }
    }

    /// The field a shortfall is reported on.
    pub fn field(self) -> &'static str {
        match self {
            AdjustmentRequest::Delta { .. } => "delta",
            AdjustmentRequest::Count { .. } => "counted",
        }
    }

    /// The delta to record against a level with `on_hand` units.
    pub fn delta_against(self, on_hand: i64) -> i64 {
        match self {
            AdjustmentRequest::Delta { delta, .. } => delta.value(),
            AdjustmentRequest::Count { counted } => counted.saturating_sub(on_hand),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(
        result: Result<AdjustmentRequest, Vec<(&'static str, AdjustmentError)>>,
    ) -> Vec<&'static str> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    #[test]
    fn kinds_round_trip() {
        for kind in MovementKind::ALL {
            assert_eq!(MovementKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MovementKind::parse("Sale"), None);
    }

    #[test]
    fn employees_only_receive_and_count_and_cashiers_never_adjust() {
        use AdjustmentReason::*;
        for reason in [Receiving, Count, Damage, Theft, Correction] {
            assert!(reason.allowed_for(Role::Admin));
            assert!(reason.allowed_for(Role::Manager));
            assert!(!reason.allowed_for(Role::Cashier));
            assert_eq!(
                reason.allowed_for(Role::Employee),
                matches!(reason, Receiving | Count)
            );
        }
    }

    #[test]
    fn each_reason_takes_its_own_sign() {
        use AdjustmentReason::*;
        assert!(AdjustmentRequest::new(Receiving, Some(5), None).is_ok());
        assert_eq!(
            fields(AdjustmentRequest::new(Receiving, Some(-5), None)),
            ["delta"]
        );
        assert_eq!(
            fields(AdjustmentRequest::new(Damage, Some(5), None)),
            ["delta"]
        );
        assert!(AdjustmentRequest::new(Theft, Some(-1), None).is_ok());
        assert!(AdjustmentRequest::new(Correction, Some(-1), None).is_ok());
        assert!(AdjustmentRequest::new(Correction, Some(1), None).is_ok());
        assert_eq!(
            fields(AdjustmentRequest::new(Correction, Some(0), None)),
            ["delta"]
        );
        assert_eq!(
            fields(AdjustmentRequest::new(Correction, None, None)),
            ["delta"]
        );
        assert_eq!(
            fields(AdjustmentRequest::new(
                Correction,
                Some(1_000_000_001),
                Some(3)
            )),
            ["counted", "delta"]
        );
    }

    #[test]
    fn a_count_takes_counted_and_records_the_difference() {
        use AdjustmentReason::Count;
        let count = AdjustmentRequest::new(Count, None, Some(4)).unwrap();
        assert_eq!(count.delta_against(10), -6);
        assert_eq!(count.delta_against(4), 0);
        assert_eq!(count.field(), "counted");
        assert_eq!(
            fields(AdjustmentRequest::new(Count, Some(4), None)),
            ["delta", "counted"]
        );
        assert_eq!(
            fields(AdjustmentRequest::new(Count, None, Some(-1))),
            ["counted"]
        );
        assert!(AdjustmentRequest::new(Count, None, Some(0)).is_ok());
    }
}
