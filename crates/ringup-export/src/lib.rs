//! Report exports: a [`Table`] as CSV, XLSX or PDF, and the sales [`Chart`] as SVG or PNG
//! (and inside the PDF).
//!
//! Guarantees, for every format:
//! - No I/O, no clock, no network, no system fonts: the output depends on the input alone
//!   (the PNG's text is drawn with a font compiled into the binary; the PDF uses the PDF's
//!   built-in Helvetica).
//! - No panic on any input: empty tables, ragged rows (read as one cell per column, see
//!   [`Table`]), very long text, all-zero, negative or single-day series, thousands of days.
//!   Drawing code of third-party crates is run under `catch_unwind` and a panic there becomes
//!   [`RenderError::Chart`].
//! - Money is shown in major units from exact integer arithmetic ([`major_units`]) in text
//!   formats; XLSX stores it as a number in major units with the currency in its format.
//! - A table with money and no currency (or more than [`MAX_DECIMALS`] decimals) is refused
//!   with a [`RenderError`] before anything is written.

mod chart;
mod csv_export;
mod model;
mod money;
mod pdf_export;
mod xlsx_export;

#[cfg(test)]
mod fixtures;

pub use chart::{CHART_HEIGHT, CHART_WIDTH, chart_png, chart_svg};
pub use csv_export::{csv_chunks, csv_chunks_owned};
pub use model::{Cell, Chart, Column, Currency, Kind, MAX_DECIMALS, Series, Table};
pub use money::major_units;
pub use pdf_export::pdf;
pub use xlsx_export::xlsx;

/// Why a table or chart could not be rendered. The messages are for logs, not for users.
#[derive(thiserror::Error, Debug)]
pub enum RenderError {
    /// The table has a `Money` column or cell but no `currency`.
    #[error("the table holds money but has no currency")]
    MissingCurrency,
    /// The currency has more minor-unit digits than any real one.
    #[error("a currency with {decimals} decimals is not supported (at most {max})")]
    Decimals { decimals: u32, max: u32 },
    /// The table does not fit the format, e.g. more rows than an XLSX sheet holds.
    #[error("the table has {count} {what}, more than the {limit} this format holds")]
    TooLarge {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// The CSV writer failed.
    #[error("writing CSV failed")]
    Csv(#[source] csv::Error),
    /// The XLSX writer failed.
    #[error("writing XLSX failed")]
    Xlsx(#[source] rust_xlsxwriter::XlsxError),
    /// The PDF writer reported an error.
    #[error("writing PDF failed: {0}")]
    Pdf(String),
    /// Drawing the chart failed (or the drawing library panicked).
    #[error("drawing the chart failed: {0}")]
    Chart(String),
    /// Encoding the chart as PNG failed.
    #[error("encoding PNG failed")]
    Png(#[source] png::EncodingError),
}

#[cfg(test)]
mod tests {
    /// Errors cross threads and tasks (a streaming body, `spawn_blocking`).
    #[test]
    fn render_error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::RenderError>();
    }
}
