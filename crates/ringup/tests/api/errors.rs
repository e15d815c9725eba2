//! Every error a client sees is an RFC 9457 problem with the status the contract names.

use ringup_testkit::{json_of, spawn_app, spawn_app_with};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{assert_problem, error_fields};

const ECHO: &str = "/__test/echo";

#[tokio::test]
async fn a_valid_body_is_echoed() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"name": "espresso", "quantity": 2});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        json_of(response).await,
        json!({"name": "espresso", "quantity": 2, "note": null})
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .post(app.url(ECHO))
        .header("content-type", "application/json")
        .body(r#"{"name": "espresso", "quantity": "#)
        .send()
        .await
        .unwrap();

    // Assert
    let problem = assert_problem(response, 400, ECHO).await;
    assert_eq!(problem["type"], "/problems/bad-request");
}

#[tokio::test]
async fn trailing_data_after_the_json_value_is_400() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .post(app.url(ECHO))
        .header("content-type", "application/json")
        .body(r#"{"name":"a","quantity":1} {"name":"b","quantity":2}"#)
        .send()
        .await
        .unwrap();

    // Assert
    assert_problem(response, 400, ECHO).await;
}

#[tokio::test]
async fn a_missing_content_type_is_400() {
    // Arrange
    let app = spawn_app().await;

    // Act: reqwest sets no Content-Type for a plain string body.
    let response = app
        .client
        .post(app.url(ECHO))
        .body(r#"{"name":"espresso","quantity":1}"#)
        .send()
        .await
        .unwrap();

    // Assert
    let problem = assert_problem(response, 400, ECHO).await;
    assert_eq!(problem["type"], "/problems/bad-request");
}

#[tokio::test]
async fn a_wrong_content_type_is_400() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .post(app.url(ECHO))
        .header("content-type", "text/plain")
        .body(r#"{"name":"espresso","quantity":1}"#)
        .send()
        .await
        .unwrap();

    // Assert
    let problem = assert_problem(response, 400, ECHO).await;
    assert_eq!(problem["type"], "/problems/bad-request");
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_it() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"name": "espresso", "quantity": 1, "nmae": "typo"});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 422, ECHO).await;
    assert_eq!(problem["type"], "/problems/validation-failed");
    assert_eq!(error_fields(&problem), ["nmae"], "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nmae"), "{message}");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_422_with_its_path() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"name": "espresso", "quantity": "three"});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 422, ECHO).await;
    assert_eq!(error_fields(&problem), ["quantity"], "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains(" at line "), "position leaked: {message}");
}

#[tokio::test]
async fn a_value_out_of_range_is_422_with_its_path() {
    // Arrange: quantity is unsigned.
    let app = spawn_app().await;
    let body = json!({"name": "espresso", "quantity": -1});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 422, ECHO).await;
    assert_eq!(error_fields(&problem), ["quantity"], "{problem}");
}

#[tokio::test]
async fn a_missing_field_is_422() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"name": "espresso"});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 422, ECHO).await;
    assert_eq!(problem["type"], "/problems/validation-failed");
    assert_eq!(error_fields(&problem).len(), 1, "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("quantity"), "{message}");
}

