//! The rollups stay equal to the sales whatever the writes around them: an idempotent replay
//! of a sale, a return or a void counts once; a void racing a return leaves exactly the one
//! that won; and a sale voided after its store moved to another time zone leaves no trace in
//! any day ("voided sales are left out entirely").

use std::collections::BTreeSet;

use chrono_tz::Tz;
use reqwest::Method;
use serde_json::{Value, json};

use super::assert_sales;
use super::model::{Group, Model, Scope};
use super::{
    COMMISSIONS, Chain, SALE_GROUPS, SALES_REPORT, Store, TAX_REPORT, id, int, key, projected_rows,
    return_body, sale_body, utc,
};
use crate::checkout_model::refund_due;
use crate::checkout_support::{Item, pay};
use crate::support::header;

/// One store in Nairobi with two products and a cashier's open shift.
struct Till {
    c: Chain,
    store: Store,
    items: [Item; 2],
    cashier: ringup_testkit::TestUser,
    shift: Value,
    model: Model,
}

async fn till() -> Till {
    let c = Chain::new(utc("2026-08-21T00:00:00Z")).await;
    let store = c.store("INT1", "KES", "Africa/Nairobi", true).await;
    let vat = c.tax("VAT", 1600).await;
    let category = c.category("General").await;
    let mut model = Model::default();
    model.labels.insert(store.id.clone(), "INT1".into());
    model.labels.insert(vat.id.clone(), "VAT".into());
    model.labels.insert(category.clone(), "General".into());
    let a = c.product("Kettle", 3_499, &vat, Some(&category)).await;
    let b = c.product("Toaster", 5_250, &vat, Some(&category)).await;
    for item in [&a, &b] {
        c.receive(&store, item, 500).await;
        model.labels.insert(item.id.clone(), item.name.clone());
        model.categories.insert(item.id.clone(), category.clone());
        model.classes.insert(item.id.clone(), vat.id.clone());
    }
    let cashier = c.user("cashier", &[&store], 250).await;
    model
        .labels
        .insert(cashier.id.clone(), cashier.username.clone());
    c.at(utc("2026-08-20T05:00:00Z"));
    let shift = c.open(&cashier.token, &store.register).await;
    Till {
        c,
        store,
        items: [a, b],
        cashier,
        shift,
        model,
    }
}

impl Till {
    fn cart(&self, n: i64) -> Value {
        let lines = vec![
            json!({"product_id": self.items[0].id, "quantity": 1 + n % 3}),
            json!({"product_id": self.items[1].id, "quantity": 1}),
        ];
        sale_body(&self.shift, lines, vec![pay("cash", 30_000)])
    }

    /// Every sales report by sale, the tax and the commission reports of 20 August equal the
    /// model; the rollups equal their recomputation.
    async fn assert_reports(&self, context: &str) {
        let scope = Scope {
            stores: BTreeSet::from([self.store.id.clone()]),
            from: super::day("2026-08-20"),
            to: super::day("2026-08-20"),
        };
        let q = [("from", "2026-08-20"), ("to", "2026-08-20")];
        for name in SALE_GROUPS {
            let mut q = q.to_vec();
            q.push(("group_by", name));
            let report = self.c.admin_report(SALES_REPORT, &q).await;
            let group = Group::parse(name);
            assert_sales(
                &report,
                &self.model.sales_report(&scope, group),
                group,
                context,
            );
        }
        let tax = self.c.admin_report(TAX_REPORT, &q).await;
        let (rows, totals) = self.model.tax_report(&scope);
        let fields = [
            "tax_class_id",
            "rate_bp",
            "net",
            "tax",
            "total",
            "refund_net",
            "refund_tax",
        ];
        let want: Vec<Value> = rows.iter().map(|r| super::project(r, &fields)).collect();
        assert_eq!(projected_rows(&tax, &fields), want, "{context}: {tax}");
        assert_eq!(
            super::project(&tax["totals"], &fields[2..]),
            totals,
            "{context}"
        );
        let commissions = self.c.admin_report(COMMISSIONS, &q).await;
        let (rows, _) = self.model.commissions(&scope);
        let fields = ["cashier_id", "username", "sales", "net_total", "commission"];
        assert_eq!(
            projected_rows(&commissions, &fields),
            rows,
            "{context}: {commissions}"
        );
        let (_, mismatches) = ringup_store::reports::rebuild::check(&self.c.app.db)
            .await
            .unwrap();
        assert!(mismatches.is_empty(), "{context}: {mismatches:#?}");
    }
}

