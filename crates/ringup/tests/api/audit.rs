//! The audit log: what identity actions record (actor, address, request id, no secrets), the
//! filters and pagination of `GET /api/v1/audit-events`, who may read it, and verification of
//! the hash chain over HTTP and with `ringup audit verify` after rows are edited or deleted
//! directly in the database.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use reqwest::{Method, RequestBuilder, Response};
use ringup_core::clock::Clock;
use ringup_core::ids::StoreId;
use ringup_store::audit::{NewAuditEvent, append};
use ringup_testkit::{
    ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, USER_PASSWORD, json_of, spawn_app_with,
};
use serde_json::{Value, json};

use crate::support::{assert_problem, error_fields, is_uuid_v7};

pub(crate) const EVENTS: &str = "/api/v1/audit-events";
pub(crate) const VERIFY: &str = "/api/v1/audit-events/verify";

pub(crate) async fn spawn() -> TestApp {
    spawn_app_with(|raw| raw.login_rate_per_minute = "1000".into()).await
}

/// A request carrying our own `X-Request-Id`.
pub(crate) fn with_id(request: RequestBuilder, request_id: &str) -> RequestBuilder {
    request.header("x-request-id", request_id)
}

pub(crate) async fn send(request: RequestBuilder) -> Response {
    request.send().await.unwrap()
}

/// `POST /api/v1/auth/login` with `X-Request-Id: request_id`.
pub(crate) async fn login_with_id(
    app: &TestApp,
    username: &str,
    password: &str,
    request_id: &str,
) -> Response {
    send(with_id(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password})),
        request_id,
    ))
    .await
}

/// Every audit event `token` may see (pages of 200), oldest first.
pub(crate) async fn all_events(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params: Vec<(&str, &str)> = query.to_vec();
        params.push(("limit", "200"));
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let response = send(app.authed(Method::GET, EVENTS, token).query(&params)).await;
        let status = response.status().as_u16();
        let page = json_of(response).await;
        assert_eq!(status, 200, "{page}");
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return events,
        }
    }
}

pub(crate) fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// Keys anywhere inside `value` (objects nested in objects or arrays).
pub(crate) fn keys_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                keys_in(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_in(v, out)),
        _ => {}
    }
}

/// Runs one statement binding `id` in its own write transaction, as someone with database
/// access (not the API) would.
pub(crate) async fn tamper(app: &TestApp, sql: &'static str, id: &str) {
    let mut tx = app.db.begin_write().await.unwrap();
    let done = sqlx::query(sql)
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
    tx.commit().await.unwrap();
}

/// A store-scoped event written through the store layer (no store-scoped route exists yet).
pub(crate) async fn store_event(app: &TestApp, store: StoreId, action: &str) -> String {
    let mut tx = app.db.begin_write().await.unwrap();
    let record = append(
        &mut tx,
        &NewAuditEvent {
            at: ringup_store::platform::time::to_db(app.clock.now()),
            action: action.to_owned(),
            store_id: Some(store),
            details: json!({"note": "written by the test"}),
            ..NewAuditEvent::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    record.id
}

#[tokio::test]
async fn identity_actions_are_recorded_with_actor_ip_and_request_id_and_no_secrets() {
    // Arrange: one of each action, each request with its own X-Request-Id.
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let login =
        json_of(login_with_id(&app, ADMIN_USERNAME, ADMIN_PASSWORD, "rq-login").await).await;
    let admin = login["access_token"].as_str().unwrap().to_owned();
    let admin_id = login["user"]["id"].as_str().unwrap().to_owned();
    let created = send(with_id(
        app.authed(Method::POST, "/api/v1/users", &admin)
            .json(&json!({
                "username": "till.one", "email": "till.one@example.com", "password": USER_PASSWORD,
                "role": "cashier", "store_ids": [store.to_string()],
            })),
        "rq-user-created",
    ))
    .await;
    assert_eq!(created.status().as_u16(), 201);
    let user_id = json_of(created).await["id"].as_str().unwrap().to_owned();
    let updated = send(with_id(
        app.authed(Method::PATCH, &format!("/api/v1/users/{user_id}"), &admin)
            .json(&json!({"commission_rate_bp": 300})),
        "rq-user-updated",
    ))
    .await;
    assert_eq!(updated.status().as_u16(), 200);
    let key = send(with_id(
        app.authed(Method::POST, "/api/v1/api-keys", &admin).json(&json!({
            "name": "Webshop", "tier": "basic", "role": "cashier", "store_ids": [store.to_string()],
        })),
        "rq-key-created",
    ))
    .await;
    assert_eq!(key.status().as_u16(), 201);
    let key = json_of(key).await;
    let (key_id, key_text) = (key["id"].as_str().unwrap(), key["key"].as_str().unwrap());
    let revoked = send(with_id(
        app.authed(
            Method::DELETE,
            &format!("/api/v1/api-keys/{key_id}"),
            &admin,
        ),
        "rq-key-revoked",
    ))
    .await;
    assert_eq!(revoked.status().as_u16(), 204);

    // Act
    let response = send(
        app.authed(Method::GET, EVENTS, &admin)
            .query(&[("limit", "200")]),
    )
    .await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    for secret in [
        ADMIN_PASSWORD,
        USER_PASSWORD,
        &admin,
        login["refresh_token"].as_str().unwrap(),
        key_text,
    ] {
        assert!(
            !text.contains(secret),
            "a secret is in the audit log: {text}"
        );
    }
    let events: Vec<Value> = serde_json::from_str::<Value>(&text).unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    let expected = [
        ("rq-login", "auth.login", "session", None),
        (
            "rq-user-created",
            "user.created",
            "user",
            Some(user_id.as_str()),
        ),
        (
            "rq-user-updated",
            "user.updated",
            "user",
            Some(user_id.as_str()),
        ),
        ("rq-key-created", "api_key.created", "api_key", Some(key_id)),
        ("rq-key-revoked", "api_key.revoked", "api_key", Some(key_id)),
    ];
    let mut positions = Vec::new();
    for (request_id, action, target_type, target_id) in expected {
        let matching: Vec<(usize, &Value)> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e["request_id"] == request_id)
            .collect();
        assert_eq!(matching.len(), 1, "one event for {request_id}: {events:#?}");
        let (position, event) = matching[0];
        positions.push(position);
        assert_eq!(event["action"], action, "{event}");
        assert_eq!(event["actor_id"], admin_id.as_str(), "{event}");
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        assert_eq!(event["target_type"], target_type, "{event}");
        if let Some(target_id) = target_id {
            assert_eq!(event["target_id"], target_id, "{event}");
        }
        assert!(
            event["store_id"].is_null(),
            "identity events are global: {event}"
        );
        assert!(is_uuid_v7(event["id"].as_str().unwrap()), "{event}");
        DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).unwrap();
        assert!(event["details"].is_object(), "{event}");
        let mut keys = Vec::new();
        keys_in(&event["details"], &mut keys);
        for key in keys {
            let key = key.to_lowercase();
            assert!(
                !key.contains("password") && !key.contains("token") && key != "key",
                "details name a secret: {event}"
            );
        }
    }
    assert!(positions.is_sorted(), "events are listed oldest first");
    let update = &events[positions[2]];
    assert_eq!(update["details"]["commission_rate_bp"], 300, "{update}");
}

