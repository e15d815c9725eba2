//! Taking goods back against the lines of an earlier sale, and refunding them.
//!
//! A return locks its sale first (so returns of one sale queue, and a void cannot slip in),
//! then reads how much of each line is already back, computes the refund due with the pure
//! rule (`refund_due`, half-up, cumulative so partial returns never refund more than the line
//! cost) and requires the refunds given to add up to it exactly.

use ringup_core::catalog::Quantity;
use ringup_core::checkout::refund::refund_due;
use ringup_core::ids::{RegisterId, ReturnId, SaleId, SaleLineId};
use ringup_store::Db;
use ringup_store::catalog::stores;
use ringup_store::checkout::returns::{self, ReturnDraft, ReturnLineRow, ReturnRefusal, ReturnRow};
use ringup_store::checkout::sales::{self, PaymentRow};
use ringup_store::checkout::shifts;

use super::CheckoutError;
use crate::meters;
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, retrying, write_direct};

/// One line of the request, as far as it could be read: `None` where the caller found the
/// value broken (and said so in `problems`).
#[derive(Clone)]
pub struct ReturnLine {
    pub sale_line_id: Option<SaleLineId>,
    pub quantity: Option<Quantity>,
    /// Whether the goods go back on the shelf.
    pub restock: bool,
}

