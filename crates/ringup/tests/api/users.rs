//! `/api/v1/users`: creation and its validation, uniqueness, pagination, lookups, patches that
//! take effect on the user's next request, and managers limited to staff of their own stores.

use std::collections::BTreeSet;

use reqwest::{Method, Response};
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, USER_PASSWORD, json_of, spawn_app_with};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, is_uuid_v7};

pub(crate) const USERS: &str = "/api/v1/users";

/// A server whose login rate limit does not get in the way of fixtures that log in often.
pub(crate) async fn spawn() -> TestApp {
    spawn_app_with(|raw| raw.login_rate_per_minute = "1000".into()).await
}

/// `POST /api/v1/users` with `body` as the holder of `token`.
pub(crate) async fn post_user(app: &TestApp, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, USERS, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A valid creation body for `username` (whose address is `<username>@example.com`).
pub(crate) fn new_user(username: &str, role: &str, stores: &[StoreId]) -> Value {
    json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": USER_PASSWORD,
        "role": role,
        "store_ids": stores.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Creates a user as the holder of `token`; returns its id.
pub(crate) async fn create(
    app: &TestApp,
    token: &str,
    username: &str,
    role: &str,
    stores: &[StoreId],
) -> String {
    let response = post_user(app, token, &new_user(username, role, stores)).await;
    let status = response.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

pub(crate) async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    app.authed(Method::PATCH, path, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The ids of every user `token` sees, following `next_cursor` with pages of `limit`.
pub(crate) async fn all_user_ids(app: &TestApp, token: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("{USERS}?limit={limit}");
    loop {
        let response = get(app, &path, token).await;
        assert_eq!(response.status().as_u16(), 200);
        let page = json_of(response).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        ids.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                // A page is short only at the end, even when the caller may not see every user.
                assert_eq!(items.len(), limit, "{page}");
                path = format!("{USERS}?limit={limit}&cursor={cursor}");
            }
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                return ids;
            }
        }
    }
}

pub(crate) fn set_of<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

#[tokio::test]
async fn an_admin_creates_a_user() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let admin = app.admin_token().await;

    // Act
    let response = post_user(&app, &admin, &new_user("till.one", "cashier", &[store])).await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    let body = json_of(response).await;
    assert!(is_uuid_v7(body["id"].as_str().unwrap()), "{body}");
    assert_eq!(body["username"], "till.one");
    assert_eq!(body["email"], "till.one@example.com");
    assert_eq!(body["role"], "cashier");
    assert_eq!(body["store_ids"], json!([store.to_string()]));
    assert_eq!(body["active"], true);
    assert_eq!(body["commission_rate_bp"], 0);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    // The new user can log in with the password it was given.
    let login = app.login("till.one", USER_PASSWORD).await;
    assert_eq!(login["user"]["id"], body["id"]);
}

#[tokio::test]
async fn a_username_taken_in_another_case_is_409_on_username() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    create(&app, &admin, "Till.One", "cashier", &[]).await;
    let mut body = new_user("till.one", "cashier", &[]);
    body["email"] = json!("someone.else@example.com");

    // Act
    let response = post_user(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 409, USERS).await;
    assert_eq!(error_fields(&problem), ["username"]);
}

#[tokio::test]
async fn an_email_already_taken_is_409_on_email() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    create(&app, &admin, "till.one", "cashier", &[]).await;
    let mut body = new_user("till.two", "cashier", &[]);
    body["email"] = json!("Till.One@Example.com");

    // Act
    let response = post_user(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 409, USERS).await;
    assert_eq!(error_fields(&problem), ["email"]);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let body = json!({
        "username": "ab",
        "email": "not-an-address",
        "password": "password",
        "role": "owner",
        "store_ids": [],
        "commission_rate_bp": 10001,
    });

    // Act
    let response = post_user(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 422, USERS).await;
    let fields = error_fields(&problem);
    assert_eq!(
        set_of(fields.iter().cloned()),
        set_of([
            "username",
            "email",
            "password",
            "role",
            "commission_rate_bp"
        ]),
        "{problem}"
    );
    for single in ["username", "email", "role", "commission_rate_bp"] {
        assert_eq!(
            fields.iter().filter(|f| *f == single).count(),
            1,
            "{problem}"
        );
    }
    // "password" breaks several rules (no upper case, no digit, no symbol, common), one entry
    // per rule.
    assert!(
        fields.iter().filter(|f| *f == "password").count() >= 3,
        "{problem}"
    );
    let list = json_of(get(&app, USERS, &admin).await).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing was created: {list}"
    );
}

#[tokio::test]
async fn an_unknown_store_id_is_422_naming_its_index() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let admin = app.admin_token().await;
    let body = new_user("till.one", "cashier", &[store, StoreId::new()]);

    // Act
    let response = post_user(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 422, USERS).await;
    assert_eq!(error_fields(&problem), ["store_ids[1]"]);
}

#[tokio::test]
async fn a_malformed_store_id_is_422_naming_its_index() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let mut body = new_user("till.one", "cashier", &[]);
    body["store_ids"] = json!(["not-a-store"]);

    // Act
    let response = post_user(&app, &admin, &body).await;

    // Assert
    let problem = assert_problem(response, 422, USERS).await;
    assert_eq!(error_fields(&problem), ["store_ids[0]"]);
}