#[tokio::test]
async fn a_wrong_password_is_recorded_as_auth_login_failed() {
    // Arrange
    let app = spawn().await;
    let wrong = "Wrong-Horse-Battery-99";

    // Act
    let response = login_with_id(&app, ADMIN_USERNAME, wrong, "rq-bad-login").await;

    // Assert
    assert_eq!(response.status().as_u16(), 401);
    let admin = app.admin_token().await;
    let failed = all_events(&app, &admin, &[("action", "auth.login_failed")]).await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let event = &failed[0];
    assert_eq!(event["request_id"], "rq-bad-login");
    assert_eq!(event["ip"], "127.0.0.1");
    assert!(event["actor_id"].is_null(), "{event}");
    assert_eq!(event["details"], json!({"username": "admin"}));
    assert!(!event.to_string().contains(wrong));
}

#[tokio::test]
async fn events_filter_by_action() {
    // Arrange: the first admin's own creation, then two more users.
    let app = spawn().await;
    let admin = app.admin_token().await;
    for name in ["till.one", "till.two"] {
        let response = send(
            app.authed(Method::POST, "/api/v1/users", &admin)
                .json(&json!({
                    "username": name, "email": format!("{name}@example.com"),
                    "password": USER_PASSWORD, "role": "employee",
                })),
        )
        .await;
        assert_eq!(response.status().as_u16(), 201);
    }

    // Act
    let created = all_events(&app, &admin, &[("action", "user.created")]).await;
    let logins = all_events(&app, &admin, &[("action", "auth.login")]).await;
    let none = all_events(&app, &admin, &[("action", "no.such.action")]).await;

    // Assert
    assert_eq!(actions(&created), ["user.created"; 3]);
    let names: Vec<&str> = created
        .iter()
        .map(|e| e["details"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "till.one", "till.two"]);
    assert_eq!(actions(&logins), ["auth.login"]);
    assert!(none.is_empty());
}

#[tokio::test]
async fn events_filter_by_actor() {
    // Arrange
    let app = spawn().await;
    let cashier = app.create_user("cashier", &[]).await;
    app.login(&cashier.username, &cashier.password).await;
    let admin = app.admin_token().await;

    // Act
    let by_cashier = all_events(&app, &admin, &[("actor_id", &cashier.id)]).await;

    // Assert
    assert_eq!(actions(&by_cashier), ["auth.login", "auth.login"]);
    assert!(
        by_cashier
            .iter()
            .all(|e| e["actor_id"] == cashier.id.as_str())
    );
    let everything = all_events(&app, &admin, &[]).await;
    assert!(everything.len() > by_cashier.len());
}

