//! Exports read back: CSV (RFC 4180, a header of the JSON field names, amounts in major units
//! with the currency's decimals and a dot) equals the JSON report row for row; XLSX has
//! numeric cells and, for a day report, date cells in the key column; the PDF holds the
//! period and the totals; the chart is SVG or a decodable PNG. The audit of exports is in
//! `export_audit`, on the same trade.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    CHART, COMMISSIONS, Chain, MOVEMENTS, SALES_FIELDS, SALES_REPORT, SHIFTS_REPORT, Store,
    TAX_REPORT, VALUATION, id, int, return_body, sale_body, utc,
};
use crate::checkout_support::pay;
use crate::support::header;

pub(super) const XLSX_MEDIA: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `minor` in major units with `decimals` and a dot, written here from API.md's example.
fn major(minor: i64, decimals: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let scale = 10_i64.pow(decimals);
    let (whole, fraction) = (minor.abs() / scale, minor.abs() % scale);
    if decimals == 0 {
        format!("{sign}{whole}")
    } else {
        format!(
            "{sign}{whole}.{fraction:0width$}",
            width = decimals as usize
        )
    }
}

/// A report, its contract fields and which of them are money.
pub(super) struct Spec {
    pub path: &'static str,
    pub query: Vec<(&'static str, String)>,
    pub fields: &'static [&'static str],
    pub money: &'static [&'static str],
}

/// The text a CSV cell must hold for a JSON value of `field`.
fn cell(value: &Value, field: &str, money: &[&str], decimals: u32) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) if money.contains(&field) => major(n.as_i64().unwrap(), decimals),
        Value::Number(n) => n.to_string(),
        other => panic!("{field}: unexpected {other}"),
    }
}

/// Asserts that `csv` is the JSON `report` in CSV: a header holding every contract field,
/// every column a JSON field, then the rows in order, then at most a totals row.
fn assert_csv(csv: &str, report: &Value, spec: &Spec, decimals: u32) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    for field in spec.fields {
        assert!(
            header.iter().any(|h| h == field),
            "{}: no column {field}: {header:?}",
            spec.path
        );
    }
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rows = report["rows"].as_array().unwrap();
    assert!(
        records.len() == rows.len() || records.len() == rows.len() + 1,
        "{}: {} records for {} rows:\n{csv}",
        spec.path,
        records.len(),
        rows.len()
    );
    for (record, row) in records.iter().zip(rows) {
        for (name, text) in header.iter().zip(record.iter()) {
            let value = row
                .get(name)
                .unwrap_or_else(|| panic!("{}: column {name} is no JSON field", spec.path));
            assert_eq!(
                text,
                cell(value, name, spec.money, decimals),
                "{}: {name} of {row}",
                spec.path
            );
        }
    }
    if records.len() == rows.len() + 1 {
        let totals = &report["totals"];
        let last = records.last().unwrap();
        for (name, text) in header.iter().zip(last.iter()) {
            let value = totals
                .get(name)
                .filter(|_| spec.money.contains(&name.as_str()));
            if let Some(value) = value {
                assert_eq!(
                    text,
                    cell(value, name, spec.money, decimals),
                    "{}: totals {name}",
                    spec.path
                );
            }
        }
    }
}

/// GET as `token` with `format`, expecting 200 and `media`; the bytes.
pub(super) async fn export(
    c: &Chain,
    token: &str,
    spec: &Spec,
    format: &str,
    media: &str,
) -> Vec<u8> {
    let mut q: Vec<(&str, &str)> = spec.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    q.push(("format", format));
    let response = c.get(token, spec.path, &q).await;
    assert_eq!(response.status().as_u16(), 200, "{} {format}", spec.path);
    let content_type = header(&response, "content-type").unwrap_or_default();
    assert!(
        content_type.starts_with(media),
        "{} {format}: {content_type}",
        spec.path
    );
    response.bytes().await.unwrap().to_vec()
}

fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, bytes).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(output.status.success(), "pdftotext failed");
    String::from_utf8(output.stdout).unwrap()
}

/// A store in shillings with two days of trade and a short drawer, and a store in Bahraini
/// dinars (three decimals) with one sale.
pub(super) struct Trade {
    pub c: Chain,
    pub kes: Store,
    pub bhd: Store,
    pub manager: ringup_testkit::TestUser,
}

