//! Products: admins and managers create, change and archive; everyone authenticated reads.
//! SKUs are unique ignoring case, barcodes unique exactly as sent; search by name or SKU
//! prefix, exact barcode lookup, cursor pages that stay correct under inserts, and `ETag` /
//! `If-None-Match` on reads.

use reqwest::{Method, Response};
use ringup_core::ids::{CategoryId, ProductId, TaxClassId};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header};

const PRODUCTS: &str = "/api/v1/products";

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Runs one insert binding `binds` in its own write transaction (the tax-class and category
/// routes are not this file's subject).
async fn insert(app: &TestApp, sql: &'static str, binds: &[String]) {
    let mut tx = app.db.begin_write().await.unwrap();
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(bind.clone());
    }
    query.execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

fn now(app: &TestApp) -> String {
    use ringup_core::clock::Clock;
    ringup_store::platform::time::to_db(app.clock.now())
}

async fn tax_class(app: &TestApp) -> String {
    let id = TaxClassId::new().to_string();
    insert(
        app,
        "insert into tax_classes (id, name, rate_bp, created_at, updated_at) \
         values ($1, $2, 1600, $3, $3)",
        &[id.clone(), format!("VAT {id}"), now(app)],
    )
    .await;
    id
}

async fn category(app: &TestApp) -> String {
    let id = CategoryId::new().to_string();
    insert(
        app,
        "insert into categories (id, name, parent_id, created_at, updated_at) \
         values ($1, $2, null, $3, $3)",
        &[id.clone(), format!("Category {id}"), now(app)],
    )
    .await;
    id
}

fn product(sku: &str, name: &str, tax: &str) -> Value {
    json!({"sku": sku, "name": name, "price": 12999, "cost": 8000, "tax_class_id": tax})
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = send(app, Method::POST, PRODUCTS, token, Some(body)).await;
    assert_eq!(response.status().as_u16(), 201);
    json_of(response).await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let response = send(
        app,
        Method::GET,
        &format!("{PRODUCTS}?{query}"),
        token,
        None,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200, "{query}");
    json_of(response).await
}

fn skus(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_manager_creates_a_product_with_and_without_a_barcode() {
    // Arrange
    let app = spawn_app().await;
    let store = app.create_store("AAA1").await;
    let manager = app.create_user("manager", &[store]).await.token;
    let tax = tax_class(&app).await;
    let mut with_barcode = product("cola-330", "Cola 330ml", &tax);
    with_barcode["barcode"] = json!("036000291452");
    with_barcode["low_stock_threshold"] = json!(5);

    // Act
    let plain = create(&app, &manager, product("BREAD-1", "Bread", &tax)).await;
    let coded = create(&app, &manager, with_barcode).await;

    // Assert
    assert_eq!(plain["barcode"], Value::Null);
    assert_eq!(plain["low_stock_threshold"], 0);
    assert_eq!(plain["active"], true);
    assert_eq!(plain["category_id"], Value::Null);
    assert_eq!(plain["tax_class_id"], tax.as_str());
    assert_eq!(plain["price"], 12999);
    assert_eq!(plain["cost"], 8000);
    assert_eq!(coded["barcode"], "036000291452");
    assert_eq!(coded["sku"], "cola-330");
    assert_eq!(coded["low_stock_threshold"], 5);
    let path = format!("{PRODUCTS}/{}", coded["id"].as_str().unwrap());
    let fetched = json_of(send(&app, Method::GET, &path, &manager, None).await).await;
    assert_eq!(fetched, coded);
}

#[tokio::test]
async fn a_barcode_with_a_wrong_check_digit_is_422() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let mut body = product("COLA", "Cola", &tax);
    body["barcode"] = json!("036000291453");

    // Act
    let response = send(&app, Method::POST, PRODUCTS, &admin, Some(body)).await;

    // Assert
    let problem = assert_problem(response, 422, PRODUCTS).await;
    assert_eq!(error_fields(&problem), ["barcode"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("check digit"),
        "{problem}"
    );
}

#[tokio::test]
async fn every_invalid_product_field_is_reported_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"sku": "has space", "name": " ", "price": -1, "cost": -2,
        "tax_class_id": TaxClassId::new().to_string(), "category_id": "nope",
        "low_stock_threshold": -3});

    // Act
    let response = send(&app, Method::POST, PRODUCTS, &admin, Some(body)).await;

    // Assert
    let problem = assert_problem(response, 422, PRODUCTS).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "category_id",
            "cost",
            "low_stock_threshold",
            "name",
            "price",
            "sku",
            "tax_class_id"
        ],
        "{problem}"
    );
}

#[tokio::test]
async fn an_unknown_tax_class_or_category_is_422_naming_it() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut body = product("COLA", "Cola", &TaxClassId::new().to_string());
    body["category_id"] = json!(CategoryId::new().to_string());

    // Act
    let response = send(&app, Method::POST, PRODUCTS, &admin, Some(body)).await;

    // Assert
    let problem = assert_problem(response, 422, PRODUCTS).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["category_id", "tax_class_id"], "{problem}");
}

