//! Hostile free text and query strings (docs/API.md "Text"): a control character other than tab,
//! line feed and carriage return in any string of a body is 422 naming its JSON path, before
//! anything is written; a control character, invalid UTF-8 or a repeated parameter in a query
//! string is 422 naming the parameter. Notes keep their tabs and line breaks (CRLF from Windows
//! tills too), and a reason that shows nothing is 422.

use chrono::{Duration, SecondsFormat};
use reqwest::Method;
use ringup_core::clock::Clock;
use serde_json::{Value, json};

use crate::checkout_support::{
    RETURNS, SALES, SHIFTS, Shop, expect, id, key, line, pay, problem, sale_body, send, shop,
};
use crate::support::error_fields;

/// Every write audits, so an unchanged audit log means nothing was stored.
async fn audit_count(s: &Shop) -> usize {
    s.list("/api/v1/audit-events", "").await.len()
}

#[tokio::test]
async fn free_texts_with_control_characters_are_422_naming_the_path_and_store_nothing() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let item = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let sale_of = |note: &str, reference: &str| {
        let mut body = sale_body(
            &shift,
            vec![line(&item, 1)],
            vec![json!({"method": "card", "amount": 100, "reference": reference})],
        );
        body["note"] = json!(note);
        body
    };
    let sale = s.sell(&cashier.token, &sale_of("ok", "TX1")).await;
    let returned = s.sell(&cashier.token, &sale_of("ok", "TX2")).await;
    let (other, _) = s.other_store("OTH2", false).await;
    let transfer_of = |note: &str| {
        json!({"from_store_id": s.store.to_string(), "to_store_id": other.to_string(),
            "lines": [{"product_id": item.id, "quantity": 1}], "note": note})
    };
    let transfer = send(
        &s,
        Method::POST,
        "/api/v1/transfers",
        &s.admin,
        Some(&transfer_of("ok")),
        Some(&key()),
    )
    .await;
    let transfer = expect(transfer, 201).await;
    let expires_at =
        (s.app.clock.now() + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let sale_line = returned["lines"][0]["id"].clone();
    let adjustments = format!("/api/v1/stores/{}/stock/adjustments", s.store);
    let reservations = format!("/api/v1/stores/{}/reservations", s.store);
    let cash = format!("{SHIFTS}/{}/cash-movements", id(&shift));
    let void = format!("{SALES}/{}/void", id(&sale));
    let reject = format!("/api/v1/transfers/{}/reject", id(&transfer));
    let nul = "a\u{0}b";
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (SALES, cashier.token.as_str(), sale_of(nul, "TX3"), "note"),
        (
            SALES,
            cashier.token.as_str(),
            sale_of("ok", "\u{1b}]0;x\u{7}"),
            "payments[0].reference",
        ),
        (
            void.as_str(),
            manager.token.as_str(),
            json!({ "reason": nul }),
            "reason",
        ),
        (
            cash.as_str(),
            cashier.token.as_str(),
            json!({"kind": "paid_in", "amount": 100, "reason": nul}),
            "reason",
        ),
        (
            adjustments.as_str(),
            s.admin.as_str(),
            json!({"product_id": item.id, "delta": 1, "reason": "receiving", "note": nul}),
            "note",
        ),
        (
            reservations.as_str(),
            s.admin.as_str(),
            json!({"lines": [{"product_id": item.id, "quantity": 1}], "expires_at": expires_at,
                "reference": nul}),
            "reference",
        ),
        (
            "/api/v1/transfers",
            s.admin.as_str(),
            transfer_of(nul),
            "note",
        ),
        (
            reject.as_str(),
            s.admin.as_str(),
            json!({ "reason": nul }),
            "reason",
        ),
        (
            RETURNS,
            cashier.token.as_str(),
            json!({"sale_id": returned["id"], "lines": [{"sale_line_id": sale_line, "quantity": 1}],
                "refunds": [pay("cash", 100)], "reason": nul}),
            "reason",
        ),
    ];
    let audited = audit_count(&s).await;
    let sales = s.list(SALES, "").await.len();
    let moves = s.list("/api/v1/stock-movements", "").await.len();

    for (path, token, body, field) in &cases {
        // Act
        let response = send(&s, Method::POST, path, token, Some(body), Some(&key())).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), [*field], "{path}");
    }
    assert_eq!(audit_count(&s).await, audited, "nothing was written");
    assert_eq!(s.list(SALES, "").await.len(), sales);
    assert_eq!(s.list("/api/v1/stock-movements", "").await.len(), moves);
    assert_eq!(
        s.read(&format!("{SALES}/{}", id(&sale))).await["status"],
        "completed"
    );
    assert_eq!(s.on_hand(s.store, &item.id).await, 8);

    // Control: the same requests with plain text go through, so each 422 was the text's.
    for (path, token, body, field) in cases {
        let mut body = body;
        let (parent, leaf) = match field.split_once('.') {
            Some(("payments[0]", leaf)) => (&mut body["payments"][0], leaf),
            _ => (&mut body, field),
        };
        parent[leaf] = json!("fine");
        let response = send(&s, Method::POST, path, token, Some(&body), Some(&key())).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn notes_keep_tabs_and_line_breaks_and_reasons_must_show_something() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let item = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let note = "deliver to:\r\n\tgate 2\nafter 5";
    let mut body = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]);
    body["note"] = json!(note);

    // Act
    let sale = s.sell(&cashier.token, &body).await;
    let mut invisible = Vec::new();
    for reason in ["\u{200d}", "\u{feff}\r\n", "\u{202e}"] {
        invisible.push(s.void(&manager.token, &sale, reason).await);
    }
    let voided = s.void(&manager.token, &sale, "till\r\nmistake").await;

    // Assert
    assert_eq!(sale["note"], note);
    assert_eq!(
        s.read(&format!("{SALES}/{}", id(&sale))).await["note"],
        note
    );
    for response in invisible {
        assert_eq!(error_fields(&problem(response, 422).await), ["reason"]);
    }
    assert_eq!(expect(voided, 200).await["void_reason"], "till\r\nmistake");
}

#[tokio::test]
async fn query_parameters_with_control_characters_or_given_twice_are_422_naming_them() {
    // Arrange
    let s = shop().await;
    let cases = [
        ("/api/v1/products?q=%00", "q"),
        ("/api/v1/customers?q=%00", "q"),
        ("/api/v1/audit-events?action=x%00y", "action"),
        ("/api/v1/sales?store_id=%00", "store_id"),
        ("/api/v1/stock-movements?kind=sale%0D%0A", "kind"),
        ("/api/v1/products?q=milk%09bread", "q"),
        ("/api/v1/products?q=%C2%9B", "q"),
        ("/api/v1/products?q=%FF", "q"),
        ("/api/v1/products?limit=1&limit=2", "limit"),
        ("/api/v1/audit-events?limit=1&limit=2", "limit"),
        ("/api/v1/products?q=milk&q=bread", "q"),
        ("/api/v1/stores?cursor=&cursor=", "cursor"),
    ];

    for (path, field) in cases {
        // Act
        let response = s.get(&s.admin, path).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), [field], "{path}");
    }
    // Controls: the same lists answer well-formed queries.
    for path in [
        "/api/v1/products?q=milk+bread&limit=1",
        "/api/v1/customers?q=%C3%91and%C3%BA",
        "/api/v1/audit-events?action=auth.login&limit=2",
    ] {
        expect(s.get(&s.admin, path).await, 200).await;
    }
    // NUL in a path segment is no id: 404, never a 500.
    problem(s.get(&s.admin, "/api/v1/products/%00").await, 404).await;
}
