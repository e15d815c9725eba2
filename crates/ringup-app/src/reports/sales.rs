//! The sales, tax and commission reports and the sales chart: sums of the rollup rows.
//!
//! Invariants: time groupings list every day, ISO week or month of the period (zeros
//! included); other groupings list only keys with activity, by `total` descending then key;
//! `totals` sums the rows (its average basket recomputed); `previous` is the same report over
//! the period just before, and `change_pct` compares the two field by field (API.md).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use ringup_core::reports::{
    CashierFigures, LineFigures, Period, SalesFigures, TimeGroup, change_pct,
};
use ringup_store::Db;
use ringup_store::reports::queries::{self, Grouped, LinesKey, SalesKey};

use super::{ReportError, ReportQuery, Scope, dated};
use crate::authz::Actor;

/// How the sales report groups its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SalesGroup {
    Day,
    Week,
    Month,
    Store,
    Cashier,
    Product,
    Category,
    Tender,
}

impl SalesGroup {
    pub const ALL: [SalesGroup; 8] = [
        SalesGroup::Day,
        SalesGroup::Week,
        SalesGroup::Month,
        SalesGroup::Store,
        SalesGroup::Cashier,
        SalesGroup::Product,
        SalesGroup::Category,
        SalesGroup::Tender,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SalesGroup::Day => "day",
            SalesGroup::Week => "week",
            SalesGroup::Month => "month",
            SalesGroup::Store => "store",
            SalesGroup::Cashier => "cashier",
            SalesGroup::Product => "product",
            SalesGroup::Category => "category",
            SalesGroup::Tender => "tender",
        }
    }

    pub fn parse(s: &str) -> Option<SalesGroup> {
        SalesGroup::ALL.into_iter().find(|g| g.as_str() == s)
    }

    fn time(self) -> Option<TimeGroup> {
        match self {
            SalesGroup::Day => Some(TimeGroup::Day),
            SalesGroup::Week => Some(TimeGroup::Week),
            SalesGroup::Month => Some(TimeGroup::Month),
            _ => None,
        }
    }
}

/// A row of the sales report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SalesRow {
    pub key: Option<String>,
    pub label: Option<String>,
    #[serde(flatten)]
    pub figures: SalesFigures,
    pub average_basket: i64,
}

/// The totals of a sales report (or of the period before it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SalesTotals {
    #[serde(flatten)]
    pub figures: SalesFigures,
    pub average_basket: i64,
}

/// The sales report.
#[derive(Clone, Debug, Serialize)]
pub struct SalesReport {
    pub from: String,
    pub to: String,
    pub store_id: Option<String>,
    pub currency: Option<String>,
    pub group_by: &'static str,
    pub rows: Vec<SalesRow>,
    pub totals: SalesTotals,
    pub previous: SalesTotals,
    pub change_pct: BTreeMap<&'static str, Option<f64>>,
}

fn overflow() -> ReportError {
    ReportError::Store(ringup_store::StoreError::corrupt(
        "report",
        "a report sum overflows",
    ))
}

fn of_cashier(f: &CashierFigures) -> SalesFigures {
    SalesFigures {
        sales: f.sales,
        gross: f.gross,
        discounts: f.discounts,
        net: f.net,
        tax: f.tax,
        total: f.total,
        returns: f.returns,
        refunds: f.refunds,
    }
}

fn of_lines(f: &LineFigures) -> SalesFigures {
    SalesFigures {
        sales: f.quantity,
        gross: f.gross,
        discounts: f.discounts,
        net: f.net,
        tax: f.tax,
        total: f.total,
        returns: f.returned,
        refunds: f.refunds,
    }
}

fn totals_of(rows: &[SalesRow], tender: bool) -> Result<SalesTotals, ReportError> {
    let figures = rows
        .iter()
        .try_fold(SalesFigures::default(), |acc, r| {
            acc.checked_add(&r.figures)
        })
        .ok_or_else(overflow)?;
    Ok(SalesTotals {
        figures,
        average_basket: if tender { 0 } else { figures.average_basket() },
    })
}

fn row(
    key: Option<String>,
    label: Option<String>,
    figures: SalesFigures,
    tender: bool,
) -> SalesRow {
    SalesRow {
        key,
        label,
        average_basket: if tender { 0 } else { figures.average_basket() },
        figures,
    }
}

