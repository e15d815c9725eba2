//! Storage-layer tests on the engine under test (SQLite, or PostgreSQL when
//! `RINGUP_TEST_DATABASE_URL` is set): migrations in step across engines, and concurrent
//! writers that never see "database is locked" and never lose an update.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use ringup_store::{Db, DbOptions, Durability, Engine};
use ringup_testkit::{TEST_DATABASE_URL, TestDatabase};
use sqlx::Row;

async fn fresh_db(dir: &std::path::Path) -> (TestDatabase, Db) {
    let database = TestDatabase::create(dir).await;
    let db = Db::connect(database.url(), &DbOptions::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    (database, db)
}

async fn sqlite_db(dir: &std::path::Path) -> Db {
    let url = ringup_store::DatabaseUrl::sqlite_file(&dir.join("parity.db")).unwrap();
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Table → sorted column names, as the engine reports them.
async fn schema_of(db: &Db) -> BTreeMap<String, Vec<String>> {
    let sql = match db.engine() {
        Engine::Sqlite => {
            "select m.name as table_name, p.name as column_name \
             from sqlite_master m join pragma_table_info(m.name) p \
             where m.type = 'table' and m.name not like 'sqlite_%' and m.name <> '_sqlx_migrations'"
        }
        Engine::Postgres => {
            "select table_name::text as table_name, column_name::text as column_name \
             from information_schema.columns \
             where table_schema = 'public' and table_name <> '_sqlx_migrations'"
        }
    };
    let mut schema: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sqlx::query(sql).fetch_all(db.reader()).await.unwrap() {
        let table: String = row.get("table_name");
        let column: String = row.get("column_name");
        schema.entry(table).or_default().push(column);
    }
    for columns in schema.values_mut() {
        columns.sort();
    }
    schema
}

#[test]
fn both_engines_have_the_same_migration_versions() {
    let sqlite = Db::migration_versions(Engine::Sqlite);
    let postgres = Db::migration_versions(Engine::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations must keep the same version list"
    );
}

#[tokio::test]
async fn both_engines_end_with_the_same_tables_and_columns() {
    if std::env::var(TEST_DATABASE_URL).is_err() {
        eprintln!("schema parity needs {TEST_DATABASE_URL}; .ci/run sets it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_pg_database, pg) = fresh_db(dir.path()).await;
    assert_eq!(pg.engine(), Engine::Postgres);
    let lite = sqlite_db(dir.path()).await;
    let (pg_schema, lite_schema) = (schema_of(&pg).await, schema_of(&lite).await);
    assert!(pg_schema.contains_key("app_meta"), "{pg_schema:?}");
    assert_eq!(pg_schema, lite_schema);
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let (_database, db) = fresh_db(dir.path()).await;
    db.migrate().await.unwrap();
    let first = ringup_store::platform::meta::record_initialised(&db)
        .await
        .unwrap();
    let again = ringup_store::platform::meta::record_initialised(&db)
        .await
        .unwrap();
    assert_eq!(first, again, "the first start is recorded once");
}

/// Many tasks increment one counter through read-modify-write transactions at once. Every
/// transaction must succeed (no "database is locked") and no increment may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_succeed_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_database, db) = fresh_db(dir.path()).await;
    ringup_store::platform::meta::put(&db, "counter", "0")
        .await
        .unwrap();
    const TASKS: usize = 32;
    const ROUNDS: usize = 10;
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let mut tx = db.begin_write().await.unwrap();
                // Read, then write what was read plus one: only correct if writers serialise
                // (SQLite: the single writer connection; PostgreSQL: `for update`).
                let lock = match db.engine() {
                    Engine::Sqlite => "select value from app_meta where key = 'counter'",
                    Engine::Postgres => {
                        "select value from app_meta where key = 'counter' for update"
                    }
                };
                let current: String = sqlx::query(lock).fetch_one(&mut *tx).await.unwrap().get(0);
                let next = current.parse::<i64>().unwrap() + 1;
                sqlx::query("update app_meta set value = $1 where key = 'counter'")
                    .bind(next.to_string())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let value = ringup_store::platform::meta::get(&db, "counter")
        .await
        .unwrap();
    assert_eq!(
        value.as_deref(),
        Some((TASKS * ROUNDS).to_string().as_str())
    );
}

#[tokio::test]
async fn sqlite_reads_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path()).await;
    let err = sqlx::query(
        "insert into app_meta (key, value, created_at, updated_at) values ('x','y','z','z')",
    )
    .execute(db.reader())
    .await
    .unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
}

#[tokio::test]
async fn sqlite_runs_wal_with_foreign_keys_and_a_writer_that_syncs_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path()).await;
    let foreign_keys: i64 = sqlx::query("pragma foreign_keys")
        .fetch_one(db.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(foreign_keys, 1);
    let mode: String = sqlx::query("pragma journal_mode")
        .fetch_one(db.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    // Writes are durable by default (FULL = 2); NORMAL (1) only when asked for.
    assert_eq!(writer_synchronous(&db).await, 2);
    let url = ringup_store::DatabaseUrl::sqlite_file(&dir.path().join("normal.db")).unwrap();
    let options = DbOptions {
        durability: Durability::Normal,
        ..DbOptions::default()
    };
    let normal = Db::connect(&url, &options).await.unwrap();
    assert_eq!(writer_synchronous(&normal).await, 1);
}

/// `pragma synchronous` as the writer's connection has it.
async fn writer_synchronous(db: &Db) -> i64 {
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("pragma synchronous")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0)
}

