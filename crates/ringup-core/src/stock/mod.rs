//! Stock rules: what kinds of movement exist, who may adjust stock and how, how a level moves,
//! when stock counts as low, and the transfer state machine.
//!
//! Invariants the store layer relies on (docs/ARCHITECTURE.md "Stock ledger"):
//!
//! - A level's `on_hand` is the sum of its movements' deltas; every change to a level is a
//!   movement, written in the same transaction.
//! - `available = on_hand − reserved`, where `reserved` counts only reservations that are not
//!   released and not yet expired at the moment of the check.
//! - A change that lowers `available` is refused when the result would be below zero, unless
//!   the store allows negative stock ([`StockLevel::apply`]). A change that raises it never is.
//! - A reservation always needs the stock to be available ([`StockLevel::reserve`]), whatever
//!   the store allows: it is a promise of units that exist.

mod adjustment;
mod level;
mod transfer;

#[cfg(test)]
mod ledger_model;

pub use adjustment::{AdjustmentError, AdjustmentReason, AdjustmentRequest, MovementKind};
pub use level::{Shortfall, StockLevel, crosses_low};
pub use transfer::{TransferAction, TransferStatus, TransitionError};
