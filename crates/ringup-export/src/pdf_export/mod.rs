//! A table (and optionally the sales chart) as a PDF document in built-in Helvetica.
//!
//! Guarantees:
//! - A4, portrait for up to six columns that fit, landscape otherwise; 36 pt margins.
//! - The first page has the title and the notes, then the chart when given, then the table.
//!   Every page repeats the table's header row and has a footer with the title and
//!   "Page i of n". The totals row ends the table, bold under a rule.
//! - Numeric columns (integer, money, percent) are right-aligned; money is in major units as
//!   [`crate::major_units`] writes it; a cell too wide for its column is cut with "...".
//! - Text is WinAnsi: characters Helvetica cannot show print as `?` (see [`helvetica`]), so
//!   `pdftotext` reads back what was printed. No font file, image or network is involved.

mod chart;
mod helvetica;
mod table;

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfParseErrorSeverity, PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rgb, TextItem,
    WindingOrder,
};

use crate::RenderError;
use crate::chart::Plot;
use crate::model::{Chart, Table};

/// A4 in points.
const A4_SHORT: f32 = 595.28;
const A4_LONG: f32 = 841.89;
const MARGIN: f32 = 36.0;
/// Room at the bottom of every page for the footer line.
const FOOTER: f32 = 18.0;
const FOOTER_SIZE: f32 = 7.5;

pub(crate) const BLACK: (u8, u8, u8) = (0, 0, 0);
pub(crate) const GREY: (u8, u8, u8) = (110, 110, 110);

/// PDF per the module doc: the table, and the chart on the first page when given.
pub fn pdf(table: &Table, chart: Option<&Chart>) -> Result<Vec<u8>, RenderError> {
    let decimals = table.money_decimals()?;
    let plot = chart.map(Plot::new).transpose()?;
    let chart = chart.zip(plot.as_ref());

    let pages = table::draw(table, decimals, chart);
    let count = pages.len();
    let pdf_pages = pages
        .into_iter()
        .enumerate()
        .map(|(index, mut page)| {
            page.footer(&table.title, index + 1, count);
            page.finish()
        })
        .collect();

    let mut document = PdfDocument::new(&helvetica::shown(&table.title));
    document.with_pages(pdf_pages);
    let mut warnings = Vec::new();
    let bytes = document.save(&PdfSaveOptions::default(), &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        return Err(RenderError::Pdf(error.msg.clone()));
    }
    if bytes.is_empty() {
        return Err(RenderError::Pdf("no bytes written".into()));
    }
    Ok(bytes)
}

/// One page being drawn: its size, and its drawing operations in points from the bottom
/// left corner.
pub(crate) struct Page {
    pub width: f32,
    pub height: f32,
    ops: Vec<Op>,
}

impl Page {
    pub fn new(landscape: bool) -> Self {
        let (width, height) = if landscape {
            (A4_LONG, A4_SHORT)
        } else {
            (A4_SHORT, A4_LONG)
        };
        Self {
            width,
            height,
            ops: Vec::new(),
        }
    }

    /// The top of the area a page's content may use.
    pub fn top(&self) -> f32 {
        self.height - MARGIN
    }

    /// The bottom of that area, above the footer.
    pub fn bottom(&self) -> f32 {
        MARGIN + FOOTER
    }

    /// The width between the margins.
    pub fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    /// `text` (already [`helvetica::shown`]) with its baseline's left end at `(x, y)`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, rgb: (u8, u8, u8), text: &str) {
        if text.is_empty() {
            return;
        }
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.push(Op::SetFillColor { col: color(rgb) });
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::Builtin(font),
            size: Pt(size),
        });
        // Inside a fresh text section the cursor starts at the origin, so this is absolute.
        self.ops.push(Op::SetTextCursor {
            pos: Point { x: Pt(x), y: Pt(y) },
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_owned())],
        });
        self.ops.push(Op::EndTextSection);
    }

    /// `text` with its baseline's right end at `(right, y)`.
    pub fn text_right(
        &mut self,
        right: f32,
        y: f32,
        size: f32,
        bold: bool,
        rgb: (u8, u8, u8),
        text: &str,
    ) {
        let x = right - helvetica::width(text, size, bold);
        self.text(x, y, size, bold, rgb, text);
    }

    /// A stroked polyline through `points`.
    pub fn polyline(&mut self, points: &[(f32, f32)], thickness: f32, rgb: (u8, u8, u8)) {
        if points.len() < 2 {
            return;
        }
        self.ops.push(Op::SetOutlineColor { col: color(rgb) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: points.iter().map(|p| line_point(*p)).collect(),
                is_closed: false,
            },
        });
    }

    /// A filled polygon through `points`.
    pub fn fill(&mut self, points: &[(f32, f32)], rgb: (u8, u8, u8)) {
        self.ops.push(Op::SetFillColor { col: color(rgb) });
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing {
                    points: points.iter().map(|p| line_point(*p)).collect(),
                }],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
    }

    /// A filled rectangle with its lower left corner at `(x, y)`.
    pub fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, rgb: (u8, u8, u8)) {
        let corners = [
            (x, y),
            (x + width, y),
            (x + width, y + height),
            (x, y + height),
        ];
        self.fill(&corners, rgb);
    }

    /// The footer: the title on the left, "Page i of n" on the right.
    fn footer(&mut self, title: &str, number: usize, count: usize) {
        let y = MARGIN;
        let label = format!("Page {number} of {count}");
        let right = self.width - MARGIN;
        self.text_right(right, y, FOOTER_SIZE, false, GREY, &label);
        let room = self.content_width() - helvetica::width(&label, FOOTER_SIZE, false) - 24.0;
        let title = helvetica::shown(title);
        let title = helvetica::fit(&title, FOOTER_SIZE, false, room);
        self.text(MARGIN, y, FOOTER_SIZE, false, GREY, &title);
    }

    fn finish(self) -> PdfPage {
        PdfPage::new(
            Mm::from(Pt(self.width)),
            Mm::from(Pt(self.height)),
            self.ops,
        )
    }
}

fn color((r, g, b): (u8, u8, u8)) -> Color {
    let unit = |c: u8| f32::from(c) / 255.0;
    Color::Rgb(Rgb::new(unit(r), unit(g), unit(b), None))
}

fn line_point((x, y): (f32, f32)) -> LinePoint {
    LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    }
}

#[cfg(test)]
mod tests;
