//! Checkout's use cases: shifts and their cash, ringing up and voiding sales, returns.
//!
//! Every refusal of these operations is a [`CheckoutError`]; the HTTP layer maps it to a
//! problem in one place (`ringup-api`'s `http/error.rs`).

pub mod customers;
pub mod returns;
pub mod sales;
pub mod shifts;

use ringup_core::stock::Shortfall;
use ringup_store::StoreError;
use ringup_store::checkout::shifts::ShiftRefusal;

use crate::problem::FieldError;
use crate::write::WriteError;

/// Why a checkout operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// Broken rules of the request, each naming its field.
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The actor may not do this (a price override without supervision, another cashier's
    /// shift).
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The shift refused the change: closed, or its running totals would leave their range
    /// (`field` names what to blame in the latter case).
    #[error("the shift refused the change: {refusal:?}")]
    Shift {
        refusal: ShiftRefusal,
        field: &'static str,
    },
    /// Not enough stock for these fields (`lines[2].quantity`).
    #[error("not enough stock is available")]
    InsufficientStock(Vec<(String, Shortfall)>),
    /// The sale cannot be voided, and why.
    #[error("{0}")]
    NotVoidable(&'static str),
    /// The sale was voided: nothing can be returned from it.
    #[error("the sale was voided")]
    SaleVoided,
    /// More would come back than was sold minus what was already returned, per line.
    #[error("more than was sold minus what was already returned")]
    OverReturn(Vec<FieldError>),
    /// The register of a return has no open shift.
    #[error("the register has no open shift to take the return")]
    NoOpenShift,
    /// The register already has an open shift.
    #[error("this register already has an open shift")]
    ShiftAlreadyOpen,
    #[error("the shift is already closed")]
    ShiftAlreadyClosed,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for CheckoutError {
    fn from(err: StoreError) -> Self {
        CheckoutError::Write(WriteError::Store(err))
    }
}

impl CheckoutError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CheckoutError::Invalid(vec![FieldError::new(field, message)])
    }
}
