//! `/api/v1/events`: committed events in commit order, as pages, as Server-Sent Events and over
//! a WebSocket — scoped to the caller's stores, filtered by type, resumable after any event,
//! and never skipping or repeating one when writers race (docs/API.md, "Webhooks and events").

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use ringup_core::ids::StoreId;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::stock::{World, delta, world};
use crate::support::{assert_problem, error_fields};

const EVENTS: &str = "/api/v1/events";

/// GET `path` as `token`, expecting `status`; the body.
async fn read(w: &World, token: &str, path: &str, status: u16) -> Value {
    let response = w.app.authed(Method::GET, path, token).send().await.unwrap();
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{path}: {body}");
    body
}

/// Every event `token` sees after `after` (following `next_cursor`), with `query`.
async fn all_events(w: &World, token: &str, query: &str, after: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = match after {
        Some(after) => format!("{EVENTS}?limit=200&after={after}&{query}"),
        None => format!("{EVENTS}?limit=200&{query}"),
    };
    loop {
        let page = read(w, token, &path, 200).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{EVENTS}?limit=200&cursor={cursor}&{query}"),
            None => return items,
        }
    }
}

/// Waits (up to 10 s) until `token` sees at least `n` events with `query`; returns them.
async fn at_least(w: &World, token: &str, query: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = all_events(w, token, query, None).await;
        if events.len() >= n || Instant::now() > deadline {
            assert!(
                events.len() >= n,
                "{} of {n} events: {events:?}",
                events.len()
            );
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A second store, created over HTTP.
async fn second_store(w: &World) -> StoreId {
    let body = json!({"code": "EVT2", "name": "Second", "currency": "KES",
        "timezone": "Africa/Nairobi"});
    let response = w
        .app
        .authed(Method::POST, "/api/v1/stores", &w.admin)
        .header("idempotency-key", "events-second-store")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    StoreId::parse(body["id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn events_are_listed_in_commit_order_scoped_filtered_and_resumable() {
    // Arrange: a product (an event of the whole chain), stock received in two stores.
    let w = world().await;
    let other = second_store(&w).await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 5).await;
    w.receive(other, &p, 7).await;
    w.receive(w.store, &p, 1).await;
    let manager = w.app.create_user("manager", &[w.store]).await;
    let cashier = w.app.create_user("cashier", &[w.store]).await;

    // Act
    let every = at_least(&w, &w.admin, "", 4).await;

    // Assert: the envelope, in commit order.
    let kinds: Vec<&str> = every.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "product.created",
            "stock.adjusted",
            "stock.adjusted",
            "stock.adjusted"
        ]
    );
    let first = &every[0];
    assert_eq!(first["data"]["id"], p.as_str(), "{first}");
    assert!(first["store_id"].is_null(), "{first}");
    assert!(crate::support::is_uuid_v7(first["id"].as_str().unwrap()));
    assert!(first["created_at"].as_str().is_some());
    assert_eq!(every[2]["store_id"], other.to_string());
    assert_eq!(every[2]["data"]["delta"], 7, "{}", every[2]);

    // Types, a store, and a resume point narrow the list.
    let stock = all_events(&w, &w.admin, "types=stock.*", None).await;
    assert_eq!(ids(&stock), ids(&every[1..]));
    let products = all_events(&w, &w.admin, "types=product.created,sale.*", None).await;
    assert_eq!(ids(&products), ids(&every[..1]));
    let in_other = all_events(&w, &w.admin, &format!("store_id={other}"), None).await;
    assert_eq!(ids(&in_other), ids(&every[2..3]));
    let after_first = every[0]["id"].as_str().unwrap();
    let rest = all_events(&w, &w.admin, "", Some(after_first)).await;
    assert_eq!(ids(&rest), ids(&every[1..]));

    // Pages of one follow each other without a gap or a repeat.
    let mut paged = Vec::new();
    let mut path = format!("{EVENTS}?limit=1");
    loop {
        let page = read(&w, &w.admin, &path, 200).await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{EVENTS}?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids(&paged), ids(&every));

    // A manager sees the store's events and the chain's, not the other store's.
    let seen = all_events(&w, &manager.token, "", None).await;
    let expected: Vec<Value> = every
        .iter()
        .filter(|e| e["store_id"] != other.to_string())
        .cloned()
        .collect();
    assert_eq!(ids(&seen), ids(&expected));
    let refused = w
        .app
        .authed(
            Method::GET,
            &format!("{EVENTS}?store_id={other}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(refused, 422, EVENTS).await;
    assert_eq!(error_fields(&problem), ["store_id"]);

    // Cashiers do not read events; nobody anonymous does.
    read(&w, &cashier.token, EVENTS, 403).await;
    let anonymous = w.app.get(EVENTS).await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn bad_filters_and_unknown_resume_points_are_422_naming_the_field() {
    let w = world().await;
    for (query, field) in [
        ("types=sale.%25", "types"),
        ("types=Sale.Completed", "types"),
        ("store_id=not-a-store", "store_id"),
        ("after=0190b7c0-0000-7000-8000-000000000000", "after"),
        ("after=whatever", "after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=%21%21", "cursor"),
    ] {
        let path = format!("{EVENTS}?{query}");
        let response = w
            .app
            .authed(Method::GET, &path, &w.admin)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, EVENTS).await;
        assert_eq!(error_fields(&problem), [field], "{query}: {problem}");
    }
    let stream = format!("{EVENTS}/stream");
    let response = w
        .app
        .authed(Method::GET, &stream, &w.admin)
        .header("last-event-id", "0190b7c0-0000-7000-8000-000000000000")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, &stream).await;
    assert_eq!(error_fields(&problem), ["Last-Event-ID"]);
}

/// An SSE connection: its `(id, event, data)` messages, read as they arrive.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    async fn open(w: &World, token: &str, query: &str, last_event_id: Option<&str>) -> Sse {
        let mut request = w
            .app
            .authed(Method::GET, &format!("{EVENTS}/stream?{query}"), token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The next message with an event (comments skipped), within `patience`.
    async fn next(&mut self, patience: Duration) -> Option<(String, String, Value)> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    message
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}:")))
                        .map(|v| v.trim_start().to_owned())
                };
                if let (Some(id), Some(event), Some(data)) =
                    (field("id"), field("event"), field("data"))
                {
                    return Some((id, event, serde_json::from_str(&data).unwrap()));
                }
                continue;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}