pub(super) async fn trade() -> Trade {
    let c = Chain::new(utc("2026-09-03T00:00:00Z")).await;
    let kes = c.store("EXP1", "KES", "Africa/Nairobi", true).await;
    let bhd = c.store("EXP2", "BHD", "Asia/Bahrain", true).await;
    // Names that need RFC 4180 quoting.
    let vat = c.tax("VAT \"standard\", 16%", 1600).await;
    let food = c.category("Food").await;
    let tea = c.product("Tea, green", 12_345, &vat, Some(&food)).await;
    let dates = c.product("Dates", 1_234, &vat, Some(&food)).await;
    c.receive(&kes, &tea, 10).await;
    c.receive(&bhd, &dates, 10).await;
    let cashier = c.user("cashier", &[&kes, &bhd], 500).await;
    let manager = c.user("manager", &[&kes], 0).await;
    c.at(utc("2026-09-01T06:00:00Z"));
    let shift = c.open(&cashier.token, &kes.register).await;
    let bhd_shift = c.open(&cashier.token, &bhd.register).await;
    let tea_line = |q: i64| json!({"product_id": tea.id, "quantity": q});
    let body = sale_body(&shift, vec![tea_line(2)], vec![pay("cash", 25_000)]);
    let first = c
        .sell_at(utc("2026-09-01T07:00:00Z"), &cashier.token, &body)
        .await;
    let mut line = tea_line(1);
    line["discount"] = json!({"amount": 45});
    let body = sale_body(&shift, vec![line], vec![pay("card", 12_300)]);
    c.sell_at(utc("2026-09-02T07:00:00Z"), &cashier.token, &body)
        .await;
    let body = return_body(&first, None, &[(0, 1)], vec![pay("cash", 12_345)]);
    c.return_at(utc("2026-09-02T08:00:00Z"), &cashier.token, &body)
        .await;
    let body = sale_body(
        &bhd_shift,
        vec![json!({"product_id": dates.id, "quantity": 1})],
        vec![pay("cash", 1_234)],
    );
    c.sell_at(utc("2026-09-01T08:00:00Z"), &cashier.token, &body)
        .await;
    // Expected cash 25 000 − 310 − 12 345 = 12 345; 12 000 counted: 3.45 short.
    c.at(utc("2026-09-02T15:00:00Z"));
    let path = format!("/api/v1/shifts/{}/close", id(&shift));
    let closed = c
        .post(&cashier.token, &path, &json!({"counted_cash": 12_000}), 200)
        .await;
    assert_eq!(closed["over_short"], -345, "{closed}");
    Trade {
        c,
        kes,
        bhd,
        manager,
    }
}

fn dated(store: &Store, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("from", "2026-09-01".to_owned()),
        ("to", "2026-09-02".to_owned()),
        ("store_id", store.id.clone()),
    ];
    q.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    q
}

pub(super) fn specs(store: &Store) -> Vec<Spec> {
    const SALES_MONEY: &[&str] = &[
        "gross",
        "discounts",
        "net",
        "tax",
        "total",
        "refunds",
        "average_basket",
    ];
    let mut specs: Vec<Spec> = ["day", "store", "cashier", "tender"]
        .into_iter()
        .map(|g| Spec {
            path: SALES_REPORT,
            query: dated(store, &[("group_by", g)]),
            fields: &SALES_FIELDS,
            money: SALES_MONEY,
        })
        .collect();
    specs.push(Spec {
        path: TAX_REPORT,
        query: dated(store, &[]),
        fields: &[
            "tax_class_id",
            "name",
            "rate_bp",
            "net",
            "tax",
            "total",
            "refund_net",
            "refund_tax",
        ],
        money: &["net", "tax", "total", "refund_net", "refund_tax"],
    });
    specs.push(Spec {
        path: COMMISSIONS,
        query: dated(store, &[]),
        fields: &["cashier_id", "username", "sales", "net_total", "commission"],
        money: &["net_total", "commission"],
    });
    specs.push(Spec {
        path: SHIFTS_REPORT,
        query: dated(store, &[]),
        fields: &[
            "shift_id",
            "register_id",
            "cashier_id",
            "opened_at",
            "closed_at",
            "expected_cash",
            "counted_cash",
            "over_short",
        ],
        money: &["expected_cash", "counted_cash", "over_short"],
    });
    specs.push(Spec {
        path: VALUATION,
        query: vec![("store_id", store.id.clone())],
        fields: &[
            "store_id",
            "category_id",
            "quantity",
            "cost_value",
            "retail_value",
        ],
        money: &["cost_value", "retail_value"],
    });
    specs.push(Spec {
        path: MOVEMENTS,
        query: dated(store, &[]),
        fields: &["kind", "movements", "quantity"],
        money: &[],
    });
    specs
}

