//! The shared write tail against a real SQLite database: a fresh key commits the effect, its
//! events and its reply together; the same key and request replays the reply with no second
//! effect; the same key with another request is refused; a write dropped before `finish`
//! leaves nothing, not even the key. An anonymous write (nobody signed in) commits its events
//! with no actor unless the operation names one, and rolls back when dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use ringup_app::write::{
    AnonymousRequest, AnonymousWrite, Begun, Effects, Idempotency, Origin, Shown, Write,
    WriteError, WriteRequest,
};
use ringup_app::{Actor, ActorKind, Written};
use ringup_core::ids::UserId;
use ringup_core::users::Role;
use ringup_store::audit::{self, Verification};
use ringup_store::{DatabaseUrl, Db, DbOptions};

async fn database(dir: &std::path::Path) -> Db {
    let url = DatabaseUrl::sqlite_file(&dir.join("tail.db")).unwrap();
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
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
        .event("test.happened", &shown)
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
