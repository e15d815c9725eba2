//! The chart's data laid on axes, shared by the SVG/PNG drawing and the PDF drawing so the
//! three show the same lines, ranges, x ticks and label texts (plotters picks its own y
//! ticks inside the same nice range).
//!
//! Guarantees: `x_max >= 1`; the y range is finite, holds zero and every amount, has
//! `hi > lo` and one spare step on top for the legend; ticks are at most a dozen on either
//! axis; a series' x is its day's offset from that series' own first day, so the previous
//! period lies over the current one day by day. Points of the same day are added together.

use chrono::{Days, NaiveDate};

use crate::RenderError;
use crate::model::{Chart, Series, check_currency, minor_per_major};

/// About this many ticks on each axis.
const TARGET_TICKS: f64 = 6.0;

/// A chart ready to draw.
#[derive(Debug, Clone)]
pub(crate) struct Plot {
    /// The current period's first day (the previous period's when the current is empty):
    /// x ticks are labelled with its dates.
    start: Option<NaiveDate>,
    pub current: Vec<(i64, f64)>,
    pub previous: Vec<(i64, f64)>,
    pub x_max: i64,
    pub y: Scale,
}

impl Plot {
    pub fn new(chart: &Chart) -> Result<Self, RenderError> {
        let decimals = check_currency(&chart.currency)?;
        let scale = minor_per_major(decimals);
        let (current_start, current) = day_offsets(&chart.current, scale);
        let (previous_start, previous) = day_offsets(&chart.previous, scale);
        let x_max = current
            .iter()
            .chain(&previous)
            .map(|(x, _)| *x)
            .max()
            .unwrap_or(0)
            .max(1);
        let y = Scale::new(current.iter().chain(&previous).map(|(_, y)| *y));
        Ok(Self {
            start: current_start.or(previous_start),
            current,
            previous,
            x_max,
            y,
        })
    }

    /// Ticks on the x axis: day offsets from 0, a whole number of days apart.
    pub fn x_ticks(&self) -> Vec<i64> {
        let raw = (self.x_max as f64 / TARGET_TICKS).ceil().max(1.0) as i64;
        let step = [1, 2, 5, 7, 14, 30, 61, 91, 183, 365]
            .into_iter()
            .find(|s| *s >= raw)
            .unwrap_or_else(|| (raw / 365 + 1).saturating_mul(365));
        (0..=self.x_max).step_by(step.max(1) as usize).collect()
    }

    /// The date of day offset `x` of the current period, `YYYY-MM-DD`.
    pub fn day_label(&self, x: i64) -> String {
        let date = u64::try_from(x)
            .ok()
            .zip(self.start)
            .and_then(|(x, start)| start.checked_add_days(Days::new(x)));
        match date {
            Some(date) => date.format("%Y-%m-%d").to_string(),
            None => format!("day {}", x.saturating_add(1)),
        }
    }

    /// Few enough points that each is worth a marker (a single day is only a marker).
    pub fn markers(&self) -> bool {
        self.current.len().max(self.previous.len()) <= 31
    }
}

/// The series as (days since its first day, amount in major units), by day, one point a day.
fn day_offsets(series: &Series, scale: f64) -> (Option<NaiveDate>, Vec<(i64, f64)>) {
    let mut points = series.points.clone();
    points.sort_by_key(|(date, _)| *date);
    let Some(start) = points.first().map(|(date, _)| *date) else {
        return (None, Vec::new());
    };
    let mut days: Vec<(i64, i128)> = Vec::with_capacity(points.len());
    for (date, minor) in points {
        let x = (date - start).num_days();
        match days.last_mut() {
            Some((last, sum)) if *last == x => *sum += i128::from(minor),
            _ => days.push((x, i128::from(minor))),
        }
    }
    #[allow(clippy::cast_precision_loss)] // a chart needs no more than f64's 15 digits
    let points = days
        .into_iter()
        .map(|(x, minor)| (x, minor as f64 / scale))
        .collect();
    (Some(start), points)
}

/// The y axis: a range from `lo` to `hi` in steps of `step`, all "nice" numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl Scale {
    fn new(amounts: impl Iterator<Item = f64>) -> Self {
        let (lo, hi) = amounts.fold((0f64, 0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
        // All zero (or nothing at all) still needs a range to draw in.
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice_step((hi - lo) / TARGET_TICKS);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step).ceil() * step + step;
        Self { lo, hi, step }
    }

    pub fn ticks(&self) -> Vec<f64> {
        let count = ((self.hi - self.lo) / self.step).round().clamp(1.0, 12.0) as u32;
        (0..=count)
            .map(|i| self.lo + f64::from(i) * self.step)
            .collect()
    }

    /// An axis label for `value`: grouped digits, scaled to M/B/T for large ranges, with as
    /// many decimals as the step needs.
    pub fn label(&self, value: f64) -> String {
        let largest = self.lo.abs().max(self.hi.abs());
        let (divisor, suffix) = [(1e12, "T"), (1e9, "B"), (1e6, "M")]
            .into_iter()
            .find(|(d, _)| largest >= *d)
            .unwrap_or((1.0, ""));
        let step = self.step / divisor;
        let decimals = (0..=6usize)
            .find(|d| {
                let scaled = step * 10f64.powi(*d as i32);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
            })
            .unwrap_or(6);
        // Zero (or zero but for float noise) is plain "0": no "-0", no "0M".
        if value.abs() < self.step * 1e-9 {
            return "0".into();
        }
        let value = value / divisor;
        format!("{}{suffix}", group_digits(&format!("{value:.decimals$}")))
    }
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `raw` (and a sane 1 for a broken input).
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let normal = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0]
        .into_iter()
        .find(|n| normal <= *n * (1.0 + 1e-9))
        .unwrap_or(10.0);
    nice * magnitude
}