#[tokio::test]
async fn events_filter_by_time_range() {
    // Arrange: events at t0, t0+1h and t0+2h on the server's clock (each step logs in again,
    // since access tokens live 15 minutes).
    let app = spawn().await;
    // Whole seconds, so stored times compare exactly; a moment before the server started.
    let t0: DateTime<Utc> = app.clock.now().trunc_subsecs(0);
    app.clock.set(t0);
    let rfc = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    app.admin_token().await;
    app.clock.advance(Duration::hours(1));
    app.admin_token().await;
    app.clock.advance(Duration::hours(1));
    let admin = app.admin_token().await;
    let (from, to) = (
        rfc(t0 + Duration::minutes(30)),
        rfc(t0 + Duration::minutes(90)),
    );

    // Act
    let middle = all_events(&app, &admin, &[("from", &from), ("to", &to)]).await;
    let late = all_events(&app, &admin, &[("from", &to)]).await;
    let early = all_events(&app, &admin, &[("to", &from)]).await;

    // Assert
    assert_eq!(actions(&middle), ["auth.login"], "{middle:#?}");
    let at = DateTime::parse_from_rfc3339(middle[0]["at"].as_str().unwrap()).unwrap();
    assert_eq!(at, t0 + Duration::hours(1));
    assert_eq!(actions(&late), ["auth.login"], "{late:#?}");
    // The first admin's creation and the first login.
    assert_eq!(
        actions(&early),
        ["user.created", "auth.login"],
        "{early:#?}"
    );
}

#[tokio::test]
async fn a_time_filter_that_is_not_rfc_3339_is_422() {
    // Arrange
    let app = spawn().await;
    let admin = app.admin_token().await;

    for field in ["from", "to"] {
        // Act
        let response = send(
            app.authed(Method::GET, EVENTS, &admin)
                .query(&[(field, "yesterday")]),
        )
        .await;

        // Assert
        let problem = assert_problem(response, 422, EVENTS).await;
        assert_eq!(error_fields(&problem), [field]);
    }
}

#[tokio::test]
async fn events_page_with_limit_and_cursor() {
    // Arrange: the first admin's creation and five logins.
    let app = spawn().await;
    for _ in 0..4 {
        app.admin_token().await;
    }
    let admin = app.admin_token().await;
    let expected: Vec<String> = all_events(&app, &admin, &[])
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 6);

    // Act
    let mut seen = Vec::new();
    let mut path = format!("{EVENTS}?limit=4");
    loop {
        let page = json_of(send(app.authed(Method::GET, &path, &admin)).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 4, "{page}");
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{EVENTS}?limit=4&cursor={cursor}"),
            None => break,
        }
    }

    // Assert
    assert_eq!(seen, expected);
    let response = send(app.authed(Method::GET, &format!("{EVENTS}?limit=0"), &admin)).await;
    let problem = assert_problem(response, 422, EVENTS).await;
    assert_eq!(error_fields(&problem), ["limit"]);
}

#[tokio::test]
async fn a_manager_sees_nothing_while_no_event_belongs_to_their_stores() {
    // Arrange: global events exist (the admin's creation, logins, the manager's creation).
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let manager = app.create_user("manager", &[store]).await;

    // Act
    let response = send(app.authed(Method::GET, EVENTS, &manager.token)).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        json_of(response).await,
        json!({"items": [], "next_cursor": null})
    );
}

#[tokio::test]
async fn a_manager_sees_only_events_of_their_stores() {
    // Arrange
    let app = spawn().await;
    let (a, b) = (
        app.create_store("AAA1").await,
        app.create_store("BBB1").await,
    );
    let manager = app.create_user("manager", &[a]).await;
    let in_a = store_event(&app, a, "stock.adjusted").await;
    let in_b = store_event(&app, b, "stock.adjusted").await;
    let admin = app.admin_token().await;

    // Act
    let seen = all_events(&app, &manager.token, &[]).await;

    // Assert
    let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [in_a.as_str()]);
    assert_eq!(seen[0]["store_id"], a.to_string());
    let everything = all_events(&app, &admin, &[]).await;
    let all_ids: BTreeSet<&str> = everything
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(all_ids.contains(in_a.as_str()) && all_ids.contains(in_b.as_str()));
    // And the log still verifies with a store chain beside the global one.
    let verify = json_of(send(app.authed(Method::GET, VERIFY, &admin)).await).await;
    assert_eq!(verify, json!({"ok": true, "checked": everything.len()}));
}

#[tokio::test]
async fn cashiers_and_employees_may_not_read_the_audit_log() {
    // Arrange
    let app = spawn().await;
    let store = app.create_store("NBO1").await;
    let cashier = app.create_user("cashier", &[store]).await;
    let employee = app.create_user("employee", &[store]).await;

    for token in [&cashier.token, &employee.token] {
        // Act
        let response = send(app.authed(Method::GET, EVENTS, token)).await;

        // Assert
        assert_problem(response, 403, EVENTS).await;
    }
}

// --- verification -------------------------------------------------------------------------
