//! The report table and the sales chart as callers hand them to the renderers.
//!
//! Guarantees every renderer relies on:
//! - A row is read as exactly `columns.len()` cells ([`Table::cells`]): a short row is padded
//!   with [`Cell::Empty`], cells past the last column are ignored. No renderer indexes a row.
//! - [`Table::money_decimals`] is the one check that a table holding money has a currency
//!   whose `decimals` is at most [`MAX_DECIMALS`]; every format calls it before writing.
//! - [`Cell::text`] is the one textual form of a cell, shared by CSV and PDF, so the two agree.

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::RenderError;
use crate::money::major_units;

/// The most minor-unit digits a currency may have here. ISO 4217 currencies have at most 4;
/// 18 keeps `10^decimals` exact in `i64` and `f64` scaling meaningful.
pub const MAX_DECIMALS: u32 = 18;

/// The currency of a table's or chart's money: ISO code and digits after the point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code, e.g. `KES`; shown beside amounts in XLSX and on the chart's axis.
    pub code: String,
    /// Minor-unit digits: KES 2, JPY 0, KWD 3.
    pub decimals: u32,
}

/// What a column holds; decides alignment (PDF) and number formats (XLSX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Money,
    Date,
    Percent,
}

impl Kind {
    /// Numbers read best right-aligned.
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Kind::Integer | Kind::Money | Kind::Percent)
    }

    /// Values that mean nothing cut short (numbers, dates), unlike free text.
    pub(crate) fn keeps_whole(self) -> bool {
        self != Kind::Text
    }
}

/// One column: `name` is the JSON field name and the header in every format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: Kind) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }
}

/// One value. Each format renders a cell by its own variant, whatever the column's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// An amount in minor units of the table's currency.
    Money(i64),
    Date(NaiveDate),
    /// A percentage as a percent number (12.5 means 12.5 %); `None`, NaN and infinities
    /// render as an empty cell.
    Percent(Option<f64>),
    Empty,
}

/// Padding for short rows.
static EMPTY: Cell = Cell::Empty;

impl Cell {
    /// The cell as CSV and PDF show it: money in major units with `decimals` digits, dates
    /// `YYYY-MM-DD`, percentages with two decimals, empty for `Empty` and for a percentage
    /// that is `None` or not finite.
    pub(crate) fn text(&self, decimals: u32) -> Cow<'_, str> {
        match self {
            Cell::Text(text) => Cow::Borrowed(text),
            Cell::Int(value) => Cow::Owned(value.to_string()),
            Cell::Money(minor) => Cow::Owned(major_units(*minor, decimals)),
            Cell::Date(date) => Cow::Owned(date.format("%Y-%m-%d").to_string()),
            Cell::Percent(value) => match finite(*value) {
                Some(value) => Cow::Owned(percent_text(value)),
                None => Cow::Borrowed(""),
            },
            Cell::Empty => Cow::Borrowed(""),
        }
    }
}

/// The value of a percentage cell worth writing: `None` for `None`, NaN and infinities.
pub(crate) fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// Two decimals, and never `-0.00`: a value that rounds to zero prints as `0.00`.
fn percent_text(value: f64) -> String {
    let text = format!("{value:.2}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => text,
    }
}

/// A report table: heading lines, typed columns, rows, and an optional totals row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// e.g. "Sales report 2026-11-01 to 2026-11-30".
    pub title: String,
    /// Extra heading lines for PDF and XLSX, e.g. "Store NRB1 (Nairobi)".
    pub notes: Vec<String>,
    /// Needed when any column is `Money` or any cell is `Cell::Money`.
    pub currency: Option<Currency>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Ends the table; its first cell is usually `Text("totals")`.
    pub totals: Option<Vec<Cell>>,
}

impl Table {
    /// Exactly `columns.len()` cells of `row`: padded with `Empty`, extra cells dropped.
    pub(crate) fn cells<'a>(&'a self, row: &'a [Cell]) -> impl Iterator<Item = &'a Cell> + 'a {
        row.iter()
            .chain(std::iter::repeat(&EMPTY))
            .take(self.columns.len())
    }

    /// Every row as it is rendered, the totals row last.
    pub(crate) fn all_rows(&self) -> impl Iterator<Item = &[Cell]> + '_ {
        self.rows
            .iter()
            .map(Vec::as_slice)
            .chain(self.totals.as_deref())
    }

    /// The currency's decimals, after checking the table can be rendered: a table with a
    /// `Money` column or a money cell needs a currency, and its decimals must be at most
    /// [`MAX_DECIMALS`]. Without money and without a currency the answer is 0 (unused).
    pub(crate) fn money_decimals(&self) -> Result<u32, RenderError> {
        if let Some(currency) = &self.currency {
            return check_currency(currency);
        }
        let money_column = self.columns.iter().any(|c| c.kind == Kind::Money);
        let money_cell = || {
            self.all_rows()
                .any(|row| self.cells(row).any(|c| matches!(c, Cell::Money(_))))
        };
        if money_column || money_cell() {
            return Err(RenderError::MissingCurrency);
        }
        Ok(0)
    }
}

