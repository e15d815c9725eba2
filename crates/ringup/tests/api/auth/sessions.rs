//! Sessions after login: refresh rotation and reuse detection, logout, password change,
//! deactivation, and a hashing flood that must not stall other routes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app, spawn_app_with};
use serde_json::json;

use crate::auth::flows::*;
use crate::support::{assert_problem, error_fields};

// ---------------------------------------------------------------------------------------------
// Refresh

#[tokio::test]
async fn refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;

    // Act
    let response = refresh_response(&app, &user.refresh_token).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body = json_of(response).await;
    let (access, refresh) = pair_of(&body);
    assert_ne!(access, user.token, "a new access token");
    assert_ne!(refresh, user.refresh_token, "a new refresh token");
    assert_eq!(refresh.len(), 43, "{refresh}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["id"], user.id.as_str());
    assert_eq!(body["user"]["username"], user.username.as_str());
    assert_eq!(me_status(&app, &access).await, 200);
    assert_unauthorized(refresh_response(&app, &user.refresh_token).await, REFRESH).await;
}

#[tokio::test]
async fn presenting_a_spent_refresh_token_revokes_the_whole_session() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let rotated = refresh_response(&app, &user.refresh_token).await;
    assert_eq!(rotated.status().as_u16(), 200);
    let (access, refresh) = pair_of(&json_of(rotated).await);
    assert_eq!(
        me_status(&app, &access).await,
        200,
        "the session is now cached"
    );

    // Act
    let replay = refresh_response(&app, &user.refresh_token).await;

    // Assert
    assert_unauthorized(replay, REFRESH).await;
    assert_unauthorized(refresh_response(&app, &refresh).await, REFRESH).await;
    let me = app.authed(Method::GET, ME, &access).send().await.unwrap();
    assert_unauthorized(me, ME).await;
}

#[tokio::test]
async fn racing_refreshes_with_one_token_rotate_it_exactly_once() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;

    // Act
    let mut statuses = futures::future::join_all((0..10).map(|_| async {
        refresh_response(&app, &user.refresh_token)
            .await
            .status()
            .as_u16()
    }))
    .await;

    // Assert
    statuses.sort_unstable();
    let mut expected = vec![401; 9];
    expected.insert(0, 200);
    assert_eq!(statuses, expected);
}

#[tokio::test]
async fn a_refresh_token_is_refused_one_second_after_thirty_days() {
    // Arrange: two sessions started at the same instant.
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let (_, late_refresh) = pair_of(&app.login(&user.username, &user.password).await);
    app.clock
        .advance(chrono::Duration::days(30) - chrono::Duration::seconds(1));
    let control = refresh_response(&app, &user.refresh_token).await;
    assert_eq!(
        control.status().as_u16(),
        200,
        "still valid a second before thirty days"
    );

    // Act
    app.clock.advance(chrono::Duration::seconds(2));
    let late = refresh_response(&app, &late_refresh).await;

    // Assert
    assert_unauthorized(late, REFRESH).await;
}

// ---------------------------------------------------------------------------------------------
// Logout

#[tokio::test]
async fn logout_ends_only_its_own_session() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let (other_access, other_refresh) = pair_of(&app.login(&user.username, &user.password).await);
    assert_eq!(
        me_status(&app, &user.token).await,
        200,
        "the session is now cached"
    );

    // Act
    let response = app
        .post_json(LOGOUT, &json!({ "refresh_token": user.refresh_token }))
        .await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(response.text().await.unwrap(), "");
    let me = app
        .authed(Method::GET, ME, &user.token)
        .send()
        .await
        .unwrap();
    assert_unauthorized(me, ME).await;
    assert_unauthorized(refresh_response(&app, &user.refresh_token).await, REFRESH).await;
    assert_eq!(
        me_status(&app, &other_access).await,
        200,
        "the other session lives on"
    );
    assert_eq!(
        refresh_response(&app, &other_refresh)
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn logout_with_an_unknown_token_is_204() {
    // Arrange
    let app = spawn_app().await;
    let unknown = "A".repeat(43);

    // Act
    let response = app
        .post_json(LOGOUT, &json!({ "refresh_token": unknown }))
        .await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn logout_without_a_refresh_token_or_cookie_is_422() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.post_json(LOGOUT, &json!({})).await;

    // Assert
    let problem = assert_problem(response, 422, LOGOUT).await;
    assert_eq!(error_fields(&problem), ["refresh_token"], "{problem}");
}

// ---------------------------------------------------------------------------------------------
// Password change

/// The answer to `POST /auth/password` with a bearer token.
async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Response {
    app.authed(Method::POST, PASSWORD, token)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn a_wrong_current_password_is_422_on_current_password() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;

    // Act
    let response = change_password(&app, &user.token, "Not-The-Password-1", NEW_PASSWORD).await;

    // Assert
    let problem = assert_problem(response, 422, PASSWORD).await;
    assert_eq!(error_fields(&problem), ["current_password"], "{problem}");
    assert_eq!(me_status(&app, &user.token).await, 200, "nothing revoked");
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        200,
        "the password is unchanged"
    );
}

#[tokio::test]
async fn a_common_new_password_is_422_on_new_password() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;

    // Act
    let response = change_password(&app, &user.token, &user.password, "Password1!").await;

    // Assert
    let problem = assert_problem(response, 422, PASSWORD).await;
    assert_eq!(error_fields(&problem), ["new_password"], "{problem}");
    assert_eq!(
        login_status(&app, &user.username, &user.password).await,
        200,
        "the password is unchanged"
    );
}

