//! `ringup demo` (docs/API.md "Command line and configuration"): the real binary fills an
//! empty database with a chain whose ledger and audit chains check clean, whose printed
//! logins work, and whose daily report has sales on each of the last 30 days in every store;
//! a second run is refused with exit 1 and writes nothing. A database where `ringup serve`
//! created only the first admin counts as empty, and that admin keeps its password.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use ringup_core::catalog::{Barcode, BarcodeKind};
use ringup_testkit::{ADMIN_PASSWORD, TestDatabase, json_of};
use serde_json::{Value, json};

use crate::crash::{start, start_with};
use crate::stock_check::run_cli as ringup;

/// The word after `prefix` on the line that starts with it.
fn printed_after<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{output}"))
        .split_whitespace()
        .next()
        .unwrap()
}

/// How many audit events `ringup audit verify` checked: every write of the use cases appends
/// one, so an unchanged count means nothing was written.
async fn audited(url: &str, data_dir: &Path) -> String {
    let (code, output) = ringup(url, data_dir, &["audit", "verify"], &[]).await;
    assert_eq!(code, Some(0), "audit verify: {output}");
    output
}

async fn login(base: &str, username: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = json_of(response).await;
    assert_eq!(status, 200, "login as {username}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every item of a list, page by page.
async fn all(base: &str, token: &str, path: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}{path}?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        let page = json_of(response).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// A new database (dropped with the guards) and its URL and data directory.
async fn empty_database() -> (tempfile::TempDir, TestDatabase, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let url = database.url().expose().to_owned();
    let data_dir = dir.path().join("data");
    (dir, database, url, data_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_an_empty_database_that_checks_clean_and_refuses_a_second_run() {
    // Arrange: a fresh database, no admin password given (so one is generated and printed).
    let (_dir, _database, url, data_dir) = empty_database().await;

    // Act
    let (code, output) = ringup(&url, &data_dir, &["demo"], &[]).await;

    // Assert: it succeeded and says how to log in.
    assert_eq!(code, Some(0), "ringup demo: {output}");
    assert!(output.contains("/api/v1/auth/login"), "{output}");
    let admin_password = {
        let line = output
            .lines()
            .find(|l| l.trim_start().starts_with("admin "))
            .unwrap_or_else(|| panic!("no admin line in:\n{output}"));
        line.split_whitespace().nth(3).unwrap().to_owned()
    };
    let staff_password = printed_after(&output, "The demo password of every user but the admin: ");
    let (code, checked) = ringup(&url, &data_dir, &["check"], &[]).await;
    assert_eq!(code, Some(0), "ringup check: {checked}");
    let audit = audited(&url, &data_dir).await;
    assert!(audit.contains("audit log intact"), "{audit}");

    // The printed admin and a printed cashier log in; the chain is what was promised.
    let (mut server, base) = start(&url, &data_dir).await;
    let admin = login(&base, "admin", &admin_password).await;
    let cashier = login(&base, "ber.cashier1", staff_password).await;
    let stores = all(&base, &admin, "/api/v1/stores").await;
    assert_eq!(stores.len(), 3, "{stores:?}");
    let codes: HashSet<&str> = stores.iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 3);
    let cashier_stores = all(&base, &cashier, "/api/v1/stores").await;
    assert_eq!(cashier_stores.len(), 1, "a cashier sees only their store");
    assert_eq!(cashier_stores[0]["code"], "BER");

    let products = all(&base, &admin, "/api/v1/products").await;
    assert_eq!(products.len(), 500);
    let barcodes: HashSet<&str> = products
        .iter()
        .map(|p| p["barcode"].as_str().unwrap())
        .collect();
    assert_eq!(barcodes.len(), 500, "every barcode is distinct");
    for barcode in &barcodes {
        let parsed = Barcode::parse(barcode).unwrap_or_else(|e| panic!("{barcode}: {e}"));
        assert_eq!(parsed.kind(), BarcodeKind::Ean13);
    }

    let users = all(&base, &admin, "/api/v1/users").await;
    let roles: HashSet<&str> = users.iter().map(|u| u["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        HashSet::from(["admin", "manager", "cashier", "employee"])
    );
    for user in users.iter().filter(|u| u["role"] != "admin") {
        assert_eq!(user["store_ids"].as_array().unwrap().len(), 1, "{user}");
    }

    let client = reqwest::Client::new();
    for store in &stores {
        let zone: chrono_tz::Tz = store["timezone"].as_str().unwrap().parse().unwrap();
        let today = Utc::now().with_timezone(&zone).date_naive();
        let (from, to) = (today - Duration::days(30), today - Duration::days(1));
        let response = client
            .get(format!(
                "{base}/api/v1/reports/sales?group_by=day&from={from}&to={to}&store_id={}",
                store["id"].as_str().unwrap()
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let report = json_of(response).await;
        let rows = report["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 30, "{report}");
        for row in rows {
            assert!(
                row["sales"].as_i64().unwrap() >= 10,
                "store {} on {}: {row}",
                store["code"],
                row["key"]
            );
        }
        assert!(
            report["totals"]["returns"].as_i64().unwrap() > 0,
            "{report}"
        );
    }

    // A second run is refused and writes nothing (logging in above wrote audit events).
    let events = audited(&url, &data_dir).await;
    let (code, again) = ringup(&url, &data_dir, &["demo"], &[]).await;
    assert_eq!(code, Some(1), "{again}");
    assert!(again.contains("already holds data"), "{again}");
    assert_eq!(audited(&url, &data_dir).await, events);
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_keeps_the_first_admin_serve_created_and_refuses_anything_more() {
    // Arrange: `ringup serve` has started once, creating only the first admin.
    let (_dir, _database, url, data_dir) = empty_database().await;
    let (code, output) = ringup(
        &url,
        &data_dir,
        &["demo"],
        &[("RINGUP_ADMIN_PASSWORD", "weak")],
    )
    .await;
    assert_eq!(
        code,
        Some(1),
        "a password the policy refuses stops it: {output}"
    );
    assert!(output.contains("RINGUP_ADMIN_PASSWORD"), "{output}");
    let (mut server, _) = start_with_admin(&url, &data_dir).await;
    server.kill().await.unwrap();

    // Act: the demo, with another admin password in the environment.
    let (code, output) = ringup(
        &url,
        &data_dir,
        &["demo"],
        &[("RINGUP_ADMIN_PASSWORD", "Another-Admin-Pass-99")],
    )
    .await;

    // Assert: it ran, kept the admin and its password, and says so.
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("unchanged"), "{output}");
    let (mut server, base) = start_with_admin(&url, &data_dir).await;
    login(&base, "admin", ADMIN_PASSWORD).await;
    let (code, again) = ringup(&url, &data_dir, &["demo"], &[]).await;
    assert_eq!(code, Some(1), "{again}");
    assert!(again.contains("3 stores"), "{again}");
    server.kill().await.unwrap();
}

/// `ringup serve` with the test kit's admin password.
async fn start_with_admin(url: &str, data_dir: &Path) -> (tokio::process::Child, String) {
    start_with(url, data_dir, &[("RINGUP_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await
}
