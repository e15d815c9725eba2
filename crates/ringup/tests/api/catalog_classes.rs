//! Tax classes and categories: admins and managers create them, every authenticated caller
//! lists them; rates are 0–10000 basis points, tax class names are unique, and a category's
//! parent must exist.

use reqwest::{Method, Response};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields};

const TAX_CLASSES: &str = "/api/v1/tax-classes";
const CATEGORIES: &str = "/api/v1/categories";

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

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let response = send(app, Method::POST, path, token, Some(body)).await;
    let status = response.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_creates_a_tax_class() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act
    let class = created(
        &app,
        TAX_CLASSES,
        &admin,
        json!({"name": " VAT 16% ", "rate_bp": 1600}),
    )
    .await;

    // Assert
    assert!(class["id"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(class["name"], "VAT 16%");
    assert_eq!(class["rate_bp"], 1600);
    assert!(class["created_at"].is_string());
    assert_eq!(class["created_at"], class["updated_at"]);
    let listed = json_of(send(&app, Method::GET, TAX_CLASSES, &admin, None).await).await;
    assert_eq!(listed["items"], json!([class]));
    assert_eq!(listed["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_rate_bounds_are_inclusive() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act
    let zero = created(
        &app,
        TAX_CLASSES,
        &admin,
        json!({"name": "Exempt", "rate_bp": 0}),
    )
    .await;
    let full = created(
        &app,
        TAX_CLASSES,
        &admin,
        json!({"name": "All", "rate_bp": 10000}),
    )
    .await;

    // Assert
    assert_eq!(zero["rate_bp"], 0);
    assert_eq!(full["rate_bp"], 10000);
}

#[tokio::test]
async fn invalid_tax_classes_are_422_naming_every_field() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let cases = [
        (json!({"name": "", "rate_bp": -1}), vec!["name", "rate_bp"]),
        (
            json!({"name": "x".repeat(101), "rate_bp": 10001}),
            vec!["name", "rate_bp"],
        ),
        (json!({"name": "Fine", "rate_bp": 10001}), vec!["rate_bp"]),
        (json!({"name": "  ", "rate_bp": 1600}), vec!["name"]),
        (json!({"name": "Fine", "rate_bp": 16.5}), vec!["rate_bp"]),
        (json!({"name": "Fine"}), vec!["rate_bp"]),
        (
            json!({"name": "Fine", "rate_bp": 1600, "rate": 1}),
            vec![""],
        ),
    ];

    for (body, expected) in cases {
        // Act
        let response = send(&app, Method::POST, TAX_CLASSES, &admin, Some(body.clone())).await;

        // Assert
        let problem = assert_problem(response, 422, TAX_CLASSES).await;
        let mut fields = error_fields(&problem);
        fields.sort();
        if expected == [""] {
            assert_eq!(fields.len(), 1, "{body} → {problem}");
        } else {
            assert_eq!(fields, expected, "{body} → {problem}");
        }
    }
    let listed = json_of(send(&app, Method::GET, TAX_CLASSES, &admin, None).await).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn a_tax_class_name_is_unique() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    created(
        &app,
        TAX_CLASSES,
        &admin,
        json!({"name": "VAT", "rate_bp": 1600}),
    )
    .await;

    // Act
    let again = send(
        &app,
        Method::POST,
        TAX_CLASSES,
        &admin,
        Some(json!({"name": "VAT", "rate_bp": 800})),
    )
    .await;

    // Assert
    let problem = assert_problem(again, 409, TAX_CLASSES).await;
    assert_eq!(error_fields(&problem), ["name"]);
}

#[tokio::test]
async fn a_category_defaults_to_the_top_of_the_tree() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act
    let omitted = created(&app, CATEGORIES, &admin, json!({"name": "Drinks"})).await;
    let null = created(
        &app,
        CATEGORIES,
        &admin,
        json!({"name": "Snacks", "parent_id": null}),
    )
    .await;

    // Assert
    assert_eq!(omitted["name"], "Drinks");
    assert_eq!(omitted["parent_id"], Value::Null);
    assert!(omitted["id"].is_string() && omitted["created_at"].is_string());
    assert!(omitted["updated_at"].is_string());
    assert_eq!(null["parent_id"], Value::Null);
}

#[tokio::test]
async fn categories_form_a_chain_of_parents() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let root = created(&app, CATEGORIES, &admin, json!({"name": "Drinks"})).await;

    // Act
    let child = created(
        &app,
        CATEGORIES,
        &admin,
        json!({"name": "Soft drinks", "parent_id": root["id"]}),
    )
    .await;
    let grandchild = created(
        &app,
        CATEGORIES,
        &admin,
        json!({"name": "Sodas", "parent_id": child["id"]}),
    )
    .await;

    // Assert
    assert_eq!(child["parent_id"], root["id"]);
    assert_eq!(grandchild["parent_id"], child["id"]);
    let listed = json_of(send(&app, Method::GET, CATEGORIES, &admin, None).await).await;
    assert_eq!(listed["items"], json!([root, child, grandchild]));
}

