//! Customers (docs/CHECKOUT.md "Customers"): phone numbers normalised to E.164 in the
//! store's country and unique across customers, validated e-mails, searches by name prefix or
//! phone in any form, pages, PATCH with `null` clearing, employees refused everywhere, audit
//! events without personal data, a customer's sales limited to the caller's stores; and the
//! stores' `country` that national numbers are read in.

use reqwest::{Method, Response};
use ringup_core::ids::{CustomerId, StoreId};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, header, is_uuid_v7};

const CUSTOMERS: &str = "/api/v1/customers";
const STORES: &str = "/api/v1/stores";

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

/// `POST /customers` as `token`, which must answer 201; returns the customer.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = send(app, Method::POST, CUSTOMERS, token, Some(body.clone())).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "POST {CUSTOMERS} {body}: {value}");
    value
}

/// The phone number a customer created with `phone` is stored with.
async fn stored_phone(app: &TestApp, token: &str, name: &str, phone: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "phone": phone});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    create(app, token, body).await["phone"].clone()
}

/// `GET /customers?...` as `token`, which must answer 200.
async fn search(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let response = app
        .authed(Method::GET, CUSTOMERS, token)
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {CUSTOMERS} {query:?}");
    json_of(response).await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A store created over the API by the admin, in `country` (the default when `None`).
async fn store_in(app: &TestApp, admin: &str, code: &str, country: Option<&str>) -> StoreId {
    let mut body = json!({"code": code, "name": format!("Store {code}"), "currency": "KES",
        "timezone": "Africa/Nairobi"});
    if let Some(country) = country {
        body["country"] = json!(country);
    }
    let response = send(app, Method::POST, STORES, admin, Some(body)).await;
    let status = response.status().as_u16();
    let value = json_of(response).await;
    assert_eq!(status, 201, "{value}");
    value["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_cashier_registers_a_customer_with_a_national_number() {
    // Arrange
    let app = spawn_app().await;
    let store = app.create_store("NRB1").await;
    let cashier = app.create_user("cashier", &[store]).await;

    // Act
    let customer = create(
        &app,
        &cashier.token,
        json!({"name": "  Wanjiru Kamau ", "phone": "0712 345 678", "email": "wanjiru@example.com"}),
    )
    .await;

    // Assert
    assert!(is_uuid_v7(customer["id"].as_str().unwrap()), "{customer}");
    assert_eq!(customer["name"], "Wanjiru Kamau");
    assert_eq!(customer["phone"], "+254712345678");
    assert_eq!(customer["email"], "wanjiru@example.com");
    assert!(customer["created_at"].is_string() && customer["updated_at"].is_string());
    let path = format!("{CUSTOMERS}/{}", customer["id"].as_str().unwrap());
    let fetched = send(&app, Method::GET, &path, &cashier.token, None).await;
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(json_of(fetched).await, customer);
}

#[tokio::test]
async fn phone_numbers_are_stored_in_e164_read_in_the_stores_country() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let uganda = store_in(&app, &admin, "KLA1", Some("UG")).await;
    let tanzania = store_in(&app, &admin, "DAR1", Some("TZ")).await;
    let dar_cashier = app.create_user("cashier", &[tanzania]).await;
    let none = json!({});
    let in_uganda = json!({"store_id": uganda.to_string()});

    // Act / Assert: an admin with no store reads national numbers as Kenyan.
    let cases = [
        (&admin, "0722 000 111", &none, "+254722000111"),
        (&admin, "0733-000-222", &none, "+254733000222"),
        (&admin, "(0711) 000.333", &none, "+254711000333"),
        (&admin, "+254 700 000 444", &none, "+254700000444"),
        // The store named in the body.
        (&admin, "0772 123 456", &in_uganda, "+256772123456"),
        // The caller's only store.
        (&dar_cashier.token, "0712 345 678", &none, "+255712345678"),
        // An explicit country code beats the store's country.
        (&admin, "+255 713 222 333", &in_uganda, "+255713222333"),
        (&admin, "+1 202-555-0100", &none, "+12025550100"),
    ];
    for (i, (token, phone, extra, expected)) in cases.into_iter().enumerate() {
        let stored =
            stored_phone(&app, token, &format!("Customer {i}"), phone, extra.clone()).await;
        assert_eq!(stored, expected, "{phone} with {extra}");
    }
}

#[tokio::test]
async fn every_invalid_customer_field_is_reported_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"name": "  ", "phone": "0712 34", "email": "not-an-email"});

    // Act
    let response = send(&app, Method::POST, CUSTOMERS, &admin, Some(body)).await;

    // Assert
    let problem = assert_problem(response, 422, CUSTOMERS).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"], "{problem}");
}

