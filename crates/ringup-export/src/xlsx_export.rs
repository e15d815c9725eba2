//! A table as an XLSX workbook.
//!
//! Guarantees:
//! - The first sheet, "Report", holds only the table: row 1 is the header (the column names,
//!   bold), the rows follow, then the totals row (bold). So the data reads back from cell A1
//!   with any reader. Panes are frozen below the header; the header has an autofilter over the
//!   data rows (not the totals, which sorting must not move).
//! - The second sheet, "About", holds the title and the notes; the title is also the
//!   workbook's document title.
//! - Integers, money and percentages are numeric cells; money is in major units
//!   (`minor / 10^decimals`) with a format showing the currency's decimals and code
//!   (`#,##0.00 "KES"`); dates are date cells (`yyyy-mm-dd`). A date Excel cannot hold
//!   (before 1900) is written as `YYYY-MM-DD` text; text longer than a cell holds is cut.
//! - Numbers above 2^53 lose precision: a spreadsheet cell is a double.

use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet,
};

use crate::RenderError;
use crate::model::{Cell, Table, finite, minor_per_major};

/// Excel's limits on a sheet and on a cell's text (UTF-16 units).
const MAX_ROWS: usize = 1_048_576;
const MAX_COLUMNS: usize = 16_384;
const MAX_CELL_TEXT: usize = 32_767;
/// Column widths in characters: at least a date's width, at most what a screen shows.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;

/// The table as an XLSX file (see the module doc for the layout).
pub fn xlsx(table: &Table) -> Result<Vec<u8>, RenderError> {
    let decimals = table.money_decimals()?;
    let data_rows = table.rows.len() + usize::from(table.totals.is_some());
    if data_rows + 1 > MAX_ROWS {
        return Err(RenderError::TooLarge {
            what: "rows",
            count: data_rows,
            limit: MAX_ROWS - 1,
        });
    }
    if table.columns.len() > MAX_COLUMNS {
        return Err(RenderError::TooLarge {
            what: "columns",
            count: table.columns.len(),
            limit: MAX_COLUMNS,
        });
    }
    let code = table.currency.as_ref().map_or("", |c| c.code.as_str());
    let plain = Formats::new(decimals, code, false);
    let bold = Formats::new(decimals, code, true);

    let mut workbook = Workbook::new();
    workbook.set_properties(&DocProperties::new().set_title(clip(&table.title)));

    let sheet = workbook.add_worksheet();
    sheet.set_name("Report").map_err(RenderError::Xlsx)?;
    write_table(sheet, table, decimals, &plain, &bold).map_err(RenderError::Xlsx)?;

    let about = workbook.add_worksheet();
    about.set_name("About").map_err(RenderError::Xlsx)?;
    write_about(about, table).map_err(RenderError::Xlsx)?;

    workbook.save_to_buffer().map_err(RenderError::Xlsx)
}

/// The cell formats of one row style (plain data rows, or the bold header and totals).
struct Formats {
    text: Format,
    integer: Format,
    money: Format,
    date: Format,
    percent: Format,
}

impl Formats {
    fn new(decimals: u32, code: &str, bold: bool) -> Self {
        let base = if bold {
            Format::new().set_bold()
        } else {
            Format::new()
        };
        Self {
            text: base.clone(),
            integer: base.clone().set_num_format("0"),
            money: base.clone().set_num_format(money_format(decimals, code)),
            date: base.clone().set_num_format("yyyy-mm-dd"),
            percent: base.set_num_format("0.00"),
        }
    }
}

/// `#,##0.00 "KES"`: grouped digits, the currency's decimals, the code as literal text (a
/// quote in the code is dropped so it cannot end the literal early).
fn money_format(decimals: u32, code: &str) -> String {
    let mut format = String::from("#,##0");
    if decimals > 0 {
        format.push('.');
        format.extend(std::iter::repeat_n('0', decimals as usize));
    }
    let code: String = code
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect();
    if !code.is_empty() {
        format.push_str(&format!(" \"{code}\""));
    }
    format
}

