//! The shared write tail against a real SQLite database: a fresh key commits the effect, its
//! events and its reply together; the same key and request replays the reply with no second
//! effect; the same key with another request is refused; a write dropped before `finish`
//! leaves nothing, not even the key. An anonymous write (nobody signed in) commits its events
//! with no actor unless the operation names one, and rolls back when dropped.
//!
//! A write that meets a locked database (another connection holds the file's write lock, as
//! another process would, and the app waits for no lock) runs again until the lock is gone, at
//! most `RETRIES` more times, keeping nothing of the failed attempts; a refusal (a unique
//! violation) runs once. `create_tax_class` stands for the operations, which all run so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use ringup_app::catalog::CatalogError;
use ringup_app::catalog::tax_classes::create_tax_class;
use ringup_app::write::{
    AnonymousRequest, AnonymousWrite, Begun, Effects, Idempotency, Origin, RETRIES, Shown,
    ViewError, Write, WriteError, WriteRequest, retrying,
};
use ringup_app::{Actor, ActorKind, Written};
use ringup_core::ids::UserId;
use ringup_core::rate::RateBp;
use ringup_core::users::Role;
use ringup_store::audit::{self, Verification};
use ringup_store::catalog::tax_classes::TaxClassRow;
use ringup_store::{DatabaseUrl, Db, DbOptions, StoreError};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tempfile::TempDir;
use tokio::sync::Mutex;

const FILE: &str = "tail.db";

async fn database(dir: &std::path::Path) -> Db {
    database_with(dir, &DbOptions::default()).await
}

async fn database_with(dir: &std::path::Path, options: &DbOptions) -> Db {
    let url = DatabaseUrl::sqlite_file(&dir.join(FILE)).unwrap();
    let db = Db::connect(&url, options).await.unwrap();
    db.migrate().await.unwrap();
    db
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let mut conn = db.read_conn().await.unwrap();
    sqlx_count(&mut conn, sql).await
}

async fn sqlx_count(conn: &mut ringup_store::Conn, sql: &'static str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
}

/// One write: an outbox event and an audit event, replying `{"n": n}`.
async fn write_once(
    db: &Db,
    actor: &Actor,
    key: Option<Idempotency<'_>>,
    n: i64,
) -> Result<Written<i64>, WriteError> {
    let origin = Origin::default();
    let request = WriteRequest {
        actor,
        at: Utc::now(),
        origin: &origin,
        idempotency: key,
    };
    let write = match Write::begin(db, request).await? {
        Begun::Fresh(write) => write,
        Begun::Replayed(reply) => return Ok(Written::Replayed(reply)),
    };
    let shown = Shown::json(&serde_json::json!({ "n": n })).unwrap();
    let effects = Effects::new()
        .event("test.happened", None, &shown)
        .audit(write.audit_event("test.happened", None).on("test", n));
    write.finish(n, effects, 201, shown).await
}

fn cashier() -> Actor {
    Actor {
        kind: ActorKind::User(UserId::new()),
        role: Role::Cashier,
        store_ids: vec![],
    }
}

#[tokio::test]
async fn a_key_commits_once_and_replays_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let actor = cashier();
    let key = Idempotency {
        key: "k-1",
        request_hash: "h-1",
    };
    let first = write_once(&db, &actor, Some(key), 1).await.unwrap();
    let Written::Fresh { outcome, reply } = first else {
        panic!("a new key must run the write");
    };
    assert_eq!(
        (outcome, reply.status, reply.body.as_str()),
        (1, 201, r#"{"n":1}"#)
    );

    // The same key and request: the first reply, and the work does not run again.
    let second = write_once(&db, &actor, Some(key), 2).await.unwrap();
    let Written::Replayed(replayed) = second else {
        panic!("a used key must replay");
    };
    assert_eq!(replayed, reply);
    let events = "select count(*) as n from outbox_events where event_type = 'test.happened'";
    assert_eq!(count(&db, events).await, 1);
    assert!(matches!(
        audit::verify(&db).await.unwrap(),
        Verification::Ok { checked: 1 }
    ));

    // The same key with another request is refused, and changes nothing.
    let other = Idempotency {
        key: "k-1",
        request_hash: "h-2",
    };
    let refused = write_once(&db, &actor, Some(other), 3).await;
    assert!(matches!(refused, Err(WriteError::KeyReused)), "{refused:?}");
    // Keys belong to their actor: another caller's `k-1` is a fresh key.
    let stranger = cashier();
    let theirs = write_once(&db, &stranger, Some(other), 4).await.unwrap();
    assert!(matches!(theirs, Written::Fresh { outcome: 4, .. }));
    assert_eq!(count(&db, events).await, 2);
}

