//! Backups and restores through the real binary: `ringup backup` while sales run, `ringup
//! restore` into an empty database of the other engine (when the suite has PostgreSQL) or of
//! the same one, and the server's own schedule with its retention.
//!
//! "Identical" is checked row by row: every table of the restored database against the source,
//! read through the same snapshot code a backup uses; under load, against the source as it was
//! at the backup's instant (every restored sale, line, payment, movement and audit event is the
//! source's, and the source's sales up to the restored number are exactly those).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use ringup_store::backup::Snapshot;
use ringup_store::{Db, DbOptions, Engine, Value};
use ringup_testkit::{TestDatabase, spawn_app_with};
use serde_json::json;
use tokio::process::Command;

use crate::checkout_support::{
    SALES, expect, id, key, line, pay, return_body, sale_body, send, shop,
};

/// Every table's column names and rows (sorted), as a backup reads them.
type Dump = BTreeMap<String, (Vec<String>, Vec<Vec<Value>>)>;

async fn dump(db: &Db) -> Dump {
    let (mut snapshot, _) = Snapshot::open(db).await.unwrap();
    let mut out = Dump::new();
    for table in snapshot.tables().await.unwrap() {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(16);
        let read = async {
            let n = snapshot
                .read(&table, 500, &sender, |rows| rows)
                .await
                .unwrap();
            drop(sender);
            n
        };
        let collect = async {
            let mut rows = Vec::new();
            while let Some(batch) = receiver.recv().await {
                rows.extend(batch);
            }
            rows
        };
        let (_, mut rows) = tokio::join!(read, collect);
        rows.sort_by_key(|row| format!("{row:?}"));
        let columns = table.columns.iter().map(|c| c.name.clone()).collect();
        out.insert(table.name.clone(), (columns, rows));
    }
    snapshot.close().await.unwrap();
    out
}

/// The rows of `table` by the value of its `id` column.
fn by_id(dump: &Dump, table: &str) -> HashMap<Value, Vec<Value>> {
    let (columns, rows) = &dump[table];
    let at = columns.iter().position(|c| c == "id").unwrap();
    rows.iter().map(|r| (r[at].clone(), r.clone())).collect()
}