/// The rows of one grouping over one period (not yet ordered).
async fn rows_of(
    db: &Db,
    stores: &[ringup_core::ids::StoreId],
    period: &Period,
    group: SalesGroup,
) -> Result<Vec<SalesRow>, ReportError> {
    let mut conn = db.read_conn().await?;
    let (from, to) = (period.from(), period.to());
    let rows = match group {
        SalesGroup::Day | SalesGroup::Week | SalesGroup::Month => {
            let time = group.time().unwrap_or(TimeGroup::Day);
            let mut buckets: BTreeMap<String, SalesFigures> = time
                .keys(period)
                .into_iter()
                .map(|k| (k, SalesFigures::default()))
                .collect();
            for g in queries::sales_by(&mut conn, stores, from, to, SalesKey::Day).await? {
                let Some(day) = g.key.as_deref().and_then(|d| d.parse::<NaiveDate>().ok()) else {
                    continue;
                };
                let bucket = buckets.entry(time.key(day)).or_default();
                *bucket = bucket
                    .checked_add(&of_cashier(&g.figures))
                    .ok_or_else(overflow)?;
            }
            buckets
                .into_iter()
                .map(|(k, f)| row(Some(k.clone()), Some(k), f, false))
                .collect()
        }
        SalesGroup::Store | SalesGroup::Cashier => {
            let by = if group == SalesGroup::Store {
                SalesKey::Store
            } else {
                SalesKey::Cashier
            };
            queries::sales_by(&mut conn, stores, from, to, by)
                .await?
                .into_iter()
                .map(|g: Grouped<CashierFigures>| {
                    row(g.key, g.label, of_cashier(&g.figures), false)
                })
                .filter(|r| r.figures != SalesFigures::default())
                .collect()
        }
        SalesGroup::Product | SalesGroup::Category => {
            let by = if group == SalesGroup::Product {
                LinesKey::Product
            } else {
                LinesKey::Category
            };
            let mut merged: BTreeMap<Option<String>, (Option<String>, SalesFigures)> =
                BTreeMap::new();
            for g in queries::lines_by(&mut conn, stores, from, to, by).await? {
                let entry = merged
                    .entry(g.key)
                    .or_insert((g.label, SalesFigures::default()));
                entry.1 = entry
                    .1
                    .checked_add(&of_lines(&g.figures))
                    .ok_or_else(overflow)?;
            }
            merged
                .into_iter()
                .map(|(k, (label, f))| row(k, label, f, false))
                .filter(|r| r.figures != SalesFigures::default())
                .collect()
        }
        SalesGroup::Tender => queries::tenders_by(&mut conn, stores, from, to)
            .await?
            .into_iter()
            .map(|(method, f)| {
                let figures = SalesFigures {
                    sales: f.payments,
                    total: f.taken,
                    refunds: f.refunds,
                    ..SalesFigures::default()
                };
                let key = method.as_str().to_owned();
                row(Some(key.clone()), Some(key), figures, true)
            })
            .filter(|r| r.figures != SalesFigures::default())
            .collect(),
    };
    Ok(rows)
}

/// The sales report of `query`, grouped by `group`.
pub async fn sales_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
    group: SalesGroup,
) -> Result<SalesReport, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let stores = scope.ids();
    let tender = group == SalesGroup::Tender;
    let mut rows = rows_of(db, &stores, &period, group).await?;
    if group.time().is_none() {
        rows.sort_by(|a, b| {
            b.figures
                .total
                .cmp(&a.figures.total)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    let totals = totals_of(&rows, tender)?;
    let previous = totals_of(
        &rows_of(db, &stores, &period.previous(), group).await?,
        tender,
    )?;
    Ok(SalesReport {
        from: period.from().to_string(),
        to: period.to().to_string(),
        store_id: scope.store_id.map(|s| s.to_string()),
        currency: scope.currency,
        group_by: group.as_str(),
        change_pct: changes(&totals, &previous),
        rows,
        totals,
        previous,
    })
}

/// `change_pct` of every field of the totals.
fn changes(current: &SalesTotals, previous: &SalesTotals) -> BTreeMap<&'static str, Option<f64>> {
    let mut out: BTreeMap<&'static str, Option<f64>> = SalesFigures::FIELDS
        .iter()
        .zip(
            current
                .figures
                .values()
                .iter()
                .zip(previous.figures.values()),
        )
        .map(|(name, (c, p))| (*name, change_pct(*c, p)))
        .collect();
    out.insert(
        "average_basket",
        change_pct(current.average_basket, previous.average_basket),
    );
    out
}

/// The sales chart: the period's `total` per day against the period before, day by day.
pub struct SalesChart {
    pub scope: Scope,
    pub period: Period,
    pub current: Vec<(NaiveDate, i64)>,
    pub previous: Vec<(NaiveDate, i64)>,
}

/// The day-by-day totals of the period and of the period before.
pub async fn sales_chart(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<SalesChart, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let stores = scope.ids();
    let prev = period.previous();
    let mut conn = db.read_conn().await?;
    let days =
        queries::sales_by(&mut conn, &stores, prev.from(), period.to(), SalesKey::Day).await?;
    let totals: BTreeMap<NaiveDate, i64> = days
        .iter()
        .filter_map(|g| Some((g.key.as_deref()?.parse().ok()?, g.figures.total)))
        .collect();
    let series = |p: &Period| -> Vec<(NaiveDate, i64)> {
        p.each_day()
            .map(|d| (d, totals.get(&d).copied().unwrap_or(0)))
            .collect()
    };
    Ok(SalesChart {
        current: series(&period),
        previous: series(&prev),
        scope,
        period,
    })
}

/// A row of the tax report: one tax class at one rate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaxRow {
    pub tax_class_id: Option<String>,
    pub name: Option<String>,
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub refund_net: i64,
    pub refund_tax: i64,
}