#[tokio::test]
async fn an_unknown_parent_is_422_on_parent_id() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unknown = ringup_core::ids::CategoryId::new().to_string();

    for (body, expected) in [
        (
            json!({"name": "Orphan", "parent_id": unknown}),
            vec!["parent_id"],
        ),
        (
            json!({"name": "Orphan", "parent_id": "nope"}),
            vec!["parent_id"],
        ),
        (
            json!({"name": "", "parent_id": unknown}),
            vec!["name", "parent_id"],
        ),
        (json!({"name": "y".repeat(101)}), vec!["name"]),
    ] {
        // Act
        let response = send(&app, Method::POST, CATEGORIES, &admin, Some(body.clone())).await;

        // Assert
        let problem = assert_problem(response, 422, CATEGORIES).await;
        let mut fields = error_fields(&problem);
        fields.sort();
        assert_eq!(fields, expected, "{body} → {problem}");
    }
    let listed = json_of(send(&app, Method::GET, CATEGORIES, &admin, None).await).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn lists_page_with_a_cursor() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut classes = Vec::new();
    let mut categories = Vec::new();
    for n in 0..5 {
        let class = json!({"name": format!("Class {n}"), "rate_bp": n * 100});
        classes.push(created(&app, TAX_CLASSES, &admin, class).await["id"].clone());
        let category = json!({"name": format!("Category {n}")});
        categories.push(created(&app, CATEGORIES, &admin, category).await["id"].clone());
    }

    for (path, expected) in [(TAX_CLASSES, classes), (CATEGORIES, categories)] {
        // Act
        let mut seen = Vec::new();
        let mut url = format!("{path}?limit=2");
        let mut pages = 0;
        loop {
            let page = json_of(send(&app, Method::GET, &url, &admin, None).await).await;
            pages += 1;
            assert!(page["items"].as_array().unwrap().len() <= 2);
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(cursor) => url = format!("{path}?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        let bad_limit = send(&app, Method::GET, &format!("{path}?limit=0"), &admin, None).await;
        let bad_cursor = send(&app, Method::GET, &format!("{path}?cursor=x"), &admin, None).await;

        // Assert
        let expected: Vec<String> = expected
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(seen, expected, "{path}");
        assert_eq!(pages, 3, "{path}");
        let problem = assert_problem(bad_limit, 422, path).await;
        assert_eq!(error_fields(&problem), ["limit"]);
        let problem = assert_problem(bad_cursor, 422, path).await;
        assert_eq!(error_fields(&problem), ["cursor"]);
    }
}

#[tokio::test]
async fn managers_create_cashiers_and_employees_only_list() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("AAA1").await;
    let manager = app.create_user("manager", &[store]).await;
    let cashier = app.create_user("cashier", &[store]).await;
    let employee = app.create_user("employee", &[store]).await;
    let key = app.create_api_key("cashier", &[store]).await;
    created(
        &app,
        TAX_CLASSES,
        &manager.token,
        json!({"name": "VAT", "rate_bp": 1600}),
    )
    .await;
    created(&app, CATEGORIES, &manager.token, json!({"name": "Drinks"})).await;

    for (path, body) in [
        (TAX_CLASSES, json!({"name": "Other", "rate_bp": 0})),
        (CATEGORIES, json!({"name": "Other"})),
    ] {
        for token in [&cashier.token, &employee.token, &key.key] {
            // Act
            let create = send(&app, Method::POST, path, token, Some(body.clone())).await;
            let list = send(&app, Method::GET, path, token, None).await;

            // Assert
            assert_problem(create, 403, path).await;
            assert_eq!(list.status().as_u16(), 200);
            assert_eq!(json_of(list).await["items"].as_array().unwrap().len(), 1);
        }
        let anonymous = app.post_json(path, &body).await;
        assert_problem(anonymous, 401, path).await;
        let anonymous = app.get(path).await;
        assert_problem(anonymous, 401, path).await;
    }
    let listed = json_of(send(&app, Method::GET, CATEGORIES, &admin, None).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn creations_are_audited_in_the_global_chain() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let class = created(
        &app,
        TAX_CLASSES,
        &admin,
        json!({"name": "VAT", "rate_bp": 1600}),
    )
    .await;
    let category = created(&app, CATEGORIES, &admin, json!({"name": "Drinks"})).await;

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
    let catalog: Vec<(&str, &str, &Value)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_type"] == "tax_class" || e["target_type"] == "category")
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["target_id"].as_str().unwrap(),
                &e["store_id"],
            )
        })
        .collect();
    assert_eq!(
        catalog,
        [
            (
                "tax_class.created",
                class["id"].as_str().unwrap(),
                &Value::Null
            ),
            (
                "category.created",
                category["id"].as_str().unwrap(),
                &Value::Null
            ),
        ]
    );
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
