//! Who reads which stores: a manager's chain is their stores and another store is 422
//! `store_id`; admins see every store; cashiers, employees and cashier API keys are refused
//! (403) and anonymous callers 401; stores of different currencies are summed only through
//! `currency=` (or one `store_id`), else 422 `currency`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    COMMISSIONS, Chain, DATED, MOVEMENTS, SALES_REPORT, Store, TAX_REPORT, VALUATION, int,
    projected_rows, sale_body, utc,
};
use crate::checkout_support::pay;

/// Three stores: A and B in KES, C in USD, each with one sale of a distinct total on
/// 2026-07-01 (Nairobi), rung up by a cashier of the store.
struct Three {
    c: Chain,
    a: Store,
    b: Store,
    usd: Store,
}

const DAY: [(&str, &str); 2] = [("from", "2026-07-01"), ("to", "2026-07-01")];

async fn three() -> Three {
    let c = Chain::new(utc("2026-07-02T00:00:00Z")).await;
    let a = c.store("ACC1", "KES", "Africa/Nairobi", true).await;
    let b = c.store("ACC2", "KES", "Africa/Nairobi", true).await;
    let usd = c.store("ACC3", "USD", "Africa/Nairobi", true).await;
    let vat = c.tax("VAT", 1600).await;
    let item = c.product("Soap", 100, &vat, None).await;
    for (store, quantity) in [(&a, 1), (&b, 2), (&usd, 4)] {
        c.receive(store, &item, 10).await;
        let cashier = c.user("cashier", &[store], 0).await;
        c.at(utc("2026-07-01T06:00:00Z"));
        let shift = c.open(&cashier.token, &store.register).await;
        let lines = vec![json!({"product_id": item.id, "quantity": quantity})];
        let body = sale_body(&shift, lines, vec![pay("cash", 100 * quantity)]);
        c.sell_at(utc("2026-07-01T09:00:00Z"), &cashier.token, &body)
            .await;
    }
    Three { c, a, b, usd }
}

fn total(report: &Value) -> i64 {
    int(&report["totals"], "total")
}

/// The `key`s of a report's rows.
fn keys(report: &Value, field: &str) -> Vec<String> {
    projected_rows(report, &[field])
        .iter()
        .map(|r| r[field].as_str().unwrap_or("").to_owned())
        .collect()
}

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut q = DAY.to_vec();
    q.extend_from_slice(extra);
    q
}

