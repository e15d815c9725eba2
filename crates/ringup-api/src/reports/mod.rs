//! `/api/v1/reports/*` (API.md "Reports"): parse the query, pick the format, take a place in
//! the report lane, call the use case, answer JSON or an export (audited as
//! `report.exported`).
//!
//! Invariants: a format the client did not ask for is never sent (406 when none of
//! `?format=` or `Accept` can be served); `?format=` beats `Accept`; every report runs while
//! holding a [`ringup_app::reports::LanePass`].

mod export;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::reports::{self, LanePass, ReportQuery, SalesGroup};
use ringup_core::catalog::CurrencyCode;
use ringup_core::ids::StoreId;
use ringup_core::reports::period::parse_day;

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sales_report))
        .routes(routes!(sales_chart))
        .routes(routes!(tax_report))
        .routes(routes!(commissions_report))
        .routes(routes!(shifts_report))
        .routes(routes!(inventory_valuation_report))
        .routes(routes!(stock_movements_report))
}

/// The query every report takes (`group_by` only the sales report, dates all but the
/// inventory valuation).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// First local day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive; at most 3,660 days after `from`).
    pub to: Option<String>,
    /// One store; without it, every store the caller sees.
    pub store_id: Option<String>,
    /// The currency of a chain whose stores use several.
    pub currency: Option<String>,
    /// Sales report: day, week, month, store, cashier, product, category or tender.
    pub group_by: Option<String>,
    /// json, csv, xlsx or pdf (charts: svg or png); wins over `Accept`.
    pub format: Option<String>,
}

impl ReportParams {
    fn query(&self) -> ReportQuery {
        let mut problems = Vec::new();
        let mut day = |field: &str, text: &Option<String>| {
            let text = text.as_deref()?;
            match parse_day(text) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(FieldError::new(field, e.to_string()));
                    None
                }
            }
        };
        let from = day("from", &self.from);
        let to = day("to", &self.to);
        let store_id = self
            .store_id
            .as_deref()
            .and_then(|s| match StoreId::parse(s) {
                Ok(id) => Some(id),
                Err(_) => {
                    problems.push(FieldError::new("store_id", "is not a known store"));
                    None
                }
            });
        let currency = self
            .currency
            .as_deref()
            .and_then(|c| match CurrencyCode::parse(c) {
                Ok(code) => Some(code.as_str().to_owned()),
                Err(e) => {
                    problems.push(FieldError::new("currency", e.to_string()));
                    None
                }
            });
        ReportQuery {
            from,
            to,
            store_id,
            currency,
            problems,
        }
    }
}

/// What a report is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }
}

/// The media types of `Accept` the client takes, most wanted first: ranges with `q=0` are
/// refused ones and left out, the rest ordered by their `q` (1 when absent), ties in the order
/// given. `*/*` when there is no header.
fn accepted(headers: &HeaderMap) -> Vec<String> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return vec!["*/*".to_owned()];
    };
    let Ok(accept) = accept.to_str() else {
        return Vec::new();
    };
    let mut ranges: Vec<(u16, String)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(Some(1000), quality)?;
            (q > 0 && !media.is_empty()).then_some((q, media))
        })
        .collect();
    // A stable sort keeps the client's order among equal weights.
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    ranges.into_iter().map(|(_, media)| media).collect()
}

/// A `q` value in thousandths (`0.5` → 500); `None` when it is not a number from 0 to 1.
fn quality(text: &str) -> Option<u16> {
    let value: f64 = text.trim().parse().ok()?;
    if !(0.0..=1.0).contains(&value) {
        return None;
    }
    // In range 0..=1000 by the check above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let thousandths = (value * 1000.0).round() as u16;
    Some(thousandths)
}

/// `?format=` if given (anything but json, csv, xlsx or pdf is 406), else the first media
/// type of `Accept` we serve.
fn negotiate(param: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    if let Some(name) = param {
        return match name {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "pdf" => Ok(Format::Pdf),
            _ => Err(ApiError::NotAcceptable),
        };
    }
    for media in accepted(headers) {
        match media.as_str() {
            "application/json" | "application/*" | "*/*" => return Ok(Format::Json),
            "text/csv" | "text/*" => return Ok(Format::Csv),
            "application/pdf" => return Ok(Format::Pdf),
            m if m == XLSX => return Ok(Format::Xlsx),
            _ => {}
        }
    }
    Err(ApiError::NotAcceptable)
}

/// What a chart is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChartFormat {
    Svg,
    Png,
}

fn negotiate_chart(param: Option<&str>, headers: &HeaderMap) -> Result<ChartFormat, ApiError> {
    if let Some(name) = param {
        return match name {
            "svg" => Ok(ChartFormat::Svg),
            "png" => Ok(ChartFormat::Png),
            _ => Err(ApiError::NotAcceptable),
        };
    }
    for media in accepted(headers) {
        match media.as_str() {
            "image/svg+xml" | "image/*" | "*/*" => return Ok(ChartFormat::Svg),
            "image/png" => return Ok(ChartFormat::Png),
            _ => {}
        }
    }
    Err(ApiError::NotAcceptable)
}

/// The parts of a request every report handler passes on.
struct Asked<'a> {
    state: &'a AppState,
    principal: &'a Principal,
    meta: &'a RequestMeta,
    format: Format,
    query: ReportQuery,
}

impl Asked<'_> {
    /// The report as JSON, or exported and audited.
    async fn answer<R: serde::Serialize>(
        self,
        report: &str,
        value: R,
        table: impl FnOnce(&R) -> Result<ringup_export::Table, ApiError>,
        chart: Option<ringup_export::Chart>,
        pass: LanePass,
    ) -> Result<Response, ApiError> {
        if self.format == Format::Json {
            return Ok(ApiJson(value).into_response());
        }
        let table = table(&value)?;
        let response = export::respond(report, self.format, table, chart, pass).await?;
        let request = self.state.write_request(self.principal, self.meta, None);
        reports::record_export(
            &self.state.db,
            request,
            report,
            self.format.name(),
            &self.query,
        )
        .await?;
        Ok(response)
    }
}