fn write_table(
    sheet: &mut Worksheet,
    table: &Table,
    decimals: u32,
    plain: &Formats,
    bold: &Formats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00DD_E4EE))
        .set_border_bottom(FormatBorder::Thin);
    let mut widths: Vec<usize> = Vec::with_capacity(table.columns.len());
    for (col, column) in (0u16..).zip(&table.columns) {
        sheet.write_string_with_format(0, col, clip(&column.name), &header)?;
        widths.push(column.name.chars().count());
    }

    let mut row_number: u32 = 0;
    for row in &table.rows {
        row_number += 1;
        write_row(sheet, table, row, row_number, decimals, plain, &mut widths)?;
    }
    let last_data_row = row_number;
    if let Some(totals) = &table.totals {
        row_number += 1;
        write_row(
            sheet,
            table,
            totals,
            row_number,
            decimals,
            bold,
            &mut widths,
        )?;
        let top = bold.text.clone().set_border_top(FormatBorder::Thin);
        for (col, cell) in (0u16..).zip(table.cells(totals)) {
            if matches!(cell, Cell::Empty) {
                sheet.write_blank(row_number, col, &top)?;
            }
        }
    }

    if let Some(last_col) = table.columns.len().checked_sub(1) {
        let last_col = u16::try_from(last_col).unwrap_or(u16::MAX);
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, last_data_row, last_col)?;
        sheet.set_repeat_rows(0, 0)?;
    }
    if table.columns.len() > 6 {
        sheet.set_landscape();
    }
    for (col, width) in (0u16..).zip(widths) {
        // Room for the autofilter button beside the header text.
        let width = (width + 3).clamp(MIN_WIDTH, MAX_WIDTH);
        sheet.set_column_width(col, u32::try_from(width).unwrap_or(60))?;
    }
    Ok(())
}

/// One row, widening `widths` to fit what it wrote.
fn write_row(
    sheet: &mut Worksheet,
    table: &Table,
    row: &[Cell],
    row_number: u32,
    decimals: u32,
    formats: &Formats,
    widths: &mut [usize],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let scale = minor_per_major(decimals);
    let cells = (0u16..).zip(table.cells(row)).zip(widths.iter_mut());
    for ((col, cell), width) in cells {
        // Money and integers as numbers: the width they show with grouping.
        let shown = match cell {
            Cell::Text(text) => {
                sheet.write_string_with_format(row_number, col, clip(text), &formats.text)?;
                text.chars().count()
            }
            Cell::Int(value) => {
                #[allow(clippy::cast_precision_loss)] // a cell is a double; see the module doc
                sheet.write_number_with_format(row_number, col, *value as f64, &formats.integer)?;
                cell.text(decimals).len()
            }
            Cell::Money(minor) => {
                #[allow(clippy::cast_precision_loss)]
                let major = *minor as f64 / scale;
                sheet.write_number_with_format(row_number, col, major, &formats.money)?;
                cell.text(decimals).len() * 4 / 3 + 4
            }
            Cell::Date(date) => {
                match excel_date(*date) {
                    Some(date) => {
                        sheet.write_datetime_with_format(row_number, col, date, &formats.date)?
                    }
                    None => sheet.write_string_with_format(
                        row_number,
                        col,
                        cell.text(decimals),
                        &formats.text,
                    )?,
                };
                10
            }
            Cell::Percent(value) => match finite(*value) {
                Some(value) => {
                    sheet.write_number_with_format(row_number, col, value, &formats.percent)?;
                    cell.text(decimals).len()
                }
                None => 0,
            },
            Cell::Empty => 0,
        };
        *width = (*width).max(shown);
    }
    Ok(())
}

/// The date as an Excel date, if Excel's calendar (1900 to 9999) has it.
fn excel_date(date: chrono::NaiveDate) -> Option<ExcelDateTime> {
    use chrono::Datelike;
    let year = u16::try_from(date.year()).ok()?;
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    if !(1900..=9999).contains(&year) {
        return None;
    }
    ExcelDateTime::from_ymd(year, month, day).ok()
}

fn write_about(sheet: &mut Worksheet, table: &Table) -> Result<(), rust_xlsxwriter::XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    sheet.write_string_with_format(0, 0, clip(&table.title), &title)?;
    for (row, note) in (1u32..).zip(&table.notes) {
        sheet.write_string(row, 0, clip(note))?;
    }
    sheet.set_column_width(0, 80)?;
    Ok(())
}