fn column(dump: &Dump, table: &str, row: &[Value], name: &str) -> Value {
    let at = dump[table].0.iter().position(|c| c == name).unwrap();
    row[at].clone()
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(Some(n)) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// Runs the real binary on `database_url`; returns its exit code and what it printed.
async fn ringup(database_url: &str, data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ringup"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGUP_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("RINGUP_LOG", "warn")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("ringup runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `ringup backup --to dir`: the path it printed.
async fn backup(database_url: &str, data_dir: &Path, dir: &Path) -> PathBuf {
    let (code, out, err) = ringup(
        database_url,
        data_dir,
        &["backup", "--to", dir.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "ringup backup failed:\n{out}\n{err}");
    let path = PathBuf::from(out.lines().next().unwrap_or_default().trim());
    assert!(path.starts_with(dir), "the first line is the path: {out}");
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("ringup-")
            && name.ends_with("Z.backup")
            && name.len() == "ringup-20261206T231500Z.backup".len(),
        "{name}"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "a backup holds password hashes: owner only"
    );
    path
}

/// A database to restore into: PostgreSQL when the source is SQLite and the suite has a
/// PostgreSQL server, SQLite otherwise — so with PostgreSQL both directions are crossed.
async fn target(source: Engine, dir: &Path) -> TestDatabase {
    let suite_has_postgres =
        std::env::var(ringup_testkit::TEST_DATABASE_URL).is_ok_and(|url| !url.is_empty());
    if source == Engine::Sqlite && suite_has_postgres {
        TestDatabase::create(dir).await
    } else {
        TestDatabase::sqlite(dir)
    }
}

/// Restores `file` into `database` with the real binary, asserting every check passed.
async fn restore(database: &TestDatabase, data_dir: &Path, file: &Path) -> String {
    let url = database.url().expose();
    let (code, out, err) = ringup(url, data_dir, &["restore", file.to_str().unwrap()]).await;
    assert_eq!(
        code,
        0,
        "restore into {} failed:\n{out}\n{err}",
        database.url().engine().name()
    );
    for expected in [
        "stock levels match their movements",
        "audit log intact",
        "report rollup rows equal",
    ] {
        assert!(
            out.contains(expected),
            "restore runs the checks ({expected}):\n{out}"
        );
    }
    out
}

/// `ringup restore file` into `database_url`, which must fail with exit 1; its stderr.
async fn refused(database_url: &str, data_dir: &Path, file: &Path) -> String {
    let (code, out, err) =
        ringup(database_url, data_dir, &["restore", file.to_str().unwrap()]).await;
    assert_eq!(code, 1, "the restore was not refused:\n{out}\n{err}");
    err
}

/// Asserts that `database` holds exactly the rows of `source`, table by table.
async fn assert_identical(source: &Dump, database: &TestDatabase) {
    let db = connect(database).await;
    let restored = dump(&db).await;
    db.close().await;
    assert_eq!(
        source.keys().collect::<Vec<_>>(),
        restored.keys().collect::<Vec<_>>()
    );
    for (table, (columns, rows)) in source {
        assert_eq!(&restored[table].0, columns, "columns of {table}");
        assert_eq!(&restored[table].1, rows, "rows of {table}");
    }
}

async fn connect(database: &TestDatabase) -> Db {
    Db::connect(database.url(), &DbOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_backup_restores_on_the_other_engine_with_every_row_and_serves_on() {
    // Arrange: a shop with a category tree, a customer, sales, a return and a void.
    let mut s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let item = s.stocked(250, &s.standard, 100).await;
    let other = s.stocked(99, &s.reduced, 40).await;
    let parent = send(
        &s,
        Method::POST,
        "/api/v1/categories",
        &s.admin,
        Some(&json!({"name": "Drinks"})),
        None,
    )
    .await;
    let parent = id(&expect(parent, 201).await);
    let child = json!({"name": "Juice", "parent_id": parent});
    expect(
        send(
            &s,
            Method::POST,
            "/api/v1/categories",
            &s.admin,
            Some(&child),
            None,
        )
        .await,
        201,
    )
    .await;
    let shift = s.open(&cashier.token, &s.register, 1_000).await;
    let mut sales = Vec::new();
    for n in 1..=5 {
        let body = sale_body(
            &shift,
            vec![line(&item, n), line(&other, 1)],
            vec![pay("cash", 250 * n + 99)],
        );
        sales.push(s.sell(&cashier.token, &body).await);
    }
    let first_line = sales[0]["lines"][0].clone();
    s.give_back(
        &manager.token,
        &return_body(&sales[0], &[(&first_line, 1, true)], vec![pay("cash", 250)]),
    )
    .await;
    expect(s.void(&manager.token, &sales[4], "wrong basket").await, 200).await;
    let source_url = s.app.settings.database_url.expose().to_owned();
    let work = tempfile::tempdir().unwrap();
    // Stopped, so that no worker writes between the backup and the dump it is compared with
    // (a backup under load has its own test below).
    s.w.app.stop().await.unwrap();
    let source_db = Db::connect(&s.app.settings.database_url, &DbOptions::default())
        .await
        .unwrap();

    // Act: back up, restore into an empty database.
    let file = backup(&source_url, work.path(), &work.path().join("backups")).await;
    let source = dump(&source_db).await;
    source_db.close().await;
    let restored_db = target(s.app.engine(), work.path()).await;
    let restored_url = restored_db.url().expose().to_owned();
    restore(&restored_db, work.path(), &file).await;

    // Assert: every table holds exactly the source's rows (the category tree included) …
    assert_eq!(source["categories"].1.len(), 2);
    assert_identical(&source, &restored_db).await;
    // … and a backup of the restored database restores on the first engine, still identical:
    // with PostgreSQL, both directions are crossed.
    let again = backup(&restored_url, work.path(), &work.path().join("again")).await;
    let back = if restored_db.url().engine() == s.app.engine() {
        target(restored_db.url().engine(), work.path()).await
    } else {
        TestDatabase::create(work.path()).await
    };
    restore(&back, work.path(), &again).await;
    assert_identical(&source, &back).await;

    // The restored database serves: the cashier logs in with the same password and sells on,
    // numbered after the restored sales.
    let served = ringup_testkit::serve_binary_at(
        Path::new(env!("CARGO_BIN_EXE_ringup")),
        &restored_url,
        &work.path().join("served"),
        &[],
    )
    .await;
    let login = served
        .client
        .post(served.url("/api/v1/auth/login"))
        .json(&json!({"username": cashier.username, "password": ringup_testkit::USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = expect(login, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 250)]);
    let sale = served
        .client
        .post(served.url(SALES))
        .bearer_auth(&token)
        .header("idempotency-key", key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let sale = expect(sale, 201).await;
    assert_eq!(
        sale["number"],
        crate::checkout_support::number("STK1", 6),
        "{sale}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_a_sale_load_restores_the_database_as_it_was_at_that_instant() {
    // Arrange: eight tills selling back to back.
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let item = s.stocked(100, &s.standard, 1_000_000).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&item, 2)], vec![pay("cash", 200)]);
    let stop = Arc::new(AtomicBool::new(false));
    let tills: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, token) = (
                s.app.client.clone(),
                s.app.url(SALES),
                cashier.token.clone(),
            );
            let (body, stop) = (body.clone(), stop.clone());
            tokio::spawn(async move {
                let mut sold = 0;
                while !stop.load(Ordering::Relaxed) {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("idempotency-key", key())
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201, "{:?}", response.text().await);
                    sold += 1;
                }
                sold
            })
        })
        .collect();
    let source_url = s.app.settings.database_url.expose().to_owned();
    let work = tempfile::tempdir().unwrap();

    // Act: a backup in the middle of the load.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let file = backup(&source_url, work.path(), &work.path().join("backups")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sold = 0;
    for till in tills {
        sold += till.await.unwrap();
    }
    let restored_db = target(s.app.engine(), work.path()).await;
    restore(&restored_db, work.path(), &file).await;

    // Assert: the restored sales are the source's first ones, gapless, with all their rows.
    let source = dump(&s.app.db).await;
    let db = connect(&restored_db).await;
    let restored = dump(&db).await;
    db.close().await;
    let restored_sales = &restored["sales"].1;
    let kept = restored_sales.len() as i64;
    assert!(
        kept > 0 && (kept as u64) < sold,
        "the backup fell inside the load: {kept} of {sold} sales"
    );
    let mut seqs: Vec<i64> = restored_sales
        .iter()
        .map(|r| int(&column(&restored, "sales", r, "seq")))
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=kept).collect::<Vec<_>>(),
        "restored sale numbers are gapless from 1"
    );
    let before_backup: HashSet<Value> = source["sales"]
        .1
        .iter()
        .filter(|r| int(&column(&source, "sales", r, "seq")) <= kept)
        .map(|r| column(&source, "sales", r, "id"))
        .collect();
    let restored_ids: HashSet<Value> = by_id(&restored, "sales").into_keys().collect();
    assert_eq!(
        restored_ids, before_backup,
        "exactly the sales numbered up to the backup"
    );
    for table in [
        "sales",
        "sale_lines",
        "sale_payments",
        "stock_movements",
        "audit_events",
    ] {
        let source_rows: HashSet<&Vec<Value>> = source[table].1.iter().collect();
        for row in &restored[table].1 {
            assert!(
                source_rows.contains(row),
                "{table}: {row:?} is not the source's"
            );
        }
    }
    // Every sale line restored has its movement, and nothing else moved stock since receiving.
    let lines = restored["sale_lines"].1.len();
    assert_eq!(lines as i64, kept, "one line per sale");
    // The audit chains end where the source's stood at that instant.
    let source_events: HashMap<(Value, i64), Value> = source["audit_events"]
        .1
        .iter()
        .map(|r| {
            let key = (
                column(&source, "audit_events", r, "chain"),
                int(&column(&source, "audit_events", r, "seq")),
            );
            (key, column(&source, "audit_events", r, "hash"))
        })
        .collect();
    for head in &restored["audit_chain_heads"].1 {
        let chain = column(&restored, "audit_chain_heads", head, "chain");
        let seq = int(&column(&restored, "audit_chain_heads", head, "last_seq"));
        let hash = column(&restored, "audit_chain_heads", head, "last_hash");
        assert_eq!(
            source_events.get(&(chain.clone(), seq)),
            Some(&hash),
            "chain {chain:?} at {seq}"
        );
    }
}