#[tokio::test]
async fn impossible_or_ambiguous_phone_numbers_are_422() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act / Assert
    for phone in [
        "07123456789",    // a digit too many for Kenya
        "12345",          // too short for any country
        "254712345678",   // a country code without '+'
        "+999 1234 5678", // no such country code
        "0800 FLOWERS",   // letters
        "tel:+254712345678",
        "",
    ] {
        let body = json!({"name": "Someone", "phone": phone});
        let response = send(&app, Method::POST, CUSTOMERS, &admin, Some(body)).await;
        let problem = assert_problem(response, 422, CUSTOMERS).await;
        assert_eq!(error_fields(&problem), ["phone"], "{phone:?}: {problem}");
    }
    for email in ["wanjiru", "a@", "Wanjiru <w@example.com>"] {
        let body = json!({"name": "Someone", "email": email});
        let response = send(&app, Method::POST, CUSTOMERS, &admin, Some(body)).await;
        let problem = assert_problem(response, 422, CUSTOMERS).await;
        assert_eq!(error_fields(&problem), ["email"], "{email:?}: {problem}");
    }
    let unknown_field = json!({"name": "Someone", "nickname": "S"});
    let response = send(&app, Method::POST, CUSTOMERS, &admin, Some(unknown_field)).await;
    assert_problem(response, 422, CUSTOMERS).await;
    let listed = search(&app, &admin, &[]).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn a_phone_number_belongs_to_one_customer() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        json!({"name": "Wanjiru", "phone": "0712 345 678"}),
    )
    .await;
    let other = create(
        &app,
        &admin,
        json!({"name": "Otieno", "phone": "0722 000 111"}),
    )
    .await;
    let other_path = format!("{CUSTOMERS}/{}", other["id"].as_str().unwrap());

    // Act
    let same_number = json!({"name": "Impostor", "phone": "+254 712-345-678"});
    let created = send(&app, Method::POST, CUSTOMERS, &admin, Some(same_number)).await;
    let patched = send(
        &app,
        Method::PATCH,
        &other_path,
        &admin,
        Some(json!({"phone": "0712345678"})),
    )
    .await;

    // Assert
    let problem = assert_problem(created, 409, CUSTOMERS).await;
    assert_eq!(error_fields(&problem), ["phone"]);
    let problem = assert_problem(patched, 409, &other_path).await;
    assert_eq!(error_fields(&problem), ["phone"]);
    let unchanged = json_of(send(&app, Method::GET, &other_path, &admin, None).await).await;
    assert_eq!(unchanged["phone"], "+254722000111");
    assert_eq!(
        search(&app, &admin, &[]).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn employees_are_refused_on_every_customer_route() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("NRB1").await;
    let employee = app.create_user("employee", &[store]).await;
    let customer = create(&app, &admin, json!({"name": "Wanjiru"})).await;
    let path = format!("{CUSTOMERS}/{}", customer["id"].as_str().unwrap());
    let sales = format!("{path}/sales");

    // Act / Assert
    let calls = [
        (Method::POST, CUSTOMERS, Some(json!({"name": "Otieno"}))),
        (Method::GET, CUSTOMERS, None),
        (Method::GET, path.as_str(), None),
        (
            Method::PATCH,
            path.as_str(),
            Some(json!({"name": "Changed"})),
        ),
        (Method::GET, sales.as_str(), None),
    ];
    for (method, route, body) in calls {
        let response = send(&app, method.clone(), route, &employee.token, body).await;
        assert_problem(response, 403, route).await;
    }
    let unchanged = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    assert_eq!(unchanged["name"], "Wanjiru");
}

