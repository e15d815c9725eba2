//! The sales chart drawn with PDF paths and Helvetica text (no embedded image), so it stays
//! sharp at any zoom and its labels are text `pdftotext` reads.
//!
//! Guarantees: everything is drawn inside the given [`Area`]: the title, the unit and the
//! legend on top, y ticks with grid lines and labels, x ticks with date labels, the previous
//! period's line and then the current one over it, with the colours, y range and x ticks
//! of the SVG/PNG ([`Plot`]).

use super::helvetica::{fit, shown, width};
use super::{BLACK, GREY, Page};
use crate::chart::{CURRENT_RGB, PREVIOUS_RGB, Plot};
use crate::model::Chart;

const TITLE_SIZE: f32 = 11.0;
const LABEL_SIZE: f32 = 7.0;
/// Room left of the plot for the y labels, and below it for the x labels.
const Y_LABELS: f32 = 52.0;
const X_LABELS: f32 = 16.0;
/// Room above the plot for the title line and the unit/legend line.
const HEADING: f32 = 34.0;

const GRID: (u8, u8, u8) = (225, 225, 225);
const AXIS: (u8, u8, u8) = (120, 120, 120);

/// Where on the page the chart goes, lower left corner and size, in points.
#[derive(Debug, Clone, Copy)]
pub(super) struct Area {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

pub(super) fn draw(page: &mut Page, area: Area, chart: &Chart, plot: &Plot) {
    let top = area.y + area.height;
    let title = shown(&chart.title);
    let title = fit(&title, TITLE_SIZE, true, area.width);
    page.text(area.x, top - TITLE_SIZE, TITLE_SIZE, true, BLACK, &title);

    let line = top - TITLE_SIZE - 13.0;
    let unit = format!("Amount ({})", shown(&chart.currency.code));
    let unit = fit(&unit, LABEL_SIZE, false, Y_LABELS * 2.0);
    page.text(area.x, line, LABEL_SIZE, false, GREY, &unit);
    legend(page, area, line, chart);

    let plot_area = Area {
        x: area.x + Y_LABELS,
        y: area.y + X_LABELS,
        width: (area.width - Y_LABELS - 8.0).max(1.0),
        height: (area.height - X_LABELS - HEADING).max(1.0),
    };
    let to_page = |(x, y): (i64, f64)| -> (f32, f32) {
        let across = x as f64 / plot.x_max as f64;
        let up = (y - plot.y.lo) / (plot.y.hi - plot.y.lo);
        (
            plot_area.x + (across as f32) * plot_area.width,
            plot_area.y + (up as f32) * plot_area.height,
        )
    };
    let (left, right) = (plot_area.x, plot_area.x + plot_area.width);

    for tick in plot.y.ticks() {
        let (_, y) = to_page((0, tick));
        let colour = if tick == 0.0 { AXIS } else { GRID };
        page.polyline(&[(left, y), (right, y)], 0.5, colour);
        let label = plot.y.label(tick);
        page.text_right(left - 4.0, y - 2.5, LABEL_SIZE, false, GREY, &label);
    }
    let bottom = plot_area.y;
    for tick in plot.x_ticks() {
        let (x, _) = to_page((tick, plot.y.lo));
        page.polyline(&[(x, bottom), (x, bottom - 3.0)], 0.5, AXIS);
        let label = plot.day_label(tick);
        let half = width(&label, LABEL_SIZE, false) / 2.0;
        let x = (x - half).clamp(area.x, (area.x + area.width - 2.0 * half).max(area.x));
        page.text(x, bottom - 11.0, LABEL_SIZE, false, GREY, &label);
    }
    page.polyline(&[(left, bottom), (right, bottom)], 0.7, AXIS);
    page.polyline(
        &[(left, bottom), (left, bottom + plot_area.height)],
        0.7,
        AXIS,
    );

    for (points, colour, thickness) in [
        (&plot.previous, PREVIOUS_RGB, 1.2),
        (&plot.current, CURRENT_RGB, 1.6),
    ] {
        let points: Vec<(f32, f32)> = points.iter().map(|p| to_page(*p)).collect();
        page.polyline(&points, thickness, colour);
        if plot.markers() {
            for (x, y) in &points {
                let r = 2.0;
                page.fill(
                    &[(x - r, *y), (*x, y - r), (x + r, *y), (*x, y + r)],
                    colour,
                );
            }
        }
    }
}

/// The two series' labels beside a short line of their colour, right-aligned on `line`.
fn legend(page: &mut Page, area: Area, line: f32, chart: &Chart) {
    let room = area.width * 0.35;
    let mut right = area.x + area.width;
    for (label, colour) in [
        (&chart.previous.label, PREVIOUS_RGB),
        (&chart.current.label, CURRENT_RGB),
    ] {
        let label = shown(label);
        let label = fit(&label, LABEL_SIZE + 1.0, false, room);
        page.text_right(right, line, LABEL_SIZE + 1.0, false, BLACK, &label);
        right -= width(&label, LABEL_SIZE + 1.0, false) + 4.0;
        page.polyline(
            &[(right - 16.0, line + 3.0), (right, line + 3.0)],
            2.0,
            colour,
        );
        right -= 28.0;
    }
}
