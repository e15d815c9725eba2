//! Managers manage cashiers and employees of their own stores, and see nobody else.

use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of};
use serde_json::json;

use crate::support::assert_problem;
use crate::users::{USERS, all_user_ids, create, get, new_user, patch, post_user, set_of, spawn};

/// Two stores and a manager of the first.
struct Scoped {
    app: TestApp,
    a: StoreId,
    b: StoreId,
    admin: String,
    manager: String,
}

async fn scoped() -> Scoped {
    let app = spawn().await;
    let (a, b) = (
        app.create_store("AAA1").await,
        app.create_store("BBB1").await,
    );
    let admin = app.admin_token().await;
    let manager = app.create_user("manager", &[a]).await.token;
    Scoped {
        app,
        a,
        b,
        admin,
        manager,
    }
}

#[tokio::test]
async fn a_manager_creates_a_cashier_in_their_store() {
    // Arrange
    let s = scoped().await;

    // Act
    let response = post_user(&s.app, &s.manager, &new_user("till.a", "cashier", &[s.a])).await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    let body = json_of(response).await;
    assert_eq!(body["role"], "cashier");
    assert_eq!(body["store_ids"], json!([s.a.to_string()]));
}

#[tokio::test]
async fn a_manager_may_not_create_a_cashier_in_another_store() {
    // Arrange
    let s = scoped().await;

    // Act
    let response = post_user(&s.app, &s.manager, &new_user("till.b", "cashier", &[s.b])).await;

    // Assert: a store the manager may not see is answered as if it did not exist (docs/API.md).
    let problem = assert_problem(response, 422, USERS).await;
    assert_eq!(problem["errors"][0]["field"], "store_ids[0]");
}

#[tokio::test]
async fn a_manager_may_not_create_a_manager() {
    // Arrange
    let s = scoped().await;

    // Act
    let response = post_user(&s.app, &s.manager, &new_user("boss.a", "manager", &[s.a])).await;

    // Assert
    assert_problem(response, 403, USERS).await;
}

#[tokio::test]
async fn a_manager_may_not_create_an_admin() {
    // Arrange
    let s = scoped().await;

    // Act
    let response = post_user(&s.app, &s.manager, &new_user("root.a", "admin", &[s.a])).await;

    // Assert
    assert_problem(response, 403, USERS).await;
    let everyone = all_user_ids(&s.app, &s.admin, 200).await;
    assert_eq!(everyone.len(), 2, "only the admin and the manager exist");
}

#[tokio::test]
async fn a_manager_lists_only_cashiers_and_employees_of_their_stores() {
    // Arrange
    let s = scoped().await;
    let cashier_a = create(&s.app, &s.admin, "cashier.a", "cashier", &[s.a]).await;
    let employee_a = create(&s.app, &s.admin, "employee.a", "employee", &[s.a]).await;
    let both = create(&s.app, &s.admin, "cashier.ab", "cashier", &[s.a, s.b]).await;
    create(&s.app, &s.admin, "cashier.b", "cashier", &[s.b]).await;
    create(&s.app, &s.admin, "employee.b", "employee", &[s.b]).await;
    create(&s.app, &s.admin, "manager.a2", "manager", &[s.a]).await;
    create(&s.app, &s.admin, "manager.b", "manager", &[s.b]).await;
    create(&s.app, &s.admin, "admin.two", "admin", &[s.a]).await;
    create(&s.app, &s.admin, "floating", "cashier", &[]).await;

    // Act
    let seen = all_user_ids(&s.app, &s.manager, 2).await;

    // Assert
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(set_of(seen), set_of([cashier_a, employee_a, both]));
}

#[tokio::test]
async fn a_manager_gets_404_for_a_user_of_another_store() {
    // Arrange
    let s = scoped().await;
    let cashier_b = create(&s.app, &s.admin, "cashier.b", "cashier", &[s.b]).await;
    let manager_a2 = create(&s.app, &s.admin, "manager.a2", "manager", &[s.a]).await;

    for id in [cashier_b, manager_a2] {
        // Act
        let path = format!("{USERS}/{id}");
        let response = get(&s.app, &path, &s.manager).await;

        // Assert
        assert_problem(response, 404, &path).await;
    }
}

#[tokio::test]
async fn a_manager_gets_404_patching_a_user_of_another_store() {
    // Arrange
    let s = scoped().await;
    let cashier_b = create(&s.app, &s.admin, "cashier.b", "cashier", &[s.b]).await;
    let path = format!("{USERS}/{cashier_b}");

    // Act
    let response = patch(
        &s.app,
        &path,
        &s.manager,
        &json!({"commission_rate_bp": 500}),
    )
    .await;

    // Assert
    assert_problem(response, 404, &path).await;
    let user = json_of(get(&s.app, &path, &s.admin).await).await;
    assert_eq!(user["commission_rate_bp"], 0, "unchanged");
}

#[tokio::test]
async fn a_manager_may_not_move_their_cashier_to_another_store() {
    // Arrange
    let s = scoped().await;
    let cashier_a = create(&s.app, &s.admin, "cashier.a", "cashier", &[s.a]).await;
    let path = format!("{USERS}/{cashier_a}");

    // Act
    let response = patch(
        &s.app,
        &path,
        &s.manager,
        &json!({"store_ids": [s.b.to_string()]}),
    )
    .await;

    // Assert: a store the manager may not see is answered as if it did not exist (docs/API.md).
    let problem = assert_problem(response, 422, &path).await;
    assert_eq!(problem["errors"][0]["field"], "store_ids[0]");
    let user = json_of(get(&s.app, &path, &s.admin).await).await;
    assert_eq!(user["store_ids"], json!([s.a.to_string()]), "unchanged");
}

#[tokio::test]
async fn a_manager_changes_their_cashiers_commission() {
    // Arrange
    let s = scoped().await;
    let cashier_a = create(&s.app, &s.admin, "cashier.a", "cashier", &[s.a]).await;
    let path = format!("{USERS}/{cashier_a}");

    // Act
    let response = patch(
        &s.app,
        &path,
        &s.manager,
        &json!({"commission_rate_bp": 150}),
    )
    .await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(json_of(response).await["commission_rate_bp"], 150);
}

#[tokio::test]
async fn cashiers_and_employees_may_not_use_the_users_routes() {
    // Arrange
    let app = spawn().await;
    let a = app.create_store("AAA1").await;
    let cashier = app.create_user("cashier", &[a]).await;
    let employee = app.create_user("employee", &[a]).await;
    let own = format!("{USERS}/{}", cashier.id);

    for token in [&cashier.token, &employee.token] {
        // Act / Assert
        assert_problem(get(&app, USERS, token).await, 403, USERS).await;
        let response = post_user(&app, token, &new_user("till.x", "cashier", &[a])).await;
        assert_problem(response, 403, USERS).await;
        assert_problem(get(&app, &own, token).await, 403, &own).await;
    }
}

#[tokio::test]
async fn a_user_of_no_store_lists_nothing_on_every_store_scoped_list() {
    // Arrange: a store with data, and a manager who was given no store at all.
    let app = spawn().await;
    app.create_store("AAA1").await;
    let manager = app.create_user("manager", &[]).await.token;

    // Act and assert: an empty list on both engines (an empty `in ()` is a syntax error on
    // PostgreSQL, so the filter must not write one).
    for path in [
        "/api/v1/shifts",
        "/api/v1/sales",
        "/api/v1/returns",
        "/api/v1/stock-movements",
        "/api/v1/transfers",
        "/api/v1/users",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&manager)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = json_of(response).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["items"], json!([]), "{path}: {body}");
    }
}