#[tokio::test]
async fn a_sku_is_unique_ignoring_case() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    create(&app, &admin, product("Cola-330", "Cola", &tax)).await;

    // Act
    let again = send(
        &app,
        Method::POST,
        PRODUCTS,
        &admin,
        Some(product("COLA-330", "Other cola", &tax)),
    )
    .await;

    // Assert
    let problem = assert_problem(again, 409, PRODUCTS).await;
    assert_eq!(error_fields(&problem), ["sku"]);
}

#[tokio::test]
async fn a_barcode_is_unique() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let mut first = product("A1", "Cola", &tax);
    first["barcode"] = json!("036000291452");
    create(&app, &admin, first).await;
    let mut second = product("B1", "Other cola", &tax);
    second["barcode"] = json!("036000291452");

    // Act
    let again = send(&app, Method::POST, PRODUCTS, &admin, Some(second)).await;

    // Assert
    let problem = assert_problem(again, 409, PRODUCTS).await;
    assert_eq!(error_fields(&problem), ["barcode"]);
}

#[tokio::test]
async fn search_by_name_or_sku_prefix_ignores_case() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    create(&app, &admin, product("DRK-001", "Coca Cola 330ml", &tax)).await;
    create(&app, &admin, product("drk-002", "Fanta Orange", &tax)).await;
    create(&app, &admin, product("BRD-001", "Brown bread", &tax)).await;
    create(&app, &admin, product("XCO-1", "Sugar", &tax)).await;

    // Act
    let by_name = list(&app, &admin, "q=COCA").await;
    let by_sku = list(&app, &admin, "q=drk").await;
    let by_either = list(&app, &admin, "q=b").await;
    let inner = list(&app, &admin, "q=cola").await;

    // Assert
    assert_eq!(skus(&by_name), ["DRK-001"]);
    assert_eq!(skus(&by_sku), ["DRK-001", "drk-002"]);
    assert_eq!(skus(&by_either), ["BRD-001"]);
    assert!(skus(&inner).is_empty(), "a prefix, not a substring");
}

#[tokio::test]
async fn a_barcode_lookup_matches_exactly() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let mut upc = product("UPC-1", "Cola", &tax);
    upc["barcode"] = json!("036000291452");
    create(&app, &admin, upc).await;
    create(&app, &admin, product("NONE-1", "Water", &tax)).await;

    // Act
    let exact = list(&app, &admin, "barcode=036000291452").await;
    let padded = list(&app, &admin, "barcode=0036000291452").await;
    let invalid = send(
        &app,
        Method::GET,
        &format!("{PRODUCTS}?barcode=12345"),
        &admin,
        None,
    )
    .await;

    // Assert
    assert_eq!(skus(&exact), ["UPC-1"]);
    assert!(skus(&padded).is_empty(), "{padded}");
    let problem = assert_problem(invalid, 422, PRODUCTS).await;
    assert_eq!(error_fields(&problem), ["barcode"]);
}

#[tokio::test]
async fn lists_filter_by_category_and_active() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let drinks = category(&app).await;
    let mut cola = product("COLA", "Cola", &tax);
    cola["category_id"] = json!(drinks);
    create(&app, &admin, cola).await;
    let bread = create(&app, &admin, product("BREAD", "Bread", &tax)).await;
    let path = format!("{PRODUCTS}/{}", bread["id"].as_str().unwrap());
    let archived = send(&app, Method::DELETE, &path, &admin, None).await;
    assert_eq!(archived.status().as_u16(), 204);

    // Act
    let in_drinks = list(&app, &admin, &format!("category_id={drinks}")).await;
    let active = list(&app, &admin, "active=true").await;
    let inactive = list(&app, &admin, "active=false").await;
    let all = list(&app, &admin, "").await;
    let bad = send(
        &app,
        Method::GET,
        &format!("{PRODUCTS}?active=yes&category_id=nope"),
        &admin,
        None,
    )
    .await;

    // Assert
    assert_eq!(skus(&in_drinks), ["COLA"]);
    assert_eq!(skus(&active), ["COLA"]);
    assert_eq!(skus(&inactive), ["BREAD"]);
    assert_eq!(skus(&all), ["COLA", "BREAD"]);
    let problem = assert_problem(bad, 422, PRODUCTS).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["active", "category_id"]);
}

