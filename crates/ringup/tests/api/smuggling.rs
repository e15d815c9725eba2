//! Request smuggling, over raw TCP (the hostile probe found these held; kept so they keep
//! holding): a request head whose body length is ambiguous — `Content-Length` beside
//! `Transfer-Encoding`, two different `Content-Length`s, an unknown or malformed
//! `Transfer-Encoding` — is refused with 400, and whatever follows it on the connection is
//! never answered as a request of its own.

use std::time::Duration;

use ringup_testkit::spawn_app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `raw` on a new connection and reads until the server closes it (or 3 s pass).
async fn exchange(port: u16, raw: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => data.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

#[tokio::test]
async fn ambiguous_body_lengths_are_400_and_nothing_is_smuggled_behind_them() {
    // Arrange: each head is followed by a second request that must never be answered.
    let app = spawn_app().await;
    let smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let heads = [
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
        "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    ];

    for head in heads {
        // Act
        let raw = format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {head}{smuggled}"
        );
        let answer = exchange(app.port, &raw).await;

        // Assert
        let statuses: Vec<&str> = answer
            .split("\r\n")
            .filter(|line| line.starts_with("HTTP/1.1 "))
            .collect();
        assert_eq!(statuses, ["HTTP/1.1 400 Bad Request"], "{head:?}: {answer}");
    }
}
