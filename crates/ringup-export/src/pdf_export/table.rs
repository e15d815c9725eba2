//! The table's pages: column widths, the heading, the chart's place, rows flowing from page
//! to page under a repeated header.
//!
//! Guarantees: the columns never exceed the width between the margins (a column narrower
//! than its fair share keeps its natural width, the wider ones share the rest equally); a
//! row never crosses the bottom margin; the totals row is never separated from a header.

use std::borrow::Cow;

use super::helvetica::{fit, shown, width};
use super::{BLACK, GREY, Page, chart};
use crate::chart::Plot;
use crate::model::{Cell, Chart, Table};

const TITLE_SIZE: f32 = 15.0;
const NOTE_SIZE: f32 = 9.5;
const BODY_SIZE: f32 = 8.5;
/// The smallest the table's text gets (5.5 pt) before columns are cut instead.
const MIN_SCALE: f32 = 0.65;
const ROW_HEIGHT: f32 = 14.0;
/// Baseline above a row's bottom edge.
const BASELINE: f32 = 4.0;
/// Space between a cell's text and its column's edges.
const PAD: f32 = 4.0;
/// No column is laid out wider than this, however long its text.
const MAX_COLUMN: f32 = 220.0;
/// A text column keeps up to this much (at full size) before others widen.
const MIN_TEXT: f32 = 45.0;
/// The chart's height on the first page.
const CHART_HEIGHT: f32 = 230.0;

const HEADER_FILL: (u8, u8, u8) = (221, 228, 238);
const STRIPE_FILL: (u8, u8, u8) = (245, 246, 248);
const RULE: (u8, u8, u8) = (90, 90, 90);

/// The pages of `table`, the chart on the first one when given. At least one page.
pub(super) fn draw(table: &Table, decimals: u32, chart: Option<(&Chart, &Plot)>) -> Vec<Page> {
    let texts = |row: &[Cell]| -> Vec<String> {
        table
            .cells(row)
            .map(|cell| shown(&cell.text(decimals)).into_owned())
            .collect()
    };
    let columns = Columns::measure(table, decimals);
    let mut flow = Flow::new(columns, table);

    flow.heading(table, chart);
    flow.header();
    for (index, row) in table.rows.iter().enumerate() {
        flow.row(&texts(row), false, index % 2 == 1);
    }
    if table.rows.is_empty() {
        flow.no_rows();
    }
    if let Some(totals) = &table.totals {
        flow.row(&texts(totals), true, false);
    }
    flow.pages()
}

/// Column geometry: left edges, widths, which are right-aligned and which are never cut,
/// and the text size.
struct Columns {
    lefts: Vec<f32>,
    widths: Vec<f32>,
    numeric: Vec<bool>,
    whole: Vec<bool>,
    landscape: bool,
    size: f32,
}

