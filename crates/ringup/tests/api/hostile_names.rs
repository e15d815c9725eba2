//! Hostile names (docs/API.md "Text"): NUL and other control characters, and names that show
//! nothing (zero-width joiners, a lone BOM, a bidi override, blanks) or reorder what follows
//! them (a bidi override beside visible text) are 422 naming the field
//! for every named resource, on create and on rename, and nothing is stored. Before this,
//! PostgreSQL answered NUL with a 500 (it cannot hold NUL in `text`) and SQLite stored it.
//! Login's username is checked the same way before anything is counted or audited.

use reqwest::Method;
use ringup_core::ids::ProductId;
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields};

/// Names a client might send that must never be stored: control characters (NUL first, as
/// the probe found it), layout characters (allowed in notes, not in names) and names that
/// show nothing.
const HOSTILE_NAMES: [&str; 12] = [
    "Milk\u{0}",
    "\u{0}",
    "Milk\u{1b}[2J",
    "Milk\u{7f}",
    "Milk\u{85}",
    "Milk\tFresh",
    "Milk\r\nFresh",
    "\u{200d}\u{200d}",
    "\u{feff}",
    "\u{202e}",
    " \u{3000} ",
    // A bidi override beside visible text reorders what a receipt prints ("Trojan Source").
    "Milk\u{202e}gk 01",
];

/// A named resource: where it is created and listed, and a valid body around a name.
struct Target {
    create: String,
    list: String,
    body: Box<dyn Fn(&str) -> Value>,
}

async fn targets(app: &TestApp, admin: &str) -> Vec<Target> {
    let store = app.create_store("NAM1").await;
    let tax = app
        .authed(Method::POST, "/api/v1/tax-classes", admin)
        .json(&json!({"name": "VAT", "rate_bp": 1600}))
        .send()
        .await
        .unwrap();
    assert_eq!(tax.status(), 201);
    let tax = json_of(tax).await["id"].as_str().unwrap().to_owned();
    let registers = format!("/api/v1/stores/{store}/registers");
    let simple = |path: &str| Target {
        create: path.to_owned(),
        list: path.to_owned(),
        body: Box::new(|name| json!({ "name": name })),
    };
    vec![
        Target {
            create: "/api/v1/products".into(),
            list: "/api/v1/products".into(),
            body: Box::new(move |name| {
                let sku = format!("SKU-{}", &ProductId::new().to_string()[24..]);
                json!({"sku": sku, "name": name, "price": 100, "cost": 50,
                    "tax_class_id": tax, "low_stock_threshold": 0})
            }),
        },
        simple("/api/v1/categories"),
        Target {
            create: "/api/v1/tax-classes".into(),
            list: "/api/v1/tax-classes".into(),
            body: Box::new(|name| json!({"name": name, "rate_bp": 800})),
        },
        Target {
            create: "/api/v1/stores".into(),
            list: "/api/v1/stores".into(),
            body: Box::new(|name| {
                json!({"code": "NAM2", "name": name, "currency": "KES",
                    "timezone": "Africa/Nairobi"})
            }),
        },
        simple(&registers),
        simple("/api/v1/customers"),
        Target {
            create: "/api/v1/api-keys".into(),
            list: "/api/v1/api-keys".into(),
            body: Box::new(move |name| {
                json!({"name": name, "tier": "basic", "role": "cashier",
                    "store_ids": [store.to_string()]})
            }),
        },
    ]
}

async fn count(app: &TestApp, token: &str, list: &str) -> usize {
    let response = app
        .authed(Method::GET, &format!("{list}?limit=200"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{list}");
    json_of(response).await["items"].as_array().unwrap().len()
}

async fn audit_count(app: &TestApp, token: &str) -> usize {
    count(app, token, "/api/v1/audit-events").await
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.authed(Method::POST, path, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_names_are_422_naming_the_field_and_nothing_is_stored() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let targets = targets(&app, &admin).await;
    let mut before = Vec::new();
    for t in &targets {
        before.push(count(&app, &admin, &t.list).await);
    }
    let audited = audit_count(&app, &admin).await;

    for t in &targets {
        for name in HOSTILE_NAMES {
            // Act
            let response = post(&app, &admin, &t.create, &(t.body)(name)).await;

            // Assert
            let problem = assert_problem(response, 422, &t.create).await;
            assert_eq!(error_fields(&problem), ["name"], "{} {name:?}", t.create);
        }
    }
    for (t, before) in targets.iter().zip(&before) {
        assert_eq!(count(&app, &admin, &t.list).await, *before, "{}", t.list);
    }
    assert_eq!(audit_count(&app, &admin).await, audited);

    // Control: the same bodies with a real name are stored, so each 422 above was the name's.
    for (t, before) in targets.iter().zip(&before) {
        let response = post(&app, &admin, &t.create, &(t.body)("Unga 👩\u{200d}🍳 2kg")).await;
        let status = response.status();
        let body = json_of(response).await;
        assert_eq!(status, 201, "{}: {body}", t.create);
        assert_eq!(body["name"], "Unga 👩\u{200d}🍳 2kg");
        assert_eq!(count(&app, &admin, &t.list).await, before + 1, "{}", t.list);
    }
}

#[tokio::test]
async fn renaming_to_a_hostile_name_is_422_and_keeps_the_old_name() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let targets = targets(&app, &admin).await;
    let mut renamable = Vec::new();
    for t in &targets {
        // Products, stores and customers can be renamed.
        if ["/api/v1/products", "/api/v1/stores", "/api/v1/customers"].contains(&t.list.as_str()) {
            let created = post(&app, &admin, &t.create, &(t.body)("Original")).await;
            assert_eq!(created.status(), 201, "{}", t.create);
            let id = json_of(created).await["id"].as_str().unwrap().to_owned();
            renamable.push(format!("{}/{id}", t.list));
        }
    }
    assert_eq!(renamable.len(), 3);
    let audited = audit_count(&app, &admin).await;

    for path in &renamable {
        for name in HOSTILE_NAMES {
            // Act
            let response = app
                .authed(Method::PATCH, path, &admin)
                .json(&json!({ "name": name }))
                .send()
                .await
                .unwrap();

            // Assert
            let problem = assert_problem(response, 422, path).await;
            assert_eq!(error_fields(&problem), ["name"], "{path} {name:?}");
        }
        let now = app.authed(Method::GET, path, &admin).send().await.unwrap();
        assert_eq!(json_of(now).await["name"], "Original", "{path}");
    }
    assert_eq!(audit_count(&app, &admin).await, audited);
}

#[tokio::test]
async fn a_login_with_nul_in_its_credentials_is_422_and_counts_as_nothing() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let audited = audit_count(&app, &admin).await;
    let login = "/api/v1/auth/login";

    // Act: the probe's request, then the password likewise, more times than the lockout allows.
    let mut answers = Vec::new();
    for _ in 0..6 {
        for body in [
            json!({"username": "admin\u{0}", "password": "x"}),
            json!({"username": ADMIN_USERNAME, "password": "x\u{0}"}),
        ] {
            answers.push(app.post_json(login, &body).await);
        }
    }

    // Assert
    for (i, response) in answers.into_iter().enumerate() {
        let problem = assert_problem(response, 422, login).await;
        let field = if i % 2 == 0 { "username" } else { "password" };
        assert_eq!(error_fields(&problem), [field]);
    }
    assert_eq!(
        audit_count(&app, &admin).await,
        audited,
        "no failed login was recorded"
    );
    let still = app
        .post_json(
            login,
            &json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(still.status(), 200, "the account was not locked");
}
