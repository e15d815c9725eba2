//! A table as CSV (RFC 4180), in chunks a streaming HTTP body can send as they come.
//!
//! Guarantees: CRLF after every record; a field is quoted when it holds a comma, a quote, CR
//! or LF (quotes doubled inside); the header is the column names, then the rows, then the
//! totals row; every record has exactly one field per column. Cells read as [`Cell::text`]
//! shows them: money in major units, dates `YYYY-MM-DD`, percentages with two decimals.
//! The concatenation of the chunks is the document; each chunk ends on a record boundary.
//! A table that cannot be rendered (money without currency) yields one `Err` and nothing else.

use std::borrow::Borrow;

use crate::RenderError;
use crate::model::{Cell, Table};

/// A chunk is handed out once it holds about this many bytes, so a large table streams in
/// pieces worth a write each rather than one tiny piece per row.
const CHUNK_BYTES: usize = 16 * 1024;

/// CSV per RFC 4180 (see the module doc), as chunks of whole records. Nothing is rendered
/// until the iterator is polled; memory stays at about one chunk whatever the table's size.
pub fn csv_chunks(table: &Table) -> impl Iterator<Item = Result<String, RenderError>> + '_ {
    CsvChunks::new(table)
}

/// [`csv_chunks`] owning its table, for a response body that must be `'static` (e.g.
/// `Body::from_stream(futures::stream::iter(csv_chunks_owned(table)))`, or a blocking task
/// sending chunks down a channel).
pub fn csv_chunks_owned(
    table: Table,
) -> impl Iterator<Item = Result<String, RenderError>> + Send + 'static {
    CsvChunks::new(table)
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::with_capacity(CHUNK_BYTES + 1024))
}

enum State {
    Start,
    /// The next data row to write (`rows.len()` means the totals row is next).
    Row {
        decimals: u32,
        next: usize,
    },
    Done,
}

/// The table (borrowed or owned), where the writing got to, and the chunk being filled.
struct CsvChunks<T> {
    table: T,
    state: State,
    writer: csv::Writer<Vec<u8>>,
}

impl<T: Borrow<Table>> CsvChunks<T> {
    fn new(table: T) -> Self {
        Self {
            table,
            state: State::Start,
            writer: writer(),
        }
    }

    /// Writes records into the buffer until it is a chunk's worth or the table ends.
    fn fill(&mut self) -> Result<Option<String>, RenderError> {
        let table = self.table.borrow();
        loop {
            match &mut self.state {
                State::Done => return Ok(None),
                State::Start => {
                    let decimals = table.money_decimals()?;
                    let names = table.columns.iter().map(|c| c.name.as_str());
                    self.writer.write_record(names).map_err(RenderError::Csv)?;
                    self.state = State::Row { decimals, next: 0 };
                }
                State::Row { decimals, next } => {
                    let (decimals, index) = (*decimals, *next);
                    *next += 1;
                    match table.rows.get(index) {
                        Some(row) => write_row(&mut self.writer, table, row, decimals)?,
                        None => {
                            if let Some(totals) = &table.totals {
                                write_row(&mut self.writer, table, totals, decimals)?;
                            }
                            self.state = State::Done;
                        }
                    }
                }
            }
            let done = matches!(self.state, State::Done);
            self.writer
                .flush()
                .map_err(|e| RenderError::Csv(e.into()))?;
            if done || self.writer.get_ref().len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut self.writer, writer());
                let bytes = full
                    .into_inner()
                    .map_err(|e| RenderError::Csv(e.into_error().into()))?;
                // Every field came from a `&str`, so the bytes are UTF-8.
                return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
}

fn write_row(
    writer: &mut csv::Writer<Vec<u8>>,
    table: &Table,
    row: &[Cell],
    decimals: u32,
) -> Result<(), RenderError> {
    let fields = table.cells(row).map(|cell| cell.text(decimals));
    writer
        .write_record(fields.map(|f| f.into_owned()))
        .map_err(RenderError::Csv)
}

impl<T: Borrow<Table>> Iterator for CsvChunks<T> {
    type Item = Result<String, RenderError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.fill() {
            Ok(chunk) => chunk.map(Ok),
            Err(error) => {
                self.state = State::Done;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures;
    use crate::model::{Column, Kind};

    fn render(table: &Table) -> String {
        csv_chunks(table).collect::<Result<String, _>>().unwrap()
    }

    fn read_back(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn reads_back_with_header_rows_and_totals() {
        let table = fixtures::sales_table(3);
        let text = render(&table);
        let records = read_back(&text);
        assert_eq!(
            records[0],
            ["product", "sold_on", "quantity", "revenue", "margin_pct"]
        );
        assert_eq!(records.len(), 1 + 3 + 1);
        assert_eq!(
            records[1],
            ["Cooking Oil 5L", "2026-11-01", "2", "1234.50", "23.46"]
        );
        // The awkward name survives quoting: comma, quote and newline.
        assert_eq!(records[2][0], "Soap, \"bar\"\nlarge");
        assert_eq!(records[2][3], "-0.05");
        assert_eq!(records[3][4], "", "a percentage of None is empty");
        assert_eq!(records[4], ["totals", "", "6", "1237.40", ""]);

        // RFC 4180 on the wire: CRLF record ends, doubled quotes.
        assert!(text.starts_with("product,sold_on,quantity,revenue,margin_pct\r\n"));
        assert!(text.contains("\"Soap, \"\"bar\"\"\nlarge\""));
        assert!(text.ends_with("totals,,6,1237.40,\r\n"));
    }

    #[test]
    fn large_tables_come_in_several_chunks_of_whole_records() {
        let table = fixtures::sales_table(5_000);
        let chunks = csv_chunks(&table).collect::<Result<Vec<_>, _>>().unwrap();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.ends_with("\r\n")));
        let records = read_back(&chunks.concat());
        assert_eq!(records.len(), 1 + 5_000 + 1);
        assert_eq!(records[5_001][0], "totals");
    }

    #[test]
    fn ragged_rows_get_one_field_per_column() {
        let mut table = fixtures::sales_table(0);
        table.rows = vec![
            vec![Cell::Text("short".into())],
            vec![Cell::Int(1); 9],
            vec![],
        ];
        table.totals = None;
        let records = read_back(&render(&table));
        assert_eq!(records.len(), 4);
        assert!(records.iter().all(|r| r.len() == 5));
        assert_eq!(records[1], ["short", "", "", "", ""]);
        assert_eq!(records[2], ["1", "1", "1", "1", "1"]);
    }

    #[test]
    fn the_owned_stream_is_the_same_document() {
        let table = fixtures::sales_table(2_000);
        let borrowed = render(&table);
        let owned = std::thread::spawn(move || {
            csv_chunks_owned(table)
                .collect::<Result<String, _>>()
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(owned, borrowed);
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let mut table = fixtures::sales_table(0);
        table.totals = None;
        assert_eq!(
            render(&table),
            "product,sold_on,quantity,revenue,margin_pct\r\n"
        );
    }

    #[test]
    fn money_without_a_currency_is_one_error() {
        let table = Table {
            title: "t".into(),
            notes: vec![],
            currency: None,
            columns: vec![Column::new("amount", Kind::Money)],
            rows: vec![vec![Cell::Money(1)]],
            totals: None,
        };
        let items = csv_chunks(&table).collect::<Vec<_>>();
        assert_eq!(items.len(), 1);
        assert!(matches!(items[0], Err(RenderError::MissingCurrency)));
    }
}
