//! The accept loop: HTTP/1.1 connections served by hyper, with the limits `axum::serve` does
//! not expose.
//!
//! Invariants:
//! - A connection gets `header_read_timeout` to send a whole request head, counted from when
//!   the server starts waiting for it (hyper's http1 `header_read_timeout`, which is not reset
//!   by bytes arriving): a client that sends half a head, or one header line at a time, is
//!   closed when it runs out. The same timer runs while a kept-alive connection waits for its
//!   next request, so it is also the idle keep-alive timeout. Slow bodies are bounded by the
//!   request timeout of the router; responses are written as fast as the client reads.
//! - At most `max_connections` are served at once. Past the cap the server stops accepting:
//!   new connections wait in the kernel's listen backlog and are served, in order, as others
//!   close. Waiting rather than accept-and-close, because a burst of honest tills then gets
//!   answered a little late instead of failing, and a flood costs the server nothing per
//!   attempt; with the header timeout every slot comes back within that bound unless a
//!   client is actually being served. (When the backlog too is full the kernel drops new
//!   attempts and clients retry.)
//! - Shutdown: no connection is accepted once `stop` completes; each open one is told to
//!   finish (an idle one closes at once, one with a request in flight answers it first), and
//!   `serve` returns when all are closed. The caller bounds that wait by the grace period.
//! - Each request carries `ConnectInfo<SocketAddr>` of its peer, as `axum::serve` gave it.
//! - Connections may be upgraded (the event WebSocket, `/api/v1/events/ws`). hyper-util's
//!   `GracefulShutdown` does not take an upgradeable connection, so the same watch-channel
//!   scheme is written out here: every connection holds a receiver, shutdown sends on it and
//!   waits until every receiver is dropped. An upgraded WebSocket is no longer the
//!   connection's: it ends when the event stream closes at shutdown.
//!
//! hyper's http1 builder rather than hyper-util's `auto` builder: ringup speaks HTTP/1.1 only
//! (no h2c), and `auto`'s graceful-shutdown support needs its HTTP/2 half compiled in — a
//! protocol, with its own limits to set, that nobody asked for. Moving to `auto` when HTTP/2
//! is wanted changes only [`serve`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

/// The connection limits, from settings.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` completes and every open connection has closed.
pub async fn serve<F>(listener: TcpListener, router: Router, limits: ConnectionLimits, stop: F)
where
    F: Future<Output = ()>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stop_seen) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer, slot) = tokio::select! {
            accepted = accept(&listener, &slots) => match accepted {
                Some(accepted) => accepted,
                None => continue,
            },
            () = &mut stop => break,
        };
        let service = hyper::service::service_fn({
            let router = router.clone();
            move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req)
            }
        });
        // With upgrades: the event WebSocket (`/api/v1/events/ws`) switches protocols.
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop_seen = stop_seen.clone();
        tokio::spawn(async move {
            let open = metrics::gauge!("http_connections_open");
            open.increment(1.0);
            let mut connection = std::pin::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = stop_seen.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "connection closed with an error");
            }
            open.decrement(1.0);
            drop(slot);
            drop(stop_seen);
        });
    }
    drop(listener);
    drop(stop_seen);
    stopping.send_replace(true);
    stopping.closed().await;
}

/// Waits for a free slot, then for a connection. `None` after an accept error, which is
/// logged; errors that mean "out of file descriptors" pause accepting for a second rather
/// than spinning.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, peer)) => {
            // Answers are small and written whole: send them at once rather than waiting for
            // the client's ACK of the previous segment (Nagle), which can stall a response.
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %err, "could not set TCP_NODELAY");
            }
            Some((stream, peer, slot))
        }
        Err(err) if is_per_connection(&err) => None,
        Err(err) => {
            tracing::error!(error = %err, "accepting a connection failed; pausing a second");
            tokio::time::sleep(Duration::from_secs(1)).await;
            None
        }
    }
}

/// Errors about one connection (the peer gave up before it was accepted), not the listener.
fn is_per_connection(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