#[tokio::test]
async fn the_stream_brings_new_events_at_once_and_resumes_after_the_last_one_seen() {
    // Arrange
    let w = world().await;
    let p = w.product(0).await;
    at_least(&w, &w.admin, "", 1).await;
    let mut sse = Sse::open(&w, &w.admin, "types=stock.*", None).await;

    // Act: a new event, timed from the write's answer to its arrival.
    w.receive(w.store, &p, 3).await;
    let answered = Instant::now();
    let first = sse.next(Duration::from_secs(5)).await;
    let latency = answered.elapsed();

    // Assert: only new events (not the product created before), of the selected types.
    let (id, event, data) = first.expect("no event on the stream");
    assert_eq!(event, "stock.adjusted");
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["data"]["delta"], 3, "{data}");
    println!("write answered → event on the stream: {latency:?}");
    assert!(
        latency < Duration::from_secs(1),
        "{latency:?} (docs/API.md: within a second)"
    );

    // Three events while nobody listens; a reconnect with Last-Event-ID gets exactly those.
    drop(sse);
    for units in [1, 2, 4] {
        w.receive(w.store, &p, units).await;
    }
    let mut resumed = Sse::open(&w, &w.admin, "types=stock.*", Some(&id)).await;
    let mut deltas = Vec::new();
    for _ in 0..3 {
        let (_, _, data) = resumed
            .next(Duration::from_secs(5))
            .await
            .expect("missing event");
        deltas.push(data["data"]["delta"].as_i64().unwrap());
    }
    assert_eq!(deltas, [1, 2, 4]);
    assert!(
        resumed.next(Duration::from_millis(300)).await.is_none(),
        "a repeat"
    );

    // `?after=` resumes the same way.
    let mut after = Sse::open(&w, &w.admin, &format!("types=stock.*&after={id}"), None).await;
    let (_, _, data) = after
        .next(Duration::from_secs(5))
        .await
        .expect("missing event");
    assert_eq!(data["data"]["delta"], 1);
}

