//! A crash under load loses nothing that was answered: the real binary sells from many clients
//! at once, is killed with SIGKILL mid-load (so some batches have committed without their
//! answers having left, others not committed at all), and is started again on the same
//! database. Every sale answered 201 is there, and sending every request again with its key
//! gives the first answer again (replayed) or, for a sale that never committed, a fresh one:
//! each key ends as exactly one sale, and the ledger and audit chains check clean.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringup_testkit::json_of;
use serde_json::Value;
use tokio::process::Child;

use crate::checkout_support::{SALES, key, line, pay, sale_body, shop};
use crate::stock_check::cli_check;
use crate::support::header;

/// A `ringup serve` of the test's database and data directory (so its tokens stay valid).
pub(crate) async fn start(database_url: &str, data_dir: &std::path::Path) -> (Child, String) {
    start_with(database_url, data_dir, &[]).await
}

/// [`start`] with more environment variables.
pub(crate) async fn start_with(
    database_url: &str,
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, String) {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_ringup"));
    let served = ringup_testkit::serve_binary_at(binary, database_url, data_dir, env).await;
    (served.child, served.address)
}

/// What one request got before the crash: its answer, or nothing (the connection died).
type Answers = Arc<Mutex<Vec<(String, Option<Value>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_under_load_loses_no_answered_sale_and_every_key_replays_or_sells_once() {
    // Arrange: a shop set up in-process, then served by the real binary on the same database.
    let mut s = shop().await;
    let cashier = s.staff("cashier").await;
    let item = s.stocked(100, &s.standard, 1_000_000).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]);
    let (database_url, data_dir) = (
        s.app.settings.database_url.expose().to_owned(),
        s.app.settings.data_dir.clone(),
    );
    s.w.app.stop().await.unwrap();
    let (mut child, base) = start(&database_url, &data_dir).await;
    let client = reqwest::Client::new();
    let answers: Answers = Arc::default();

    // Act: 16 clients sell back to back; the server is killed while they do.
    let clients = (0..16).map(|_| {
        let (client, url, token) = (
            client.clone(),
            format!("{base}{SALES}"),
            cashier.token.clone(),
        );
        let (body, answers) = (body.clone(), answers.clone());
        tokio::spawn(async move {
            loop {
                let key = key();
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("idempotency-key", &key)
                    .json(&body)
                    .send()
                    .await;
                let answer = match sent {
                    Ok(response) if response.status() == 201 => response.json().await.ok(),
                    Ok(response) => panic!("{}: {:?}", response.status(), response.text().await),
                    Err(_) => None,
                };
                let died = answer.is_none();
                answers.lock().unwrap().push((key, answer));
                if died {
                    return;
                }
            }
        })
    });
    let clients: Vec<_> = clients.collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let (mut child, base) = start(&database_url, &data_dir).await;

    // Assert: every key, sent again, gives its sale — the same one when it was answered.
    let answers = answers.lock().unwrap().clone();
    let answered = answers.iter().filter(|(_, a)| a.is_some()).count();
    assert!(
        answered >= 16,
        "the load ran: {answered} answered before the kill"
    );
    let mut sales = HashSet::new();
    let mut replayed = HashMap::new();
    for (key, before) in &answers {
        let again = client
            .post(format!("{base}{SALES}"))
            .bearer_auth(&cashier.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 201, "{key}");
        let was_replayed = header(&again, "idempotent-replayed").is_some();
        let sale: Value = again.json().await.unwrap();
        if let Some(before) = before {
            assert!(
                was_replayed,
                "an answered sale ({key}) was lost in the crash"
            );
            assert_eq!(&sale, before, "{key} replays its first answer");
        }
        *replayed.entry(was_replayed).or_insert(0) += 1;
        assert!(
            sales.insert(sale["id"].to_string()),
            "{key} made a second sale"
        );
    }
    let shift_id = shift["id"].as_str().unwrap();
    let report = client.get(format!("{base}/api/v1/shifts/{shift_id}/report"));
    let report = json_of(report.bearer_auth(&s.admin).send().await.unwrap()).await;
    assert_eq!(
        report["sales_count"],
        sales.len(),
        "one sale per key: {replayed:?}"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let (clean, output) = cli_check(&s.app).await;
    assert!(clean, "ringup check after the crash: {output}");
}
