//! Sample tables and charts for the tests of every format, so they check the same data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Days, NaiveDate};

use crate::model::{Cell, Chart, Column, Currency, Kind, Series, Table};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn kes() -> Currency {
    Currency {
        code: "KES".into(),
        decimals: 2,
    }
}

/// `rows` rows of sales. The first three are awkward on purpose: a name with a comma, quote
/// and newline; a negative amount; accents; a percentage of `None`. The totals row sums
/// quantity and revenue: for 3 rows they are 6 and 1237.40.
pub fn sales_table(rows: usize) -> Table {
    let first = [
        vec![
            Cell::Text("Cooking Oil 5L".into()),
            Cell::Date(date(2026, 11, 1)),
            Cell::Int(2),
            Cell::Money(123_450),
            Cell::Percent(Some(23.456)),
        ],
        vec![
            Cell::Text("Soap, \"bar\"\nlarge".into()),
            Cell::Date(date(2026, 11, 2)),
            Cell::Int(1),
            Cell::Money(-5),
            Cell::Percent(Some(-1.5)),
        ],
        vec![
            Cell::Text("Café crème".into()),
            Cell::Date(date(2026, 11, 3)),
            Cell::Int(3),
            Cell::Money(295),
            Cell::Percent(None),
        ],
    ];
    let start = date(2026, 11, 1);
    let rows: Vec<Vec<Cell>> = first
        .into_iter()
        .chain((3..).map(|i: u64| {
            vec![
                Cell::Text(format!("Item number {i}")),
                Cell::Date(start.checked_add_days(Days::new(i % 30)).unwrap()),
                Cell::Int(1),
                Cell::Money(1_000 + i64::try_from(i).unwrap()),
                Cell::Percent(Some(10.0)),
            ]
        }))
        .take(rows)
        .collect();
    let sum = |column: usize| -> i64 {
        rows.iter()
            .map(|r| match r.get(column) {
                Some(Cell::Int(v) | Cell::Money(v)) => *v,
                _ => 0,
            })
            .sum()
    };
    let totals = vec![
        Cell::Text("totals".into()),
        Cell::Empty,
        Cell::Int(sum(2)),
        Cell::Money(sum(3)),
        Cell::Empty,
    ];
    Table {
        title: "Sales report 2026-11-01 to 2026-11-30".into(),
        notes: vec!["Store NRB1 (Nairobi)".into(), "Currency KES".into()],
        currency: Some(kes()),
        columns: vec![
            Column::new("product", Kind::Text),
            Column::new("sold_on", Kind::Date),
            Column::new("quantity", Kind::Integer),
            Column::new("revenue", Kind::Money),
            Column::new("margin_pct", Kind::Percent),
        ],
        rows,
        totals: Some(totals),
    }
}

/// A series of `days` days from `start`, amounts from `amount(day index)` in minor units.
pub fn series(label: &str, start: NaiveDate, days: u64, amount: impl Fn(u64) -> i64) -> Series {
    Series {
        label: label.into(),
        points: (0..days)
            .map(|i| (start.checked_add_days(Days::new(i)).unwrap(), amount(i)))
            .collect(),
    }
}

/// November 2026 against October, with a weekly rhythm so the lines are easy to tell apart.
pub fn sales_chart(days: u64) -> Chart {
    let weekly = |i: u64| i64::try_from((i * 37) % 7).unwrap();
    Chart {
        title: "Sales per day".into(),
        currency: kes(),
        current: series("Nov 2026", date(2026, 11, 1), days, |i| {
            4_500_000 + 350_000 * weekly(i)
        }),
        previous: series("Oct 2026", date(2026, 10, 2), days, |i| {
            3_800_000 + 250_000 * weekly(i + 3)
        }),
    }
}
