//! The sales chart as SVG and PNG, drawn with plotters.
//!
//! Guarantees: both are `CHART_WIDTH` × `CHART_HEIGHT` pixels and show the same drawing:
//! title, the current and previous period as two lines (markers too when there are few
//! days), y axis in major units of the currency, x axis labelled with the current period's
//! dates, and a legend with both series' labels. Text is laid out (SVG) and rasterised (PNG)
//! with a font compiled into the binary (Ubuntu Light, from `epaint_default_fonts`), never a
//! system font. A panic inside plotters becomes [`RenderError::Chart`].

mod axis;

pub(crate) use axis::Plot;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::RenderError;
use crate::model::Chart;

/// The chart's size in pixels, for both formats.
pub const CHART_WIDTH: u32 = 1000;
pub const CHART_HEIGHT: u32 = 500;

/// The font family plotters looks up; also the SVG's `font-family`, which viewers resolve.
const FONT: &str = "sans-serif";
/// The current period stands out; the previous one is the quieter reference.
pub(crate) const CURRENT_RGB: (u8, u8, u8) = (31, 119, 180);
pub(crate) const PREVIOUS_RGB: (u8, u8, u8) = (255, 127, 14);

/// The chart as an SVG document.
pub fn chart_svg(chart: &Chart) -> Result<String, RenderError> {
    let plot = Plot::new(chart)?;
    register_fonts()?;
    let mut svg = String::new();
    guarded(|| {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT));
        draw(&root.into_drawing_area(), chart, &plot)
    })?;
    Ok(svg)
}

/// The chart as a PNG image (8-bit RGB).
pub fn chart_png(chart: &Chart) -> Result<Vec<u8>, RenderError> {
    let plot = Plot::new(chart)?;
    register_fonts()?;
    let mut rgb = vec![255u8; CHART_WIDTH as usize * CHART_HEIGHT as usize * 3];
    guarded(|| {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(
            &mut rgb,
            (CHART_WIDTH, CHART_HEIGHT),
        )
        .map_err(|e| e.to_string())?;
        draw(&backend.into_drawing_area(), chart, &plot)
    })?;
    encode_png(&rgb)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, CHART_WIDTH, CHART_HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(RenderError::Png)?;
    writer.write_image_data(rgb).map_err(RenderError::Png)?;
    writer.finish().map_err(RenderError::Png)?;
    Ok(bytes)
}

/// Registers the font once per process; plotters keeps it in a global table.
fn register_fonts() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT).is_ok()
    });
    if *ok {
        Ok(())
    } else {
        Err(RenderError::Chart("the bundled font did not load".into()))
    }
}

