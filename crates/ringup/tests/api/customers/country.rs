//! The store's `country`, which national phone numbers are read in: Kenya by default, changed by
//! PATCH, and always an upper-case code of a country with phone numbering.

use reqwest::Method;
use ringup_testkit::{json_of, spawn_app};
use serde_json::json;

use super::{STORES, create, send, store_in};
use crate::support::{assert_problem, error_fields};

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
