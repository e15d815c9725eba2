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

/// What a test write does on the writer: keep its event, drop it with an error, finish without
/// ending its transaction, or panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Keep,
    Refuse,
    Panic,
}

async fn run_write(db: &Db, name: String, ending: Ending) -> Result<String, StoreError> {
    db.write_direct(move |mut tx| async move {
        outbox::append_json(&mut tx, &name, None, "{}", Utc::now()).await?;
        match ending {
            Ending::Keep => {
                tx.commit().await?;
                Ok(name)
            }
            Ending::Refuse => Err(StoreError::NotFound),
            Ending::Panic => panic!("a bug in a write"),
        }
    })
    .await
}

/// Writes the writer runs itself, queued together with leased ones: each gets its own answer
/// once its batch committed; a refused one and one that panicked undo only themselves, and the
/// writer goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_leases_share_batches_and_a_failed_run_undoes_only_itself() {
    let (_dir, db) = scratch().await;
    let endings = [
        Some(Ending::Keep),
        None,
        Some(Ending::Refuse),
        Some(Ending::Keep),
        Some(Ending::Panic),
        Some(Ending::Keep),
        None,
    ];
    let mut tasks = Vec::new();
    for (i, ending) in endings.into_iter().enumerate() {
        let db = db.clone();
        let name = format!("r{i}");
        tasks.push(tokio::spawn(async move {
            match ending {
                Some(ending) => run_write(&db, name, ending).await.map(|_| ()),
                None => {
                    let mut tx = db.begin_direct().await?;
                    outbox::append_json(&mut tx, &name, None, "{}", Utc::now()).await?;
                    tx.commit().await
                }
            }
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    for (i, answer) in answers.iter().enumerate() {
        match i {
            2 => assert!(matches!(answer, Err(StoreError::NotFound)), "{answer:?}"),
            4 => assert!(
                matches!(answer, Err(StoreError::Unavailable(_))),
                "{answer:?}"
            ),
            _ => assert!(answer.is_ok(), "write {i}: {answer:?}"),
        }
    }
    let mut seen = events(&db).await;
    seen.sort();
    assert_eq!(seen, ["r0", "r1", "r3", "r5", "r6"]);
    let after = run_write(&db, "after".to_owned(), Ending::Keep).await;
    assert_eq!(after.ok().as_deref(), Some("after"));
}

/// A write that keeps its work is answered only once its batch committed: what it returns is
/// already visible to a reader when the caller hears of it, and the relay's signal, raised by
/// the writer after the commit, is waiting.
#[tokio::test]
async fn a_run_is_answered_after_its_commit_and_raises_the_signal_after_it() {
    let (_dir, db) = scratch().await;
    let signal = db.events_signal().clone();
    let raise = signal.clone();
    let kept = db
        .write_direct(move |mut tx| async move {
            outbox::append_json(&mut tx, "raised", None, "{}", Utc::now()).await?;
            tx.commit_raising(Some(&raise)).await?;
            Ok::<_, StoreError>(())
        })
        .await;
    assert!(kept.is_ok(), "{kept:?}");
    assert_eq!(events(&db).await, ["raised"]);
    tokio::time::timeout(std::time::Duration::from_secs(1), signal.notified())
        .await
        .expect("the signal was raised");
}
