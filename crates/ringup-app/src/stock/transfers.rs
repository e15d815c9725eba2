//! Transfers: stock moving between two stores through `requested → approved → received` (or
//! `rejected`, or `cancelled`).
//!
//! Who may do what is [`Actor::may_act_on_transfer`](crate::authz::Actor::may_act_on_transfer);
//! a transfer neither of whose stores the actor sees is not found. An action is checked
//! against the transfer as read before its transaction, then applied with the store's
//! conditional update on that status, so of two racing actions only one succeeds and the other
//! is told what the transfer has become. Approval moves the lines out of the source
//! (`transfer_out`, refused when short whatever the store allows), receipt into the
//! destination (`transfer_in`), both in the action's transaction, levels locked in product
//! order.

use ringup_core::ids::{StoreId, TransferId};
use ringup_core::stock::{MovementKind, TransferAction};
use ringup_store::Db;
use ringup_store::catalog::stores;
use ringup_store::stock::transfers::{self, TransferRow};
use ringup_store::stock::{self, NewMovement};

use super::{LinesRequest, StockError, short_lines};
use crate::meters::Operation;
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, retrying, write_direct};

/// A transfer as the caller asked for it, with every rule that needs no database already
/// checked: what failed is in `problems` (and the field left `None`).
#[derive(Clone)]
pub struct NewTransfer {
    pub from_store_id: Option<StoreId>,
    pub to_store_id: Option<StoreId>,
    pub lines: LinesRequest,
    pub note: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Requests a transfer; idempotent under its key.
pub async fn create_transfer(
    db: &Db,
    request: WriteRequest<'_>,
    transfer: NewTransfer,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    retrying("transfer.create", request.is_keyed(), || {
        create_transfer_once(db, request, transfer.clone(), view)
    })
    .await
}

async fn create_transfer_once(
    db: &Db,
    request: WriteRequest<'_>,
    transfer: NewTransfer,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let NewTransfer {
        from_store_id: from,
        to_store_id: to,
        lines,
        note,
        mut problems,
    } = transfer;
    write_direct!(db, request, |write, request| {
        let named: Vec<(&str, StoreId)> = [("from_store_id", from), ("to_store_id", to)]
            .into_iter()
            .filter_map(|(f, s)| s.map(|s| (f, s)))
            .collect();
        let ids: Vec<StoreId> = named.iter().map(|(_, s)| *s).collect();
        for missing in stores::missing_stores(write.tx(), &ids).await? {
            if let Some((field, _)) = named.iter().find(|(_, s)| *s == missing) {
                problems.push(FieldError::new(*field, "is not a known store"));
            }
        }
        lines.check_products(write.tx(), &mut problems).await?;
        let (Some(from), Some(to), true) = (from, to, problems.is_empty()) else {
            return Err(StockError::Invalid(problems));
        };
        let actor_id = request.actor.actor_id();
        let id = TransferId::new();
        let at = write.at();
        let row = transfers::insert_transfer(
            write.tx(),
            &transfers::NewTransfer {
                id,
                from_store_id: from,
                to_store_id: to,
                note: note.as_deref(),
                lines: &lines.lines,
                requested_by: &actor_id,
            },
            at,
        )
        .await?;
        let shown = view(&row).map_err(WriteError::View)?;
        let audit = write
            .audit_event("transfer.requested", Some(from))
            .on("transfer", id)
            .with(serde_json::json!({
                "from_store_id": from.to_string(), "to_store_id": to.to_string(),
                "lines": row.lines.iter().map(|l| serde_json::json!({
                    "product_id": l.product_id.to_string(), "quantity": l.quantity,
                })).collect::<Vec<_>>(),
            }));
        let effects = Effects::new()
            .event("transfer.requested", Some(from), &shown)
            .audit(audit);
        Ok(write.finish(row, effects, 201, shown).await?)
    })
    .await
}

/// Approves a requested transfer (a manager of the source store): its stock leaves the source.
pub async fn approve_transfer(
    db: &Db,
    request: WriteRequest<'_>,
    id: TransferId,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let step = Step {
        id,
        action: TransferAction::Approve,
        reason: None,
        problems: Vec::new(),
    };
    act(db, request, step, view).await
}

/// A rejection as the caller asked for it: the reason is `None` when it broke a rule, listed
/// in `problems`.
pub struct RejectTransfer {
    pub id: TransferId,
    pub reason: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Rejects a requested transfer (a manager of the source store), with a reason.
pub async fn reject_transfer(
    db: &Db,
    request: WriteRequest<'_>,
    reject: RejectTransfer,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let step = Step {
        id: reject.id,
        action: TransferAction::Reject,
        reason: reject.reason,
        problems: reject.problems,
    };
    act(db, request, step, view).await
}

/// Receives an approved transfer (a manager or employee of the destination): its stock enters
/// the destination.
pub async fn receive_transfer(
    db: &Db,
    request: WriteRequest<'_>,
    id: TransferId,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let step = Step {
        id,
        action: TransferAction::Receive,
        reason: None,
        problems: Vec::new(),
    };
    act(db, request, step, view).await
}

/// Cancels a transfer that is still requested (its requester, or a manager of either store).
pub async fn cancel_transfer(
    db: &Db,
    request: WriteRequest<'_>,
    id: TransferId,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let step = Step {
        id,
        action: TransferAction::Cancel,
        reason: None,
        problems: Vec::new(),
    };
    act(db, request, step, view).await
}

/// One action on a transfer.
#[derive(Clone)]
struct Step {
    id: TransferId,
    action: TransferAction,
    reason: Option<String>,
    problems: Vec<FieldError>,
}

/// Runs one action in one write transaction: who may (404 before 403 before 422, all before a
/// replay), the state machine, the stock it moves, the audit event.
async fn act(
    db: &Db,
    request: WriteRequest<'_>,
    step: Step,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    retrying(operation(step.action), request.is_keyed(), || {
        act_once(db, request, step.clone(), view)
    })
    .await
}

/// The operation name of an action, as its latency is labelled.
fn operation(action: TransferAction) -> Operation {
    match action {
        TransferAction::Approve => "transfer.approve",
        TransferAction::Reject => "transfer.reject",
        TransferAction::Receive => "transfer.receive",
        TransferAction::Cancel => "transfer.cancel",
    }
}

async fn act_once(
    db: &Db,
    request: WriteRequest<'_>,
    step: Step,
    view: View<TransferRow>,
) -> Result<Written<TransferRow>, StockError> {
    let Step {
        id,
        action,
        reason,
        problems,
    } = step;
    let actor = request.actor;
    let transfer = transfers::find_transfer(&mut *db.read_conn().await?, id)
        .await?
        .filter(|t| actor.sees_transfer(t))
        .ok_or(StockError::NotFound)?;
    if !actor.may_act_on_transfer(&transfer, action) {
        return Err(StockError::Forbidden);
    }
    if !problems.is_empty() {
        return Err(StockError::Invalid(problems));
    }
    write_direct!(db, request, |write, request| {
        let actor = request.actor;
        let next = transfer
            .status
            .next(action)
            .map_err(StockError::InvalidTransition)?;
        let actor_id = actor.actor_id();
        let at = write.at();
        // The conditional update is the guard: of two racing actions only one finds the status
        // it expects; the other sees the new one and is refused.
        if !transfers::transition(
            write.tx(),
            transfer.id,
            transfer.status,
            next,
            &actor_id,
            reason.as_deref(),
            at,
        )
        .await?
        {
            let current = transfers::find_transfer(write.tx(), transfer.id)
                .await?
                .ok_or(StockError::NotFound)?;
            return Err(current
                .status
                .next(action)
                .err()
                .map_or(StockError::TransferChanged, StockError::InvalidTransition));
        }
        let moves = match action {
            TransferAction::Approve => {
                Some((transfer.from_store_id, MovementKind::TransferOut, -1))
            }
            TransferAction::Receive => Some((transfer.to_store_id, MovementKind::TransferIn, 1)),
            TransferAction::Reject | TransferAction::Cancel => None,
        };
        if let Some((store_id, kind, sign)) = moves {
            let store = stores::find_store(write.tx(), store_id)
                .await?
                .ok_or(StockError::NotFound)?;
            // Lock levels in product order (see ringup_store::stock), report lines in body order.
            let mut order: Vec<usize> = (0..transfer.lines.len()).collect();
            order.sort_by_key(|&i| transfer.lines.get(i).map(|l| l.product_id));
            let mut short = Vec::new();
            for i in order {
                let Some(line) = transfer.lines.get(i) else {
                    continue;
                };
                let movement = NewMovement {
                    store_id,
                    product_id: line.product_id,
                    kind,
                    ref_type: Some("transfer"),
                    ref_id: Some(transfer.id.to_string()),
                    actor_id: Some(&actor_id),
                    note: None,
                    // docs/API.md: approval is 409 when the source's `available` is short, whatever
                    // the store allows; only its own sales and adjustments may go negative.
                    allow_negative: store.allow_negative_stock && kind != MovementKind::TransferOut,
                };
                if let Err(s) =
                    stock::move_stock(write.tx(), &movement, |_| sign * line.quantity, at).await?
                {
                    short.push((i, s));
                }
            }
            if !short.is_empty() {
                short.sort_by_key(|(i, _)| *i);
                return Err(short_lines(short));
            }
        }
        let store = if action == TransferAction::Receive {
            transfer.to_store_id
        } else {
            transfer.from_store_id
        };
        let audit = write
            .audit_event(&format!("transfer.{}", next.as_str()), Some(store))
            .on("transfer", transfer.id)
            .with(serde_json::json!({ "from": transfer.status.as_str(), "reason": reason }));
        let row = transfers::find_transfer(write.tx(), transfer.id)
            .await?
            .ok_or(StockError::NotFound)?;
        let shown = view(&row).map_err(WriteError::View)?;
        let effects = Effects::new()
            .event(next.event_type(), Some(store), &shown)
            .audit(audit);
        Ok(write.finish(row, effects, 200, shown).await?)
    })
    .await
}
