//! The PDF read back with poppler's `pdftotext` and `pdfinfo`, as a person would see it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::Command;

use super::*;
use crate::fixtures;
use crate::model::{Cell, Column, Kind};

/// Runs a poppler tool on `pdf` and returns its output. Fails (never skips) without
/// poppler-utils, which CI installs: a skipped check would prove nothing.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    file.write_all(pdf).unwrap();
    file.flush().unwrap();
    let output = Command::new(tool)
        .args(args)
        .arg(file.path())
        .args(if tool == "pdftotext" { &["-"][..] } else { &[][..] })
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run `{tool}` ({e}); install poppler-utils (apt-get install poppler-utils)")
        });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn text_of(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    poppler("pdftotext", &["-layout"], pdf)
}

/// The pages' texts, split at form feeds.
fn pages_of(text: &str) -> Vec<&str> {
    let mut pages: Vec<&str> = text.split('\u{c}').collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Page size from pdfinfo, e.g. "595.28 x 841.89".
fn page_size(pdf: &[u8]) -> String {
    let info = poppler("pdfinfo", &[], pdf);
    let line = info.lines().find(|l| l.starts_with("Page size:")).unwrap();
    line.trim_start_matches("Page size:").trim().to_owned()
}

#[test]
fn a_short_table_reads_back() {
    let table = fixtures::sales_table(3);
    let bytes = pdf(&table, None).unwrap();
    let text = text_of(&bytes);
    let pages = pages_of(&text);
    assert_eq!(pages.len(), 1, "{text}");
    for expected in [
        "Sales report 2026-11-01 to 2026-11-30",
        "Store NRB1 (Nairobi)",
        "product",
        "margin_pct",
        "Cooking Oil 5L",
        "2026-11-01",
        "1234.50",
        "23.46",
        "Soap, \"bar\" large",
        "-0.05",
        "Café crème",
        "Page 1 of 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let totals = text.lines().find(|l| l.contains("totals")).unwrap();
    assert!(
        totals.contains('6') && totals.trim_end().ends_with("1237.40"),
        "{totals}"
    );
    // Numbers are right-aligned: the revenue column's values end in the same place.
    let ends: Vec<usize> = ["1234.50", "-0.05", "2.95", "1237.40"]
        .iter()
        .map(|v| {
            let line = text.lines().find(|l| l.contains(v)).unwrap();
            let at = line.find(v).unwrap() + v.len();
            line[..at].chars().count()
        })
        .collect();
    assert!(
        ends.iter().all(|e| e.abs_diff(ends[0]) <= 1),
        "{ends:?}\n{text}"
    );
    assert!(
        page_size(&bytes).starts_with("595.28 x 841.89"),
        "portrait A4"
    );
}

#[test]
fn a_long_table_flows_over_pages_with_the_header_on_each() {
    let table = fixtures::sales_table(150);
    let text = text_of(&pdf(&table, None).unwrap());
    let pages = pages_of(&text);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains("product") && page.contains("revenue"),
            "page {i}:\n{page}"
        );
        assert!(page.contains(&format!("Page {} of {}", i + 1, pages.len())));
    }
    assert!(pages[0].contains("Sales report"));
    assert!(pages[0].contains("Cooking Oil 5L"));
    let last = pages.last().unwrap();
    assert!(
        last.contains("Item number 149") && last.contains("totals"),
        "{last}"
    );
    // Every row is printed once.
    for i in 3..150 {
        let name = format!("Item number {i} ");
        assert_eq!(text.matches(&name).count(), 1, "{name}");
    }
}

#[test]
fn the_chart_is_drawn_on_the_first_page() {
    let table = fixtures::sales_table(3);
    let chart = fixtures::sales_chart(30);
    let text = text_of(&pdf(&table, Some(&chart)).unwrap());
    let first = pages_of(&text)[0];
    for expected in [
        "Sales per day",
        "Nov 2026",
        "Oct 2026",
        "Amount (KES)",
        "2026-11-01",
        "Cooking Oil 5L",
    ] {
        assert!(first.contains(expected), "{expected:?} missing:\n{first}");
    }
    // The chart sits between the heading and the table.
    let chart_at = first.find("Sales per day").unwrap();
    assert!(first.find("Store NRB1").unwrap() < chart_at);
    assert!(chart_at < first.find("Cooking Oil").unwrap());
}

#[test]
fn many_columns_go_landscape_and_awkward_input_renders() {
    let mut table = fixtures::sales_table(3);
    table
        .columns
        .extend((0..20).map(|i| Column::new(format!("extra_column_{i}"), Kind::Integer)));
    table.rows.push(vec![Cell::Text(format!(
        "{} end",
        "very long text ".repeat(10_000)
    ))]);
    table.rows.push(vec![Cell::Int(7); 60]);
    table
        .rows
        .push(vec![Cell::Text("漢字 🍞 Ünïcödé (x) \\ 100%".into())]);
    let bytes = pdf(&table, None).unwrap();
    let size = page_size(&bytes);
    assert!(
        size.starts_with("841.89") && size.contains(" x 595.28"),
        "landscape A4: {size}"
    );
    let text = text_of(&bytes);
    assert!(text.contains("very long"), "{text}");
    assert!(!text.contains(" end"), "long text is cut");
    assert!(text.contains("?? ? Ünïcödé"), "{text}");
    assert!(text.contains("totals"));
    // However cramped, money is never cut: it shows whole.
    assert!(
        text.contains("1234.50") && text.contains("1237.40"),
        "{text}"
    );

    // PDF string delimiters survive; what WinAnsi lacks prints as '?'.
    let mut narrow = fixtures::sales_table(0);
    narrow.rows = vec![vec![Cell::Text("漢字 🍞 Ünïcödé (x) \\ 100% € “q”".into())]];
    let text = text_of(&pdf(&narrow, None).unwrap());
    assert!(text.contains("?? ? Ünïcödé (x) \\ 100% € “q”"), "{text}");

    let mut empty = fixtures::sales_table(0);
    empty.totals = None;
    empty.notes.clear();
    let text = text_of(&pdf(&empty, Some(&fixtures::sales_chart(0))).unwrap());
    assert!(text.contains("No rows."), "{text}");

    let mut nothing = empty.clone();
    nothing.columns.clear();
    nothing.title = String::new();
    assert!(pdf(&nothing, None).unwrap().starts_with(b"%PDF-"));
}

#[test]
fn a_single_day_and_ten_years_chart() {
    let table = fixtures::sales_table(1);
    for days in [1, 3_660] {
        let text = text_of(&pdf(&table, Some(&fixtures::sales_chart(days))).unwrap());
        assert!(
            text.contains("Sales per day") && text.contains("2026-11-01"),
            "{text}"
        );
    }
}

#[test]
fn money_without_currency_is_refused() {
    let mut table = fixtures::sales_table(1);
    table.currency = None;
    assert!(matches!(
        pdf(&table, None),
        Err(RenderError::MissingCurrency)
    ));
}
