//! CORS: only the configured origins, and nothing at all when none are configured.

use reqwest::Response;
use ringup_testkit::{TestApp, spawn_app, spawn_app_with};

use crate::support::header;

const SHOP: &str = "https://shop.example.com";
const EVIL: &str = "https://evil.example.com";

async fn shop_app() -> TestApp {
    spawn_app_with(|raw| raw.cors_origins = Some(SHOP.into())).await
}

async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/healthz"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap()
}

fn cors_headers(response: &Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_allowed() {
    // Arrange
    let app = shop_app().await;

    // Act
    let response = preflight(&app, SHOP).await;

    // Assert
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some(SHOP)
    );
    let methods = header(&response, "access-control-allow-methods").expect("allowed methods");
    assert!(methods.contains("GET"), "{methods}");
    let headers = header(&response, "access-control-allow-headers").expect("allowed headers");
    assert!(
        headers.to_ascii_lowercase().contains("authorization"),
        "{headers}"
    );
}

#[tokio::test]
async fn a_request_from_an_allowed_origin_gets_its_origin_back() {
    // Arrange
    let app = shop_app().await;

    // Act
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some(SHOP)
    );
}

#[tokio::test]
async fn a_request_from_another_origin_is_not_allowed() {
    // Arrange
    let app = shop_app().await;

    // Act
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    let preflighted = preflight(&app, EVIL).await;

    // Assert
    assert_eq!(header(&simple, "access-control-allow-origin"), None);
    assert_eq!(header(&preflighted, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_configured_origins_there_are_no_cors_headers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    let preflighted = preflight(&app, SHOP).await;

    // Assert
    assert_eq!(simple.status().as_u16(), 200);
    assert_eq!(cors_headers(&simple), Vec::<String>::new());
    assert!(
        !preflighted.status().is_success(),
        "{}",
        preflighted.status()
    );
    assert_eq!(cors_headers(&preflighted), Vec::<String>::new());
}
