//! The live endpoints: Server-Sent Events and WebSocket, both over a [`Feed`].
//!
//! Neither holds the server up: a client that falls behind is dropped (its feed ends), a
//! WebSocket whose client does not take a frame within [`SEND_PATIENCE`] is closed, and every
//! stream ends when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream as FuturesStream;

use ringup_app::events::{Reader, resume_point};

use super::EventParams;
use super::feed::{End, Feed};
use crate::auth::principal::Principal;
use crate::http::error::ApiError;
use crate::http::query::ApiQuery;
use crate::state::AppState;

/// The comment line SSE clients get when nothing else was sent for this long (docs/API.md).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a WebSocket client may take to accept a frame before it is closed.
const SEND_PATIENCE: Duration = Duration::from_secs(10);

/// The feed of a caller's request: its reader and its resume point (`Last-Event-ID` first,
/// then `?after=`).
async fn open(
    state: &AppState,
    principal: &Principal,
    params: &EventParams,
    last_event_id: Option<&str>,
) -> Result<Feed, ApiError> {
    let mut query = params.query()?;
    let (after, field) = match last_event_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => (Some(id.to_owned()), "Last-Event-ID"),
        None => (query.after.take(), "after"),
    };
    let reader = Reader::new(principal, &query)?;
    let position = match after {
        Some(id) if id.len() <= 64 => Some(resume_point(&state.db, &id, field).await?),
        Some(_) => return Err(ApiError::validation(field, "is not a known event id")),
        None => None,
    };
    Ok(Feed::new(state.db.clone(), &state.events, reader, position))
}

/// Server-Sent Events of the caller's events: `id:` the event id, `event:` its type, `data:`
/// its JSON; a comment line every 15 s. Reconnect with `Last-Event-ID` (or `?after=`) to
/// resume right after an event; without either, only new events come.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events",
    params(EventParams, ("Last-Event-ID" = Option<String>, Header,
        description = "resume right after this event")),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream",
            description = "one message per event, until the client leaves or falls behind"),
        (status = 401), (status = 403),
        (status = 422, description = "a bad filter, or an unknown event id to resume after")))]
pub async fn stream_events(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Response, ApiError> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let feed = open(&state, &principal, &params, last_event_id.as_deref()).await?;
    let sse = Sse::new(sse_messages(feed))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"));
    let mut response = sse.into_response();
    // Proxies (nginx) buffer responses unless told not to; a stream must not wait in one.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

fn sse_messages(feed: Feed) -> impl FuturesStream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Some(feed), |feed| async move {
        let mut feed = feed?;
        match feed.next().await {
            Ok(item) => {
                let event = Event::default()
                    .id(item.id)
                    .event(item.event_type)
                    .data(item.json);
                Some((Ok(event), Some(feed)))
            }
            Err(End::Lagged) => {
                let note = Event::default()
                    .comment("behind the live stream; reconnect with Last-Event-ID");
                Some((Ok(note), None))
            }
            Err(End::Closed) => None,
        }
    })
}

/// The same events over a WebSocket: one JSON text frame per event. Authenticated like any
/// request (a bearer token, an API key, or the cookie session a browser sends); `?types=`,
/// `?store_id=` and `?after=` as for the stream. The server pings every 15 s.
#[utoipa::path(get, path = "/api/v1/events/ws", tag = "events", params(EventParams),
    security(("bearer" = [])),
    responses((status = 101, description = "switched to the WebSocket protocol"),
        (status = 400, description = "not a WebSocket upgrade request"),
        (status = 401), (status = 403), (status = 422)))]
pub async fn socket_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<EventParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let feed = open(&state, &principal, &params, None).await?;
    // Checked after the caller and the query, so a caller who may not read events learns
    // that first; the rejection as problem+json like every other error.
    let upgrade = upgrade.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    Ok(upgrade.on_upgrade(move |socket| serve_socket(socket, feed)))
}

async fn serve_socket(mut socket: WebSocket, mut feed: Feed) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        let frame = tokio::select! {
            next = feed.next() => match next {
                Ok(item) => Message::Text(item.json.into()),
                Err(_) => break,
            },
            _ = heartbeat.tick() => Message::Ping(Vec::new().into()),
            incoming = socket.recv() => match incoming {
                // The client's pongs and messages mean nothing here; its close ends the feed.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            },
        };
        match tokio::time::timeout(SEND_PATIENCE, socket.send(frame)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