/// Sales by day, week, month, store, cashier, product, category or tender, with the period
/// before and the change in percent.
#[utoipa::path(get, path = "/api/v1/reports/sales", tag = "reports", params(ReportParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The report as JSON (default), CSV, XLSX or PDF"),
        (status = 403), (status = 406), (status = 422), (status = 503)))]
pub async fn sales_report(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let format = negotiate(params.format.as_deref(), &headers)?;
    let mut query = params.query();
    let group = match params.group_by.as_deref() {
        None => SalesGroup::Day,
        Some(g) => SalesGroup::parse(g).unwrap_or_else(|| {
            query.problems.push(FieldError::new(
                "group_by",
                "must be day, week, month, store, cashier, product, category or tender",
            ));
            SalesGroup::Day
        }),
    };
    let pass = state.reports.enter().await?;
    let report = reports::sales_report(&state.db, &principal, &query, group).await?;
    let chart = if format == Format::Pdf {
        let chart = reports::sales_chart(&state.db, &principal, &query).await?;
        Some(export::chart(&chart))
    } else {
        None
    };
    let asked = Asked {
        state: &state,
        principal: &principal,
        meta: &meta,
        format,
        query,
    };
    asked
        .answer("sales", report, export::sales_table, chart, pass)
        .await
}

/// The sales report's `total` per day against the period before, as SVG or PNG.
#[utoipa::path(get, path = "/api/v1/reports/sales/chart", tag = "reports", params(ReportParams),
    security(("bearer" = [])),
    responses((status = 200, description = "image/svg+xml (default) or image/png"),
        (status = 403), (status = 406), (status = 422), (status = 503)))]
pub async fn sales_chart(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let format = negotiate_chart(params.format.as_deref(), &headers)?;
    let query = params.query();
    let pass = state.reports.enter().await?;
    let chart = reports::sales_chart(&state.db, &principal, &query).await?;
    let chart = export::chart(&chart);
    let response = match format {
        ChartFormat::Svg => {
            let svg = export::render(move || ringup_export::chart_svg(&chart)).await?;
            ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
        }
        ChartFormat::Png => {
            let png = export::render(move || ringup_export::chart_png(&chart)).await?;
            ([(header::CONTENT_TYPE, "image/png")], png).into_response()
        }
    };
    drop(pass);
    Ok(response)
}

macro_rules! report_handler {
    ($(#[$doc:meta])* $name:ident, $path:literal, $report:literal, $use_case:path, $table:path) => {
        $(#[$doc])*
        #[utoipa::path(get, path = $path, tag = "reports", params(ReportParams),
            security(("bearer" = [])),
            responses((status = 200, description = "The report as JSON (default), CSV, XLSX or PDF"),
                (status = 403), (status = 406), (status = 422), (status = 503)))]
        pub async fn $name(
            State(state): State<AppState>,
            principal: Principal,
            meta: RequestMeta,
            headers: HeaderMap,
            ApiQuery(params): ApiQuery<ReportParams>,
        ) -> Result<Response, ApiError> {
            let format = negotiate(params.format.as_deref(), &headers)?;
            let query = params.query();
            let pass = state.reports.enter().await?;
            let report = $use_case(&state.db, &principal, &query).await?;
            let asked = Asked {
                state: &state,
                principal: &principal,
                meta: &meta,
                format,
                query,
            };
            asked.answer($report, report, $table, None, pass).await
        }
    };
}

report_handler!(
    /// Net, tax and total per tax class and rate; returns in the refund columns.
    tax_report,
    "/api/v1/reports/tax",
    "tax",
    reports::tax_report,
    export::tax_table
);
report_handler!(
    /// Per cashier: sales, net total and commission.
    commissions_report,
    "/api/v1/reports/commissions",
    "commissions",
    reports::commissions_report,
    export::commissions_table
);
report_handler!(
    /// Shifts closed in the period with their over/short, and each cashier's sum.
    shifts_report,
    "/api/v1/reports/shifts",
    "shifts",
    reports::shifts_report,
    export::shifts_table
);
report_handler!(
    /// Stock on hand valued at cost and at price, per store and category, now.
    inventory_valuation_report,
    "/api/v1/reports/inventory-valuation",
    "inventory-valuation",
    reports::valuation_report,
    export::valuation_table
);
report_handler!(
    /// Stock movements per kind: how many and the sum of their deltas.
    stock_movements_report,
    "/api/v1/reports/stock-movements",
    "stock-movements",
    reports::movements_report,
    export::movements_table
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn accept_is_read_by_quality_and_refused_types_are_never_chosen() {
        assert_eq!(negotiate(None, &HeaderMap::new()).unwrap(), Format::Json);
        let refused = accept("text/csv;q=0, application/json");
        assert_eq!(negotiate(None, &refused).unwrap(), Format::Json);
        let weighted = accept("application/json;q=0.5, application/pdf");
        assert_eq!(negotiate(None, &weighted).unwrap(), Format::Pdf);
        assert_eq!(
            negotiate(None, &accept("text/csv, application/pdf")).unwrap(),
            Format::Csv
        );
        assert!(negotiate(None, &accept("text/html, text/csv;q=0")).is_err());
        assert!(negotiate(None, &accept("text/csv;q=2")).is_err());
        assert_eq!(negotiate(Some("xlsx"), &refused).unwrap(), Format::Xlsx);
        assert!(negotiate(Some("xml"), &HeaderMap::new()).is_err());
    }
}