/// POST with a chosen `Idempotency-Key`: (status, replayed, body).
async fn post_keyed(
    c: &Chain,
    token: &str,
    path: &str,
    body: &Value,
    key: &str,
) -> (u16, bool, Value) {
    let response = c
        .app
        .authed(Method::POST, path, token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = header(&response, "idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, ringup_testkit::json_of(response).await)
}

#[tokio::test]
async fn a_replayed_sale_return_or_void_counts_once() {
    // Arrange
    let mut t = till().await;
    let zone: Tz = "Africa/Nairobi".parse().unwrap();
    let c = &t.c;
    c.at(utc("2026-08-20T09:00:00Z"));
    let token = t.cashier.token.clone();

    // Act: a sale sent twice, then the same key three times at once.
    let (sale_key, cart) = (key(), t.cart(0));
    let first = post_keyed(c, &token, "/api/v1/sales", &cart, &sale_key).await;
    let again = post_keyed(c, &token, "/api/v1/sales", &cart, &sale_key).await;
    let racing_key = key();
    let cart = t.cart(1);
    let racing = futures::future::join_all(
        (0..3).map(|_| post_keyed(c, &token, "/api/v1/sales", &cart, &racing_key)),
    )
    .await;
    // A return sent twice.
    let sale = first.2.clone();
    let refund = int(&sale["lines"][1], "total");
    let body = return_body(&sale, None, &[(1, 1)], vec![pay("cash", refund)]);
    let return_key = key();
    let returned = post_keyed(c, &token, "/api/v1/returns", &body, &return_key).await;
    let returned_again = post_keyed(c, &token, "/api/v1/returns", &body, &return_key).await;
    // A void sent twice with one key.
    let doomed = c.post(&token, "/api/v1/sales", &t.cart(2), 201).await;
    let path = format!("/api/v1/sales/{}/void", id(&doomed));
    let void_key = key();
    let reason = json!({"reason": "twice"});
    let voided = post_keyed(c, &c.admin, &path, &reason, &void_key).await;
    let voided_again = post_keyed(c, &c.admin, &path, &reason, &void_key).await;

    // Assert
    assert_eq!((first.0, first.1), (201, false), "{}", first.2);
    assert_eq!((again.0, again.1), (201, true), "{}", again.2);
    assert_eq!(again.2, first.2);
    let created: Vec<&(u16, bool, Value)> = racing.iter().filter(|r| r.0 == 201).collect();
    assert!(!created.is_empty(), "{racing:?}");
    assert!(
        racing.iter().all(|r| r.0 == 201 || r.0 == 409),
        "{racing:?}"
    );
    assert!(
        created.iter().all(|r| r.2["id"] == created[0].2["id"]),
        "{racing:?}"
    );
    assert_eq!(
        (returned.0, returned_again.0, returned_again.1),
        (201, 201, true)
    );
    assert_eq!(
        (voided.0, voided_again.0),
        (200, 200),
        "{voided:?} {voided_again:?}"
    );
    let sales = c
        .report(
            &c.admin,
            "/api/v1/sales",
            &[("store_id", t.store.id.as_str())],
        )
        .await;
    assert_eq!(
        sales["items"].as_array().unwrap().len(),
        3,
        "three sales exist: {sales}"
    );
    t.model.sale(&first.2, zone);
    t.model.sale(&created[0].2, zone);
    let i = t.model.sale(&doomed, zone);
    let doomed_id = t.model.sales[i].id.clone();
    t.model.void(&doomed_id);
    t.model.give_back(&returned.2, zone);
    t.assert_reports("after replays").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_racing_a_return_leaves_only_the_winner_in_the_reports() {
    // Arrange: six sales.
    let mut t = till().await;
    let zone: Tz = "Africa/Nairobi".parse().unwrap();
    t.c.at(utc("2026-08-20T10:00:00Z"));
    let mut sales = Vec::new();
    for n in 0..6 {
        let sale =
            t.c.post(&t.cashier.token, "/api/v1/sales", &t.cart(n), 201)
                .await;
        t.model.sale(&sale, zone);
        sales.push(sale);
    }

    // Act: each sale voided by the admin and partly returned by the cashier, at once.
    let mut races = Vec::new();
    for sale in &sales {
        let line = &sale["lines"][0];
        let due = refund_due(int(line, "total"), int(line, "quantity"), 0, 1);
        let body = return_body(sale, None, &[(0, 1)], vec![pay("cash", due)]);
        let void_path = format!("/api/v1/sales/{}/void", id(sale));
        let (c, token) = (&t.c, t.cashier.token.clone());
        races.push(async move {
            let reason = json!({"reason": "race"});
            let void = c.send(Method::POST, &void_path, &c.admin, Some(&reason), false);
            let ret = c.send(Method::POST, "/api/v1/returns", &token, Some(&body), true);
            let (void, ret) = tokio::join!(void, ret);
            let (vs, rs) = (void.status().as_u16(), ret.status().as_u16());
            (
                vs,
                ringup_testkit::json_of(void).await,
                rs,
                ringup_testkit::json_of(ret).await,
            )
        });
    }
    let outcomes = futures::future::join_all(races).await;

    // Assert: one winner each; the reports hold exactly the winners.
    for (sale, (vs, void, rs, ret)) in sales.iter().zip(&outcomes) {
        match (vs, rs) {
            (200, 409) => t.model.void(&id(sale)),
            (409, 201) => t.model.give_back(ret, zone),
            _ => panic!("void {vs} {void}, return {rs} {ret}"),
        }
    }
    t.assert_reports("after void/return races").await;
}

#[tokio::test]
async fn a_sale_voided_after_its_store_moved_zone_leaves_no_trace() {
    // Arrange: a sale at 00:30 on 21 August in Nairobi (21:30 UTC on the 20th)…
    let t = till().await;
    let c = &t.c;
    let cart = t.cart(0);
    let sale = c
        .sell_at(utc("2026-08-20T21:30:00Z"), &t.cashier.token, &cart)
        .await;
    // …then the store moves to New York (17:30 on the 20th there), and the sale is voided.
    let path = format!("/api/v1/stores/{}", t.store.id);
    let response = c
        .send(
            Method::PATCH,
            &path,
            &c.admin,
            Some(&json!({"timezone": "America/New_York"})),
            false,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);

    // Act
    c.void_at(utc("2026-08-20T23:00:00Z"), &sale).await;

    // Assert: no day of the week around it holds any of the sale, in either direction.
    let q = [
        ("from", "2026-08-17"),
        ("to", "2026-08-23"),
        ("store_id", t.store.id.as_str()),
    ];
    let report = c.admin_report(SALES_REPORT, &q).await;
    let rows = projected_rows(&report, &["key", "sales", "total"]);
    let nonzero: Vec<&Value> = rows
        .iter()
        .filter(|r| r["sales"] != 0 || r["total"] != 0)
        .collect();
    assert!(
        nonzero.is_empty(),
        "a voided sale is left out entirely, on every day: {nonzero:?}"
    );
    let (_, mismatches) = ringup_store::reports::rebuild::check(&c.app.db)
        .await
        .unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