#[tokio::test]
async fn following_cursors_lists_every_user_exactly_once() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let me = json_of(get(&app, "/api/v1/me", &admin).await).await;
    let mut expected = vec![me["id"].as_str().unwrap().to_owned()];
    for n in 0..4 {
        expected.push(create(&app, &admin, &format!("user.{n}"), "employee", &[]).await);
    }

    // Act
    let first = json_of(get(&app, &format!("{USERS}?limit=2"), &admin).await).await;
    let ids = all_user_ids(&app, &admin, 2).await;

    // Assert
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    assert!(first["next_cursor"].is_string(), "{first}");
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(
        set_of(ids.iter().cloned()),
        set_of(expected),
        "each user once"
    );
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "users come in id (creation) order");
}

#[tokio::test]
async fn an_out_of_range_or_non_numeric_limit_is_422() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;

    for limit in ["0", "201", "abc", "-1"] {
        // Act
        let response = get(&app, &format!("{USERS}?limit={limit}"), &admin).await;

        // Assert
        let problem = assert_problem(response, 422, USERS).await;
        assert_eq!(error_fields(&problem), ["limit"], "limit={limit}");
    }
    // The bounds themselves are accepted.
    for limit in ["1", "200"] {
        let response = get(&app, &format!("{USERS}?limit={limit}"), &admin).await;
        assert_eq!(response.status().as_u16(), 200, "limit={limit}");
    }
}

#[tokio::test]
async fn a_cursor_ringup_did_not_make_is_422() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;

    for cursor in ["garbage!", "bm90LWEtY3Vyc29y"] {
        // Act
        let response = get(&app, &format!("{USERS}?cursor={cursor}"), &admin).await;

        // Assert
        let problem = assert_problem(response, 422, USERS).await;
        assert_eq!(error_fields(&problem), ["cursor"], "cursor={cursor}");
    }
}

#[tokio::test]
async fn an_unknown_user_is_404() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let path = format!("{USERS}/{}", StoreId::new());

    // Act
    let response = get(&app, &path, &admin).await;

    // Assert
    assert_problem(response, 404, &path).await;
}

#[tokio::test]
async fn a_malformed_user_id_is_404() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let path = format!("{USERS}/not-a-user-id");

    // Act
    let response = get(&app, &path, &admin).await;

    // Assert
    assert_problem(response, 404, &path).await;
}

#[tokio::test]
async fn an_admin_gets_a_user_by_id() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let admin = app.admin_token().await;
    let id = create(&app, &admin, "till.one", "cashier", &[store]).await;

    // Act
    let response = get(&app, &format!("{USERS}/{id}"), &admin).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body = json_of(response).await;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["username"], "till.one");
    assert_eq!(body["store_ids"], json!([store.to_string()]));
}

#[tokio::test]
async fn a_patch_of_role_stores_and_commission_applies_to_the_users_next_request() {
    // Arrange
    let app = spawn().await;
    let (a, b) = (
        app.create_store("AAA1").await,
        app.create_store("BBB1").await,
    );
    let admin = app.admin_token().await;
    let user = app.create_user("cashier", &[a]).await;
    let before = json_of(get(&app, "/api/v1/me", &user.token).await).await;
    assert_eq!(before["role"], "cashier");
    assert_eq!(
        get(&app, USERS, &user.token).await.status().as_u16(),
        403,
        "a cashier may not list users"
    );
    let path = format!("{USERS}/{}", user.id);

    // Act
    let response = patch(
        &app,
        &path,
        &admin,
        &json!({"role": "manager", "store_ids": [b.to_string()], "commission_rate_bp": 250}),
    )
    .await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body = json_of(response).await;
    assert_eq!(body["role"], "manager");
    assert_eq!(body["store_ids"], json!([b.to_string()]));
    assert_eq!(body["commission_rate_bp"], 250);
    assert_eq!(body["active"], true);

    // The same access token now carries the new role and stores.
    let after = json_of(get(&app, "/api/v1/me", &user.token).await).await;
    assert_eq!(after["id"], user.id.as_str());
    assert_eq!(after["role"], "manager");
    assert_eq!(after["store_ids"], json!([b.to_string()]));
    assert_eq!(
        get(&app, USERS, &user.token).await.status().as_u16(),
        200,
        "the manager role takes effect at once"
    );
    let stored = json_of(get(&app, &path, &admin).await).await;
    assert_eq!(stored["commission_rate_bp"], 250);
    assert_eq!(stored["role"], "manager");
}

#[tokio::test]
async fn a_patch_with_an_unknown_field_is_422() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let id = create(&app, &admin, "till.one", "cashier", &[]).await;
    let path = format!("{USERS}/{id}");

    // Act
    let response = patch(&app, &path, &admin, &json!({"nickname": "Tilly"})).await;

    // Assert
    let problem = assert_problem(response, 422, &path).await;
    assert_eq!(error_fields(&problem).len(), 1, "{problem}");
    let user = json_of(get(&app, &path, &admin).await).await;
    assert_eq!(user["username"], "till.one");
}

#[tokio::test]
async fn a_patch_with_an_invalid_role_or_rate_is_422_naming_each() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;
    let id = create(&app, &admin, "till.one", "cashier", &[]).await;
    let path = format!("{USERS}/{id}");

    // Act
    let response = patch(
        &app,
        &path,
        &admin,
        &json!({"role": "owner", "commission_rate_bp": -1}),
    )
    .await;

    // Assert
    let problem = assert_problem(response, 422, &path).await;
    assert_eq!(
        set_of(error_fields(&problem)),
        set_of(["role", "commission_rate_bp"])
    );
}
