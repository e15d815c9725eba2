//! Operations endpoints: liveness, readiness, metrics, the OpenAPI document and the docs UI.

use ringup_testkit::{json_of, spawn_app};
use serde_json::json;

use crate::support::{assert_problem, error_fields, header};

#[tokio::test]
async fn healthz_answers_ok() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let content_type = header(&response, "content-type").unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(json_of(response).await, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_answers_ready_with_a_working_database() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/readyz").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body = json_of(response).await;
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
}

#[tokio::test]
async fn readyz_is_503_naming_the_database_when_it_is_gone() {
    // Arrange
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    app.sabotage_database().await;

    // Act
    let started = std::time::Instant::now();
    let response = app.get("/readyz").await;

    // Assert
    let elapsed = started.elapsed();
    let problem = assert_problem(response, 503, "/readyz").await;
    assert_eq!(error_fields(&problem), ["database"], "{problem}");
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "readiness took {elapsed:?}"
    );
}

#[tokio::test]
async fn healthz_stays_ok_when_the_database_is_gone() {
    // Arrange
    let app = spawn_app().await;
    app.sabotage_database().await;

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(json_of(response).await, json!({"status": "ok"}));
}

async fn metrics_text(app: &ringup_testkit::TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    let content_type = header(&response, "content-type").unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The sample lines of `metric` (its name followed by labels or a space).
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    // Arrange
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/__test/sleep?ms=1").await.status().as_u16(), 200);

    // Act
    let text = metrics_text(&app).await;

    // Assert
    let requests = samples(&text, "http_requests_total");
    assert!(
        requests.iter().any(|l| l.contains(r#"route="/healthz""#)
            && l.contains(r#"method="GET""#)
            && l.contains(r#"status="200""#)),
        "{text}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains(r#"route="/__test/sleep""#)),
        "{text}"
    );
    assert!(!text.contains("ms=1"), "query strings never become labels");
    assert!(
        !samples(&text, "http_request_duration_seconds_bucket").is_empty(),
        "{text}"
    );
    assert!(
        !samples(&text, "http_requests_in_flight").is_empty(),
        "{text}"
    );
    let pools = samples(&text, "db_pool_connections");
    assert!(!pools.is_empty(), "{text}");
    assert!(pools.iter().any(|l| l.contains(r#"state="max""#)), "{text}");
}

#[tokio::test]
async fn metrics_label_unmatched_routes_without_the_path() {
    // Arrange
    let app = spawn_app().await;
    let random = format!("r{}", std::process::id()) + &format!("{:x}", rand_suffix());
    let path = format!("/nope/{random}");
    assert_eq!(app.get(&path).await.status().as_u16(), 404);

    // Act
    let text = metrics_text(&app).await;

    // Assert
    assert!(!text.contains(&random), "raw path leaked into metrics");
    assert!(
        samples(&text, "http_requests_total")
            .iter()
            .any(|l| l.contains(r#"route="unmatched""#) && l.contains(r#"status="404""#)),
        "{text}"
    );
}

/// A value no other test produces, without a random-number dependency.
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_the_operations_routes() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/api/v1/openapi.json").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let content_type = header(&response, "content-type").unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc = json_of(response).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    assert!(
        doc["paths"].get("/__test/echo").is_none(),
        "test probes are not part of the API"
    );
}

/// `src="…"` and `href="…"` values in an HTML page.
fn referenced(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_docs_page_is_html_with_no_remote_assets() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/docs/").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let content_type = header(&response, "content-type").unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("http://"), "{html}");
    assert!(!html.contains("https://"), "{html}");
}

#[tokio::test]
async fn the_docs_assets_are_served_locally() {
    // Arrange
    let app = spawn_app().await;
    let html = app.get("/docs/").await.text().await.unwrap();
    let assets = referenced(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".css")) && assets.iter().any(|a| a.ends_with(".js")),
        "{assets:?}"
    );

    for asset in assets {
        let path = match asset.strip_prefix("./") {
            Some(rest) => format!("/docs/{rest}"),
            None if asset.starts_with('/') => asset.clone(),
            None => format!("/docs/{asset}"),
        };

        // Act
        let response = app.get(&path).await;

        // Assert
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty(), "{path} is empty");
    }
}

#[tokio::test]
async fn the_docs_point_at_the_local_openapi_document() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/docs/swagger-initializer.js").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let script = response.text().await.unwrap();
    assert!(script.contains("/api/v1/openapi.json"), "{script}");
    assert!(!script.contains("https://"), "{script}");
    assert!(!script.contains("http://"), "{script}");
}
