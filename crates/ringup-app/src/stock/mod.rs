//! Stock's use cases: hand adjustments, transfers between stores, reservations
//! (docs/API.md "Stock").
//!
//! Every refusal of these operations is a [`StockError`]; the HTTP layer maps it to a problem
//! in one place (`ringup-api`'s `http/error.rs`). Each operation checks what needs no
//! transaction first, claims its idempotency key, and only then asks the database about the
//! request's references, so a replay answers with the original reply before anything is
//! checked again.

pub mod adjustments;
pub mod reservations;
pub mod transfers;

use ringup_core::ids::ProductId;
use ringup_core::stock::{Shortfall, TransitionError};
use ringup_store::stock::transfers::Line;
use ringup_store::{Sql, StoreError, catalog::products};

use crate::problem::FieldError;
use crate::write::WriteError;

/// Why a stock operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Broken rules of the request, each naming its field.
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The actor may not do this to this resource (a transfer of a store it does not manage).
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Not enough stock for these fields (`lines[2].quantity`, `delta`).
    #[error("not enough stock is available")]
    InsufficientStock(Vec<(String, Shortfall)>),
    /// The transfer's state machine does not allow the action from its status.
    #[error(transparent)]
    InvalidTransition(TransitionError),
    /// The transfer left the status the action was checked against, yet the action still
    /// looks allowed from its new one.
    #[error("the transfer changed while this request ran; try again")]
    TransferChanged,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for StockError {
    fn from(err: StoreError) -> Self {
        StockError::Write(WriteError::Store(err))
    }
}

/// The lines of a transfer or reservation as the caller sent them: those that parsed, and the
/// product every line names with the line's index (lines whose quantity was refused
/// included), whose existence the operation checks.
#[derive(Clone, Debug, Default)]
pub struct LinesRequest {
    pub lines: Vec<Line>,
    pub products: Vec<(usize, ProductId)>,
}

impl LinesRequest {
    /// Adds a problem on `lines[i].product_id` for every line whose product does not exist.
    pub(crate) async fn check_products(
        &self,
        conn: &mut impl Sql,
        problems: &mut Vec<FieldError>,
    ) -> Result<(), StoreError> {
        check_products(
            conn,
            &self.products,
            |i| format!("lines[{i}].product_id"),
            problems,
        )
        .await
    }
}

/// Adds a problem for every product that does not exist; `field(i)` names line `i`'s field.
pub(crate) async fn check_products(
    conn: &mut impl Sql,
    ids: &[(usize, ProductId)],
    field: impl Fn(usize) -> String,
    problems: &mut Vec<FieldError>,
) -> Result<(), StoreError> {
    let wanted: Vec<ProductId> = ids.iter().map(|(_, id)| *id).collect();
    let found = products::existing_products(conn, &wanted).await?;
    for (i, id) in ids {
        if !found.contains(id) {
            problems.push(FieldError::new(field(*i), "is not a known product"));
        }
    }
    Ok(())
}

/// Shortfalls by line index, as problems on `lines[i].quantity`.
pub(crate) fn short_lines(short: Vec<(usize, Shortfall)>) -> StockError {
    StockError::InsufficientStock(
        short
            .into_iter()
            .map(|(i, s)| (format!("lines[{i}].quantity"), s))
            .collect(),
    )
}