/// `text` cut to what one cell holds (32,767 UTF-16 units), at a character boundary.
fn clip(text: &str) -> &str {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_TEXT {
            return text.get(..index).unwrap_or("");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
        calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap()
    }

    fn sheet(book: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<Data>> {
        let range = book.worksheet_range(name).unwrap();
        assert_eq!(range.start(), Some((0, 0)), "the sheet starts at A1");
        range.rows().map(<[Data]>::to_vec).collect()
    }

    fn text(s: &str) -> Data {
        Data::String(s.into())
    }

    #[test]
    fn reads_back_with_numbers_dates_and_totals() {
        let mut book = open(xlsx(&fixtures::sales_table(3)).unwrap());
        assert_eq!(book.sheet_names(), ["Report", "About"]);
        let rows = sheet(&mut book, "Report");
        assert_eq!(rows.len(), 1 + 3 + 1);
        assert_eq!(
            rows[0],
            ["product", "sold_on", "quantity", "revenue", "margin_pct"].map(text)
        );

        let first = &rows[1];
        assert_eq!(first[0], text("Cooking Oil 5L"));
        let Data::DateTime(date) = &first[1] else {
            panic!("not a date cell: {:?}", first[1]);
        };
        assert!(date.is_datetime());
        assert_eq!(
            date.as_datetime().unwrap().date(),
            fixtures::date(2026, 11, 1)
        );
        assert_eq!(first[2], Data::Float(2.0));
        assert_eq!(first[3], Data::Float(1234.5), "money in major units");
        assert_eq!(first[4], Data::Float(23.456));

        assert_eq!(rows[2][0], text("Soap, \"bar\"\nlarge"));
        assert_eq!(rows[2][3], Data::Float(-0.05));
        assert_eq!(rows[3][4], Data::Empty, "a percentage of None is blank");

        let totals = &rows[4];
        assert_eq!(totals[0], text("totals"));
        assert_eq!(totals[2], Data::Float(6.0));
        assert_eq!(totals[3], Data::Float(1237.4));

        let about = sheet(&mut book, "About");
        assert_eq!(about[0][0], text("Sales report 2026-11-01 to 2026-11-30"));
        assert_eq!(about[1][0], text("Store NRB1 (Nairobi)"));
    }

    #[test]
    fn formats_show_the_currency_and_bold_header_and_totals() {
        assert_eq!(money_format(2, "KES"), "#,##0.00 \"KES\"");
        assert_eq!(money_format(0, "JPY"), "#,##0 \"JPY\"");
        assert_eq!(money_format(3, "K\"WD"), "#,##0.000 \"KWD\"");
        assert_eq!(money_format(2, ""), "#,##0.00");

        // The styles and the frozen pane, read from the package's XML.
        let bytes = xlsx(&fixtures::sales_table(3)).unwrap();
        let mut zip = zip_entries(&bytes);
        let styles = zip.remove("xl/styles.xml").unwrap();
        assert!(styles.contains("#,##0.00 &quot;KES&quot;"), "{styles}");
        assert!(styles.contains("yyyy-mm-dd"));
        assert!(styles.contains("<b/>"));
        let sheet = zip.remove("xl/worksheets/sheet1.xml").unwrap();
        assert!(sheet.contains("state=\"frozen\""), "{sheet}");
        assert!(sheet.contains("<autoFilter ref=\"A1:E4\"/>"), "{sheet}");
    }

    /// The XML parts of an XLSX package, by name.
    fn zip_entries(bytes: &[u8]) -> std::collections::HashMap<String, String> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut text = String::new();
                std::io::Read::read_to_string(&mut file, &mut text).unwrap();
                (file.name().unwrap().into_owned(), text)
            })
            .collect()
    }

    #[test]
    fn awkward_tables_still_render() {
        let mut table = fixtures::sales_table(0);
        table.totals = None;
        let rows = sheet(&mut open(xlsx(&table).unwrap()), "Report");
        assert_eq!(rows.len(), 1, "header only");

        let long = "x".repeat(40_000);
        table.rows = vec![
            vec![Cell::Text(long), Cell::Date(fixtures::date(1850, 1, 1))],
            vec![Cell::Int(1); 12],
            vec![Cell::Text("ctrl \u{1} char".into())],
        ];
        let rows = sheet(&mut open(xlsx(&table).unwrap()), "Report");
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.len() == 5));
        let Data::String(cut) = &rows[1][0] else {
            panic!("{:?}", rows[1][0]);
        };
        assert_eq!(cut.len(), MAX_CELL_TEXT);
        assert_eq!(rows[1][1], text("1850-01-01"), "before Excel's calendar");
        assert_eq!(rows[3][0], text("ctrl \u{1} char"));

        table.columns.clear();
        assert!(xlsx(&table).is_ok(), "no columns at all");
    }

    #[test]
    fn clip_counts_utf16_units() {
        assert_eq!(clip("abc"), "abc");
        let emoji = "😀".repeat(MAX_CELL_TEXT);
        assert_eq!(clip(&emoji).chars().count(), MAX_CELL_TEXT / 2);
    }
}