#[tokio::test]
async fn managers_and_cashier_api_keys_serve_customers() {
    // Arrange
    let app = spawn_app().await;
    let store = app.create_store("NRB1").await;
    let manager = app.create_user("manager", &[store]).await;
    let key = app.create_api_key("cashier", &[store]).await;

    // Act
    let by_manager = create(&app, &manager.token, json!({"name": "Wanjiru"})).await;
    let by_key = create(
        &app,
        &key.key,
        json!({"name": "Otieno", "phone": "0722000111"}),
    )
    .await;

    // Assert
    assert_eq!(by_manager["name"], "Wanjiru");
    assert_eq!(by_key["phone"], "+254722000111");
    assert_eq!(
        names(&search(&app, &key.key, &[]).await),
        ["Wanjiru", "Otieno"]
    );
}

#[tokio::test]
async fn customers_are_found_by_name_prefix_or_by_phone_in_any_form() {
    // Arrange
    let app = spawn_app().await;
    let store = app.create_store("NRB1").await;
    let cashier = app.create_user("cashier", &[store]).await;
    let token = cashier.token.as_str();
    for body in [
        json!({"name": "Wanjiru Kamau", "phone": "0712 345 678"}),
        json!({"name": "wambui Otieno"}),
        json!({"name": "Achieng Odhiambo", "phone": "+254722000111"}),
        json!({"name": "Kamau Wanjiru"}),
        json!({"name": "100% Cotton Ltd"}),
        json!({"name": "Édith Wairimu"}),
    ] {
        create(&app, token, body).await;
    }

    // Act / Assert
    let cases: [(&str, &[&str]); 14] = [
        ("wa", &["Wanjiru Kamau", "wambui Otieno"]),
        ("WAN", &["Wanjiru Kamau"]),
        ("  Wanjiru K ", &["Wanjiru Kamau"]),
        ("Kamau", &["Kamau Wanjiru"]),
        ("0712 345 678", &["Wanjiru Kamau"]),
        ("0712-345678", &["Wanjiru Kamau"]),
        ("+254 722 000 111", &["Achieng Odhiambo"]),
        ("254722000111", &["Achieng Odhiambo"]),
        ("100%", &["100% Cotton Ltd"]),
        ("%", &[]),
        ("zz", &[]),
        // Case never matters, non-ASCII letters included, on both engines.
        ("Édith", &["Édith Wairimu"]),
        ("ÉDITH w", &["Édith Wairimu"]),
        ("édith", &["Édith Wairimu"]),
    ];
    for (q, expected) in cases {
        let page = search(&app, token, &[("q", q)]).await;
        assert_eq!(names(&page), expected, "q={q:?}");
    }
    for q in ["", "   "] {
        let response = app
            .authed(Method::GET, CUSTOMERS, token)
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, CUSTOMERS).await;
        assert_eq!(error_fields(&problem), ["q"]);
    }
}

#[tokio::test]
async fn a_search_reads_national_numbers_in_the_callers_store_country() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let uganda = store_in(&app, &admin, "KLA1", Some("UG")).await;
    let cashier = app.create_user("cashier", &[uganda]).await;
    create(
        &app,
        &cashier.token,
        json!({"name": "Nakato", "phone": "0772 123 456"}),
    )
    .await;

    // Act
    let in_uganda = search(&app, &cashier.token, &[("q", "0772 123 456")]).await;
    let in_kenya = search(&app, &admin, &[("q", "0772 123 456")]).await;
    let international = search(&app, &admin, &[("q", "+256772123456")]).await;

    // Assert
    assert_eq!(names(&in_uganda), ["Nakato"]);
    assert_eq!(names(&in_kenya), Vec::<String>::new());
    assert_eq!(names(&international), ["Nakato"]);
}