#[tokio::test]
async fn the_websocket_sends_the_same_events_as_json_frames() {
    // Arrange
    let w = world().await;
    let p = w.product(0).await;
    let created = at_least(&w, &w.admin, "", 1).await;
    let url = w.app.url(&format!(
        "{EVENTS}/ws?after={}",
        created[0]["id"].as_str().unwrap()
    ));
    let mut request = url.replacen("http", "ws", 1).into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", w.admin).parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);

    // Act
    w.receive(w.store, &p, 6).await;
    let frame = loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no frame within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            break serde_json::from_str::<Value>(&text).unwrap();
        }
    };

    // Assert
    assert_eq!(frame["type"], "stock.adjusted");
    assert_eq!(frame["data"]["delta"], 6);
    socket.close(None).await.unwrap();

    // Without credentials there is no upgrade.
    let bare = w.app.url(&format!("{EVENTS}/ws")).replacen("http", "ws", 1);
    let refused = tokio_tungstenite::connect_async(bare).await;
    assert!(refused.is_err(), "an anonymous WebSocket was accepted");
}

#[tokio::test]
async fn readers_that_resume_while_writers_race_never_miss_or_repeat_an_event() {
    // Arrange: eight writers, each adjusting its own product 12 times, all at once.
    let w = world().await;
    let mut products = Vec::new();
    for _ in 0..8 {
        products.push(w.product(0).await);
    }
    let base = at_least(&w, &w.admin, "", 8).await;
    let start = base.last().unwrap()["id"].as_str().unwrap().to_owned();
    let mut sse = Sse::open(&w, &w.admin, "types=stock.adjusted", Some(&start)).await;

    // Act: a poller resumes after the last event it saw, over and over, while they write.
    let writers = futures::future::join_all(products.iter().map(|p| async {
        for _ in 0..12 {
            let response = w.adjust(&w.admin, w.store, &delta(p, 1, "receiving")).await;
            assert_eq!(response.status(), 201);
        }
    }));
    let poller = async {
        let mut seen: Vec<String> = Vec::new();
        let mut last = start.clone();
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.len() < 96 && Instant::now() < deadline {
            let page = all_events(&w, &w.admin, "types=stock.adjusted", Some(&last)).await;
            match page.last() {
                Some(end) => last = end["id"].as_str().unwrap().to_owned(),
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
            seen.extend(ids(&page));
        }
        seen
    };
    let (_, polled) = tokio::join!(writers, poller);
    let mut streamed = Vec::new();
    while streamed.len() < 96 {
        let Some((id, _, _)) = sse.next(Duration::from_secs(10)).await else {
            break;
        };
        streamed.push(id);
    }

    // Assert: every one of the 96, once each, in the one commit order everybody agrees on.
    let listed = ids(&all_events(&w, &w.admin, "types=stock.adjusted", Some(&start)).await);
    assert_eq!(listed.len(), 96);
    assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 96);
    assert_eq!(polled, listed, "the poller missed or repeated an event");
    assert_eq!(streamed, listed, "the stream missed or repeated an event");
}

