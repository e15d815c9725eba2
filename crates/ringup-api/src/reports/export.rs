//! Reports as tables for the exports (CSV, XLSX, PDF) and the sales chart: the columns are
//! the JSON field names, amounts in minor units marked as money so each format shows them in
//! major units with the currency's decimals.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use ringup_app::reports::{
    CommissionsReport, LanePass, MovementsReport, SalesChart, SalesReport, ShiftsReport, TaxReport,
    ValuationReport,
};
use ringup_core::catalog::CurrencyCode;
use ringup_export::{Cell, Chart, Column, Currency, Kind, RenderError, Series, Table};

use super::{Format, XLSX};
use crate::http::error::ApiError;

pub fn failed(error: RenderError) -> ApiError {
    ApiError::Internal(Box::new(error))
}

/// The currency amounts are shown in. A report has none only when it covers no store (every
/// amount is 0): then two decimals and no code, rather than no export at all.
fn currency(code: Option<&str>) -> Currency {
    match code.and_then(|c| CurrencyCode::parse(c).ok()) {
        Some(code) => Currency {
            code: code.as_str().to_owned(),
            decimals: code.minor_units(),
        },
        None => Currency {
            code: String::new(),
            decimals: 2,
        },
    }
}

fn columns(spec: &[(&str, Kind)]) -> Vec<Column> {
    spec.iter()
        .map(|(name, kind)| Column {
            name: (*name).to_owned(),
            kind: *kind,
        })
        .collect()
}

fn text(value: Option<&str>) -> Cell {
    value.map_or(Cell::Empty, |v| Cell::Text(v.to_owned()))
}

fn notes(store_id: Option<&str>, currency: Option<&str>, extra: &[String]) -> Vec<String> {
    let mut notes = vec![match store_id {
        Some(id) => format!("Store {id}"),
        None => "All stores the reader sees".to_owned(),
    }];
    if let Some(c) = currency {
        notes.push(format!("Currency {c}"));
    }
    notes.extend(extra.iter().cloned());
    notes
}

/// Renders on a thread of its own at the lowest CPU priority (nice 19 on Linux), so an export
/// never holds up the async workers that serve the tills, and when a till and an export both
/// want a core the till gets it; the lane bounds how many such threads run at once.
pub async fn render<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RenderError> + Send + 'static,
) -> Result<T, ApiError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ringup-export".to_owned())
        .spawn(move || {
            // Best effort: where the priority cannot be lowered, the export still renders.
            let _ = lowest_priority();
            let _ = answer.send(work());
        })
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    answered
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(failed)
}

/// Lowers the calling thread's CPU priority to the least there is.
fn lowest_priority() -> Result<(), thread_priority::Error> {
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
}