/// A return as the caller asked for it; see `NewSale` for how `problems` travel.
#[derive(Clone)]
pub struct NewReturn {
    pub sale_id: Option<SaleId>,
    /// The register the return is made at, when it is not the sale's.
    pub register_id: Option<RegisterId>,
    pub lines: Vec<ReturnLine>,
    pub refunds: Vec<PaymentRow>,
    pub reason: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Takes a return: one transaction, idempotent under its key.
pub async fn create_return(
    db: &Db,
    request: WriteRequest<'_>,
    command: NewReturn,
    view: View<ReturnRow>,
) -> Result<Written<ReturnRow>, CheckoutError> {
    retrying("return.create", request.is_keyed(), || {
        create_return_once(db, request, command.clone(), view)
    })
    .await
}

async fn create_return_once(
    db: &Db,
    request: WriteRequest<'_>,
    command: NewReturn,
    view: View<ReturnRow>,
) -> Result<Written<ReturnRow>, CheckoutError> {
    let actor = request.actor;
    let NewReturn {
        sale_id,
        register_id,
        lines,
        refunds,
        reason,
        mut problems,
    } = command;

    let mut conn = db.read_conn().await?;
    let sale = match sale_id {
        Some(id) => sales::find_sale(&mut conn, id)
            .await?
            .filter(|s| actor.sees_store(s.store_id)),
        None => None,
    };
    if sale.is_none() && sale_id.is_some() {
        problems.push(FieldError::new("sale_id", "is not a known sale"));
    }
    let register_id = register_id.or(sale.as_ref().map(|s| s.register_id));
    let mut shift = None;
    if let (Some(sale), Some(register)) = (&sale, register_id) {
        match shifts::find_register(&mut conn, register).await? {
            Some((store, _)) if store == sale.store_id => {
                shift = shifts::open_shift_of(&mut conn, register).await?;
            }
            _ => problems.push(FieldError::new(
                "register_id",
                "is not a register of the sale's store",
            )),
        }
        for (i, line) in lines.iter().enumerate() {
            let field = format!("lines[{i}].sale_line_id");
            let known = line
                .sale_line_id
                .is_some_and(|id| sale.lines.iter().any(|l| l.id == id));
            if !known && !problems.iter().any(|e| e.field == field) {
                problems.push(FieldError::new(field, "is not a line of this sale"));
            }
        }
    }
    let store = match &sale {
        Some(s) => stores::find_store(&mut conn, s.store_id).await?,
        None => None,
    };
    drop(conn);

    let store_code = store.as_ref().map(|store| store.code.clone());
    let written = write_direct!(db, request, |write, request| {
        let actor = request.actor;
        let (Some(sale), Some(store), Some(register_id), true) =
            (sale, store, register_id, problems.is_empty())
        else {
            return Err(CheckoutError::Invalid(problems));
        };
        if sale.voided {
            return Err(CheckoutError::SaleVoided);
        }
        let Some(shift) = shift.filter(|s| s.open) else {
            return Err(CheckoutError::NoOpenShift);
        };
        if !actor.may_sell_on(&shift) {
            return Err(CheckoutError::Forbidden);
        }
        if !returns::lock_sale_for_return(write.tx(), sale.id).await? {
            return Err(CheckoutError::SaleVoided);
        }
        // Line counts read after the lock: no other return of this sale can change them now.
        let sold_lines = returns::sold_lines(write.tx(), sale.id).await?;
        let mut over = Vec::new();
        let mut rows = Vec::new();
        let mut sold_rows = Vec::new();
        let wanted = lines
            .iter()
            .filter_map(|l| Some((l.sale_line_id?, l.quantity?.value(), l.restock)));
        for (i, (sale_line_id, quantity, restock)) in wanted.enumerate() {
            let Some(sold) = sold_lines.iter().find(|l| l.id == sale_line_id) else {
                continue;
            };
            let returnable = sold.quantity.saturating_sub(sold.returned_quantity);
            match refund_due(sold.total, sold.quantity, sold.returned_quantity, quantity) {
                Some(refund) => {
                    // The refund's tax share, rounded cumulatively like the refund (API.md).
                    let tax = refund_due(sold.tax, sold.quantity, sold.returned_quantity, quantity)
                        .unwrap_or(0);
                    rows.push(ReturnLineRow {
                        sale_line_id: sold.id,
                        product_id: sold.product_id,
                        quantity,
                        restock,
                        refund,
                        tax,
                    });
                    sold_rows.push(*sold);
                }
                None => over.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    format!("only {returnable} of this line can still be returned"),
                )),
            }
        }
        if !over.is_empty() {
            return Err(CheckoutError::OverReturn(over));
        }
        let due: i64 = rows
            .iter()
            .map(|r| r.refund)
            .fold(0i64, i64::saturating_add);
        let given: i64 = refunds
            .iter()
            .map(|r| r.amount)
            .fold(0i64, i64::saturating_add);
        if due != given {
            return Err(CheckoutError::invalid(
                "refunds",
                format!("must add up to the refund due of {due}, not {given}"),
            ));
        }
        let at = write.at();
        let draft = ReturnDraft {
            row: ReturnRow {
                id: ReturnId::new(),
                sale_id: sale.id,
                store_id: sale.store_id,
                register_id,
                shift_id: shift.id,
                cashier_id: actor.user_id().unwrap_or(shift.cashier_id),
                reason,
                lines: rows,
                refunds,
                total: due,
                created_at: ringup_store::platform::time::to_db(at),
            },
            sold: sold_rows,
            allow_negative: store.allow_negative_stock,
            time_zone: store.time_zone()?,
        };
        let taken = match returns::record_return(write.tx(), draft, at).await? {
            Ok(taken) => taken,
            Err(ReturnRefusal::Shift(refusal)) => {
                return Err(CheckoutError::Shift {
                    refusal,
                    field: "refunds",
                });
            }
            Err(ReturnRefusal::OverReturn(lines)) => {
                return Err(CheckoutError::OverReturn(
                    lines
                        .into_iter()
                        .map(|i| {
                            FieldError::new(
                                format!("lines[{i}].quantity"),
                                "is more than returnable",
                            )
                        })
                        .collect(),
                ));
            }
        };
        let shown = view(&taken).map_err(WriteError::View)?;
        let audit = write
            .audit_event("return.completed", Some(taken.store_id))
            .on("return", taken.id)
            .with(serde_json::json!({
                "sale_id": taken.sale_id.to_string(), "total": taken.total,
            }));
        let effects = Effects::new()
            .event("return.completed", Some(taken.store_id), &shown)
            .audit(audit);
        Ok(write.finish(taken, effects, 201, shown).await?)
    })
    .await?;
    if let (Some(taken), Some(store)) = (written.outcome(), &store_code) {
        meters::return_taken(store, taken.total);
    }
    Ok(written)
}
