//! The shifts report (drawer over/short), the inventory valuation and the stock movement
//! summary: reports over their own small tables rather than the sales rollups.
//!
//! Invariants: a period's days are each store's own local days, turned into that store's
//! `[start, end)` instants (23 or 25 hours on daylight-saving days); valuation counts positive
//! levels only, at the product's cost and price now.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::Serialize;

use ringup_core::reports::{Period, day_start};
use ringup_store::Db;
use ringup_store::reports::queries::{self, StoreSpan};

use super::{ReportError, ReportQuery, Scope, dated, scope};
use crate::authz::Actor;

fn overflow() -> ReportError {
    ReportError::Store(ringup_store::StoreError::corrupt(
        "report",
        "a report sum overflows",
    ))
}

fn add(a: i64, b: i64) -> Result<i64, ReportError> {
    a.checked_add(b).ok_or_else(overflow)
}

/// Each store's period as instants.
fn spans(scope: &Scope, period: &Period) -> Result<Vec<StoreSpan>, ReportError> {
    scope
        .stores
        .iter()
        .map(|s| {
            let tz = s.time_zone()?;
            let after = period.to() + Duration::days(1);
            Ok(StoreSpan {
                store_id: s.id,
                start: day_start(period.from(), tz),
                end: day_start(after, tz),
            })
        })
        .collect()
}

/// A shift closed in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShiftRow {
    pub shift_id: String,
    pub store_id: String,
    pub register_id: String,
    pub cashier_id: String,
    pub username: Option<String>,
    pub opened_at: String,
    pub closed_at: String,
    pub expected_cash: i64,
    pub counted_cash: i64,
    pub over_short: i64,
}

/// A cashier's over/short summed over their shifts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashierOverShort {
    pub cashier_id: String,
    pub username: Option<String>,
    pub over_short: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShiftTotals {
    pub shifts: i64,
    pub expected_cash: i64,
    pub counted_cash: i64,
    pub over_short: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShiftsReport {
    pub from: String,
    pub to: String,
    pub store_id: Option<String>,
    pub currency: Option<String>,
    pub rows: Vec<ShiftRow>,
    pub cashiers: Vec<CashierOverShort>,
    pub totals: ShiftTotals,
}

/// Shifts closed in the period, oldest first, and each cashier's over/short.
pub async fn shifts_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<ShiftsReport, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let mut conn = db.read_conn().await?;
    let shifts = queries::closed_shifts(&mut conn, &spans(&scope, &period)?).await?;
    let mut totals = ShiftTotals::default();
    let mut cashiers: BTreeMap<String, CashierOverShort> = BTreeMap::new();
    let mut rows = Vec::with_capacity(shifts.len());
    for s in shifts {
        totals.shifts = add(totals.shifts, 1)?;
        totals.expected_cash = add(totals.expected_cash, s.expected_cash)?;
        totals.counted_cash = add(totals.counted_cash, s.counted_cash)?;
        totals.over_short = add(totals.over_short, s.over_short)?;
        let cashier = cashiers
            .entry(s.cashier_id.clone())
            .or_insert_with(|| CashierOverShort {
                cashier_id: s.cashier_id.clone(),
                username: s.username.clone(),
                over_short: 0,
            });
        cashier.over_short = add(cashier.over_short, s.over_short)?;
        rows.push(ShiftRow {
            shift_id: s.shift_id,
            store_id: s.store_id,
            register_id: s.register_id,
            cashier_id: s.cashier_id,
            username: s.username,
            opened_at: s.opened_at,
            closed_at: s.closed_at,
            expected_cash: s.expected_cash,
            counted_cash: s.counted_cash,
            over_short: s.over_short,
        });
    }
    Ok(ShiftsReport {
        from: period.from().to_string(),
        to: period.to().to_string(),
        store_id: scope.store_id.map(|s| s.to_string()),
        currency: scope.currency,
        rows,
        cashiers: cashiers.into_values().collect(),
        totals,
    })
}

/// Stock on hand of one store and category, valued.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ValuationRow {
    pub store_id: Option<String>,
    pub category_id: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub cost_value: i64,
    pub retail_value: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ValuationReport {
    pub store_id: Option<String>,
    pub currency: Option<String>,
    pub rows: Vec<ValuationRow>,
    pub totals: ValuationRow,
}

/// Σ positive on hand × cost and × price, per store and category, now.
pub async fn valuation_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<ValuationReport, ReportError> {
    let (scope, _) = scope(db, actor, query, false).await?;
    let mut conn = db.read_conn().await?;
    let found = queries::valuation(&mut conn, &scope.ids()).await?;
    let mut totals = ValuationRow::default();
    let mut rows = Vec::with_capacity(found.len());
    for v in found {
        totals.quantity = add(totals.quantity, v.quantity)?;
        totals.cost_value = add(totals.cost_value, v.cost_value)?;
        totals.retail_value = add(totals.retail_value, v.retail_value)?;
        rows.push(ValuationRow {
            store_id: Some(v.store_id),
            category_id: v.category_id,
            category: v.category,
            quantity: v.quantity,
            cost_value: v.cost_value,
            retail_value: v.retail_value,
        });
    }
    Ok(ValuationReport {
        store_id: scope.store_id.map(|s| s.to_string()),
        currency: scope.currency,
        rows,
        totals,
    })
}

/// Movements of one kind in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MovementRow {
    pub kind: Option<String>,
    pub movements: i64,
    pub quantity: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MovementsReport {
    pub from: String,
    pub to: String,
    pub store_id: Option<String>,
    pub rows: Vec<MovementRow>,
    pub totals: MovementRow,
}

/// Per kind: how many movements and Σ delta, over each store's local days.
pub async fn movements_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<MovementsReport, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let mut conn = db.read_conn().await?;
    let kinds = queries::movements_by_kind(&mut conn, &spans(&scope, &period)?).await?;
    let mut totals = MovementRow::default();
    let mut rows = Vec::with_capacity(kinds.len());
    for (kind, movements, quantity) in kinds {
        totals.movements = add(totals.movements, movements)?;
        totals.quantity = add(totals.quantity, quantity)?;
        rows.push(MovementRow {
            kind: Some(kind),
            movements,
            quantity,
        });
    }
    Ok(MovementsReport {
        from: period.from().to_string(),
        to: period.to().to_string(),
        store_id: scope.store_id.map(|s| s.to_string()),
        rows,
        totals,
    })
}
