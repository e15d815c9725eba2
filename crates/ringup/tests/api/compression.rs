//! Responses are compressed when the client asks for it.

use ringup_testkit::spawn_app;

use crate::support::{header, raw_client};

const BIG: &str = "/__test/big";
const BIG_LEN: usize = 64 * 1024;

#[tokio::test]
async fn gzip_is_used_when_asked_for() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = raw_client()
        .get(app.url(BIG))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-encoding").as_deref(),
        Some("gzip")
    );
    let body = response.bytes().await.unwrap();
    assert!(body.len() < BIG_LEN, "{} bytes", body.len());
    assert_eq!(body.get(..2), Some(&[0x1f, 0x8b][..]), "gzip magic");
}

#[tokio::test]
async fn brotli_is_used_when_asked_for() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = raw_client()
        .get(app.url(BIG))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "content-encoding").as_deref(), Some("br"));
    let body = response.bytes().await.unwrap();
    assert!(body.len() < BIG_LEN, "{} bytes", body.len());
}

#[tokio::test]
async fn nothing_is_compressed_when_not_asked_for() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = raw_client().get(app.url(BIG)).send().await.unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "content-encoding"), None);
    let body = response.text().await.unwrap();
    assert!(body.len() > 60 * 1024, "{} bytes", body.len());
    assert!(body.starts_with("ringup ringup "), "{}", &body[..20]);
}

#[tokio::test]
async fn the_default_client_reads_compressed_bodies_transparently() {
    // Arrange: the test kit's client accepts gzip and brotli and decodes them.
    let app = spawn_app().await;

    // Act
    let response = app.get(BIG).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(body, "ringup ".repeat(64 * 1024 / 7));
}