#[tokio::test]
async fn a_missing_field_is_named_in_errors_field() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"name": "espresso"});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 422, ECHO).await;
    assert_eq!(error_fields(&problem), ["quantity"], "{problem}");
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/api/v1/no-such-thing").await;

    // Assert
    let problem = assert_problem(response, 404, "/api/v1/no-such-thing").await;
    assert_eq!(problem["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_wrong_method_is_405() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();

    // Assert
    let allow = crate::support::header(&response, "allow");
    let problem = assert_problem(response, 405, "/healthz").await;
    assert_eq!(problem["type"], "/problems/method-not-allowed");
    assert!(allow.is_some_and(|a| a.contains("GET")), "Allow header");
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_413() {
    // Arrange
    let app = spawn_app_with(|raw| raw.body_limit = "2048".into()).await;
    let body = json!({"name": "x".repeat(4096), "quantity": 1});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    let problem = assert_problem(response, 413, ECHO).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");
}

#[tokio::test]
async fn a_body_within_the_configured_limit_is_accepted() {
    // Arrange
    let app = spawn_app_with(|raw| raw.body_limit = "2048".into()).await;
    let body = json!({"name": "x".repeat(1900), "quantity": 1});

    // Act
    let response = app.post_json(ECHO, &body).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
}

/// A JSON body for the echo route of exactly `len` bytes.
fn echo_body_of_len(len: usize) -> String {
    let frame = r#"{"name":"","quantity":1}"#;
    let name = "x".repeat(len - frame.len());
    let body = format!(r#"{{"name":"{name}","quantity":1}}"#);
    assert_eq!(body.len(), len);
    body
}

#[tokio::test]
async fn a_body_of_one_mebibyte_plus_one_byte_is_413_by_default() {
    // Arrange
    let app = spawn_app().await;
    let body = echo_body_of_len(1024 * 1024 + 1);

    // Act
    let response = app
        .client
        .post(app.url(ECHO))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    // Assert
    assert_problem(response, 413, ECHO).await;
}

#[tokio::test]
async fn a_body_of_exactly_one_mebibyte_is_accepted_by_default() {
    // Arrange
    let app = spawn_app().await;
    let body = echo_body_of_len(1024 * 1024);

    // Act
    let response = app
        .client
        .post(app.url(ECHO))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    // Arrange: no Content-Length, so the limit must be enforced while the body streams in.
    let app = spawn_app_with(|raw| raw.body_limit = "2048".into()).await;
    let body = echo_body_of_len(4096);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let mut request = format!(
        "POST {ECHO} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(1000) {
        request.push_str(&format!("{:x}\r\n", chunk.len()));
        request.push_str(std::str::from_utf8(chunk).unwrap());
        request.push_str("\r\n");
    }
    request.push_str("0\r\n\r\n");

    // Act
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes");

    // Assert
    let _ = read; // the server may reset the connection after answering
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_request_over_the_timeout_is_408() {
    // Arrange
    let app = spawn_app_with(|raw| raw.request_timeout = "1".into()).await;
    let started = std::time::Instant::now();

    // Act
    let response = app.get("/__test/sleep?ms=3000").await;

    // Assert
    let elapsed = started.elapsed();
    let problem = assert_problem(response, 408, "/__test/sleep").await;
    assert_eq!(problem["type"], "/problems/request-timeout");
    assert!(
        elapsed < std::time::Duration::from_millis(2500),
        "answered after {elapsed:?}, not at the 1 s timeout"
    );
}

#[tokio::test]
async fn a_handler_panic_is_an_opaque_500() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/__test/panic").await;

    // Assert
    let problem = assert_problem(response, 500, "/__test/panic").await;
    assert_eq!(problem["type"], "/problems/internal");
    let text = problem.to_string();
    for leak in ["select", "secret detail", "probe panic"] {
        assert!(!text.contains(leak), "panic text leaked: {text}");
    }
}

#[tokio::test]
async fn the_server_keeps_serving_after_a_panic() {
    // Arrange
    let app = spawn_app().await;
    let panicked = app.get("/__test/panic").await;
    assert_eq!(panicked.status().as_u16(), 500);

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn every_kind_of_error_has_the_problem_shape() {
    // Arrange
    let app = spawn_app_with(|raw| {
        raw.body_limit = "2048".into();
        raw.request_timeout = "1".into();
    })
    .await;
    let c = &app.client;
    let cases = [
        (
            c.post(app.url(ECHO))
                .header("content-type", "application/json")
                .body("{"),
            400,
            ECHO,
        ),
        (c.post(app.url(ECHO)).body("{}"), 400, ECHO),
        (c.post(app.url(ECHO)).json(&json!({"name": 1})), 422, ECHO),
        (c.get(app.url("/nope")), 404, "/nope"),
        (c.put(app.url("/readyz")), 405, "/readyz"),
        (
            c.get(app.url("/__test/sleep?ms=3000")),
            408,
            "/__test/sleep",
        ),
        (
            c.post(app.url(ECHO))
                .json(&json!({"name": "x".repeat(3000), "quantity": 1})),
            413,
            ECHO,
        ),
        (c.get(app.url("/__test/panic")), 500, "/__test/panic"),
    ];

    for (request, status, path) in cases {
        // Act
        let response = request.send().await.unwrap();

        // Assert
        let problem = assert_problem(response, status, path).await;
        let reason = reqwest::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap();
        assert_eq!(problem["title"], reason, "{problem}");
    }
}