/// `currency.decimals`, if renderable.
pub(crate) fn check_currency(currency: &Currency) -> Result<u32, RenderError> {
    if currency.decimals > MAX_DECIMALS {
        return Err(RenderError::Decimals {
            decimals: currency.decimals,
            max: MAX_DECIMALS,
        });
    }
    Ok(currency.decimals)
}

/// `10^decimals` as a float, for showing minor units as major units in XLSX and charts.
/// Exact for every `decimals <= MAX_DECIMALS`.
pub(crate) fn minor_per_major(decimals: u32) -> f64 {
    10f64.powi(i32::try_from(decimals.min(MAX_DECIMALS)).unwrap_or(0))
}

/// One line of the chart: an amount (minor units) per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Shown in the legend, e.g. "2026-11-01 to 2026-11-30".
    pub label: String,
    pub points: Vec<(NaiveDate, i64)>,
}

/// Sales per day of a period against the previous period of the same length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub currency: Currency,
    pub current: Series,
    pub previous: Series,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn table(columns: Vec<Column>, rows: Vec<Vec<Cell>>) -> Table {
        Table {
            title: "t".into(),
            notes: vec![],
            currency: None,
            columns,
            rows,
            totals: None,
        }
    }

    #[test]
    fn rows_are_read_as_exactly_one_cell_per_column() {
        let t = table(
            vec![
                Column::new("a", Kind::Text),
                Column::new("b", Kind::Integer),
            ],
            vec![],
        );
        let short = [Cell::Int(1)];
        let long = [Cell::Int(1), Cell::Int(2), Cell::Int(3)];
        assert_eq!(
            t.cells(&short).collect::<Vec<_>>(),
            [&Cell::Int(1), &Cell::Empty]
        );
        assert_eq!(
            t.cells(&long).collect::<Vec<_>>(),
            [&Cell::Int(1), &Cell::Int(2)]
        );
    }

    #[test]
    fn money_needs_a_currency_with_sane_decimals() {
        let by_column = table(vec![Column::new("m", Kind::Money)], vec![]);
        assert!(matches!(
            by_column.money_decimals(),
            Err(RenderError::MissingCurrency)
        ));
        let by_cell = table(
            vec![Column::new("t", Kind::Text)],
            vec![vec![Cell::Money(5)]],
        );
        assert!(matches!(
            by_cell.money_decimals(),
            Err(RenderError::MissingCurrency)
        ));
        // A money cell past the last column is not rendered, so it needs nothing.
        let ignored = table(
            vec![Column::new("t", Kind::Text)],
            vec![vec![Cell::Empty, Cell::Money(5)]],
        );
        assert_eq!(ignored.money_decimals().unwrap(), 0);

        let mut with = by_column.clone();
        with.currency = Some(Currency {
            code: "KWD".into(),
            decimals: 3,
        });
        assert_eq!(with.money_decimals().unwrap(), 3);
        with.currency = Some(Currency {
            code: "XXX".into(),
            decimals: 19,
        });
        assert!(matches!(
            with.money_decimals(),
            Err(RenderError::Decimals { decimals: 19, .. })
        ));
    }

    #[test]
    fn cell_text() {
        assert_eq!(Cell::Money(-5).text(2), "-0.05");
        assert_eq!(
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()).text(0),
            "2026-01-02"
        );
        assert_eq!(Cell::Percent(Some(12.345)).text(0), "12.35");
        assert_eq!(Cell::Percent(Some(-0.001)).text(0), "0.00");
        assert_eq!(Cell::Percent(Some(-1.5)).text(0), "-1.50");
        assert_eq!(Cell::Percent(Some(f64::NAN)).text(0), "");
        assert_eq!(Cell::Percent(None).text(0), "");
        assert_eq!(Cell::Int(i64::MIN).text(0), "-9223372036854775808");
        assert_eq!(minor_per_major(2), 100.0);
    }
}
