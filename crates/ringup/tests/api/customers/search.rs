//! Finding customers: by name prefix (any case, non-ASCII letters included) or by phone number in
//! any form, national numbers read in the caller's store's country, and pages in creation order.

use reqwest::Method;
use ringup_testkit::spawn_app;
use serde_json::json;

use super::{CUSTOMERS, create, names, search, store_in};
use crate::support::{assert_problem, error_fields};

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