/// Runs plotters' drawing, turning its errors and its panics into `RenderError::Chart`.
fn guarded(draw: impl FnOnce() -> Result<(), String>) -> Result<(), RenderError> {
    match catch_unwind(AssertUnwindSafe(draw)) {
        Ok(result) => result.map_err(RenderError::Chart),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(RenderError::Chart(format!(
                "the drawing library panicked: {message}"
            )))
        }
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    plot: &Plot,
) -> Result<(), String> {
    let error = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let current = RGBColor(CURRENT_RGB.0, CURRENT_RGB.1, CURRENT_RGB.2);
    let previous = RGBColor(PREVIOUS_RGB.0, PREVIOUS_RGB.1, PREVIOUS_RGB.2);

    root.fill(&WHITE).map_err(error)?;
    let mut context = ChartBuilder::on(root)
        .caption(&chart.title, (FONT, 26))
        .margin(20)
        // Room for half of the last date label, centred on the right end of the x axis.
        .margin_right(48)
        .x_label_area_size(56)
        .y_label_area_size(96)
        .build_cartesian_2d(
            (0..plot.x_max).with_key_points(plot.x_ticks()),
            plot.y.lo..plot.y.hi,
        )
        .map_err(error)?;

    let day_label = |x: &i64| plot.day_label(*x);
    let amount_label = |y: &f64| plot.y.label(*y);
    context
        .configure_mesh()
        .x_label_formatter(&day_label)
        .y_labels(plot.y.ticks().len())
        .y_label_formatter(&amount_label)
        .x_desc("Day")
        .y_desc(format!("Amount ({})", chart.currency.code))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(error)?;

    // The previous period is drawn first so the current one lies over it, but is named
    // second in the legend (by an empty series carrying its label).
    // Thick lines only while days are at least 3 px apart: plotters builds a thick line's
    // outline from each pair of points, and two points on one pixel give it a NaN corner
    // (drawn as a spike to the image's corner). One-pixel lines are drawn point to point.
    let width = if plot.x_max <= 250 { 3 } else { 1 };
    let lines = [
        (&plot.previous, previous, None),
        (&plot.current, current, Some(&chart.current.label)),
        (&Vec::new(), previous, Some(&chart.previous.label)),
    ];
    for (points, color, label) in lines {
        let drawn = context
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(error)?;
        if let Some(label) = label {
            drawn.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        }
        if plot.markers() {
            let markers = points.iter().map(|p| Circle::new(*p, 4, color.filled()));
            context.draw_series(markers).map_err(error)?;
        }
    }

    context
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(error)?;
    root.present().map_err(error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures::{self, date, series};

    /// (width, height, RGB bytes) of a PNG.
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    #[test]
    fn svg_shows_title_labels_and_both_lines() {
        let chart = fixtures::sales_chart(30);
        let svg = chart_svg(&chart).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Sales per day",
            "Nov 2026",
            "Oct 2026",
            "Amount (KES)",
            "2026-11-01",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.matches("<polyline").count() >= 2, "two series lines");
        assert!(
            svg.contains("#1F77B4") || svg.contains("#1f77b4"),
            "current colour"
        );

        // Markup in a label is escaped, so the document stays XML.
        let mut chart = chart;
        chart.title = "Sales & <returns>".into();
        chart.current.label = "a\"b".into();
        let svg = chart_svg(&chart).unwrap();
        assert!(svg.contains("Sales &amp; &lt;returns&gt;"), "{svg}");
        assert!(!svg.contains("<returns>"));
    }

    #[test]
    fn png_has_the_size_and_is_not_blank() {
        let chart = fixtures::sales_chart(30);
        let bytes = chart_png(&chart).unwrap();
        let (width, height, pixels) = decode(&bytes);
        assert_eq!((width, height), (CHART_WIDTH, CHART_HEIGHT));
        let first = &pixels[..3];
        assert!(pixels.chunks(3).any(|p| p != first), "a single flat colour");
        // Both series' colours are drawn.
        let has = |rgb: (u8, u8, u8)| pixels.chunks(3).any(|p| p == [rgb.0, rgb.1, rgb.2]);
        assert!(has(CURRENT_RGB) && has(PREVIOUS_RGB));
        // Dark text pixels: labels and the title were rasterised from the bundled font.
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().all(|c| *c < 80))
            .count();
        assert!(dark > 2_000, "{dark} dark pixels");
        std::fs::write("/tmp/ringup-chart-sample.png", &bytes).unwrap();
    }

    #[test]
    fn edge_cases_render() {
        let empty = series("none", date(2026, 1, 1), 0, |_| 0);
        let cases = [
            (
                "single day",
                series("a", date(2026, 1, 1), 1, |_| 500),
                empty.clone(),
            ),
            (
                "all zero",
                series("a", date(2026, 1, 1), 30, |_| 0),
                series("b", date(2025, 12, 2), 30, |_| 0),
            ),
            (
                "negative",
                series("a", date(2026, 1, 1), 30, |i| -(i as i64) * 1_000),
                series("b", date(2025, 12, 2), 30, |i| i as i64),
            ),
            ("no points", empty.clone(), empty.clone()),
            (
                "ten years",
                series("a", date(2016, 1, 1), 3_660, |i| (i as i64 % 97) * 10_000),
                series("b", date(2006, 1, 1), 3_660, |_| 5_000),
            ),
            (
                "extremes",
                series("a", date(2026, 1, 1), 3, |i| {
                    if i == 1 { i64::MIN } else { i64::MAX }
                }),
                empty.clone(),
            ),
        ];
        for (name, current, previous) in cases {
            let mut chart = fixtures::sales_chart(0);
            chart.title = format!("{name} {}", "very long title ".repeat(20));
            chart.current = current;
            chart.previous = previous;
            let svg = chart_svg(&chart).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(svg.contains("<svg"), "{name}");
            let (w, h, pixels) =
                decode(&chart_png(&chart).unwrap_or_else(|e| panic!("{name}: {e}")));
            assert_eq!((w, h), (CHART_WIDTH, CHART_HEIGHT), "{name}");
            // Nothing strays outside the plot: the strip above the title stays white. Thick
            // lines over dense days once spiked up to the image's edge.
            let strip =
                (0..8usize).flat_map(|y| (0..w as usize).map(move |x| (y * w as usize + x) * 3));
            for at in strip {
                assert_eq!(
                    pixels[at..at + 3],
                    [255, 255, 255],
                    "{name}: stray pixel at {at}"
                );
            }
        }
    }

    #[test]
    fn a_currency_with_absurd_decimals_is_refused() {
        let mut chart = fixtures::sales_chart(3);
        chart.currency.decimals = 40;
        assert!(matches!(
            chart_svg(&chart),
            Err(RenderError::Decimals { .. })
        ));
    }
}