/// The tax report: the VAT return of the period.
#[derive(Clone, Debug, Serialize)]
pub struct TaxReport {
    pub from: String,
    pub to: String,
    pub store_id: Option<String>,
    pub currency: Option<String>,
    pub rows: Vec<TaxRow>,
    pub totals: TaxRow,
}

/// Sales' own net, tax and total per tax class and rate; returns only in the refund columns.
pub async fn tax_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<TaxReport, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let mut conn = db.read_conn().await?;
    let groups = queries::lines_by(
        &mut conn,
        &scope.ids(),
        period.from(),
        period.to(),
        LinesKey::TaxRate,
    )
    .await?;
    let mut rows = Vec::new();
    let mut totals = TaxRow::default();
    for g in groups {
        let f = g.figures;
        let refund_net = f.refunds.checked_sub(f.refund_tax).ok_or_else(overflow)?;
        let r = TaxRow {
            tax_class_id: g.key,
            name: g.label,
            rate_bp: g.rate_bp,
            net: f.net,
            tax: f.tax,
            total: f.total,
            refund_net,
            refund_tax: f.refund_tax,
        };
        if (r.net, r.tax, r.total, r.refund_net, r.refund_tax) == (0, 0, 0, 0, 0) {
            continue;
        }
        let add = |a: i64, b: i64| a.checked_add(b).ok_or_else(overflow);
        totals.net = add(totals.net, r.net)?;
        totals.tax = add(totals.tax, r.tax)?;
        totals.total = add(totals.total, r.total)?;
        totals.refund_net = add(totals.refund_net, r.refund_net)?;
        totals.refund_tax = add(totals.refund_tax, r.refund_tax)?;
        rows.push(r);
    }
    Ok(TaxReport {
        from: period.from().to_string(),
        to: period.to().to_string(),
        store_id: scope.store_id.map(|s| s.to_string()),
        currency: scope.currency,
        rows,
        totals,
    })
}

/// A cashier's commission for the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommissionRow {
    pub cashier_id: Option<String>,
    pub username: Option<String>,
    pub sales: i64,
    pub net_total: i64,
    pub commission: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CommissionsReport {
    pub from: String,
    pub to: String,
    pub store_id: Option<String>,
    pub currency: Option<String>,
    pub rows: Vec<CommissionRow>,
    pub totals: CommissionRow,
}

/// Per cashier: completed sales, their net total and the sum of their commissions (returns do
/// not reduce it).
pub async fn commissions_report(
    db: &Db,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<CommissionsReport, ReportError> {
    let (scope, period) = dated(db, actor, query).await?;
    let mut conn = db.read_conn().await?;
    let groups = queries::sales_by(
        &mut conn,
        &scope.ids(),
        period.from(),
        period.to(),
        SalesKey::Cashier,
    )
    .await?;
    let mut rows: Vec<CommissionRow> = groups
        .into_iter()
        .filter(|g| g.figures.sales != 0 || g.figures.commission != 0)
        .map(|g| CommissionRow {
            cashier_id: g.key,
            username: g.label,
            sales: g.figures.sales,
            net_total: g.figures.net,
            commission: g.figures.commission,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.commission
            .cmp(&a.commission)
            .then_with(|| a.cashier_id.cmp(&b.cashier_id))
    });
    let mut totals = CommissionRow::default();
    for r in &rows {
        totals.sales = totals.sales.checked_add(r.sales).ok_or_else(overflow)?;
        totals.net_total = totals
            .net_total
            .checked_add(r.net_total)
            .ok_or_else(overflow)?;
        totals.commission = totals
            .commission
            .checked_add(r.commission)
            .ok_or_else(overflow)?;
    }
    Ok(CommissionsReport {
        from: period.from().to_string(),
        to: period.to().to_string(),
        store_id: scope.store_id.map(|s| s.to_string()),
        currency: scope.currency,
        rows,
        totals,
    })
}
