//! Every CSV, XLSX or PDF export is one `report.exported` audit event naming its report and
//! format, by whoever asked; JSON reports and charts are not exports and a refused export is
//! not audited.

use serde_json::Value;

use super::exports::{XLSX_MEDIA, export, json_of_spec, specs, trade};
use super::{CHART, COMMISSIONS, SALES_REPORT, SHIFTS_REPORT, TAX_REPORT, VALUATION};

#[tokio::test]
async fn every_export_is_audited_once_and_json_and_charts_never() {
    // Arrange
    let t = trade().await;
    let c = &t.c;
    let me = c.admin_report("/api/v1/me", &[]).await;
    let specs = specs(&t.kes);

    // Act: JSON of every report and both charts: nothing to audit.
    for spec in &specs {
        json_of_spec(c, spec).await;
        let mut q: Vec<(&str, &str)> = spec.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        q.push(("format", "json"));
        c.admin_report(spec.path, &q).await;
    }
    let q = [
        ("from", "2026-09-01"),
        ("to", "2026-09-02"),
        ("store_id", t.kes.id.as_str()),
    ];
    for format in ["svg", "png"] {
        let mut q = q.to_vec();
        q.push(("format", format));
        assert_eq!(c.get(&c.admin, CHART, &q).await.status().as_u16(), 200);
    }
    let quiet = c.exports_audited().await;
    // Then every report in every export format, and a refused one.
    let mut made = Vec::new();
    for spec in &specs {
        for (format, media) in [
            ("csv", "text/csv"),
            ("xlsx", XLSX_MEDIA),
            ("pdf", "application/pdf"),
        ] {
            export(c, &c.admin, spec, format, media).await;
            made.push((spec.path, format));
        }
    }
    let bad = c
        .get(
            &c.admin,
            SALES_REPORT,
            &[("from", "2026-09-02"), ("format", "csv")],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let by_manager = export(c, &t.manager.token, &specs[5], "csv", "text/csv").await;
    let events = c.exports_audited().await;

    // Assert
    assert!(
        quiet.is_empty(),
        "JSON and charts are not exports: {quiet:?}"
    );
    assert!(!by_manager.is_empty());
    assert_eq!(events.len(), made.len() + 1, "{events:#?}");
    let name_of = |path: &str| -> &str {
        match path {
            SALES_REPORT => "sales",
            TAX_REPORT => "tax",
            COMMISSIONS => "commission",
            SHIFTS_REPORT => "shift",
            VALUATION => "valuation",
            _ => "movement",
        }
    };
    let mut want: Vec<(String, String)> = made
        .iter()
        .map(|(path, format)| (name_of(path).to_owned(), (*format).to_owned()))
        .collect();
    want.push(("commission".to_owned(), "csv".to_owned()));
    let mut got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let report = e["details"]["report"]
                .as_str()
                .unwrap_or_else(|| panic!("{e}"));
            let stem = [
                "sales",
                "tax",
                "commission",
                "shift",
                "valuation",
                "movement",
            ]
            .into_iter()
            .find(|s| report.contains(s))
            .unwrap_or_else(|| panic!("which report is {report}?"));
            (
                stem.to_owned(),
                e["details"]["format"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for e in &events {
        assert_eq!(e["action"], "report.exported", "{e}");
    }
    let admin_events = events.iter().filter(|e| e["actor_id"] == me["id"]).count();
    assert_eq!(admin_events, made.len(), "{events:#?}");
    let managers: Vec<&Value> = events
        .iter()
        .filter(|e| e["actor_id"] == t.manager.id.as_str())
        .collect();
    assert_eq!(managers.len(), 1, "{events:#?}");
}