#[tokio::test]
async fn a_restore_refuses_a_database_with_data_and_a_damaged_file_and_changes_nothing() {
    let mut s = shop().await;
    let cashier = s.staff("cashier").await;
    let item = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    s.sell(
        &cashier.token,
        &sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]),
    )
    .await;
    // The server is stopped before anything is compared: its workers write on their own
    // schedule (the relay, the consumers' cursors, a store's daily summary once its local time
    // passes the summary time), and "changes nothing" is about the restore alone.
    s.w.app.stop().await.unwrap();
    let source_url = s.app.settings.database_url.expose().to_owned();
    let source_db = Db::connect(&s.app.settings.database_url, &DbOptions::default())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = backup(&source_url, work.path(), &work.path().join("backups")).await;
    let before = dump(&source_db).await;

    // Into the database it came from, which holds data: refused, naming what is there.
    let err = refused(&source_url, work.path(), &file).await;
    assert!(
        err.contains("already holds data") && err.contains("sales") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        dump(&source_db).await,
        before,
        "a refused restore changes nothing"
    );

    // A damaged file: refused before a row is written.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5a;
    bytes[at + 1] ^= 0xa5;
    let damaged = work.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let empty = target(s.app.engine(), work.path()).await;
    let err = refused(empty.url().expose(), work.path(), &damaged).await;
    assert!(
        err.contains("damaged") || err.contains("not a usable backup"),
        "{err}"
    );
    let db = connect(&empty).await;
    let untouched = dump(&db).await;
    db.close().await;
    for (table, (_, rows)) in &untouched {
        if table != "app_meta" {
            assert!(rows.is_empty(), "{table} was written by a refused restore");
        }
    }
    // Not a backup at all.
    let junk = work.path().join("junk.backup");
    std::fs::write(&junk, b"hello").unwrap();
    let err = refused(empty.url().expose(), work.path(), &junk).await;
    assert!(err.contains("not a usable backup"), "{err}");

    // With --force the data is replaced by the backup's.
    let (code, out, err) = ringup(
        &source_url,
        work.path(),
        &["restore", "--force", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(dump(&source_db).await, before);
    source_db.close().await;
}

#[tokio::test]
async fn the_server_takes_backups_on_its_schedule_and_keeps_the_newest() {
    let app = spawn_app_with(|raw| {
        raw.backup.backup_every = Some("1s".into());
        raw.backup.backup_keep = "2".into();
    })
    .await;
    let dir = app.settings.data_dir.join("backups");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = HashSet::new();
    loop {
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let backups: Vec<&String> = names.iter().filter(|n| n.ends_with(".backup")).collect();
        assert!(backups.len() <= 2, "retention keeps two: {names:?}");
        seen.extend(backups.into_iter().cloned());
        if seen.len() >= 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "four backups in 30 s at one a second: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    // The recorder is shared by every app of the test process, so gauges may be another app's;
    // only scheduled backups count into this counter, and only this test schedules any.
    let taken = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ringup_backups_total{result=\"ok\"} "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_default();
    assert!(taken >= 4.0, "the backups are counted: {taken}");
    assert!(
        metrics.contains("ringup_backup_last_success_timestamp_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ringup_backup_interval_seconds"),
        "{metrics}"
    );
}
