//! Registering a customer and changing their details: phone numbers stored in E.164 as read in
//! the store's country, every invalid field reported at once, one customer per phone number,
//! PATCH with `null` clearing, a `store_id` the caller must see, and a replayed create.

use reqwest::Method;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use super::{CUSTOMERS, create, names, search, send, store_in};
use crate::support::{assert_problem, error_fields, header, is_uuid_v7};

/// The phone number a customer created with `phone` is stored with.
async fn stored_phone(app: &TestApp, token: &str, name: &str, phone: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "phone": phone});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    create(app, token, body).await["phone"].clone()
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
