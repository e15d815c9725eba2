//! Error tracking end to end: panics and 5xx answers are grouped by fingerprint in
//! `GET /api/v1/admin/errors` with their counts, 4xx answers are not recorded, the admins get
//! one mail about new fingerprints and no second one within the hour (by the server's clock),
//! a later mail reports only fingerprints never reported, an error storm is counted exactly,
//! and none of it stops the server from serving — not even a database that is gone.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::Value;

use crate::auth::reset::{decode_message, files_in, mail_dir};
use crate::support::assert_problem;

const ERRORS: &str = "/api/v1/admin/errors";
/// Longer than a flush period and a mail check, with room for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(15);
/// Long enough for the worker to have flushed and looked at mail a few times.
const A_FEW_FLUSHES: Duration = Duration::from_millis(3500);

/// Sends GET `path` (with `request_id` as `X-Request-Id` when given) and returns the status.
async fn hit(app: &TestApp, path: &str, request_id: Option<&str>) -> u16 {
    let mut request = app.client.get(app.url(path));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn groups(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app
        .authed(Method::GET, &format!("{ERRORS}{query}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    json_of(response).await
}

/// The groups once `done` holds for the list, or fails after [`PATIENCE`].
async fn groups_when(app: &TestApp, token: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let items = groups(app, token, "").await["items"]
            .as_array()
            .unwrap()
            .clone();
        if done(&items) {
            return items;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "groups never settled: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn group<'a>(items: &'a [Value], route: &str, message_part: &str) -> Option<&'a Value> {
    items.iter().find(|g| {
        g["route"] == route
            && g["message"]
                .as_str()
                .is_some_and(|m| m.contains(message_part))
    })
}

fn count_of(items: &[Value], route: &str, message_part: &str) -> i64 {
    group(items, route, message_part).map_or(0, |g| g["count"].as_i64().unwrap())
}

/// The decoded bodies of the mails written so far, oldest first.
fn mails(dir: &Path) -> Vec<String> {
    let mut files = files_in(dir);
    files.sort_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).unwrap());
    files
        .iter()
        .map(|f| decode_message(&std::fs::read_to_string(f).unwrap()).1)
        .collect()
}

async fn mails_when(dir: &Path, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let found = mails(dir);
        if found.len() >= n {
            return found;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{} mails, expected {n}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn failures_are_grouped_listed_and_mailed_at_most_hourly() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dir = mail_dir(&app);

    // Act: three panics and two internal errors whose messages carry different numbers and
    // ids, then answers that are not 5xx.
    for n in 0..3 {
        let id = format!("panic-{n}");
        assert_eq!(hit(&app, "/__test/panic", Some(&id)).await, 500);
    }
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(hit(&app, "/__test/fail/41", None).await, 500);
    assert_eq!(hit(&app, "/__test/fail/97", Some("last-fail")).await, 500);
    assert_eq!(hit(&app, "/__test/no-such-route", None).await, 404);
    assert_eq!(hit(&app, "/api/v1/me", None).await, 401);
    let refused = app
        .post_json("/__test/echo", &serde_json::json!({"name": 1}))
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    assert_eq!(hit(&app, "/healthz", None).await, 200);

    // Assert: one group per fingerprint, with its counts, the newest first.
    let items = groups_when(&app, &admin, |items| {
        count_of(items, "/__test/panic", "probe panic") == 3
            && count_of(items, "/__test/fail/{n}", "probe failure") == 2
    })
    .await;
    assert_eq!(
        items.len(),
        2,
        "only the 5xx answers are recorded: {items:#?}"
    );
    let failed = &items[0];
    let panicked = &items[1];
    assert_eq!(failed["route"], "/__test/fail/{n}", "{items:#?}");
    assert_eq!(failed["method"], "GET");
    assert_eq!(failed["status"], 500);
    assert_eq!(failed["kind"], "internal");
    assert_eq!(failed["last_request_id"], "last-fail");
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.starts_with("probe failure for sale <n> (row <uuid>) with note <q>"),
        "{message}"
    );
    assert!(
        !message.contains("do not store me"),
        "quoted values are not kept: {message}"
    );
    assert_eq!(panicked["kind"], "panic");
    assert_eq!(panicked["status"], 500);
    assert_eq!(panicked["count"], 3);
    assert_eq!(panicked["last_request_id"], "panic-2");
    assert_eq!(
        panicked["message"],
        "probe panic with secret detail select * from users"
    );
    for g in [failed, panicked] {
        let fingerprint = g["fingerprint"].as_str().unwrap();
        assert!(fingerprint.len() == 16 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(g["first_seen"].as_str().unwrap() <= g["last_seen"].as_str().unwrap());
    }
    assert_ne!(failed["fingerprint"], panicked["fingerprint"]);

    // Assert: paging, one group a page.
    let first = groups(&app, &admin, "?limit=1").await;
    assert_eq!(first["items"][0]["fingerprint"], failed["fingerprint"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = groups(&app, &admin, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["fingerprint"], panicked["fingerprint"]);
    assert!(second["next_cursor"].is_null(), "{second}");

    // Assert: exactly one mail, naming both fingerprints with their counts.
    let sent = mails_when(&dir, 1).await;
    let mail = &sent[0];
    for g in [failed, panicked] {
        assert!(mail.contains(g["fingerprint"].as_str().unwrap()), "{mail}");
    }
    assert!(
        mail.contains("GET /__test/panic answered 500 (panic)"),
        "{mail}"
    );
    assert!(mail.contains("happened 3 times"), "{mail}");
    assert!(
        mail.contains("GET /__test/fail/{n} answered 500 (internal)"),
        "{mail}"
    );
    assert!(
        !mail.contains("do not store me") && !mail.contains("last-fail"),
        "{mail}"
    );

    // Act: two new fingerprints within the hour.
    assert_eq!(hit(&app, "/__test/fail/late", None).await, 500);
    assert_eq!(hit(&app, "/__test/fail/later", None).await, 500);
    let items = groups_when(&app, &admin, |items| items.len() == 4).await;
    tokio::time::sleep(A_FEW_FLUSHES).await;

    // Assert: no second mail within the hour.
    assert_eq!(mails(&dir).len(), 1, "a second mail within the hour");
    assert_eq!(hit(&app, "/healthz", None).await, 200);

    // Act: an hour later by the server's clock.
    app.clock.advance(chrono::Duration::minutes(61));

    // Assert: a second mail, about the two fingerprints never reported only.
    let sent = mails_when(&dir, 2).await;
    assert_eq!(sent.len(), 2);
    let later = &sent[1];
    for g in items.iter().filter(|g| {
        g["message"]
            .as_str()
            .is_some_and(|m| m.contains("sale late") || m.contains("sale later"))
    }) {
        assert!(
            later.contains(g["fingerprint"].as_str().unwrap()),
            "{later}"
        );
    }
    for g in [failed, panicked] {
        assert!(
            !later.contains(g["fingerprint"].as_str().unwrap()),
            "{later}"
        );
    }
    assert!(later.contains("ringup recorded 2 errors"), "{later}");

    // Act: another hour on, only fingerprints already reported happen again.
    app.clock.advance(chrono::Duration::minutes(61));
    let admin = app.admin_token().await; // the old one expired with the hours
    assert_eq!(hit(&app, "/__test/panic", None).await, 500);
    groups_when(&app, &admin, |items| {
        count_of(items, "/__test/panic", "probe panic") == 4
    })
    .await;
    tokio::time::sleep(A_FEW_FLUSHES).await;

    // Assert: nothing new, no mail.
    assert_eq!(mails(&dir).len(), 2);
}

#[tokio::test]
async fn an_error_storm_is_counted_exactly_while_the_server_keeps_serving() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Act
    let storm = (0..200).map(|_| hit(&app, "/__test/panic", None));
    let statuses = futures::future::join_all(storm).await;
    let health = hit(&app, "/healthz", None).await;

    // Assert
    assert!(statuses.iter().all(|s| *s == 500), "{statuses:?}");
    assert_eq!(health, 200);
    let items = groups_when(&app, &admin, |items| {
        count_of(items, "/__test/panic", "probe panic") == 200
    })
    .await;
    assert_eq!(items.len(), 1, "{items:#?}");
}

#[tokio::test]
async fn only_admins_read_the_errors() {
    // Arrange
    let app = spawn_app().await;
    let cashier = app.create_user("cashier", &[]).await;
    let manager = app.create_user("manager", &[]).await;

    // Act
    let anonymous = app.get(ERRORS).await;
    let as_cashier = app
        .authed(Method::GET, ERRORS, &cashier.token)
        .send()
        .await
        .unwrap();
    let as_manager = app
        .authed(Method::GET, ERRORS, &manager.token)
        .send()
        .await
        .unwrap();

    // Assert
    assert_problem(anonymous, 401, ERRORS).await;
    assert_problem(as_cashier, 403, ERRORS).await;
    assert_problem(as_manager, 403, ERRORS).await;
}

#[tokio::test]
async fn with_the_database_gone_failures_still_answer_at_once() {
    // Arrange
    let app = spawn_app().await;
    app.sabotage_database().await;

    // Act: answers that fail because of the database, then more while flushes keep failing.
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(hit(&app, "/readyz", None).await);
        statuses.push(hit(&app, "/__test/panic", None).await);
        tokio::time::sleep(Duration::from_millis(600)).await;
    }

    // Assert
    assert!(
        statuses.iter().all(|s| (500..600).contains(s)),
        "{statuses:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(hit(&app, "/healthz", None).await, 200);
}
