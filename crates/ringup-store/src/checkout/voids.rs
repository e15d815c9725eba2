//! Voids: a completed sale taken back whole, in one transaction.
//!
//! Invariants: a sale is voided at most once and never after a return (one conditional
//! update decides, so racing voids make one winner and a void racing a return cannot both
//! succeed); the void takes the sale out of its shift's totals, puts its stock back as `void`
//! movements and takes it out of the report rollups of the day it counted on.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use ringup_core::checkout::totals::ShiftTotals;
use ringup_core::reports::Contribution;
use ringup_core::stock::MovementKind;

use crate::checkout::sales::{SaleRow, day_of};
use crate::checkout::shifts::{ShiftRefusal, add_to_shift};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;
use crate::reports::rollups;
use crate::stock::{LineMove, MoveMany, move_many};

/// Why a void was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoidRefusal {
    AlreadyVoided,
    HasReturns,
    Shift(ShiftRefusal),
}

/// Voids a sale in the caller's transaction: marks it (conditionally, so racing voids make
/// one winner and a void racing a return cannot both succeed), takes it out of its shift's
/// totals (refusing a closed shift) and puts its stock back as `void` movements.
pub async fn void_sale(
    conn: &mut impl Sql,
    sale: &SaleRow,
    time_zone: Tz,
    allow_negative: bool,
    by: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<Result<SaleRow, VoidRefusal>> {
    let now: &str = &time::to_db(at);
    let updated = conn
        .run(
            stmt(
                "update sales set status = 'voided', voided_by = $2, voided_at = $3, \
                 void_reason = $4 where id = $1 and status = 'completed' and returns_count = 0",
            )
            .bind(sale.id.to_string())
            .bind(by)
            .bind(now)
            .bind(reason),
        )
        .await?;
    if updated != 1 {
        // Re-read to say why: the row is now settled (locked or committed).
        let current = conn
            .optional_row(stmt("select status from sales where id = $1").bind(sale.id.to_string()))
            .await?;
        let status = current.map(|row| row.text("status")).transpose()?;
        return Ok(Err(match status.as_deref() {
            Some("voided") => VoidRefusal::AlreadyVoided,
            _ => VoidRefusal::HasReturns,
        }));
    }
    let delta = ShiftTotals::void(&sale.shift_delta());
    if let Err(refusal) = add_to_shift(conn, sale.shift_id, &delta).await? {
        return Ok(Err(VoidRefusal::Shift(refusal)));
    }
    let moves: Vec<LineMove> = sale
        .lines
        .iter()
        .map(|l| LineMove {
            product_id: l.product_id,
            delta: l.quantity,
            threshold: l.low_stock_threshold,
        })
        .collect();
    let what = MoveMany {
        store_id: sale.store_id,
        kind: MovementKind::Void,
        ref_type: "sale",
        ref_id: sale.id.to_string(),
        actor_id: by,
        allow_negative,
    };
    if move_many(conn, &what, &moves, at).await?.is_err() {
        return Err(StoreError::corrupt(
            "stock",
            "a void cannot be short of stock",
        ));
    }
    // The void takes the sale out of the reports of the day it counted on.
    let contribution = Contribution::of_void(&rollups::sale_facts(sale))
        .ok_or_else(|| StoreError::corrupt("sale", "its report figures overflow"))?;
    rollups::apply(conn, sale.store_id, day_of(sale, time_zone)?, &contribution).await?;
    let mut voided = sale.clone();
    voided.voided = true;
    voided.voided_by = Some(by.to_owned());
    voided.voided_at = Some(now.to_owned());
    voided.void_reason = Some(reason.to_owned());
    Ok(Ok(voided))
}
