//! The writer with both kinds of writes, on a real SQLite file.

use chrono::Utc;

use crate::platform::db::{DatabaseUrl, Db, DbOptions};
use crate::platform::error::StoreError;
use crate::platform::outbox;
use crate::platform::sql::{Sql, stmt};
use crate::platform::tx::Tx;

async fn scratch() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::sqlite_file(&dir.path().join("w.db")).unwrap();
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (dir, db)
}

async fn events(db: &Db) -> Vec<String> {
    let page = outbox::list(db, None, 100).await.unwrap();
    page.items.into_iter().map(|e| e.event_type).collect()
}

/// Writes of both kinds queued together: each batch takes one kind, every write gets its
/// own answer, and only the discarded one leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_and_pooled_writes_interleave_and_a_dropped_one_undoes_only_itself() {
    let (_dir, db) = scratch().await;
    let mut tasks = Vec::new();
    for (i, (direct, keep)) in [
        (true, true),
        (false, true),
        (true, false),
        (true, true),
        (false, false),
        (false, true),
    ]
    .into_iter()
    .enumerate()
    {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{i}");
            if direct {
                let mut tx = db.begin_direct().await?;
                outbox::append_json(&mut tx, &name, None, "{}", Utc::now()).await?;
                if keep {
                    tx.commit().await?;
                }
            } else {
                let mut tx = db.begin_write().await?;
                outbox::append_json(&mut tx, &name, None, "{}", Utc::now()).await?;
                if keep {
                    tx.commit().await?;
                }
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut seen = events(&db).await;
    seen.sort();
    assert_eq!(seen, ["w0", "w1", "w3", "w5"]);
}

/// A failed statement on the writer's own connection is the same store error as on the
/// pooled one, and the write can still keep what it did before it.
#[tokio::test]
async fn a_refused_statement_leaves_the_direct_write_usable() {
    let (_dir, db) = scratch().await;
    let mut tx = db.begin_direct().await.unwrap();
    let key = |k: &str| {
        stmt(
            "insert into idempotency_keys (scope, idempotency_key, request_hash, expires_at, \
             created_at, updated_at) values ('s', $1, 'h', 'x', 'x', 'x')",
        )
        .bind(k)
    };
    tx.run(key("a")).await.unwrap();
    let err = tx.run(key("a")).await.unwrap_err();
    assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err:?}");
    tx.run(key("b")).await.unwrap();
    tx.commit().await.unwrap();
    let mut read = db.read_conn().await.unwrap();
    let n = Sql::row(
        &mut *read,
        stmt("select count(*) as n from idempotency_keys"),
    )
    .await
    .unwrap()
    .int("n")
    .unwrap();
    assert_eq!(n, 2);
}
