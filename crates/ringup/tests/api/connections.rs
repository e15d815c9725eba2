//! Connection limits, over raw TCP: a client that sends its request head too slowly (half a
//! head then silence, or one header line at a time) is cut off at the header-read timeout, an
//! idle kept-alive connection likewise, a prompt request is served, and past the connection
//! cap new connections wait until one closes.

use std::time::{Duration, Instant};

use ringup_testkit::{TestApp, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The header-read timeout the tests set, and how much later than it a close may come.
const TIMEOUT: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_secs(2);

async fn spawn(header_read_timeout: &str, max_connections: &str) -> TestApp {
    spawn_app_with(|raw| {
        raw.limits.header_read_timeout = header_read_timeout.into();
        raw.limits.max_connections = max_connections.into();
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port)).await.unwrap()
}

/// Reads until the server closes the connection (EOF or reset); how long that took. Fails if
/// it stays open for `limit`.
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

/// Sends `GET /healthz` on a kept-alive connection.
async fn send_healthz(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
}

/// Reads one response (head and a `Content-Length` body); its status line and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a whole response head");
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the whole body");
        data.extend_from_slice(&buf[..n]);
    }
    let status = head.lines().next().unwrap().to_owned();
    let body = String::from_utf8(data[head_end..head_end + length].to_vec()).unwrap();
    (status, body)
}

#[tokio::test]
async fn half_a_request_head_then_silence_is_closed_at_the_timeout() {
    // Arrange
    let app = spawn("1", "1024").await;
    let mut stream = connect(&app).await;

    // Act
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let open_for = time_until_closed(&mut stream, TIMEOUT + MARGIN).await;

    // Assert
    assert!(
        open_for >= TIMEOUT - Duration::from_millis(100),
        "closed after {open_for:?}, before the timeout"
    );
}

#[tokio::test]
async fn a_client_sending_one_header_line_at_a_time_is_closed_at_the_timeout() {
    // Arrange
    let app = spawn("1", "1024").await;
    let (mut reader, mut writer) = connect(&app).await.into_split();
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = Instant::now();

    // Act: a header line every 300 ms for up to 6 s, until the server hangs up.
    let closed = tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => continue,
            }
        }
    });
    let mut sent_after_start = 0;
    for line in 0..20 {
        if closed.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let header = format!("X-Slow-{line}: still here\r\n");
        if writer.write_all(header.as_bytes()).await.is_err() {
            break;
        }
        sent_after_start += 1;
    }
    let open_for = tokio::time::timeout(MARGIN, closed)
        .await
        .expect("the connection was still open after the client stopped sending")
        .unwrap();

    // Assert
    assert!(
        open_for >= TIMEOUT - Duration::from_millis(100) && open_for <= TIMEOUT + MARGIN,
        "closed after {open_for:?}"
    );
    assert!(
        sent_after_start >= 3,
        "the client kept sending until it was cut off ({sent_after_start} lines)"
    );
}

#[tokio::test]
async fn prompt_requests_are_served_on_a_kept_alive_connection_that_closes_when_idle() {
    // Arrange
    let app = spawn("1", "1024").await;
    let mut stream = connect(&app).await;

    // Act
    send_healthz(&mut stream).await;
    let first = read_response(&mut stream).await;
    send_healthz(&mut stream).await;
    let second = read_response(&mut stream).await;
    let idle_for = time_until_closed(&mut stream, TIMEOUT + MARGIN).await;

    // Assert
    for (status, body) in [first, second] {
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, r#"{"status":"ok"}"#);
    }
    assert!(
        idle_for >= TIMEOUT - Duration::from_millis(100),
        "closed after {idle_for:?} idle"
    );
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_until_one_closes() {
    // Arrange: two connections served and left open (idle, well inside the header timeout).
    let app = spawn("30", "2").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        send_healthz(&mut stream).await;
        assert_eq!(read_response(&mut stream).await.0, "HTTP/1.1 200 OK");
        held.push(stream);
    }

    // Act
    let mut third = connect(&app).await;
    send_healthz(&mut third).await;
    let mut buf = [0u8; 1];
    let while_full = tokio::time::timeout(Duration::from_millis(1000), third.peek(&mut buf)).await;
    drop(held.pop());
    let after_one_closed = tokio::time::timeout(MARGIN, read_response(&mut third)).await;

    // Assert
    assert!(
        while_full.is_err(),
        "the third connection was answered while two were open: {while_full:?}"
    );
    let (status, _) = after_one_closed.expect("served once a slot was free");
    assert_eq!(status, "HTTP/1.1 200 OK");
}
