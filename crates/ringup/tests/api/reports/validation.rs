//! The query every report takes: `from` and `to` required (local dates `YYYY-MM-DD`, `to ≥
//! from`, at most 3,660 days, both ends counted), a known `group_by`; and the format:
//! `?format=` (json, csv, xlsx, pdf) wins over `Accept`, anything else is 406.

use chrono::Duration;
use reqwest::Method;

use super::{CHART, Chain, DATED, SALES_REPORT, VALUATION, day, utc};
use crate::support::{assert_problem, header};

async fn chain() -> Chain {
    let c = Chain::new(utc("2026-12-06T12:00:00Z")).await;
    c.store("VAL1", "KES", "Africa/Nairobi", true).await;
    c
}

#[tokio::test]
async fn dates_are_required_well_formed_in_order_and_at_most_3660_days_apart() {
    // Arrange
    let c = chain().await;
    let from = day("2016-01-01");
    let longest = (from + Duration::days(3659)).to_string();
    let too_long = (from + Duration::days(3660)).to_string();

    // Act / Assert
    for path in DATED {
        let invalid = |query: Vec<(&'static str, String)>| {
            let c = &c;
            async move {
                let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.invalid(&c.admin, path, &q).await
            }
        };
        let s = |v: &str| v.to_owned();
        assert_eq!(invalid(vec![]).await, ["from", "to"], "{path}: neither");
        assert_eq!(
            invalid(vec![("to", s("2026-12-06"))]).await,
            ["from"],
            "{path}"
        );
        assert_eq!(
            invalid(vec![("from", s("2026-12-06"))]).await,
            ["to"],
            "{path}"
        );
        for bad in [
            "2026-1-05",
            "2026-02-30",
            "2026-13-01",
            "06/12/2026",
            "2026-12-06T00:00:00Z",
            "today",
            "",
            " 2026-12-06",
            "+2026-12-06",
        ] {
            let fields = invalid(vec![("from", s(bad)), ("to", s("2026-12-06"))]).await;
            assert_eq!(fields, ["from"], "{path} from={bad:?}");
            let fields = invalid(vec![("from", s("2026-12-01")), ("to", s(bad))]).await;
            assert_eq!(fields, ["to"], "{path} to={bad:?}");
        }
        let reversed = invalid(vec![("from", s("2026-12-06")), ("to", s("2026-12-05"))]).await;
        assert_eq!(reversed.len(), 1, "{path}: {reversed:?}");
        assert!(
            ["from", "to"].contains(&reversed[0].as_str()),
            "{reversed:?}"
        );
        let long = invalid(vec![("from", from.to_string()), ("to", too_long.clone())]).await;
        assert_eq!(long.len(), 1, "{path} 3661 days: {long:?}");
        assert!(["from", "to"].contains(&long[0].as_str()), "{long:?}");
        let response = c
            .get(
                &c.admin,
                path,
                &[("from", &from.to_string()), ("to", &longest)],
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "{path}: 3660 days are allowed"
        );
        let response = c
            .get(
                &c.admin,
                path,
                &[("from", "2026-12-06"), ("to", "2026-12-06")],
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "{path}: one day is a period"
        );
    }
    // The valuation is of now: it needs no dates.
    let response = c.get(&c.admin, VALUATION, &[]).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn an_unknown_grouping_is_422_naming_group_by() {
    // Arrange
    let c = chain().await;
    let days = [("from", "2026-12-01"), ("to", "2026-12-06")];

    // Act / Assert
    for bad in ["year", "Day", "days", "", "store,day", "tax"] {
        let mut q = days.to_vec();
        q.push(("group_by", bad));
        assert_eq!(
            c.invalid(&c.admin, SALES_REPORT, &q).await,
            ["group_by"],
            "group_by={bad:?}"
        );
    }
}

#[tokio::test]
async fn the_format_parameter_wins_over_accept_and_anything_else_is_406() {
    // Arrange
    let c = chain().await;
    let days = [("from", "2026-12-01"), ("to", "2026-12-06")];
    let ask = |format: Option<&'static str>, accept: Option<&'static str>| {
        let c = &c;
        async move {
            let mut q = days.to_vec();
            if let Some(f) = format {
                q.push(("format", f));
            }
            let mut request = c.app.authed(Method::GET, SALES_REPORT, &c.admin).query(&q);
            if let Some(a) = accept {
                request = request.header("accept", a);
            }
            request.send().await.unwrap()
        }
    };
    let content_type = |r: &reqwest::Response| header(r, "content-type").unwrap_or_default();

    // Act / Assert: refusals are problems, not bodies in another format.
    for (format, accept) in [
        (Some("xml"), None),
        (Some("html"), Some("application/json")),
        (Some(""), None),
        (None, Some("text/html")),
        (None, Some("image/png")),
        (None, Some("application/xml, text/html;q=0.9")),
    ] {
        let response = ask(format, accept).await;
        let problem = assert_problem(response, 406, SALES_REPORT).await;
        assert!(problem["errors"].is_array() || problem["errors"].is_null());
    }
    let cases = [
        (None, None, "application/json"),
        (None, Some("application/json"), "application/json"),
        (None, Some("*/*"), "application/json"),
        (None, Some("text/csv"), "text/csv"),
        (None, Some("text/html, text/csv"), "text/csv"),
        (None, Some("application/pdf"), "application/pdf"),
        (
            None,
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (Some("json"), Some("text/html"), "application/json"),
        (Some("csv"), Some("application/json"), "text/csv"),
        (Some("pdf"), Some("text/csv"), "application/pdf"),
        (
            Some("xlsx"),
            None,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ];
    for (format, accept, want) in cases {
        let response = ask(format, accept).await;
        assert_eq!(response.status().as_u16(), 200, "{format:?} {accept:?}");
        let got = content_type(&response);
        assert!(got.starts_with(want), "{format:?} {accept:?}: {got}");
        let body = response.bytes().await.unwrap();
        if want == "text/csv" {
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.starts_with("key,label,sales,"), "{text}");
        }
    }
    // The chart speaks SVG and PNG only.
    for bad in ["pdf", "csv", "json", "gif"] {
        let q = [days[0], days[1], ("format", bad)];
        let response = c.get(&c.admin, CHART, &q).await;
        assert_problem(response, 406, CHART).await;
    }
    // A servable format with a bad query is the query's 422, not a CSV body.
    let fields = c
        .invalid(
            &c.admin,
            SALES_REPORT,
            &[("from", "2026-12-01"), ("format", "csv")],
        )
        .await;
    assert_eq!(fields, ["to"]);
}

#[tokio::test]
async fn a_media_type_the_client_refuses_with_q_zero_is_never_sent() {
    // Arrange
    let c = chain().await;
    let days = [("from", "2026-12-01"), ("to", "2026-12-06")];

    // Act: CSV is explicitly not acceptable (q=0, RFC 9110 §12.4.2); JSON is.
    let response = c
        .app
        .authed(Method::GET, SALES_REPORT, &c.admin)
        .query(&days)
        .header("accept", "text/csv;q=0, application/json")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let got = header(&response, "content-type").unwrap_or_default();
    assert!(got.starts_with("application/json"), "sent {got}");
}