/// `-1234567.5` as `-1,234,567.5`.
fn group_digits(number: &str) -> String {
    let (sign, rest) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (rest, None),
    };
    let mut grouped = String::with_capacity(number.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures::{self, date, series};

    fn chart(current: Series, previous: Series) -> Chart {
        Chart {
            title: "t".into(),
            currency: fixtures::kes(),
            current,
            previous,
        }
    }

    #[test]
    fn all_zero_and_empty_series_still_have_a_range() {
        for plot in [
            Plot::new(&chart(
                series("a", date(2026, 1, 1), 30, |_| 0),
                series("b", date(2025, 12, 2), 30, |_| 0),
            ))
            .unwrap(),
            Plot::new(&chart(
                series("a", date(2026, 1, 1), 0, |_| 0),
                series("b", date(2026, 1, 1), 0, |_| 0),
            ))
            .unwrap(),
        ] {
            assert!(plot.y.hi > plot.y.lo);
            assert_eq!(plot.y.lo, 0.0);
            assert!(plot.x_max >= 1);
            assert!(plot.y.ticks().len() >= 2);
        }
    }

    #[test]
    fn the_range_holds_every_amount_and_zero() {
        let plot = Plot::new(&chart(
            series("a", date(2026, 1, 1), 10, |i| -50_000 + 20_000 * i as i64),
            series("b", date(2025, 12, 22), 10, |_| 7),
        ))
        .unwrap();
        assert!(plot.y.lo <= -500.0 && plot.y.hi >= 1300.0, "{:?}", plot.y);
        assert!(plot.y.ticks().contains(&0.0));
        assert_eq!(plot.y.label(-500.0), "-500");
        assert_eq!(plot.x_max, 9);
        // The previous period lies over the current one, day by day.
        assert_eq!(plot.previous.first().unwrap().0, 0);
        assert_eq!(plot.day_label(0), "2026-01-01");
        assert_eq!(plot.day_label(9), "2026-01-10");
    }

    #[test]
    fn extremes_give_finite_nice_axes() {
        let plot = Plot::new(&chart(
            series("a", date(2026, 1, 1), 3, |i| {
                if i == 1 { i64::MIN } else { i64::MAX }
            }),
            series("b", date(2026, 1, 1), 0, |_| 0),
        ))
        .unwrap();
        assert!(plot.y.lo.is_finite() && plot.y.hi.is_finite() && plot.y.step > 0.0);
        assert!(plot.y.ticks().len() <= 13);
        assert!(plot.y.label(plot.y.hi).ends_with('T'));
    }

    #[test]
    fn ten_years_of_days_get_yearly_ticks() {
        let plot = Plot::new(&chart(
            series("a", date(2016, 1, 1), 3_660, |i| i as i64),
            series("b", date(2006, 1, 1), 3_660, |_| 1),
        ))
        .unwrap();
        assert_eq!(plot.x_max, 3_659);
        let ticks = plot.x_ticks();
        assert!(ticks.len() <= 12 && ticks.len() >= 4, "{ticks:?}");
        assert!(!plot.markers());
    }

    #[test]
    fn same_day_points_are_added() {
        let mut current = series("a", date(2026, 1, 1), 2, |_| 100);
        current.points.push((date(2026, 1, 1), 50));
        let plot = Plot::new(&chart(current, series("b", date(2026, 1, 1), 0, |_| 0))).unwrap();
        assert_eq!(plot.current, [(0, 1.5), (1, 1.0)]);
    }

    #[test]
    fn labels() {
        let scale = Scale {
            lo: 0.0,
            hi: 50_000.0,
            step: 10_000.0,
        };
        assert_eq!(scale.label(40_000.0), "40,000");
        let scale = Scale {
            lo: 0.0,
            hi: 2.5e7,
            step: 2.5e6,
        };
        assert_eq!(scale.label(7.5e6), "7.5M");
        let scale = Scale {
            lo: -1.0,
            hi: 1.0,
            step: 0.25,
        };
        assert_eq!(scale.label(-0.75), "-0.75");
        assert_eq!(scale.label(1e-17), "0");
        assert_eq!(scale.label(0.5), "0.50");
        assert_eq!(group_digits("-1234567.5"), "-1,234,567.5");
        assert_eq!(group_digits("123"), "123");
        assert_eq!(nice_step(3.2), 5.0);
        assert_eq!(nice_step(0.0), 1.0);
    }
}