#[tokio::test]
async fn a_write_dropped_before_finish_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let actor = cashier();
    let key = Idempotency {
        key: "k-dropped",
        request_hash: "h",
    };
    let origin = Origin::default();
    let request = WriteRequest {
        actor: &actor,
        at: Utc::now(),
        origin: &origin,
        idempotency: Some(key),
    };
    match Write::begin(&db, request).await.unwrap() {
        // A refusal after the claim: the operation returns early and the write is dropped.
        Begun::Fresh(write) => drop(write),
        Begun::Replayed(_) => panic!("a new key must not replay"),
    }
    let keys = "select count(*) as n from idempotency_keys";
    assert_eq!(count(&db, keys).await, 0);
    // So the key is free for the request that fixes the problem.
    let retried = write_once(&db, &actor, Some(key), 7).await.unwrap();
    assert!(matches!(retried, Written::Fresh { outcome: 7, .. }));
    assert_eq!(count(&db, keys).await, 1);
}

#[tokio::test]
async fn an_anonymous_write_records_by_nobody_until_told_and_rolls_back_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let origin = Origin {
        ip: Some("192.0.2.7".into()),
        user_agent: Some("tests".into()),
        request_id: Some("req-1".into()),
    };
    let request = AnonymousRequest {
        at: Utc::now(),
        origin: &origin,
    };
    let write = AnonymousWrite::begin(&db, request).await.unwrap();
    let nobody = write.audit_event("test.failed", None);
    let someone = write.audit_event("test.happened", None).by("u-1");
    assert_eq!(
        (nobody.actor_id.as_deref(), nobody.ip.as_deref()),
        (None, Some("192.0.2.7"))
    );
    assert_eq!(someone.actor_id.as_deref(), Some("u-1"));
    write
        .commit(Effects::new().audit(nobody).audit(someone))
        .await
        .unwrap();
    let events = "select count(*) as n from audit_events";
    assert_eq!(count(&db, events).await, 2);

    let dropped = AnonymousWrite::begin(&db, request).await.unwrap();
    let event = dropped.audit_event("test.dropped", None);
    drop((dropped, event));
    assert_eq!(count(&db, events).await, 2);
    assert!(matches!(
        audit::verify(&db).await.unwrap(),
        Verification::Ok { checked: 2 }
    ));
}

/// A database whose writes wait for no lock, and another connection to its file holding the
/// file's write lock until it is dropped or [`release`]d.
async fn locked_database() -> (TempDir, Db, SqliteConnection) {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        busy_timeout: Duration::ZERO,
        ..DbOptions::default()
    };
    let db = database_with(dir.path(), &options).await;
    let lock = SqliteConnectOptions::new()
        .filename(dir.path().join(FILE))
        .busy_timeout(Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&lock).await.unwrap();
    sqlx::query("begin immediate")
        .execute(&mut conn)
        .await
        .unwrap();
    (dir, db, conn)
}

async fn release(mut conn: SqliteConnection) {
    sqlx::query("rollback").execute(&mut conn).await.unwrap();
}