#[tokio::test]
async fn a_customer_is_patched_and_null_clears_contact_details() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let uganda = store_in(&app, &admin, "KLA1", Some("UG")).await;
    let store = app.create_store("NRB1").await;
    let cashier = app.create_user("cashier", &[store]).await;
    let customer = create(
        &app,
        &cashier.token,
        json!({"name": "Wanjiru", "phone": "0712345678", "email": "w@example.com"}),
    )
    .await;
    let path = format!("{CUSTOMERS}/{}", customer["id"].as_str().unwrap());
    let patch = |body: Value| send(&app, Method::PATCH, &path, &cashier.token, Some(body));

    // Act
    let renamed =
        json_of(patch(json!({"name": " Wanjiru Kamau ", "phone": "0722-000-111"})).await).await;
    let cleared = json_of(patch(json!({"phone": null, "email": null})).await).await;
    let email_only = json_of(patch(json!({"email": "wk@example.com"})).await).await;
    let bad = patch(json!({"name": "", "phone": "07", "email": "x"})).await;
    let unknown = patch(json!({"nickname": "W"})).await;
    let not_visible = patch(json!({"phone": "0772 123 456", "store_id": uganda.to_string()})).await;
    let admin_in_uganda = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"phone": "0772 123 456", "store_id": uganda.to_string()})),
    )
    .await;

    // Assert
    assert_eq!(renamed["name"], "Wanjiru Kamau");
    assert_eq!(renamed["phone"], "+254722000111");
    assert_eq!(renamed["email"], "w@example.com");
    assert_eq!(renamed["created_at"], customer["created_at"]);
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["email"], Value::Null);
    assert_eq!(cleared["name"], "Wanjiru Kamau");
    assert_eq!(email_only["email"], "wk@example.com");
    assert_eq!(email_only["phone"], Value::Null);
    let problem = assert_problem(bad, 422, &path).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"]);
    assert_problem(unknown, 422, &path).await;
    let problem = assert_problem(not_visible, 422, &path).await;
    assert_eq!(error_fields(&problem), ["store_id"]);
    assert_eq!(admin_in_uganda.status().as_u16(), 200);
    assert_eq!(json_of(admin_in_uganda).await["phone"], "+256772123456");
}

#[tokio::test]
async fn a_store_id_in_the_body_must_be_one_the_caller_sees() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_store("AAA1").await;
    let b = app.create_store("BBB1").await;
    let cashier = app.create_user("cashier", &[a]).await;

    // Act / Assert
    for store in [b.to_string(), StoreId::new().to_string(), "nope".to_owned()] {
        let body = json!({"name": "Wanjiru", "phone": "0712345678", "store_id": store});
        let response = send(&app, Method::POST, CUSTOMERS, &cashier.token, Some(body)).await;
        let problem = assert_problem(response, 422, CUSTOMERS).await;
        assert_eq!(error_fields(&problem), ["store_id"], "{store}");
    }
    let body = json!({"name": "Wanjiru", "phone": "0712345678", "store_id": a.to_string()});
    let mine = send(&app, Method::POST, CUSTOMERS, &cashier.token, Some(body)).await;
    assert_eq!(mine.status().as_u16(), 201);
}

#[tokio::test]
async fn customers_are_paged_in_creation_order() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 1..=5 {
        create(&app, &admin, json!({"name": format!("Customer {i}")})).await;
    }

    // Act
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = search(&app, &admin, &query).await;
        seen.extend(names(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let too_big = app
        .authed(Method::GET, CUSTOMERS, &admin)
        .query(&[("limit", "201")])
        .send()
        .await
        .unwrap();
    let bad_cursor = app
        .authed(Method::GET, CUSTOMERS, &admin)
        .query(&[("cursor", "garbage!")])
        .send()
        .await
        .unwrap();
    let filtered = search(&app, &admin, &[("q", "customer"), ("limit", "3")]).await;

    // Assert
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (1..=5).map(|i| format!("Customer {i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        error_fields(&assert_problem(too_big, 422, CUSTOMERS).await),
        ["limit"]
    );
    assert_eq!(
        error_fields(&assert_problem(bad_cursor, 422, CUSTOMERS).await),
        ["cursor"]
    );
    assert_eq!(names(&filtered).len(), 3);
    assert!(filtered["next_cursor"].is_string());
}

#[tokio::test]
async fn an_unknown_or_malformed_customer_id_is_404() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act / Assert
    for id in [CustomerId::new().to_string(), "nope".to_owned()] {
        let path = format!("{CUSTOMERS}/{id}");
        let got = send(&app, Method::GET, &path, &admin, None).await;
        assert_problem(got, 404, &path).await;
        let patched = send(
            &app,
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"name": "X"})),
        )
        .await;
        assert_problem(patched, 404, &path).await;
        let sales = format!("{path}/sales");
        let listed = send(&app, Method::GET, &sales, &admin, None).await;
        assert_problem(listed, 404, &sales).await;
    }
}