/// The export as an HTTP response, with a file name that says what it is. `pass` (the
/// report's place in the lane) is held until the body is sent: to its end for a streamed CSV.
pub async fn respond(
    report: &str,
    format: Format,
    table: Table,
    chart: Option<Chart>,
    pass: LanePass,
) -> Result<Response, ApiError> {
    let (media, extension, body) = match format {
        Format::Csv => {
            // Rendered as the body is sent, a chunk of rows at a time, in the lane throughout.
            let chunks = ringup_export::csv_chunks_owned(table).inspect(move |_| {
                let _in_lane = &pass;
            });
            let body = Body::from_stream(futures::stream::iter(chunks));
            ("text/csv; charset=utf-8", "csv", body)
        }
        Format::Xlsx => {
            let bytes = render(move || ringup_export::xlsx(&table)).await?;
            (XLSX, "xlsx", Body::from(bytes))
        }
        Format::Pdf => {
            let bytes = render(move || ringup_export::pdf(&table, chart.as_ref())).await?;
            ("application/pdf", "pdf", Body::from(bytes))
        }
        Format::Json => return Err(ApiError::NotAcceptable),
    };
    let disposition = format!("attachment; filename=\"ringup-{report}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, media.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The sales chart's two series.
pub fn chart(chart: &SalesChart) -> Chart {
    let currency = currency(chart.scope.currency.as_deref());
    let period = &chart.period;
    let previous = period.previous();
    Chart {
        title: format!("Sales {} to {}", period.from(), period.to()),
        currency,
        current: Series {
            label: format!("{} to {}", period.from(), period.to()),
            points: chart.current.clone(),
        },
        previous: Series {
            label: format!("{} to {}", previous.from(), previous.to()),
            points: chart.previous.clone(),
        },
    }
}

pub fn sales_table(r: &SalesReport) -> Result<Table, ApiError> {
    let time = matches!(r.group_by, "day");
    let key_kind = if time { Kind::Date } else { Kind::Text };
    let spec = [
        ("key", key_kind),
        ("label", Kind::Text),
        ("sales", Kind::Integer),
        ("gross", Kind::Money),
        ("discounts", Kind::Money),
        ("net", Kind::Money),
        ("tax", Kind::Money),
        ("total", Kind::Money),
        ("returns", Kind::Integer),
        ("refunds", Kind::Money),
        ("average_basket", Kind::Money),
    ];
    let key = |k: Option<&str>| -> Cell {
        match (time, k) {
            (true, Some(k)) => k.parse().map_or_else(|_| text(Some(k)), Cell::Date),
            (_, k) => text(k),
        }
    };
    let rows = r
        .rows
        .iter()
        .map(|row| {
            let f = &row.figures;
            vec![
                key(row.key.as_deref()),
                text(row.label.as_deref()),
                Cell::Int(f.sales),
                Cell::Money(f.gross),
                Cell::Money(f.discounts),
                Cell::Money(f.net),
                Cell::Money(f.tax),
                Cell::Money(f.total),
                Cell::Int(f.returns),
                Cell::Money(f.refunds),
                Cell::Money(row.average_basket),
            ]
        })
        .collect();
    let t = &r.totals.figures;
    Ok(Table {
        title: format!("Sales report {} to {} by {}", r.from, r.to, r.group_by),
        notes: notes(
            r.store_id.as_deref(),
            r.currency.as_deref(),
            &[format!(
                "Previous period total {}, sales {}",
                r.previous.figures.total, r.previous.figures.sales
            )],
        ),
        currency: Some(currency(r.currency.as_deref())),
        columns: columns(&spec),
        rows,
        totals: Some(vec![
            Cell::Text("totals".to_owned()),
            Cell::Empty,
            Cell::Int(t.sales),
            Cell::Money(t.gross),
            Cell::Money(t.discounts),
            Cell::Money(t.net),
            Cell::Money(t.tax),
            Cell::Money(t.total),
            Cell::Int(t.returns),
            Cell::Money(t.refunds),
            Cell::Money(r.totals.average_basket),
        ]),
    })
}

pub fn tax_table(r: &TaxReport) -> Result<Table, ApiError> {
    let spec = [
        ("tax_class_id", Kind::Text),
        ("name", Kind::Text),
        ("rate_bp", Kind::Integer),
        ("net", Kind::Money),
        ("tax", Kind::Money),
        ("total", Kind::Money),
        ("refund_net", Kind::Money),
        ("refund_tax", Kind::Money),
    ];
    let line = |row: &ringup_app::reports::TaxRow, first: Cell| {
        vec![
            first,
            text(row.name.as_deref()),
            Cell::Int(row.rate_bp),
            Cell::Money(row.net),
            Cell::Money(row.tax),
            Cell::Money(row.total),
            Cell::Money(row.refund_net),
            Cell::Money(row.refund_tax),
        ]
    };
    let mut totals = line(&r.totals, Cell::Text("totals".to_owned()));
    if let Some(rate) = totals.get_mut(2) {
        *rate = Cell::Empty;
    }
    Ok(Table {
        title: format!("Tax report {} to {}", r.from, r.to),
        notes: notes(r.store_id.as_deref(), r.currency.as_deref(), &[]),
        currency: Some(currency(r.currency.as_deref())),
        columns: columns(&spec),
        rows: r
            .rows
            .iter()
            .map(|row| line(row, text(row.tax_class_id.as_deref())))
            .collect(),
        totals: Some(totals),
    })
}

pub fn commissions_table(r: &CommissionsReport) -> Result<Table, ApiError> {
    let spec = [
        ("cashier_id", Kind::Text),
        ("username", Kind::Text),
        ("sales", Kind::Integer),
        ("net_total", Kind::Money),
        ("commission", Kind::Money),
    ];
    let line = |row: &ringup_app::reports::CommissionRow, first: Cell| {
        vec![
            first,
            text(row.username.as_deref()),
            Cell::Int(row.sales),
            Cell::Money(row.net_total),
            Cell::Money(row.commission),
        ]
    };
    Ok(Table {
        title: format!("Commissions {} to {}", r.from, r.to),
        notes: notes(r.store_id.as_deref(), r.currency.as_deref(), &[]),
        currency: Some(currency(r.currency.as_deref())),
        columns: columns(&spec),
        rows: r
            .rows
            .iter()
            .map(|row| line(row, text(row.cashier_id.as_deref())))
            .collect(),
        totals: Some(line(&r.totals, Cell::Text("totals".to_owned()))),
    })
}

pub fn shifts_table(r: &ShiftsReport) -> Result<Table, ApiError> {
    let spec = [
        ("shift_id", Kind::Text),
        ("register_id", Kind::Text),
        ("cashier_id", Kind::Text),
        ("opened_at", Kind::Text),
        ("closed_at", Kind::Text),
        ("expected_cash", Kind::Money),
        ("counted_cash", Kind::Money),
        ("over_short", Kind::Money),
    ];
    let cashiers: Vec<String> = r
        .cashiers
        .iter()
        .map(|c| {
            format!(
                "Over/short of {}: {}",
                c.username.as_deref().unwrap_or(&c.cashier_id),
                c.over_short
            )
        })
        .collect();
    Ok(Table {
        title: format!("Shifts closed {} to {}", r.from, r.to),
        notes: notes(r.store_id.as_deref(), r.currency.as_deref(), &cashiers),
        currency: Some(currency(r.currency.as_deref())),
        columns: columns(&spec),
        rows: r
            .rows
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.shift_id.clone()),
                    Cell::Text(s.register_id.clone()),
                    Cell::Text(s.cashier_id.clone()),
                    Cell::Text(s.opened_at.clone()),
                    Cell::Text(s.closed_at.clone()),
                    Cell::Money(s.expected_cash),
                    Cell::Money(s.counted_cash),
                    Cell::Money(s.over_short),
                ]
            })
            .collect(),
        totals: Some(vec![
            Cell::Text("totals".to_owned()),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Money(r.totals.expected_cash),
            Cell::Money(r.totals.counted_cash),
            Cell::Money(r.totals.over_short),
        ]),
    })
}

