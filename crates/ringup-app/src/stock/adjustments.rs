//! Hand adjustments of a store's stock: receiving, counts, damage, theft, corrections.
//!
//! Who may record which reason is the caller's role alone, so the HTTP layer checks it before
//! calling; what needs the database (the product, the level) is checked here, inside the
//! transaction after the key is claimed. A decrease that would take `available` below zero in
//! a store without negative stock is refused and writes nothing.

use ringup_core::ids::ProductId;
use ringup_core::stock::AdjustmentRequest;
use ringup_store::Db;
use ringup_store::catalog::stores::StoreRow;
use ringup_store::stock::{self, Moved, NewMovement};

use super::{StockError, check_products};
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, retrying, write_direct};

/// An adjustment as the caller asked for it, in a store the caller sees: what failed to parse
/// is in `problems` (and the field left `None`), so one answer can list those together with
/// what the database says (an unknown product).
#[derive(Clone)]
pub struct NewAdjustment {
    pub store: StoreRow,
    pub product_id: Option<ProductId>,
    /// The delta or count, checked against the reason.
    pub change: Option<AdjustmentRequest>,
    pub note: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Records an adjustment: one movement in the ledger and the level after it; idempotent under
/// its key.
pub async fn adjust_stock(
    db: &Db,
    request: WriteRequest<'_>,
    adjustment: NewAdjustment,
    view: View<Moved>,
) -> Result<Written<Moved>, StockError> {
    retrying("stock.adjust", request.is_keyed(), || {
        adjust_stock_once(db, request, adjustment.clone(), view)
    })
    .await
}

async fn adjust_stock_once(
    db: &Db,
    request: WriteRequest<'_>,
    adjustment: NewAdjustment,
    view: View<Moved>,
) -> Result<Written<Moved>, StockError> {
    let NewAdjustment {
        store,
        product_id,
        change,
        note,
        mut problems,
    } = adjustment;
    write_direct!(db, request, |write, request| {
        if let Some(product) = product_id {
            check_products(
                write.tx(),
                &[(0, product)],
                |_| "product_id".to_owned(),
                &mut problems,
            )
            .await?;
        }
        let (Some(product), Some(change), true) = (product_id, change, problems.is_empty()) else {
            return Err(StockError::Invalid(problems));
        };
        // The store row the caller read to prove the store visible is used as is: re-reading it
        // inside the transaction would cost a statement and lock nothing either.
        let actor_id = request.actor.actor_id();
        let at = write.at();
        let movement = NewMovement {
            store_id: store.id,
            product_id: product,
            kind: change.reason().kind(),
            ref_type: Some("adjustment"),
            ref_id: None,
            actor_id: Some(&actor_id),
            note: note.as_deref(),
            allow_negative: store.allow_negative_stock,
        };
        let moved = stock::move_stock(
            write.tx(),
            &movement,
            |level| change.delta_against(level.on_hand),
            at,
        )
        .await?
        .map_err(|short| StockError::InsufficientStock(vec![(change.field().to_owned(), short)]))?;
        let shown = view(&moved).map_err(WriteError::View)?;
        let audit = write
            .audit_event("stock.adjusted", Some(store.id))
            .on("stock_movement", moved.movement.id)
            .with(serde_json::json!({
                "product_id": product.to_string(), "reason": change.reason().kind().as_str(),
                "delta": moved.movement.delta, "on_hand": moved.after.on_hand,
                "note": note,
            }));
        Ok(write
            .finish(
                moved,
                Effects::new()
                    .event("stock.adjusted", Some(store.id), &shown)
                    .audit(audit),
                201,
                shown,
            )
            .await?)
    })
    .await
}
