//! Cash-drawer shifts: open one on a register, pay cash in or out, close it with the count.
//!
//! A shift belongs to the user who opened it; that cashier, or an admin or a manager of its
//! store, may move cash and close it (`Actor::may_act_on_drawer`).

use ringup_core::catalog::Money;
use ringup_core::checkout::shift::over_short;
use ringup_core::ids::RegisterId;
use ringup_store::checkout::shifts::{self, CashMovementRow, NewShift, ShiftRow};
use ringup_store::{Db, StoreError};

use super::CheckoutError;
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, retrying, write_direct};

/// A shift to open, as the caller asked for it.
#[derive(Clone)]
pub struct OpenShift {
    pub register_id: Option<RegisterId>,
    pub opening_float: Option<Money>,
    pub problems: Vec<FieldError>,
}

/// Opens a shift on a register for the acting user (one open shift per register).
pub async fn open_shift(
    db: &Db,
    request: WriteRequest<'_>,
    command: OpenShift,
    view: View<ShiftRow>,
) -> Result<Written<ShiftRow>, CheckoutError> {
    retrying("shift.open", request.is_keyed(), || {
        open_shift_once(db, request, command.clone(), view)
    })
    .await
}

async fn open_shift_once(
    db: &Db,
    request: WriteRequest<'_>,
    command: OpenShift,
    view: View<ShiftRow>,
) -> Result<Written<ShiftRow>, CheckoutError> {
    let actor = request.actor;
    // A shift is a person's drawer: API keys act for no person.
    let Some(user) = actor.user_id() else {
        return Err(CheckoutError::Forbidden);
    };
    let OpenShift {
        register_id,
        opening_float,
        mut problems,
    } = command;
    let found = match register_id {
        Some(r) => shifts::find_register(&mut *db.read_conn().await?, r).await?,
        None => None,
    };
    let store = match (register_id, found) {
        (Some(r), Some((store, true))) if actor.sees_store(store) => Some((r, store)),
        (Some(_), Some((_, false))) => {
            problems.push(FieldError::new("register_id", "is not an active register"));
            None
        }
        _ => {
            problems.push(FieldError::new("register_id", "is not a known register"));
            None
        }
    };
    write_direct!(db, request, |write, request| {
        let (Some((register_id, store_id)), Some(opening_float), true) =
            (store, opening_float, problems.is_empty())
        else {
            return Err(CheckoutError::Invalid(problems));
        };
        let new = NewShift {
            store_id,
            register_id,
            cashier_id: user,
            opening_float: opening_float.value(),
        };
        let at = write.at();
        let shift = match shifts::open_shift(write.tx(), &new, at).await {
            Ok(shift) => shift,
            // The only unique key a new shift can hit: one open shift per register.
            Err(StoreError::UniqueViolation { .. }) => return Err(CheckoutError::ShiftAlreadyOpen),
            Err(e) => return Err(e.into()),
        };
        let shown = view(&shift).map_err(WriteError::View)?;
        let audit = write
            .audit_event("shift.opened", Some(store_id))
            .on("shift", shift.id)
            .with(serde_json::json!({
                "register_id": register_id.to_string(), "opening_float": opening_float.value(),
            }));
        let effects = Effects::new()
            .event("shift.opened", Some(store_id), &shown)
            .audit(audit);
        Ok(write.finish(shift, effects, 201, shown).await?)
    })
    .await
}

