//! Racing writers: sales rung up at once on three tills of one store, some of them voided
//! while more sales come in, leave rollups that add up exactly to the sales that stand — in
//! every grouping by sale, in the commission and tax reports, and equal to their recomputation from the sales
//! (`ringup check`, run as the binary).

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde_json::{Value, json};

use super::assert_sales;
use super::model::{Group, Model, Scope};
use super::{
    COMMISSIONS, Chain, SALE_GROUPS, SALES_REPORT, TAX_REPORT, id, int, key, sale_body, utc,
};
use crate::checkout_support::pay;

/// POSTs `body` to `url` with a fresh key; the answer and its status.
async fn post(client: reqwest::Client, url: String, token: String, body: Value) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, ringup_testkit::json_of(response).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_sales_and_voids_leave_exact_rollups() {
    // Arrange
    let c = Chain::new(utc("2026-08-11T00:00:00Z")).await;
    let zone: Tz = "Africa/Nairobi".parse().unwrap();
    let store = c.store("RACE", "KES", "Africa/Nairobi", true).await;
    let registers = [
        store.register.clone(),
        c.register(&store.id, "Till 2").await,
        c.register(&store.id, "Till 3").await,
    ];
    let standard = c.tax("Standard", 1600).await;
    let reduced = c.tax("Reduced", 800).await;
    let category = c.category("Groceries").await;
    let bread = c.product("Bread", 6_500, &reduced, Some(&category)).await;
    let milk = c.product("Milk", 7_990, &standard, Some(&category)).await;
    let mut model = Model::default();
    model.labels.insert(store.id.clone(), "RACE".into());
    model.labels.insert(category.clone(), "Groceries".into());
    for (p, tax) in [(&bread, &reduced.id), (&milk, &standard.id)] {
        c.receive(&store, p, 1_000).await;
        model.labels.insert(p.id.clone(), p.name.clone());
        model.categories.insert(p.id.clone(), category.clone());
        model.classes.insert(p.id.clone(), tax.clone());
    }
    model.labels.insert(standard.id.clone(), "Standard".into());
    model.labels.insert(reduced.id.clone(), "Reduced".into());
    let mut cashiers = Vec::new();
    for (i, register) in registers.iter().enumerate() {
        let cashier = c.user("cashier", &[&store], 150 * (i as i64 + 1)).await;
        model
            .labels
            .insert(cashier.id.clone(), cashier.username.clone());
        c.at(utc("2026-08-10T05:00:00Z"));
        let shift = c.open(&cashier.token, register).await;
        cashiers.push((cashier, shift));
    }
    c.at(utc("2026-08-10T09:00:00Z"));
    let body_of = |n: usize| {
        let (_, shift) = &cashiers[n % 3];
        let lines = match n % 4 {
            0 => vec![json!({"product_id": bread.id, "quantity": 1 + n % 3})],
            1 => vec![
                json!({"product_id": milk.id, "quantity": 2}),
                json!({"product_id": bread.id, "quantity": 1, "discount": {"percent_bp": 500}}),
            ],
            2 => vec![
                json!({"product_id": bread.id, "quantity": 2}),
                json!({"product_id": milk.id, "quantity": 1}),
            ],
            _ => vec![json!({"product_id": milk.id, "quantity": 1 + n % 2})],
        };
        // Enough cash for any of these carts: change on every sale.
        sale_body(shift, lines, vec![pay("cash", 40_000)])
    };
    let url = c.app.url("/api/v1/sales");

    // Act: 24 sales at once.
    let mut tasks = Vec::new();
    for n in 0..24 {
        let token = cashiers[n % 3].0.token.clone();
        tasks.push(tokio::spawn(post(
            c.app.client.clone(),
            url.clone(),
            token,
            body_of(n),
        )));
    }
    let mut sales = Vec::new();
    for task in tasks {
        let (status, sale) = task.await.unwrap();
        assert_eq!(status, 201, "{sale}");
        sales.push(sale);
    }
    // Then 8 of them voided while 8 more are rung up.
    let mut tasks = Vec::new();
    for sale in sales.iter().step_by(3) {
        let path = c.app.url(&format!("/api/v1/sales/{}/void", id(sale)));
        let body = json!({"reason": "race"});
        tasks.push(tokio::spawn(post(
            c.app.client.clone(),
            path,
            c.admin.clone(),
            body,
        )));
    }
    for n in 24..32 {
        let token = cashiers[n % 3].0.token.clone();
        tasks.push(tokio::spawn(post(
            c.app.client.clone(),
            url.clone(),
            token,
            body_of(n),
        )));
    }
    let mut voided = BTreeSet::new();
    for task in tasks {
        let (status, answer) = task.await.unwrap();
        match answer["status"].as_str() {
            Some("voided") => {
                assert_eq!(status, 200, "{answer}");
                voided.insert(id(&answer));
            }
            _ => {
                assert_eq!(status, 201, "{answer}");
                sales.push(answer);
            }
        }
    }
    assert_eq!(voided.len(), 8);
    assert_eq!(sales.len(), 32);
    for sale in &sales {
        model.sale(sale, zone);
    }
    for v in &voided {
        model.void(v);
    }

    // Assert: the plain sums first, then every grouping against the model.
    let standing: Vec<&Value> = sales.iter().filter(|s| !voided.contains(&id(s))).collect();
    let q = [("from", "2026-08-10"), ("to", "2026-08-10")];
    let report = c.admin_report(SALES_REPORT, &q).await;
    assert_eq!(report["totals"]["sales"], standing.len() as i64, "{report}");
    for (field, sale_field) in [
        ("gross", "subtotal"),
        ("discounts", "discount_total"),
        ("net", "net_total"),
        ("tax", "tax_total"),
        ("total", "total"),
    ] {
        let sum: i64 = standing.iter().map(|s| int(s, sale_field)).sum();
        assert_eq!(report["totals"][field], sum, "{field}: {report}");
    }
    let scope = Scope {
        stores: BTreeSet::from([store.id.clone()]),
        from: super::day("2026-08-10"),
        to: super::day("2026-08-10"),
    };
    for group in SALE_GROUPS {
        let mut q = q.to_vec();
        q.push(("group_by", group));
        let report = c.admin_report(SALES_REPORT, &q).await;
        let group = Group::parse(group);
        assert_sales(
            &report,
            &model.sales_report(&scope, group),
            group,
            "after the race",
        );
    }
    let commissions = c.admin_report(COMMISSIONS, &q).await;
    let (rows, totals) = model.commissions(&scope);
    let fields = ["cashier_id", "username", "sales", "net_total", "commission"];
    let got = super::sorted_rows(&commissions, &fields, &["cashier_id"]);
    assert_eq!(got, rows, "{commissions}");
    assert_eq!(super::project(&commissions["totals"], &fields[2..]), totals);
    // The line rollups, through the VAT return.
    let tax = c.admin_report(TAX_REPORT, &q).await;
    let (rows, totals) = model.tax_report(&scope);
    let fields = [
        "tax_class_id",
        "rate_bp",
        "net",
        "tax",
        "total",
        "refund_net",
        "refund_tax",
    ];
    let mut want: Vec<Value> = rows.iter().map(|r| super::project(r, &fields)).collect();
    want.sort_by_key(|r| r["tax_class_id"].to_string());
    assert_eq!(
        super::sorted_rows(&tax, &fields, &["tax_class_id"]),
        want,
        "{tax}"
    );
    assert_eq!(
        super::project(&tax["totals"], &fields[2..]),
        totals,
        "{tax}"
    );
    let (_, mismatches) = ringup_store::reports::rebuild::check(&c.app.db)
        .await
        .unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // And the real `ringup check` agrees.
    let (ok, output) = crate::stock_check::cli_check(&c.app).await;
    assert!(ok, "{output}");
    assert!(
        output.contains("report rollup rows equal a recomputation"),
        "{output}"
    );
}
