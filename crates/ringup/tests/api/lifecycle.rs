//! Graceful shutdown: requests in flight finish, new connections are refused.

use std::time::Duration;

use ringup_testkit::spawn_app;

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_refuses_new_connections() {
    // Arrange
    let mut app = spawn_app().await;
    let slow = {
        let client = app.client.clone();
        let url = app.url("/__test/sleep?ms=800");
        tokio::spawn(async move { client.get(url).send().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Act
    app.begin_shutdown();
    let response = slow
        .await
        .unwrap()
        .expect("the request in flight is answered");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(5), app.stop()).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(body, "slept");
    stopped
        .expect("the server stops within the grace period")
        .expect("the server stops cleanly");
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await;
    assert!(
        connect.is_err(),
        "a new connection was accepted after shutdown"
    );
}

#[tokio::test]
async fn an_idle_server_stops_promptly() {
    // Arrange
    let mut app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);

    // Act
    let stopped = tokio::time::timeout(Duration::from_secs(2), app.stop()).await;

    // Assert: an idle keep-alive connection does not hold up the shutdown.
    stopped
        .expect("stopped within 2 s")
        .expect("stopped cleanly");
    let fresh = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(fresh.is_err(), "answered after shutdown");
}
