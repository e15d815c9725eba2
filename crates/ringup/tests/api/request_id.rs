//! Every response carries `X-Request-Id`: the client's when it is plain, else a new UUIDv7.

use ringup_testkit::spawn_app;

use crate::support::{header, is_uuid_v7};

#[tokio::test]
async fn a_generated_request_id_is_a_uuid_v7() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;

    // Assert
    let first = header(&first, "x-request-id").expect("X-Request-Id");
    let second = header(&second, "x-request-id").expect("X-Request-Id");
    assert!(is_uuid_v7(&first), "{first}");
    assert!(is_uuid_v7(&second), "{second}");
    assert_ne!(first, second, "each request gets its own id");
}

#[tokio::test]
async fn a_client_request_id_is_echoed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "till-42.abc")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("till-42.abc")
    );
}

#[tokio::test]
async fn a_client_request_id_is_echoed_in_a_problem() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "till-42.abc")
        .send()
        .await
        .unwrap();

    // Assert
    let problem = crate::support::assert_problem(response, 404, "/nope").await;
    assert_eq!(problem["request_id"], "till-42.abc");
}

#[tokio::test]
async fn an_overlong_client_request_id_is_replaced() {
    // Arrange
    let app = spawn_app().await;
    let long = "a".repeat(200);

    // Act
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", long.as_str())
        .send()
        .await
        .unwrap();

    // Assert
    let id = header(&response, "x-request-id").expect("X-Request-Id");
    assert_ne!(id, long);
    assert!(is_uuid_v7(&id), "{id}");
}

#[tokio::test]
async fn a_client_request_id_with_unsafe_characters_is_replaced() {
    // Arrange: a space and a quote could forge fields in text or JSON log lines.
    let app = spawn_app().await;
    let forged = r#"x" level="error"#;

    // Act
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", forged)
        .send()
        .await
        .unwrap();

    // Assert
    let id = header(&response, "x-request-id").expect("X-Request-Id");
    assert!(is_uuid_v7(&id), "{id}");
}