impl Columns {
    fn measure(table: &Table, decimals: u32) -> Self {
        let numeric: Vec<bool> = table.columns.iter().map(|c| c.kind.is_numeric()).collect();
        let whole: Vec<bool> = table.columns.iter().map(|c| c.kind.keeps_whole()).collect();
        // Widths at BODY_SIZE: `natural` for everything, `need` for what must not be cut
        // (numbers and dates; headers and text can be cut with "...").
        let mut natural: Vec<f32> = table
            .columns
            .iter()
            .map(|c| capped_width(&shown(&c.name), true))
            .collect();
        let mut need = vec![0f32; table.columns.len()];
        for (index, row) in table.all_rows().enumerate() {
            let bold = table.totals.is_some() && index == table.rows.len();
            let columns = natural.iter_mut().zip(need.iter_mut()).zip(&whole);
            for (cell, ((widest, needed), whole)) in table.cells(row).zip(columns) {
                let text = cell.text(decimals);
                let measured = capped_width(&shown(&text), bold);
                *widest = widest.max(measured);
                if *whole {
                    *needed = needed.max(measured);
                }
            }
        }
        // Text keeps a few words' width before the other columns widen.
        for ((needed, widest), whole) in need.iter_mut().zip(&natural).zip(&whole) {
            if !*whole {
                *needed = widest.min(MIN_TEXT);
            }
        }
        // Padding (not scaled with the text), and a point of slack so the widest text fits
        // whatever the float rounding. A column with nothing to show needs nothing.
        let padded = |widths: &[f32], scale: f32| -> Vec<f32> {
            widths
                .iter()
                .map(|w| {
                    if *w > 0.0 {
                        w * scale + 2.0 * PAD + 1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let portrait = Page::new(false).content_width();
        let total: f32 = padded(&natural, 1.0).iter().sum();
        let landscape = table.columns.len() > 6 || total > portrait;
        let room = Page::new(landscape).content_width();
        // Too wide even in landscape: smaller text first (down to MIN_SCALE), then cutting.
        let text_total: f32 = natural.iter().sum();
        let scale = if total > room && text_total > 0.0 {
            let padding = total - text_total;
            ((room - padding) / text_total).clamp(MIN_SCALE, 1.0)
        } else {
            1.0
        };
        let widths = share(&padded(&natural, scale), &padded(&need, scale), room);
        let lefts = widths
            .iter()
            .scan(super::MARGIN, |x, w| {
                let left = *x;
                *x += w;
                Some(left)
            })
            .collect();
        Self {
            lefts,
            widths,
            numeric,
            whole,
            landscape,
            size: BODY_SIZE * scale,
        }
    }

    fn right(&self) -> f32 {
        super::MARGIN + self.widths.iter().sum::<f32>()
    }
}

/// Width of `text` up to `MAX_COLUMN`, reading no further than that needs.
fn capped_width(text: &str, bold: bool) -> f32 {
    let fitted: Cow<'_, str> = fit(text, BODY_SIZE, bold, MAX_COLUMN);
    width(&fitted, BODY_SIZE, bold).min(MAX_COLUMN)
}

/// Widths for columns wanting `natural` (of which `need` must not be cut) in `room`: all
/// they want if it fits; else each gets its `need` and the rest of the room is shared out
/// fairly: columns wanting little more get it, the others split what is left equally. If
/// even the needs do not fit, every column gets its share of the room in proportion.
fn share(natural: &[f32], need: &[f32], room: f32) -> Vec<f32> {
    if natural.iter().sum::<f32>() <= room {
        return natural.to_vec();
    }
    let needed: f32 = need.iter().sum();
    if needed >= room {
        return need.iter().map(|n| n * room / needed).collect();
    }
    let extra: Vec<f32> = natural
        .iter()
        .zip(need)
        .map(|(want, need)| (want - need).max(0.0))
        .collect();
    let mut order: Vec<usize> = (0..extra.len()).collect();
    order.sort_by(|a, b| {
        let extra = |i: &usize| extra.get(*i).copied().unwrap_or(0.0);
        extra(a).total_cmp(&extra(b))
    });
    let mut widths = need.to_vec();
    let mut left = room - needed;
    for (done, index) in order.into_iter().enumerate() {
        let fair = left / (extra.len() - done) as f32;
        if let (Some(want), Some(width)) = (extra.get(index), widths.get_mut(index)) {
            let given = want.min(fair);
            *width += given;
            left -= given;
        }
    }
    widths
}

/// Rows flowing down pages.
struct Flow<'a> {
    columns: Columns,
    headers: Vec<String>,
    done: Vec<Page>,
    page: Page,
    /// The top of the next row.
    y: f32,
    title: &'a str,
}

impl<'a> Flow<'a> {
    fn new(columns: Columns, table: &'a Table) -> Self {
        let page = Page::new(columns.landscape);
        let y = page.top();
        Self {
            headers: table
                .columns
                .iter()
                .map(|c| shown(&c.name).into_owned())
                .collect(),
            columns,
            done: Vec::new(),
            page,
            y,
            title: &table.title,
        }
    }

    /// Title, notes and the chart at the top of the first page.
    fn heading(&mut self, table: &Table, chart: Option<(&Chart, &Plot)>) {
        let room = self.page.content_width();
        let title = shown(self.title);
        self.y -= TITLE_SIZE;
        let line = fit(&title, TITLE_SIZE, true, room);
        self.page
            .text(super::MARGIN, self.y, TITLE_SIZE, true, BLACK, &line);
        self.y -= 6.0;
        for note in &table.notes {
            self.y -= NOTE_SIZE + 3.0;
            let note = shown(note);
            let line = fit(&note, NOTE_SIZE, false, room);
            self.page
                .text(super::MARGIN, self.y, NOTE_SIZE, false, GREY, &line);
        }
        self.y -= 12.0;
        if let Some((chart, plot)) = chart {
            let height = CHART_HEIGHT.min((self.y - self.page.bottom()) * 0.6);
            self.y -= height;
            let area = chart::Area {
                x: super::MARGIN,
                y: self.y,
                width: room,
                height,
            };
            chart::draw(&mut self.page, area, chart, plot);
            self.y -= 16.0;
        }
    }

    /// The header row at the current position.
    fn header(&mut self) {
        self.y -= ROW_HEIGHT;
        let width = self.columns.right() - super::MARGIN;
        self.page
            .rect(super::MARGIN, self.y, width, ROW_HEIGHT, HEADER_FILL);
        let headers = std::mem::take(&mut self.headers);
        self.cells(&headers, true, true);
        self.headers = headers;
        let y = self.y;
        self.page
            .polyline(&[(super::MARGIN, y), (self.columns.right(), y)], 0.6, RULE);
    }

    /// A data row (or the totals row when `bold`), on a new page when this one is full.
    fn row(&mut self, texts: &[String], bold: bool, striped: bool) {
        if self.y - ROW_HEIGHT < self.page.bottom() {
            self.new_page();
        }
        self.y -= ROW_HEIGHT;
        let (left, right) = (super::MARGIN, self.columns.right());
        if striped {
            self.page
                .rect(left, self.y, right - left, ROW_HEIGHT, STRIPE_FILL);
        }
        if bold {
            let top = self.y + ROW_HEIGHT;
            self.page.polyline(&[(left, top), (right, top)], 1.0, RULE);
        }
        self.cells(texts, bold, false);
    }

    fn no_rows(&mut self) {
        self.y -= ROW_HEIGHT;
        let y = self.y + BASELINE;
        self.page
            .text(super::MARGIN + PAD, y, BODY_SIZE, false, GREY, "No rows.");
    }

    /// One row's texts in their columns. Numbers and dates (except in the header) are shown
    /// whole or as "###" as spreadsheets do, never cut; other text is cut with "...".
    fn cells(&mut self, texts: &[String], bold: bool, header: bool) {
        let y = self.y + BASELINE;
        let columns = &self.columns;
        let size = columns.size;
        let geometry = columns
            .lefts
            .iter()
            .zip(&columns.widths)
            .zip(columns.numeric.iter().zip(&columns.whole));
        for (((left, column_width), (numeric, whole)), text) in geometry.zip(texts) {
            let room = column_width - 2.0 * PAD;
            let text = if *whole && !header && width(text, size, bold) > room {
                let hashes = (room / width("#", size, bold)).floor().clamp(0.0, 5.0);
                Cow::Owned("#".repeat(hashes as usize))
            } else {
                fit(text, size, bold, room)
            };
            if *numeric {
                let right = left + column_width - PAD;
                self.page.text_right(right, y, size, bold, BLACK, &text);
            } else {
                self.page.text(left + PAD, y, size, bold, BLACK, &text);
            }
        }
    }

    fn new_page(&mut self) {
        let next = Page::new(self.columns.landscape);
        self.y = next.top();
        self.done.push(std::mem::replace(&mut self.page, next));
        self.header();
    }

    fn pages(mut self) -> Vec<Page> {
        self.done.push(self.page);
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_share_the_room_fairly() {
        assert_eq!(share(&[10.0, 20.0], &[0.0, 20.0], 100.0), [10.0, 20.0]);
        let widths = share(&[10.0, 200.0, 300.0], &[0.0; 3], 210.0);
        assert_eq!(widths, [10.0, 100.0, 100.0]);
        // Numbers keep their width; text shares the rest.
        let widths = share(&[60.0, 300.0, 300.0], &[60.0, 0.0, 0.0], 260.0);
        assert_eq!(widths, [60.0, 100.0, 100.0]);
        let many = share(&[50.0; 40], &[0.0; 40], 700.0);
        assert!((many.iter().sum::<f32>() - 700.0).abs() < 0.01);
        let cramped = share(&[50.0; 40], &[30.0; 40], 700.0);
        assert!((cramped.iter().sum::<f32>() - 700.0).abs() < 0.01);
        assert!(share(&[], &[], 100.0).is_empty());
    }
}