#[tokio::test]
async fn a_replayed_create_answers_the_first_customer() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"name": "Wanjiru", "phone": "0712 345 678"});
    let post = || {
        app.authed(Method::POST, CUSTOMERS, &admin)
            .header("idempotency-key", "customer-1")
            .json(&body)
            .send()
    };

    // Act
    let first = post().await.unwrap();
    let again = post().await.unwrap();

    // Assert
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(json_of(first).await, json_of(again).await);
    assert_eq!(names(&search(&app, &admin, &[]).await), ["Wanjiru"]);
}

#[tokio::test]
async fn customer_changes_are_audited_without_personal_data() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("NRB1").await;
    let cashier = app.create_user("cashier", &[store]).await;
    let customer = create(
        &app,
        &cashier.token,
        json!({"name": "Wanjiru", "phone": "0712 345 678", "email": "w@example.com"}),
    )
    .await;
    let id = customer["id"].as_str().unwrap();
    let path = format!("{CUSTOMERS}/{id}");
    send(
        &app,
        Method::PATCH,
        &path,
        &cashier.token,
        Some(json!({"email": null})),
    )
    .await;

    // Act
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
    let mine: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == id)
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["customer.created", "customer.updated"]);
    for event in &mine {
        assert_eq!(event["actor_id"], cashier.id.as_str());
        assert_eq!(event["target_type"], "customer");
        assert_eq!(event["store_id"], store.to_string());
        let text = event.to_string();
        assert!(
            !text.contains("712345678") && !text.contains("Wanjiru"),
            "{text}"
        );
        assert!(!text.contains("w@example.com"), "{text}");
    }
    assert_eq!(mine[1]["details"]["changed"], json!(["email"]));
    let verify = json_of(
        send(
            &app,
            Method::GET,
            "/api/v1/audit-events/verify",
            &admin,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(verify["ok"], true, "{verify}");
}

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
async fn a_store_has_a_country_for_phone_numbers_defaulting_to_kenya() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let kenya = store_in(&app, &admin, "NRB1", None).await;
    let uganda = store_in(&app, &admin, "KLA1", Some("UG")).await;
    let path = format!("{STORES}/{kenya}");

    // Act
    let fetched = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    let ugandan = json_of(
        send(
            &app,
            Method::GET,
            &format!("{STORES}/{uganda}"),
            &admin,
            None,
        )
        .await,
    )
    .await;
    let moved = send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"country": "TZ"})),
    )
    .await;
    let cashier = app.create_user("cashier", &[kenya]).await;
    let customer = create(
        &app,
        &cashier.token,
        json!({"name": "Neema", "phone": "0712 345 678"}),
    )
    .await;

    // Assert
    assert_eq!(fetched["country"], "KE");
    assert_eq!(ugandan["country"], "UG");
    assert_eq!(moved.status().as_u16(), 200);
    assert_eq!(json_of(moved).await["country"], "TZ");
    assert_eq!(customer["phone"], "+255712345678");
}

#[tokio::test]
async fn a_store_country_must_be_an_upper_case_code_with_phone_numbering() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = store_in(&app, &admin, "NRB1", None).await;
    let path = format!("{STORES}/{store}");

    // Act / Assert
    for country in ["ke", "KEN", "XX", "", "K1"] {
        let body = json!({"code": "BAD1", "name": "Bad", "currency": "KES",
            "timezone": "Africa/Nairobi", "country": country});
        let created = send(&app, Method::POST, STORES, &admin, Some(body)).await;
        let problem = assert_problem(created, 422, STORES).await;
        assert_eq!(error_fields(&problem), ["country"], "{country:?}");
        let patched = send(
            &app,
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"country": country})),
        )
        .await;
        let problem = assert_problem(patched, 422, &path).await;
        assert_eq!(error_fields(&problem), ["country"], "{country:?}");
    }
    let unchanged = json_of(send(&app, Method::GET, &path, &admin, None).await).await;
    assert_eq!(unchanged["country"], "KE");
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