pub(super) async fn json_of_spec(c: &Chain, spec: &Spec) -> Value {
    let q: Vec<(&str, &str)> = spec.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.admin_report(spec.path, &q).await
}

#[tokio::test]
async fn csv_exports_are_the_json_reports_in_major_units() {
    // Arrange
    let t = trade().await;
    let c = &t.c;

    // Act / Assert: every report of the shilling store, two decimals.
    for spec in specs(&t.kes) {
        let report = json_of_spec(c, &spec).await;
        assert!(
            !report["rows"].as_array().unwrap().is_empty(),
            "{}: {report}",
            spec.path
        );
        let csv = export(c, &c.admin, &spec, "csv", "text/csv").await;
        let csv = String::from_utf8(csv).unwrap();
        assert_csv(&csv, &report, &spec, 2);
    }
    // Spot checks of the text itself: 246.90 taken in, 3.45 short.
    let spec = &specs(&t.kes)[0];
    let csv = String::from_utf8(export(c, &c.admin, spec, "csv", "text/csv").await).unwrap();
    assert!(csv.contains(",246.90,"), "{csv}");
    let shifts = &specs(&t.kes)[6];
    let csv = String::from_utf8(export(c, &c.admin, shifts, "csv", "text/csv").await).unwrap();
    assert!(csv.contains(",-3.45"), "{csv}");
    let tax = &specs(&t.kes)[4];
    let csv = String::from_utf8(export(c, &c.admin, tax, "csv", "text/csv").await).unwrap();
    assert!(
        csv.contains(",\"VAT \"\"standard\"\", 16%\","),
        "quoted per RFC 4180: {csv}"
    );
    // Three decimals for dinars: 1.234, not 12.34.
    let spec = Spec {
        path: SALES_REPORT,
        query: dated(&t.bhd, &[]),
        fields: &SALES_FIELDS,
        money: &[
            "gross",
            "discounts",
            "net",
            "tax",
            "total",
            "refunds",
            "average_basket",
        ],
    };
    let report = json_of_spec(c, &spec).await;
    assert_eq!(report["currency"], "BHD");
    let csv = String::from_utf8(export(c, &c.admin, &spec, "csv", "text/csv").await).unwrap();
    assert_csv(&csv, &report, &spec, 3);
    assert!(csv.contains(",1.234,"), "{csv}");
}

/// The first worksheet's cells.
fn sheet(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let first = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&first).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

fn number(cell: &Data) -> f64 {
    match cell {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a numeric cell: {other:?}"),
    }
}