fn outbox_insert(id: &str) -> ringup_store::Stmt<'static> {
    ringup_store::stmt(
        "insert into outbox_events (id, event_type, payload, created_at, attempts) \
         values ($1, 'test.deferred', '{}', '2026-01-01T00:00:00.000000Z', 0)",
    )
    .bind(id)
}

async fn outbox_count(db: &Db, prefix: &str) -> i64 {
    let row = sqlx::query("select count(*) as n from outbox_events where id like $1")
        .bind(format!("{prefix}%"))
        .fetch_one(db.reader())
        .await
        .unwrap();
    row.get::<i64, _>("n")
}

/// Deferred statements (one statement on PostgreSQL, at once on SQLite's writer) are all
/// written, and a statement after them sees them.
#[tokio::test]
async fn deferred_statements_are_written_before_the_next_statement_and_the_commit() {
    use ringup_store::{Sql, Tx};
    let dir = tempfile::tempdir().unwrap();
    let (_database, db) = fresh_db(dir.path()).await;
    let mut tx = db.begin_direct().await.unwrap();
    for i in 0..3 {
        tx.defer(outbox_insert(&format!("seen-{i}"))).await.unwrap();
    }
    let seen = tx
        .row(
            ringup_store::stmt("select count(*) as n from outbox_events where id like $1")
                .bind("seen-%"),
        )
        .await
        .unwrap()
        .int("n")
        .unwrap();
    assert_eq!(seen, 3);
    tx.defer(outbox_insert("seen-3")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outbox_count(&db, "seen-").await, 4);
}

/// A deferred statement that fails fails the write (at the latest at its commit), and nothing
/// of the write is kept.
#[tokio::test]
async fn a_failing_deferred_statement_fails_the_write_and_keeps_nothing() {
    use ringup_store::{Sql, StoreError, Tx};
    let dir = tempfile::tempdir().unwrap();
    let (_database, db) = fresh_db(dir.path()).await;
    let mut tx = db.begin_direct().await.unwrap();
    let written = async {
        tx.defer(outbox_insert("dup-1")).await?;
        tx.defer(outbox_insert("dup-2")).await?;
        tx.defer(outbox_insert("dup-1")).await?;
        Ok::<_, StoreError>(())
    }
    .await;
    let result = match written {
        Ok(()) => tx.commit().await,
        Err(err) => {
            drop(tx);
            Err(err)
        }
    };
    assert!(
        matches!(result, Err(StoreError::UniqueViolation { .. })),
        "{result:?}"
    );
    assert_eq!(outbox_count(&db, "dup-").await, 0);
}

/// Audit links made by the database (PostgreSQL hashes a link in the statement that appends it)
/// and by the server (SQLite, and a chain's first link) hash alike: every shape of event —
/// absent and empty fields, multi-byte text, JSON details — on both write transactions, each
/// link checked against the core's `chain_hash` as it is made and the chains verified after.
#[tokio::test]
async fn audit_links_hash_alike_wherever_they_are_made() {
    use ringup_core::audit::chain_hash;
    use ringup_store::Tx;
    use ringup_store::audit::{self, NewAuditEvent, Verification};

    let dir = tempfile::tempdir().unwrap();
    let (_database, db) = fresh_db(dir.path()).await;
    let store = ringup_core::ids::StoreId::new();
    let shapes = [
        NewAuditEvent {
            at: "2026-12-07T10:00:00.000000Z".into(),
            action: "sale.completed".into(),
            ..NewAuditEvent::default()
        },
        NewAuditEvent {
            at: "2026-12-07T10:00:01.000000Z".into(),
            actor_id: Some(String::new()),
            action: "user.updated".into(),
            target_type: Some("user".into()),
            target_id: Some("Zoë — ☕ 東京".into()),
            store_id: Some(store),
            ip: Some("::1".into()),
            user_agent: Some("curl/8 \"quoted\" \\ back".into()),
            request_id: Some("req-1".into()),
            details: serde_json::json!({"name": "Ünïcödé 🍩", "n": 42, "nested": {"a": [1, 2]}}),
        },
        NewAuditEvent {
            at: "2026-12-07T10:00:02.000000Z".into(),
            actor_id: Some("user-1".into()),
            action: "x".repeat(300),
            store_id: Some(store),
            details: serde_json::json!({}),
            ..NewAuditEvent::default()
        },
    ];
    let mut made = Vec::new();
    for round in 0..2 {
        for event in &shapes {
            let record = if round == 0 {
                let mut tx = db.begin_write().await.unwrap();
                let record = audit::append(&mut tx, event).await.unwrap();
                Tx::commit(tx).await.unwrap();
                record
            } else {
                let mut tx = db.begin_direct().await.unwrap();
                let record = audit::append(&mut tx, event).await.unwrap();
                tx.commit().await.unwrap();
                record
            };
            assert_eq!(record.hash, chain_hash(&record), "{record:?}");
            made.push(record);
        }
    }
    // Each chain's links follow each other.
    for chain in ["global".to_owned(), store.to_string()] {
        let links: Vec<_> = made.iter().filter(|r| r.chain == chain).collect();
        assert_eq!(links.len(), if chain == "global" { 2 } else { 4 });
        for (i, pair) in links.windows(2).enumerate() {
            assert_eq!(pair[1].prev_hash, pair[0].hash, "{chain} link {}", i + 2);
            assert_eq!(pair[1].seq, pair[0].seq + 1);
        }
    }
    match audit::verify(&db).await.unwrap() {
        Verification::Ok { checked } => assert_eq!(checked, 6),
        other => panic!("the chains do not verify: {other:?}"),
    }
}
