//! A customer's sales: listed in the order they were made, in pages, only from the caller's
//! stores, whether written straight into the database or rung up at the till (voided ones
//! included).

use reqwest::Method;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use super::{CUSTOMERS, create, send};

/// Writes a sale of `customer` straight into the database (with the register and shift it
/// needs): enough for a customer's history, independent of how sales are rung up.
async fn insert_sale(
    app: &TestApp,
    store: StoreId,
    cashier: &str,
    customer: Option<&str>,
    seq: i64,
    total: i64,
) -> String {
    use ringup_core::ids::{RegisterId, SaleId, ShiftId};
    let now = ringup_store::platform::time::to_db(chrono::Utc::now());
    let (register, shift, sale) = (RegisterId::new(), ShiftId::new(), SaleId::new());
    let mut tx = app.db.begin_write().await.unwrap();
    sqlx::query(
        "insert into registers (id, store_id, name, active, created_at, updated_at) \
         values ($1, $2, $3, 1, $4, $4)",
    )
    .bind(register.to_string())
    .bind(store.to_string())
    .bind(format!("Till {register}"))
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "insert into shifts (id, store_id, register_id, cashier_id, status, opening_float, \
         opened_at) values ($1, $2, $3, $4, 'open', 0, $5)",
    )
    .bind(shift.to_string())
    .bind(store.to_string())
    .bind(register.to_string())
    .bind(cashier)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "insert into sales (id, store_id, seq, number, register_id, shift_id, cashier_id, \
         customer_id, status, subtotal, discount_total, net_total, tax_total, total, paid, \
         change_given, commission, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, \
         'completed', $9, 0, $9, 0, $9, $9, 0, 0, $10)",
    )
    .bind(sale.to_string())
    .bind(store.to_string())
    .bind(seq)
    .bind(format!("S-{seq:06}"))
    .bind(register.to_string())
    .bind(shift.to_string())
    .bind(cashier)
    .bind(customer)
    .bind(total)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sale.to_string()
}

#[tokio::test]
async fn a_customers_sales_are_listed_only_in_the_callers_stores() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("AAA1").await;
    let b = app.create_store("BBB1").await;
    let cashier_a = app.create_user("cashier", &[a]).await;
    let cashier_b = app.create_user("cashier", &[b]).await;
    let customer = create(&app, &admin, json!({"name": "Wanjiru"})).await;
    let other = create(&app, &admin, json!({"name": "Otieno"})).await;
    let id = customer["id"].as_str().unwrap();
    let first = insert_sale(&app, a, &cashier_a.id, Some(id), 1, 1500).await;
    let second = insert_sale(&app, b, &cashier_b.id, Some(id), 1, 2500).await;
    let third = insert_sale(&app, a, &cashier_a.id, Some(id), 2, 700).await;
    insert_sale(&app, a, &cashier_a.id, other["id"].as_str(), 3, 99).await;
    insert_sale(&app, a, &cashier_a.id, None, 4, 99).await;
    let path = format!("{CUSTOMERS}/{id}/sales");
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Act
    let by_admin = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    let by_cashier_a = json_of(send(&app, Method::GET, &path, &cashier_a.token, None).await).await;
    let first_page =
        json_of(send(&app, Method::GET, &format!("{path}?limit=1"), &admin, None).await).await;
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = json_of(
        send(
            &app,
            Method::GET,
            &format!("{path}?limit=1&cursor={cursor}"),
            &admin,
            None,
        )
        .await,
    )
    .await;
    let storeless = app.create_user("cashier", &[]).await;
    let by_storeless = json_of(send(&app, Method::GET, &path, &storeless.token, None).await).await;

    // Assert
    assert_eq!(
        ids(&by_admin),
        [first.clone(), second.clone(), third.clone()]
    );
    assert_eq!(ids(&by_cashier_a), [first.clone(), third]);
    let item = &by_admin["items"][0];
    assert_eq!(item["number"], "S-000001");
    assert_eq!(item["store_id"], a.to_string());
    assert_eq!(item["status"], "completed");
    assert_eq!(item["total"], 1500);
    assert!(item["created_at"].is_string());
    assert_eq!(ids(&first_page), [first]);
    assert_eq!(ids(&second_page), [second]);
    assert_eq!(by_storeless["items"], json!([]));
    assert_eq!(by_storeless["next_cursor"], Value::Null);
}

#[tokio::test]
async fn sales_rung_up_for_a_customer_make_their_history() {
    use crate::checkout_support::{line, pay, sale_body, shop};

    // Arrange
    let shop = shop().await;
    let item = shop.stocked(1000, &shop.standard, 10).await;
    let cashier = shop.staff("cashier").await;
    let shift = shop.open(&cashier.token, &shop.register, 0).await;
    let customer = create(&shop.app, &cashier.token, json!({"name": "Wanjiru"})).await;
    let mut body = sale_body(&shift, vec![line(&item, 2)], vec![pay("cash", 2000)]);
    body["customer_id"] = customer["id"].clone();
    let first = shop.sell(&cashier.token, &body).await;
    let second = shop.sell(&cashier.token, &body).await;
    let voided = shop.void(&shop.admin, &second, "wrong item").await;
    assert_eq!(voided.status().as_u16(), 200);
    let anonymous = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 1000)]);
    shop.sell(&cashier.token, &anonymous).await;
    let path = format!("{CUSTOMERS}/{}/sales", customer["id"].as_str().unwrap());

    // Act
    let history = json_of(send(&shop.app, Method::GET, &path, &cashier.token, None).await).await;

    // Assert
    let items = history["items"].as_array().unwrap();
    let summary: Vec<(&Value, &Value, &Value)> = items
        .iter()
        .map(|s| (&s["id"], &s["status"], &s["total"]))
        .collect();
    assert_eq!(
        summary,
        [
            (&first["id"], &json!("completed"), &first["total"]),
            (&second["id"], &json!("voided"), &second["total"]),
        ]
    );
    assert_eq!(items[0]["number"], first["number"]);
    assert_eq!(items[0]["store_id"], shop.store.to_string());
    assert_eq!(items[0]["created_at"], first["created_at"]);
}