#[tokio::test]
async fn xlsx_exports_hold_numbers_as_numbers_and_days_as_dates() {
    // Arrange
    let t = trade().await;
    let c = &t.c;
    let spec = &specs(&t.kes)[0];
    let report = json_of_spec(c, spec).await;

    // Act
    let bytes = export(c, &c.admin, spec, "xlsx", XLSX_MEDIA).await;
    let rows = sheet(bytes);

    // Assert
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    for field in SALES_FIELDS {
        assert!(
            header.iter().any(|h| h == field),
            "no column {field}: {header:?}"
        );
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let json_rows = report["rows"].as_array().unwrap();
    assert!(rows.len() == json_rows.len() + 1 || rows.len() == json_rows.len() + 2);
    for (cells, row) in rows[1..].iter().zip(json_rows) {
        let key = &cells[col("key")];
        let date = key
            .as_date()
            .unwrap_or_else(|| panic!("the key {key:?} is not a date cell"));
        assert!(key.is_datetime(), "{key:?}");
        assert_eq!(date.to_string(), row["key"].as_str().unwrap());
        for field in ["sales", "returns"] {
            assert_eq!(
                number(&cells[col(field)]),
                int(row, field) as f64,
                "{field}"
            );
        }
        for field in [
            "gross",
            "discounts",
            "net",
            "tax",
            "total",
            "refunds",
            "average_basket",
        ] {
            let want = int(row, field) as f64 / 100.0;
            let got = number(&cells[col(field)]);
            assert!(
                (got - want).abs() < 1e-9,
                "{field}: {got} ≠ {want} (row {row})"
            );
        }
    }
    // The tax report too: amounts are numbers in major units.
    let tax = &specs(&t.kes)[4];
    let report = json_of_spec(c, tax).await;
    let rows = sheet(export(c, &c.admin, tax, "xlsx", XLSX_MEDIA).await);
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let first = &report["rows"][0];
    assert_eq!(number(&rows[1][col("rate_bp")]), 1600.0);
    let got = number(&rows[1][col("tax")]);
    assert!(
        (got - int(first, "tax") as f64 / 100.0).abs() < 1e-9,
        "{got}: {report}"
    );
    // Dinars have three decimals: 1 234 fils are 1.234.
    let dinars = Spec {
        path: SALES_REPORT,
        query: dated(&t.bhd, &[]),
        fields: &SALES_FIELDS,
        money: &[],
    };
    let rows = sheet(export(c, &c.admin, &dinars, "xlsx", XLSX_MEDIA).await);
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    let total = header.iter().position(|h| h == "total").unwrap();
    assert!(
        (number(&rows[1][total]) - 1.234).abs() < 1e-9,
        "{:?}",
        rows[1]
    );
}

#[tokio::test]
async fn pdf_exports_hold_the_title_period_and_totals_and_charts_are_images() {
    // Arrange
    let t = trade().await;
    let c = &t.c;
    let sales = &specs(&t.kes)[0];
    let report = json_of_spec(c, sales).await;
    assert_eq!(report["totals"]["total"], 36_990, "{report}");

    // Act
    let text = pdf_text(&export(c, &c.admin, sales, "pdf", "application/pdf").await);
    let tax = &specs(&t.kes)[4];
    let tax_report = json_of_spec(c, tax).await;
    let tax_text = pdf_text(&export(c, &c.admin, tax, "pdf", "application/pdf").await);

    // Assert
    let lower = text.to_lowercase();
    assert!(lower.contains("sales"), "{text}");
    for needle in ["2026-09-01", "2026-09-02", "369.90", "123.45"] {
        assert!(text.contains(needle), "no {needle} in the PDF:\n{text}");
    }
    assert!(tax_text.to_lowercase().contains("tax"), "{tax_text}");
    let total_tax = int(&tax_report["totals"], "tax");
    assert!(
        tax_text.contains(&major(total_tax, 2)),
        "no tax total in:\n{tax_text}"
    );

    // The chart: SVG by default, PNG on request.
    let q = [
        ("from", "2026-09-01"),
        ("to", "2026-09-02"),
        ("store_id", t.kes.id.as_str()),
    ];
    let svg = c.get(&c.admin, CHART, &q).await;
    assert_eq!(svg.status().as_u16(), 200);
    assert_eq!(
        header(&svg, "content-type").as_deref(),
        Some("image/svg+xml")
    );
    let svg = svg.text().await.unwrap();
    let body = svg.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").unwrap().1.trim_start(),
        None => body,
    };
    assert!(body.starts_with("<svg"), "{svg}");
    let mut png_q = q.to_vec();
    png_q.push(("format", "png"));
    let by_param = c.get(&c.admin, CHART, &png_q).await;
    let by_accept = c
        .app
        .authed(Method::GET, CHART, &c.admin)
        .query(&q)
        .header("accept", "image/png")
        .send()
        .await
        .unwrap();
    for png in [by_param, by_accept] {
        assert_eq!(png.status().as_u16(), 200);
        assert_eq!(header(&png, "content-type").as_deref(), Some("image/png"));
        let bytes = png.bytes().await.unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(Cursor::new(bytes.to_vec()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert!(info.width > 100 && info.height > 100, "{info:?}");
    }
}

#[tokio::test]
async fn a_chain_with_no_stores_exports_empty_reports_in_every_format() {
    // Arrange: a fresh server, no store yet (a new user's first look at the reports).
    let c = Chain::new(utc("2026-09-03T12:00:00Z")).await;
    let period = [("from", "2026-08-01"), ("to", "2026-09-02")];
    let formats = [
        ("csv", "text/csv"),
        ("xlsx", XLSX_MEDIA),
        ("pdf", "application/pdf"),
    ];

    for path in [
        SALES_REPORT,
        TAX_REPORT,
        COMMISSIONS,
        SHIFTS_REPORT,
        VALUATION,
        MOVEMENTS,
    ] {
        for (format, media) in formats {
            // Act
            let mut query = period.to_vec();
            query.push(("format", format));
            let response = c.get(&c.admin, path, &query).await;
            let status = response.status().as_u16();
            let content_type = header(&response, "content-type").unwrap_or_default();
            let body = response.bytes().await;

            // Assert: a whole file, not a 500 or a body cut off.
            assert_eq!(status, 200, "{path} {format}");
            assert!(content_type.starts_with(media), "{path}: {content_type}");
            assert!(!body.unwrap().is_empty(), "{path} {format}");
        }
    }
    let chart = c
        .get(
            &c.admin,
            CHART,
            &[
                ("from", "2026-08-01"),
                ("to", "2026-09-02"),
                ("format", "png"),
            ],
        )
        .await;
    assert_eq!(chart.status().as_u16(), 200);
}