pub fn valuation_table(r: &ValuationReport) -> Result<Table, ApiError> {
    let spec = [
        ("store_id", Kind::Text),
        ("category_id", Kind::Text),
        ("quantity", Kind::Integer),
        ("cost_value", Kind::Money),
        ("retail_value", Kind::Money),
    ];
    let line = |row: &ringup_app::reports::ValuationRow, first: Cell| {
        vec![
            first,
            text(row.category_id.as_deref()),
            Cell::Int(row.quantity),
            Cell::Money(row.cost_value),
            Cell::Money(row.retail_value),
        ]
    };
    Ok(Table {
        title: "Inventory valuation".to_owned(),
        notes: notes(r.store_id.as_deref(), r.currency.as_deref(), &[]),
        currency: Some(currency(r.currency.as_deref())),
        columns: columns(&spec),
        rows: r
            .rows
            .iter()
            .map(|row| line(row, text(row.store_id.as_deref())))
            .collect(),
        totals: Some(line(&r.totals, Cell::Text("totals".to_owned()))),
    })
}

pub fn movements_table(r: &MovementsReport) -> Result<Table, ApiError> {
    let spec = [
        ("kind", Kind::Text),
        ("movements", Kind::Integer),
        ("quantity", Kind::Integer),
    ];
    let line = |row: &ringup_app::reports::MovementRow, first: Cell| {
        vec![first, Cell::Int(row.movements), Cell::Int(row.quantity)]
    };
    Ok(Table {
        title: format!("Stock movements {} to {}", r.from, r.to),
        notes: notes(r.store_id.as_deref(), None, &[]),
        currency: None,
        columns: columns(&spec),
        rows: r
            .rows
            .iter()
            .map(|row| line(row, text(row.kind.as_deref())))
            .collect(),
        totals: Some(line(&r.totals, Cell::Text("totals".to_owned()))),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The calling thread's nice value, from `/proc/thread-self/stat` (field 19).
    #[cfg(target_os = "linux")]
    fn nice() -> Result<i64, RenderError> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name may hold spaces: the fields are counted after its `)`.
        let after_name = stat.rsplit_once(')').unwrap().1;
        Ok(after_name
            .split_whitespace()
            .nth(16)
            .unwrap()
            .parse()
            .unwrap())
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn exports_render_at_the_lowest_cpu_priority_off_the_async_workers() {
        let here = std::thread::current().id();
        let (nice, there) = render(|| Ok((nice()?, std::thread::current().id())))
            .await
            .unwrap();
        assert_eq!(nice, 19);
        assert_ne!(there, here);
    }

    #[tokio::test]
    async fn a_render_that_fails_is_an_internal_error() {
        let failed = render::<()>(|| Err(RenderError::MissingCurrency));
        assert!(matches!(failed.await, Err(ApiError::Internal(_))));
    }
}
