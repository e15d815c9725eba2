//! Reports (API.md "Reports", docs/ARCHITECTURE.md, "Reports read rollups"): who may read which stores, the period and the
//! currency a report is in, the lane reports run in, and the audit event of an export.
//!
//! Invariants: admins see every store, managers only theirs, everyone else nothing; a report
//! sums only stores of one currency (a chain of several currencies must name one); at most
//! [`Lane`]'s bound of reports run at once, so a large export never takes the machine from
//! the tills; every report reads rollups or small tables, never every sale.

mod lane;
mod sales;
mod stock;

use chrono::NaiveDate;

use ringup_core::ids::StoreId;
use ringup_core::reports::{Period, PeriodError};
use ringup_store::catalog::stores::{self, StoreRow};
use ringup_store::{Db, StoreError};

use crate::authz::{Actor, Capability};
use crate::problem::FieldError;
use crate::write::{Effects, Write, WriteError, WriteRequest};

pub use lane::{Lane, LanePass};
pub use sales::{
    CommissionRow, CommissionsReport, SalesChart, SalesGroup, SalesReport, SalesRow, SalesTotals,
    TaxReport, TaxRow, commissions_report, sales_chart, sales_report, tax_report,
};
pub use stock::{
    CashierOverShort, MovementRow, MovementsReport, ShiftRow, ShiftTotals, ShiftsReport,
    ValuationReport, ValuationRow, movements_report, shifts_report, valuation_report,
};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Cashiers and employees read no reports.
    #[error("not allowed")]
    Forbidden,
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Every place in the report lane stayed taken for the whole wait.
    #[error("too many reports are running; try again shortly")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WriteError> for ReportError {
    fn from(error: WriteError) -> ReportError {
        match error {
            WriteError::Store(e) => ReportError::Store(e),
            other => ReportError::Store(StoreError::corrupt("report audit", other.to_string())),
        }
    }
}

/// What every report is asked: its days (absent for a report of now), a store or the chain,
/// and the currency of a chain. Parsing problems found before are in `problems`.
#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub store_id: Option<StoreId>,
    pub currency: Option<String>,
    pub problems: Vec<FieldError>,
}

/// The stores a report covers, all in one currency.
#[derive(Clone, Debug)]
pub struct Scope {
    pub stores: Vec<StoreRow>,
    /// `None` only when there is no store to report on.
    pub currency: Option<String>,
    pub store_id: Option<StoreId>,
}

impl Scope {
    pub fn ids(&self) -> Vec<StoreId> {
        self.stores.iter().map(|s| s.id).collect()
    }
}

/// The most stores a chain report covers.
const MAX_STORES: usize = 10_000;

/// Checks the caller and the query; the stores and period of the report.
async fn scope(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
    dated: bool,
) -> Result<(Scope, Option<Period>), ReportError> {
    if !actor.can(Capability::ReadReports) {
        return Err(ReportError::Forbidden);
    }
    let mut problems = query.problems.clone();
    let period = if dated {
        match (query.from, query.to) {
            (Some(from), Some(to)) => match Period::new(from, to) {
                Ok(p) => Some(p),
                Err(PeriodError::Malformed) => {
                    problems.push(FieldError::new("from", "is too far in the past"));
                    None
                }
                Err(e) => {
                    problems.push(FieldError::new("to", e.to_string()));
                    None
                }
            },
            (from, to) => {
                if from.is_none() && !problems.iter().any(|p| p.field == "from") {
                    problems.push(FieldError::new("from", "is required (YYYY-MM-DD)"));
                }
                if to.is_none() && !problems.iter().any(|p| p.field == "to") {
                    problems.push(FieldError::new("to", "is required (YYYY-MM-DD)"));
                }
                None
            }
        }
    } else {
        None
    };
    let stores = match query.store_id {
        Some(id) => {
            let mut conn = db.read_conn().await?;
            let found = if actor.sees_store(id) {
                stores::find_store(&mut conn, id).await?
            } else {
                None
            };
            if found.is_none() {
                problems.push(FieldError::new("store_id", "is not a known store"));
            }
            found.into_iter().collect()
        }
        None => {
            stores::list_stores(db, actor.store_scope(), None, MAX_STORES)
                .await?
                .items
        }
    };
    let stores: Vec<StoreRow> = match &query.currency {
        Some(code) => {
            if query.store_id.is_some() && stores.iter().any(|s| &s.currency != code) {
                problems.push(FieldError::new("currency", "is not the store's currency"));
            }
            stores.into_iter().filter(|s| &s.currency == code).collect()
        }
        None => stores,
    };
    let mut currencies: Vec<&str> = stores.iter().map(|s| s.currency.as_str()).collect();
    currencies.sort_unstable();
    currencies.dedup();
    if currencies.len() > 1 {
        problems.push(FieldError::new(
            "currency",
            format!(
                "the stores use different currencies ({}); name one with currency= or a store \
                 with store_id=",
                currencies.join(", ")
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(ReportError::Invalid(problems));
    }
    let currency = query
        .currency
        .clone()
        .or_else(|| currencies.first().map(|c| (*c).to_owned()));
    Ok((
        Scope {
            stores,
            currency,
            store_id: query.store_id,
        },
        period,
    ))
}

/// [`scope`] of a report over a period.
async fn dated(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<(Scope, Period), ReportError> {
    let (scope, period) = scope(db, actor, query, true).await?;
    // `scope` refuses a dated query without a valid period.
    let period = period.ok_or_else(|| ReportError::Invalid(Vec::new()))?;
    Ok((scope, period))
}

/// Records that `report` was exported as `format` (API.md: every export but JSON is audited).
pub async fn record_export(
    db: &Db,
    request: WriteRequest<'_>,
    report: &str,
    format: &str,
    query: &ReportQuery,
) -> Result<(), ReportError> {
    let write = match Write::begin(db, request).await? {
        crate::write::Begun::Fresh(write) => write,
        // Reports take no idempotency key; nothing to replay.
        crate::write::Begun::Replayed(_) => return Ok(()),
    };
    let audit = write
        .audit_event("report.exported", query.store_id)
        .with(serde_json::json!({
            "report": report,
            "format": format,
            "from": query.from.map(|d| d.to_string()),
            "to": query.to.map(|d| d.to_string()),
            "store_id": query.store_id.map(|s| s.to_string()),
            "currency": query.currency,
        }));
    write.commit(Effects::new().audit(audit)).await?;
    Ok(())
}