#[tokio::test]
async fn every_business_effect_writes_its_event_with_its_store_and_resource() {
    use crate::checkout_support::{expect, key, line, pay, return_body, sale_body, shop};

    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let (other, _) = s.other_store("EVT9", false).await;
    let item = s.stocked(100, &s.standard, 5).await;
    // The product's creation and its stock, before what is tested.
    let start = at_least(&s, &s.admin, "", 2).await;
    let start = start.last().unwrap()["id"].as_str().unwrap().to_owned();
    let send = |method: Method, path: String, body: Value| {
        s.app
            .authed(method, &path, &s.admin)
            .header("idempotency-key", key())
            .json(&body)
            .send()
    };

    // Act: a shift with a sale, its void, a second sale and its return; a price change;
    // a transfer approved and received; the shift closed.
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let sale = s
        .sell(
            &cashier.token,
            &sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]),
        )
        .await;
    expect(s.void(&s.admin, &sale, "wrong item").await, 200).await;
    let kept = s
        .sell(
            &cashier.token,
            &sale_body(&shift, vec![line(&item, 2)], vec![pay("cash", 200)]),
        )
        .await;
    let taken = return_body(
        &kept,
        &[(&kept["lines"][0], 1, true)],
        vec![pay("cash", 100)],
    );
    let taken = s.give_back(&cashier.token, &taken).await;
    let path = format!("/api/v1/products/{}", item.id);
    expect(
        send(Method::PATCH, path, json!({"price": 120}))
            .await
            .unwrap(),
        200,
    )
    .await;
    let body = json!({"from_store_id": s.store.to_string(), "to_store_id": other.to_string(),
        "lines": [{"product_id": item.id, "quantity": 1}]});
    let transfer = expect(
        send(Method::POST, "/api/v1/transfers".into(), body)
            .await
            .unwrap(),
        201,
    )
    .await;
    let transfer_id = transfer["id"].as_str().unwrap();
    for action in ["approve", "receive"] {
        let path = format!("/api/v1/transfers/{transfer_id}/{action}");
        expect(send(Method::POST, path, json!({})).await.unwrap(), 200).await;
    }
    expect(s.close(&cashier.token, &shift, 100).await, 200).await;
    // The product archived, then archived again, which changes nothing and writes nothing.
    let product_path = format!("/api/v1/products/{}", item.id);
    for _ in 0..2 {
        let archived = s
            .app
            .authed(Method::DELETE, &product_path, &s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(archived.status(), 204);
    }

    // Assert
    let home = s.store.to_string();
    let other = other.to_string();
    let expected: Vec<(&str, Option<&str>, Value)> = vec![
        ("shift.opened", Some(&home), shift["id"].clone()),
        ("sale.completed", Some(&home), sale["id"].clone()),
        ("sale.voided", Some(&home), sale["id"].clone()),
        ("sale.completed", Some(&home), kept["id"].clone()),
        ("return.completed", Some(&home), taken["id"].clone()),
        ("product.updated", None, json!(item.id)),
        ("transfer.requested", Some(&home), transfer["id"].clone()),
        ("transfer.approved", Some(&home), transfer["id"].clone()),
        ("transfer.received", Some(&other), transfer["id"].clone()),
        ("shift.closed", Some(&home), shift["id"].clone()),
        ("product.updated", None, json!(item.id)),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events = all_events(&s, &s.admin, "", Some(&start)).await;
        if events.len() >= expected.len() || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seen: Vec<(String, Option<String>, Value)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["store_id"].as_str().map(str::to_owned),
                e["data"]["id"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, Option<String>, Value)> = expected
        .into_iter()
        .map(|(t, s, id)| (t.to_owned(), s.map(str::to_owned), id))
        .collect();
    assert_eq!(seen, expected);
    let voided = events.iter().find(|e| e["type"] == "sale.voided").unwrap();
    assert_eq!(voided["data"]["status"], "voided", "{voided}");
    let updated = events
        .iter()
        .find(|e| e["type"] == "product.updated")
        .unwrap();
    assert_eq!(updated["data"]["price"], 120, "{updated}");
    assert_eq!(updated["data"]["active"], true, "{updated}");
    let archived = events.last().unwrap();
    assert_eq!(archived["data"]["active"], false, "{archived}");
    assert_eq!(archived["data"]["price"], 120, "{archived}");
}