#[tokio::test]
async fn a_new_password_breaking_several_rules_gets_one_error_per_rule() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;

    // Act
    let response = change_password(&app, &user.token, &user.password, "abc").await;

    // Assert
    let problem = assert_problem(response, 422, PASSWORD).await;
    // Too short, no upper-case letter, no digit, no symbol, too weak.
    assert_eq!(error_fields(&problem), ["new_password"; 5], "{problem}");
    let messages: BTreeSet<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(
        messages.len(),
        5,
        "one distinct message per rule: {problem}"
    );
}

#[tokio::test]
async fn a_password_change_revokes_every_session_and_the_new_password_works() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let (other_access, other_refresh) = pair_of(&app.login(&user.username, &user.password).await);
    for token in [&user.token, &other_access] {
        assert_eq!(me_status(&app, token).await, 200, "the session is cached");
    }

    // Act
    let response = change_password(&app, &user.token, &user.password, NEW_PASSWORD).await;

    // Assert
    assert_eq!(response.status().as_u16(), 204);
    for token in [&user.token, &other_access] {
        let me = app.authed(Method::GET, ME, token).send().await.unwrap();
        assert_unauthorized(me, ME).await;
    }
    for refresh in [&user.refresh_token, &other_refresh] {
        assert_unauthorized(refresh_response(&app, refresh).await, REFRESH).await;
    }
    assert_unauthorized(
        login_response(&app, &user.username, &user.password).await,
        LOGIN,
    )
    .await;
    let relogin = login_response(&app, &user.username, NEW_PASSWORD).await;
    assert_eq!(relogin.status().as_u16(), 200);
    let (access, _) = pair_of(&json_of(relogin).await);
    assert_eq!(me_status(&app, &access).await, 200);
}

#[tokio::test]
async fn an_api_key_cannot_change_a_password() {
    // Arrange
    let app = spawn_app().await;
    let key = app.create_api_key("admin", &[]).await;

    // Act
    let response = change_password(&app, &key.key, ADMIN_PASSWORD, NEW_PASSWORD).await;

    // Assert
    let problem = assert_problem(response, 403, PASSWORD).await;
    assert_eq!(problem["type"], "/problems/forbidden");
    assert_eq!(
        login_status(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await,
        200,
        "the admin's password is unchanged"
    );
}

// ---------------------------------------------------------------------------------------------
// Deactivation

#[tokio::test]
async fn deactivation_revokes_sessions_at_once_and_reactivation_does_not_revive_them() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    let admin = app.admin_token().await;
    assert_eq!(
        me_status(&app, &user.token).await,
        200,
        "the session is cached"
    );

    // Act
    deactivate(&app, &user.id).await;
    let right_away = app
        .authed(Method::GET, ME, &user.token)
        .send()
        .await
        .unwrap();
    let reactivated = app
        .authed(Method::PATCH, &format!("/api/v1/users/{}", user.id), &admin)
        .json(&json!({ "active": true }))
        .send()
        .await
        .unwrap();

    // Assert
    assert_unauthorized(right_away, ME).await;
    assert_eq!(reactivated.status().as_u16(), 200);
    assert_eq!(json_of(reactivated).await["active"], true);
    let me = app
        .authed(Method::GET, ME, &user.token)
        .send()
        .await
        .unwrap();
    assert_unauthorized(me, ME).await;
    assert_unauthorized(refresh_response(&app, &user.refresh_token).await, REFRESH).await;
    let (access, _) = pair_of(&app.login(&user.username, &user.password).await);
    assert_eq!(me_status(&app, &access).await, 200);
}

#[tokio::test]
async fn a_deactivated_user_gets_the_same_401_with_a_wrong_or_the_right_password() {
    // Arrange
    let app = spawn_app().await;
    let user = app.create_user("cashier", &[]).await;
    deactivate(&app, &user.id).await;

    // Act
    let wrong = login_response(&app, &user.username, "Not-The-Password-1").await;
    let right = login_response(&app, &user.username, &user.password).await;

    // Assert
    assert_eq!(header_names(&wrong), header_names(&right));
    let a = problem_core(&assert_unauthorized(wrong, LOGIN).await);
    let b = problem_core(&assert_unauthorized(right, LOGIN).await);
    assert_eq!(a, b, "the right password reveals nothing");
}

// ---------------------------------------------------------------------------------------------
// A login flood

#[tokio::test]
async fn a_hashing_flood_does_not_stall_other_routes() {
    // Arrange
    let app = spawn_app_with(|raw| raw.login_rate_per_minute = "10000".into()).await;
    let usernames: Vec<String> = (0..40).map(|i| format!("flood-user-{i:02}")).collect();

    // Act
    let logins = futures::future::join_all(usernames.iter().map(|username| async {
        let status = login_status(&app, username, "Wrong-Guess-Number-9").await;
        (status, Instant::now())
    }));
    let health_checks = async {
        let mut answers = Vec::new();
        let mut last_started = Instant::now();
        for _ in 0..20 {
            last_started = Instant::now();
            let status = app.get("/healthz").await.status().as_u16();
            answers.push((status, last_started.elapsed()));
        }
        (answers, last_started)
    };
    let (logins, (health, last_health_started)) = tokio::join!(logins, health_checks);

    // Assert
    for (i, (status, took)) in health.iter().enumerate() {
        assert_eq!(*status, 200, "health check {i}");
        assert!(
            *took < Duration::from_secs(1),
            "health check {i} took {took:?}"
        );
    }
    let statuses: Vec<u16> = logins.iter().map(|(status, _)| *status).collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "401 or 429, never 503: {statuses:?}"
    );
    let last_login_finished = logins.iter().map(|(_, finished)| *finished).max().unwrap();
    assert!(
        last_login_finished > last_health_started,
        "the health checks ran during the flood"
    );
}