/// A paid-in or paid-out, as the caller asked for it.
#[derive(Clone)]
pub struct CashMovement {
    pub shift: ShiftRow,
    /// `Some(true)` paid in, `Some(false)` paid out.
    pub paid_in: Option<bool>,
    pub amount: Option<Money>,
    pub reason: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Records cash put into or taken out of an open shift's drawer.
pub async fn add_cash_movement(
    db: &Db,
    request: WriteRequest<'_>,
    command: CashMovement,
    view: View<CashMovementRow>,
) -> Result<Written<CashMovementRow>, CheckoutError> {
    retrying("shift.cash_movement", request.is_keyed(), || {
        add_cash_movement_once(db, request, &command, view)
    })
    .await
}

async fn add_cash_movement_once(
    db: &Db,
    request: WriteRequest<'_>,
    command: &CashMovement,
    view: View<CashMovementRow>,
) -> Result<Written<CashMovementRow>, CheckoutError> {
    if !request.actor.may_act_on_drawer(&command.shift) {
        return Err(CheckoutError::Forbidden);
    }
    let command = command.clone();
    write_direct!(db, request, |write, request| {
        let (Some(paid_in), Some(amount), Some(reason), true) = (
            command.paid_in,
            command.amount,
            &command.reason,
            command.problems.is_empty(),
        ) else {
            return Err(CheckoutError::Invalid(command.problems.clone()));
        };
        let actor_id = request.actor.actor_id();
        let at = write.at();
        let movement = shifts::add_cash_movement(
            write.tx(),
            command.shift.id,
            paid_in,
            amount,
            reason,
            &actor_id,
            at,
        )
        .await?
        .map_err(|refusal| CheckoutError::Shift {
            refusal,
            field: "amount",
        })?;
        let shown = view(&movement).map_err(WriteError::View)?;
        Ok(write.finish(movement, Effects::new(), 201, shown).await?)
    })
    .await
}

/// A shift to close with the cash counted in its drawer (`counted_cash` as sent, checked
/// after the key so a replay answers first).
#[derive(Clone)]
pub struct CloseShift {
    pub shift: ShiftRow,
    pub counted_cash: i64,
}

/// Closes a shift: the drawer's expected cash against the count, kept on the shift.
pub async fn close_shift(
    db: &Db,
    request: WriteRequest<'_>,
    command: CloseShift,
    view: View<ShiftRow>,
) -> Result<Written<ShiftRow>, CheckoutError> {
    retrying("shift.close", request.is_keyed(), || {
        close_shift_once(db, request, &command, view)
    })
    .await
}

async fn close_shift_once(
    db: &Db,
    request: WriteRequest<'_>,
    command: &CloseShift,
    view: View<ShiftRow>,
) -> Result<Written<ShiftRow>, CheckoutError> {
    if !request.actor.may_act_on_drawer(&command.shift) {
        return Err(CheckoutError::Forbidden);
    }
    let command = command.clone();
    write_direct!(db, request, |write, request| {
        let counted = Money::new(command.counted_cash)
            .map_err(|e| CheckoutError::invalid("counted_cash", e.to_string()))?
            .value();
        let actor_id = request.actor.actor_id();
        let at = write.at();
        let mut closed = shifts::close_shift(write.tx(), command.shift.id, &actor_id, at)
            .await?
            .ok_or(CheckoutError::ShiftAlreadyClosed)?;
        let expected = closed
            .totals
            .drawer(closed.opening_float)
            .expected_cash()
            .ok_or_else(|| StoreError::corrupt("shift totals", "overflow"))?;
        let difference = over_short(counted, expected)
            .ok_or_else(|| CheckoutError::invalid("counted_cash", "is too large"))?;
        shifts::record_count(write.tx(), closed.id, counted, expected, difference).await?;
        closed.counted_cash = Some(counted);
        closed.expected_cash = Some(expected);
        closed.over_short = Some(difference);
        let shown = view(&closed).map_err(WriteError::View)?;
        let audit = write
            .audit_event("shift.closed", Some(closed.store_id))
            .on("shift", closed.id)
            .with(serde_json::json!({
                "expected_cash": expected, "counted_cash": counted,
                "over_short": difference, "sales_count": closed.totals.sales_count,
            }));
        let effects = Effects::new()
            .event("shift.closed", Some(closed.store_id), &shown)
            .audit(audit);
        Ok(write.finish(closed, effects, 200, shown).await?)
    })
    .await
}