#[tokio::test]
async fn pages_stay_correct_while_products_are_inserted() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    for n in 0..5 {
        create(
            &app,
            &admin,
            product(&format!("P{n}"), &format!("Item {n}"), &tax),
        )
        .await;
    }

    // Act
    let first = list(&app, &admin, "limit=2").await;
    create(&app, &admin, product("P5", "Item 5", &tax)).await;
    let mut seen = skus(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = list(&app, &admin, &format!("limit=2&cursor={c}")).await;
        seen.extend(skus(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }

    // Assert
    assert_eq!(seen, ["P0", "P1", "P2", "P3", "P4", "P5"]);
}

#[tokio::test]
async fn a_read_carries_an_etag_and_if_none_match_answers_304() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let created = create(&app, &admin, product("COLA", "Cola", &tax)).await;
    let path = format!("{PRODUCTS}/{}", created["id"].as_str().unwrap());
    let first = send(&app, Method::GET, &path, &admin, None).await;
    let etag = header(&first, "etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    // Act
    let unchanged = app
        .authed(Method::GET, &path, &admin)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    let patched = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"price": 15000})),
    )
    .await;
    assert_eq!(patched.status().as_u16(), 200);
    let after = app
        .authed(Method::GET, &path, &admin)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(unchanged.status().as_u16(), 304);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    assert_eq!(after.status().as_u16(), 200);
    let new_etag = header(&after, "etag").expect("an ETag");
    assert_ne!(new_etag, etag);
    assert_eq!(json_of(after).await["price"], 15000);
}

#[tokio::test]
async fn a_price_change_is_audited_with_old_and_new_price() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let created = create(&app, &admin, product("COLA", "Cola", &tax)).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{PRODUCTS}/{id}");

    // Act
    let patched = json_of(
        send(
            &app,
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"price": 14999, "name": "Cola 500ml"})),
        )
        .await,
    )
    .await;
    let sku = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"sku": "X"})),
    )
    .await;
    let events = json_of(
        send(
            &app,
            Method::GET,
            "/api/v1/audit-events?limit=200",
            &admin,
            None,
        )
        .await,
    )
    .await;

    // Assert
    assert_eq!(patched["price"], 14999);
    assert_eq!(patched["name"], "Cola 500ml");
    assert_eq!(patched["sku"], "COLA");
    assert_problem(sku, 422, &path).await;
    let ours: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == id)
        .collect();
    let actions: Vec<&str> = ours.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["product.created", "product.updated"]);
    assert_eq!(ours[1]["details"]["old_price"], 12999);
    assert_eq!(ours[1]["details"]["new_price"], 14999);
}

#[tokio::test]
async fn delete_archives_and_the_product_still_reads() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = tax_class(&app).await;
    let created = create(&app, &admin, product("COLA", "Cola", &tax)).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{PRODUCTS}/{id}");

    // Act
    let deleted = send(&app, Method::DELETE, &path, &admin, None).await;
    let fetched = send(&app, Method::GET, &path, &admin, None).await;
    let active = list(&app, &admin, "active=true").await;

    // Assert
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(json_of(fetched).await["active"], false);
    assert!(skus(&active).is_empty());
    let events = json_of(
        send(
            &app,
            Method::GET,
            "/api/v1/audit-events?limit=200",
            &admin,
            None,
        )
        .await,
    )
    .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "product.archived" && e["target_id"] == id)
    );
}

#[tokio::test]
async fn a_malformed_or_unknown_product_id_is_404() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act / Assert
    for path in [
        format!("{PRODUCTS}/nope"),
        format!("{PRODUCTS}/{}", ProductId::new()),
    ] {
        let response = send(&app, Method::GET, &path, &admin, None).await;
        assert_problem(response, 404, &path).await;
        let response = send(&app, Method::DELETE, &path, &admin, None).await;
        assert_problem(response, 404, &path).await;
    }
}

#[tokio::test]
async fn cashiers_read_but_may_not_change_the_catalog() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("AAA1").await;
    let cashier = app.create_user("cashier", &[store]).await.token;
    let key = app.create_api_key("cashier", &[store]).await.key;
    let tax = tax_class(&app).await;
    let created = create(&app, &admin, product("COLA", "Cola", &tax)).await;
    let path = format!("{PRODUCTS}/{}", created["id"].as_str().unwrap());

    // Act
    let post = send(
        &app,
        Method::POST,
        PRODUCTS,
        &cashier,
        Some(product("NEW", "New", &tax)),
    )
    .await;
    let patch = send(
        &app,
        Method::PATCH,
        &path,
        &cashier,
        Some(json!({"price": 1})),
    )
    .await;
    let delete = send(&app, Method::DELETE, &path, &cashier, None).await;
    let get = send(&app, Method::GET, &path, &cashier, None).await;
    let listed = send(&app, Method::GET, PRODUCTS, &key, None).await;
    let anonymous = app.get(PRODUCTS).await;

    // Assert
    assert_problem(post, 403, PRODUCTS).await;
    assert_problem(patch, 403, &path).await;
    assert_problem(delete, 403, &path).await;
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(listed.status().as_u16(), 200);
    assert_problem(anonymous, 401, PRODUCTS).await;
}