/// Runs `write_once` through `retrying` on a locked database whose lock is released as
/// attempt number `release_on` starts; answers the outcome and how many times it ran.
async fn retried_while_locked(
    release_on: u32,
) -> (Result<Written<i64>, WriteError>, u32, TempDir, Db) {
    let (dir, db, conn) = locked_database().await;
    let actor = cashier();
    let held = Mutex::new(Some(conn));
    let calls = AtomicU32::new(0);
    let outcome = retrying("test.write", false, || async {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call == release_on
            && let Some(conn) = held.lock().await.take()
        {
            release(conn).await;
        }
        write_once(&db, &actor, None, i64::from(call)).await
    })
    .await;
    if let Some(conn) = held.lock().await.take() {
        release(conn).await;
    }
    (outcome, calls.load(Ordering::SeqCst), dir, db)
}

const EVENTS: &str = "select count(*) as n from outbox_events where event_type = 'test.happened'";

#[tokio::test]
async fn a_write_that_meets_a_locked_database_runs_again_until_it_commits() {
    // Locked for the first two attempts; the third finds the file free.
    let (outcome, calls, _dir, db) = retried_while_locked(3).await;
    assert!(
        matches!(outcome, Ok(Written::Fresh { outcome: 3, .. })),
        "{outcome:?}"
    );
    assert_eq!(calls, 3);
    assert_eq!(count(&db, EVENTS).await, 1);
}

#[tokio::test]
async fn a_write_on_a_database_locked_throughout_stops_after_the_last_retry() {
    let (outcome, calls, _dir, db) = retried_while_locked(u32::MAX).await;
    let Err(WriteError::Store(err)) = outcome else {
        panic!("a locked database must fail the write: {outcome:?}");
    };
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(calls, RETRIES + 1);
    assert_eq!(count(&db, EVENTS).await, 0);
}

/// Counts `ringup_write_retries_total` on the thread it is set for: a test on the
/// current-thread runtime sees every retry of the operations it runs.
#[derive(Default)]
struct Retries(Arc<AtomicU64>);

struct Increments(Arc<AtomicU64>);

impl CounterFn for Increments {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }

    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::SeqCst);
    }
}

impl metrics::Recorder for Retries {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == "ringup_write_retries_total" {
            Counter::from_arc(Arc::new(Increments(self.0.clone())))
        } else {
            Counter::noop()
        }
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn nothing(_: &TaxClassRow) -> Result<Shown, ViewError> {
    Ok(Shown::nothing())
}

#[tokio::test]
async fn an_operation_runs_again_on_a_locked_database_but_not_on_a_refusal() {
    let (_dir, db, conn) = locked_database().await;
    let actor = cashier();
    let origin = Origin::default();
    let request = WriteRequest {
        actor: &actor,
        at: Utc::now(),
        origin: &origin,
        idempotency: None,
    };
    let rate = RateBp::new(1600).unwrap();
    let retries = Retries::default();
    let _counting = metrics::set_default_local_recorder(&retries);
    let retried = || retries.0.load(Ordering::SeqCst);

    let locked = create_tax_class(&db, request, "VAT".to_owned(), rate, nothing).await;
    let Err(CatalogError::Write(WriteError::Store(err))) = locked else {
        panic!("a locked database must fail the operation: {locked:?}");
    };
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(retried(), u64::from(RETRIES));
    release(conn).await;

    create_tax_class(&db, request, "VAT".to_owned(), rate, nothing)
        .await
        .unwrap();
    let taken = create_tax_class(&db, request, "VAT".to_owned(), rate, nothing).await;
    assert!(
        matches!(
            taken,
            Err(CatalogError::Write(WriteError::Store(
                StoreError::UniqueViolation { .. }
            )))
        ),
        "{taken:?}"
    );
    // Neither the write that committed nor the refused one ran again.
    assert_eq!(retried(), u64::from(RETRIES));
    let classes = "select count(*) as n from tax_classes";
    assert_eq!(count(&db, classes).await, 1);
}