#[tokio::test]
async fn a_manager_reads_only_their_stores_and_an_admin_reads_every_store() {
    // Arrange
    let t = three().await;
    let c = &t.c;
    let manager = c.user("manager", &[&t.a], 0).await;
    let manager_key = c
        .app
        .create_api_key(
            "manager",
            &[ringup_core::ids::StoreId::parse(&t.a.id).unwrap()],
        )
        .await;
    let unknown = ringup_core::ids::StoreId::new().to_string();

    // Act / Assert: the manager's chain is store A alone, whatever the grouping.
    for token in [&manager.token, &manager_key.key] {
        let chain = c.report(token, SALES_REPORT, &DAY).await;
        assert_eq!(total(&chain), 100, "{chain}");
        assert_eq!(chain["currency"], "KES", "{chain}");
        let by_store = c
            .report(token, SALES_REPORT, &with(&[("group_by", "store")]))
            .await;
        assert_eq!(keys(&by_store, "key"), [t.a.id.as_str()], "{by_store}");
        let mine = c
            .report(token, SALES_REPORT, &with(&[("store_id", &t.a.id)]))
            .await;
        assert_eq!(total(&mine), 100, "{mine}");
        for other in [
            t.b.id.as_str(),
            t.usd.id.as_str(),
            unknown.as_str(),
            "not-a-store",
        ] {
            for path in DATED {
                let fields = c.invalid(token, path, &with(&[("store_id", other)])).await;
                assert_eq!(fields, ["store_id"], "{path} store_id={other}");
            }
            let fields = c.invalid(token, VALUATION, &[("store_id", other)]).await;
            assert_eq!(fields, ["store_id"], "valuation store_id={other}");
        }
        let commissions = c.report(token, COMMISSIONS, &DAY).await;
        assert_eq!(
            projected_rows(&commissions, &["sales"]),
            [json!({"sales": 1})]
        );
        let tax = c.report(token, TAX_REPORT, &DAY).await;
        assert_eq!(int(&tax["totals"], "total"), 100, "{tax}");
        let valuation = c.report(token, VALUATION, &[]).await;
        assert_eq!(
            keys(&valuation, "store_id"),
            [t.a.id.as_str()],
            "{valuation}"
        );
        assert_eq!(int(&valuation["totals"], "quantity"), 9, "{valuation}");
        let movements = c.report(token, MOVEMENTS, &DAY).await;
        let sold: Vec<Value> = projected_rows(&movements, &["kind", "movements", "quantity"]);
        assert!(
            sold.contains(&json!({"kind": "sale", "movements": 1, "quantity": -1})),
            "{movements}"
        );
    }

    // The admin sees every store; three of them in two currencies need `currency=`.
    let fields = c.invalid(&c.admin, SALES_REPORT, &DAY).await;
    assert_eq!(fields, ["currency"]);
    for path in DATED {
        assert_eq!(
            c.invalid(&c.admin, path, &DAY).await,
            ["currency"],
            "{path}"
        );
    }
    assert_eq!(c.invalid(&c.admin, VALUATION, &[]).await, ["currency"]);
    let kes = c
        .admin_report(SALES_REPORT, &with(&[("currency", "KES")]))
        .await;
    assert_eq!(total(&kes), 300, "{kes}");
    assert_eq!(kes["currency"], "KES", "{kes}");
    let kes_stores = c
        .admin_report(
            SALES_REPORT,
            &with(&[("currency", "KES"), ("group_by", "store")]),
        )
        .await;
    let mut got = keys(&kes_stores, "key");
    got.sort();
    let mut want = vec![t.a.id.clone(), t.b.id.clone()];
    want.sort();
    assert_eq!(got, want, "{kes_stores}");
    let usd = c
        .admin_report(SALES_REPORT, &with(&[("currency", "USD")]))
        .await;
    assert_eq!(
        (total(&usd), usd["currency"].clone()),
        (400, json!("USD")),
        "{usd}"
    );
    let one = c
        .admin_report(SALES_REPORT, &with(&[("store_id", &t.usd.id)]))
        .await;
    assert_eq!(
        (total(&one), one["currency"].clone()),
        (400, json!("USD")),
        "{one}"
    );
    let none = c
        .admin_report(SALES_REPORT, &with(&[("currency", "EUR")]))
        .await;
    assert_eq!(
        total(&none),
        0,
        "a currency no store uses sums nothing: {none}"
    );
    for bad in ["kes", "KE", "KESS", "K1S"] {
        let fields = c
            .invalid(&c.admin, SALES_REPORT, &with(&[("currency", bad)]))
            .await;
        assert!(
            !fields.is_empty() && fields.iter().all(|f| f == "currency"),
            "currency={bad}: {fields:?}"
        );
    }
    let unknown_fields = c
        .invalid(&c.admin, SALES_REPORT, &with(&[("store_id", &unknown)]))
        .await;
    assert_eq!(unknown_fields, ["store_id"]);
}

#[tokio::test]
async fn cashiers_employees_and_cashier_keys_read_no_report() {
    // Arrange
    let t = three().await;
    let c = &t.c;
    let cashier = c.user("cashier", &[&t.a], 0).await;
    let employee = c.user("employee", &[&t.a], 0).await;
    let key = c
        .app
        .create_api_key(
            "cashier",
            &[ringup_core::ids::StoreId::parse(&t.a.id).unwrap()],
        )
        .await;
    let own = [("store_id", t.a.id.as_str())];

    // Act / Assert
    for (who, token) in [
        ("cashier", cashier.token.as_str()),
        ("employee", employee.token.as_str()),
        ("cashier key", key.key.as_str()),
    ] {
        for path in DATED.iter().chain([&VALUATION]) {
            for query in [with(&own), with(&[]), own.to_vec()] {
                let response = c.get(token, path, &query).await;
                assert_eq!(
                    response.status().as_u16(),
                    403,
                    "{who} GET {path} {query:?}"
                );
            }
        }
        let csv = c
            .get(
                token,
                SALES_REPORT,
                &with(&[("format", "csv"), ("store_id", &t.a.id)]),
            )
            .await;
        assert_eq!(csv.status().as_u16(), 403, "{who} exports nothing");
    }
    for path in DATED.iter().chain([&VALUATION]) {
        let response = c
            .app
            .client
            .request(Method::GET, c.app.url(path))
            .query(&DAY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "anonymous GET {path}");
    }
    assert!(
        c.exports_audited().await.is_empty(),
        "a refused export is not audited"
    );
}
