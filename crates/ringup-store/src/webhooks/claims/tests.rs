//! The claim's queries on a real database (SQLite, or PostgreSQL when
//! `RINGUP_TEST_DATABASE_URL` names a server): they start from the lanes, however long the
//! delivery log behind them grows, and keep each lane's floor under its head.

use chrono::{Duration, TimeZone, Utc};
use sqlx::{Connection, Executor, PgConnection};

use super::{Room, any_claimable, any_claimable_sql, claim, claim_sql, next_run_sql};
use crate::platform::db::{DatabaseUrl, Db, DbOptions, Engine};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;
use crate::webhooks::deliveries::{self, NewDelivery};

/// Attempts already sent per endpoint: the log a claim must not read. As many as it took
/// PostgreSQL, with the statistics of a fresh database, to hash-join every attempt of each
/// endpoint against the heads.
const SENT: i64 = 8_000;

const AT: &str = "2026-01-01T00:00:00.000000Z";

/// A fresh database on the engine the suite runs on; a PostgreSQL one is dropped by
/// [`TestDb::drop_now`].
struct TestDb {
    _dir: tempfile::TempDir,
    db: Db,
    /// The server's URL and the database's name, on PostgreSQL.
    postgres: Option<(String, String)>,
}

impl TestDb {
    async fn create() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let server = std::env::var("RINGUP_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let (url, postgres) = match server {
            Some(server) => {
                let admin = DatabaseUrl::parse(&server).unwrap();
                let name = format!("ringup_t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::connect(admin.expose()).await.unwrap();
                conn.execute(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
                    .await
                    .unwrap();
                let _ = conn.close().await;
                (
                    admin.with_database(&name),
                    Some((admin.expose().to_owned(), name)),
                )
            }
            None => (
                DatabaseUrl::sqlite_file(&dir.path().join("c.db")).unwrap(),
                None,
            ),
        };
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        TestDb {
            _dir: dir,
            db,
            postgres,
        }
    }

    fn engine(&self) -> Engine {
        self.db.engine()
    }

    async fn drop_now(self) {
        self.db.close().await;
        if let Some((server, name)) = self.postgres {
            let mut conn = PgConnection::connect(&server).await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!(
                "drop database if exists \"{name}\" with (force)"
            )))
            .await
            .unwrap();
            let _ = conn.close().await;
        }
    }
}

/// Two endpoints, each with one lane `s1` of `SENT` sent attempts and a pending head leased
/// until `leased`, its floor at the head (where a claim leaves it). The attempts are sent as
/// their outbox events (no body of their own). As in a fresh database, the statistics are
/// taken before the log is written, and the sent attempts were pending first (on PostgreSQL
/// they keep their entries in the pending index until a vacuum).
async fn log_with_leased_heads(leased: &str) -> TestDb {
    let t = TestDb::create().await;
    let mut tx = t.db.begin_write().await.unwrap();
    for webhook in ["w1", "w2"] {
        add_webhook(&mut *tx, webhook).await;
    }
    tx.commit().await.unwrap();
    if t.engine() == Engine::Postgres {
        let mut tx = t.db.begin_write().await.unwrap();
        tx.run(stmt("analyze")).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = t.db.begin_write().await.unwrap();
    tx.run(
        stmt(
            "with recursive s(p) as (select 1 union all select p + 1 from s where p <= $1) \
             insert into outbox_events (id, event_type, payload, created_at, delivered_at, \
             store_id, position) select 'e' || cast(p as text), 'sale.completed', '{}', $2, \
             $2, 's1', p from s",
        )
        .bind(SENT)
        .bind(AT),
    )
    .await
    .unwrap();
    for webhook in ["w1", "w2"] {
        tx.run(
            stmt(
                "with recursive s(p) as (select 1 union all select p + 1 from s where p <= $2) \
                 insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
                 position, body, attempt, status, created_at, next_attempt_at, \
                 first_attempt_at, updated_at) select cast($1 as text) || '-' || \
                 cast(100000 + p as text), $1, 'e' || cast(p as text), 'sale.completed', 's1', \
                 p, null, 1, 'pending', $3, $3, $3, $3 from s",
            )
            .bind(webhook)
            .bind(SENT)
            .bind(AT),
        )
        .await
        .unwrap();
        tx.run(
            stmt("insert into webhook_lanes (webhook_id, lane, floor) values ($1, 's1', $2)")
                .bind(webhook)
                .bind(SENT + 1),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = t.db.begin_write().await.unwrap();
    tx.run(
        stmt("update webhook_deliveries set status = 'succeeded' where position <= $1").bind(SENT),
    )
    .await
    .unwrap();
    tx.run(
        stmt("update webhook_deliveries set lease_until = $1 where status = 'pending'")
            .bind(leased),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    t
}

/// An enabled endpoint `id` with its circuit closed.
async fn add_webhook(tx: &mut impl Sql, id: &str) {
    tx.run(
        stmt(
            "insert into webhooks (id, url, events, store_ids, description, enabled, secret, \
             consecutive_failures, circuit, created_at, updated_at) values \
             ($1, 'http://127.0.0.1:9/', '[]', '[]', '', 1, 'whsec_x', 0, 'closed', $2, $2)",
        )
        .bind(id)
        .bind(AT),
    )
    .await
    .unwrap();
}

fn head_id(webhook: &str) -> String {
    format!("{webhook}-{}", 100_000 + SENT + 1)
}

/// A value bound to a query whose plan is read.
#[derive(Clone, Copy)]
enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

/// The engine's plan of `sql` with `binds`, one line per step.
async fn plan(t: &TestDb, sql: &str, binds: &[Bind<'_>]) -> Vec<String> {
    let (explain, column) = match t.engine() {
        Engine::Sqlite => ("explain query plan", "detail"),
        Engine::Postgres => ("explain", "QUERY PLAN"),
    };
    let mut query = stmt(format!("{explain} {sql}"));
    for value in binds {
        query = match *value {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    let mut conn = t.db.read_conn().await.unwrap();
    Sql::rows(&mut *conn, query)
        .await
        .unwrap()
        .iter()
        .map(|row| row.text(column).unwrap().trim().to_owned())
        .collect()
}

/// Each claim query goes from the lanes to each one's head by the pending index, from the
/// floor on, and reads the head's attempt by its id: no step reads the attempts (`d`) any
/// other way. SQLite 3.51, left to itself, scanned every attempt of the log and probed the
/// heads for each; PostgreSQL hash-joined the heads against every attempt of each endpoint
/// (20–40 ms a look in the checkout bench).
#[tokio::test]
async fn every_claim_query_finds_each_lanes_head_by_index_without_reading_the_log() {
    let t = log_with_leased_heads("2026-01-01T00:01:00.000000Z").await;
    let now = Bind::Text("2026-01-01T00:00:30.000000Z");
    let (limit, floor) = (Bind::Int(64), Bind::Int(SENT + 1));
    for (name, sql, binds) in [
        ("any_claimable", any_claimable_sql(t.engine()), vec![now]),
        ("claim", claim_sql(t.engine(), 0), vec![now, limit]),
        (
            "claim, one busy",
            claim_sql(t.engine(), 1),
            vec![now, limit, Bind::Text("w2")],
        ),
        (
            "next_run",
            next_run_sql(t.engine()),
            vec![now, Bind::Text("w1"), Bind::Text("s1"), floor],
        ),
    ] {
        let steps = plan(&t, &sql, &binds).await;
        match t.engine() {
            Engine::Sqlite => {
                assert!(
                    steps
                        .iter()
                        .all(|s| !(s == "SCAN d" || s.starts_with("SCAN d "))),
                    "{name} scans the attempts: {steps:#?}"
                );
                assert!(
                    steps
                        .iter()
                        .any(|s| s.starts_with("SEARCH d USING INDEX") && s.ends_with("(id=?)")),
                    "{name} does not read the heads' attempts by id: {steps:#?}"
                );
                assert!(
                    steps.iter().any(|s| s
                        == "SEARCH n USING INDEX webhook_deliveries_lane \
                            (webhook_id=? AND lane=? AND position>?)"),
                    "{name} does not look each head up from its lane's floor: {steps:#?}"
                );
            }
            Engine::Postgres => {
                let bad = [
                    "Seq Scan on webhook_deliveries",
                    "Seq Scan on outbox_events",
                    "Bitmap Heap Scan on webhook_deliveries",
                    "Hash Join",
                    "Merge Join",
                ];
                assert!(
                    steps.iter().all(|s| !bad.iter().any(|b| s.contains(b))),
                    "{name} reads the attempts other than by key: {steps:#?}"
                );
                assert!(
                    steps.iter().any(|s| s.contains(
                        "Index Scan using webhook_deliveries_pkey on webhook_deliveries d"
                    )),
                    "{name} does not read the heads' attempts by id: {steps:#?}"
                );
                assert!(
                    steps
                        .iter()
                        .any(|s| s.starts_with("Index Cond: ((webhook_id = ")
                            && s.contains("(lane = ")
                            && s.contains("(\"position\" >= ")),
                    "{name} does not look each head up from its lane's floor: {steps:#?}"
                );
            }
        }
    }
    t.drop_now().await;
}

/// The queries still answer what they did: nothing while the heads are leased, both heads
/// once the lease ran out.
#[tokio::test]
async fn leased_heads_are_not_claimable_until_their_lease_runs_out() {
    let leased = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
    let t = log_with_leased_heads(&time::to_db(leased)).await;
    assert!(
        !any_claimable(&t.db, leased - Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(any_claimable(&t.db, leased).await.unwrap());
    let mut conn = t.db.read_conn().await.unwrap();
    let heads = Sql::rows(
        &mut *conn,
        stmt(claim_sql(t.engine(), 0))
            .bind(time::to_db(leased))
            .bind(64_i64),
    )
    .await
    .unwrap();
    drop(conn);
    let mut ids: Vec<String> = heads.iter().map(|r| r.text("id").unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![head_id("w1"), head_id("w2")]);
    t.drop_now().await;
}

fn room() -> Room {
    Room {
        limit: 64,
        per_endpoint: 4,
        in_flight: Default::default(),
        lanes_in_flight: Default::default(),
        run_length: 3,
    }
}

async fn floor_of(db: &Db, webhook: &str, lane: &str) -> Option<i64> {
    let mut conn = db.read_conn().await.unwrap();
    Sql::optional_row(
        &mut *conn,
        stmt("select floor from webhook_lanes where webhook_id = $1 and lane = $2")
            .bind(webhook)
            .bind(lane),
    )
    .await
    .unwrap()
    .map(|row| row.int("floor").unwrap())
}

fn delivery(webhook: &str, lane: &str, position: i64) -> NewDelivery {
    NewDelivery {
        id: format!("{webhook}-{lane}-{position}"),
        webhook_id: webhook.to_owned(),
        event_id: format!("e{position}"),
        event_type: "sale.completed".to_owned(),
        lane: lane.to_owned(),
        position,
        body: Some("{}".to_owned()),
    }
}

/// A lane is made with its first attempt's position as its floor, a claim raises the floor to
/// the head it takes (never past an attempt still pending), new attempts leave a made lane's
/// floor alone, and the claim after a sent run finds the lane's next head from there.
#[tokio::test]
async fn a_lanes_floor_follows_its_head_and_never_passes_a_pending_attempt() {
    let t = TestDb::create().await;
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut tx = t.db.begin_write().await.unwrap();
    add_webhook(&mut *tx, "w1").await;
    let first: Vec<NewDelivery> = (5..=9).map(|p| delivery("w1", "s1", p)).collect();
    deliveries::insert_first(&mut *tx, &first, at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(floor_of(&t.db, "w1", "s1").await, Some(5));

    // The first run (3 attempts from the head) leaves the floor at its head; a lane already
    // at its head is not written again.
    let lease = at + Duration::seconds(30);
    let mut tx = t.db.begin_write().await.unwrap();
    let runs = claim(&mut *tx, t.engine(), at, lease, lease, room())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(runs.len(), 1);
    let positions: Vec<i64> = runs[0].attempts.iter().map(|a| a.position).collect();
    assert_eq!(positions, vec![5, 6, 7]);
    assert_eq!(floor_of(&t.db, "w1", "s1").await, Some(5));

    // Positions 5 and 6 got through; 7 failed and is retried at its position. More events
    // come; the made lane keeps its floor.
    let mut tx = t.db.begin_write().await.unwrap();
    tx.run(stmt(
        "update webhook_deliveries set status = 'succeeded', lease_until = null \
         where position in (5, 6)",
    ))
    .await
    .unwrap();
    tx.run(stmt(
        "update webhook_deliveries set status = 'failed', lease_until = null where position = 7",
    ))
    .await
    .unwrap();
    tx.run(
        stmt(
            "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
             position, body, attempt, status, created_at, next_attempt_at, first_attempt_at, \
             updated_at) values ('w1-s1-7-retry', 'w1', 'e7', 'sale.completed', 's1', 7, \
             '{}', 2, 'pending', $1, $1, $1, $1)",
        )
        .bind(AT),
    )
    .await
    .unwrap();
    deliveries::insert_first(&mut *tx, &[delivery("w1", "s1", 10)], at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(floor_of(&t.db, "w1", "s1").await, Some(5));

    // The next claim takes the retry first, in order, and raises the floor to it.
    let mut tx = t.db.begin_write().await.unwrap();
    let runs = claim(&mut *tx, t.engine(), at, lease, lease, room())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<&str> = runs[0].attempts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["w1-s1-7-retry", "w1-s1-8", "w1-s1-9"]);
    assert_eq!(floor_of(&t.db, "w1", "s1").await, Some(7));
    t.drop_now().await;
}

/// The hourly purge drops the lanes of test events and redeliveries that have ended, keeps
/// those still pending, and never a store's lane, which the relay may be adding to unseen.
#[tokio::test]
async fn only_ended_lanes_of_one_event_are_purged() {
    let t = TestDb::create().await;
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut tx = t.db.begin_write().await.unwrap();
    add_webhook(&mut *tx, "w1").await;
    let ended = deliveries::test_lane("t1");
    let pending = deliveries::test_lane("t2");
    let new = [
        delivery("w1", "s1", 1),
        delivery("w1", &ended, 0),
        delivery("w1", &pending, 0),
    ];
    deliveries::insert_first(&mut *tx, &new, at).await.unwrap();
    tx.run(
        stmt("update webhook_deliveries set status = 'succeeded' where lane <> $1")
            .bind(pending.as_str()),
    )
    .await
    .unwrap();
    assert!(
        deliveries::redeliver(&mut *tx, "w1", "e1", "r1", at)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(floor_of(&t.db, "w1", "redelivery:r1").await, Some(0));

    let mut tx = t.db.begin_write().await.unwrap();
    assert_eq!(deliveries::purge_lanes(&mut *tx).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert_eq!(floor_of(&t.db, "w1", &ended).await, None);
    assert_eq!(floor_of(&t.db, "w1", &pending).await, Some(0));
    assert_eq!(floor_of(&t.db, "w1", "redelivery:r1").await, Some(0));
    assert_eq!(floor_of(&t.db, "w1", "s1").await, Some(1));
    t.drop_now().await;
}

/// On PostgreSQL the claim queries are planned on every run, with the tables' present size,
/// never kept prepared on the connection (whose plan, made while the tables were empty, read
/// them with sequential scans for as long as the connection lived). A statement of the same
/// text run the default way is kept: the view this reads does show it.
#[tokio::test]
async fn claim_queries_are_not_kept_prepared_on_postgres() {
    let t = TestDb::create().await;
    if t.engine() != Engine::Postgres {
        t.drop_now().await;
        return;
    }
    let sql = any_claimable_sql(t.engine());
    let kept = "select count(*) as n from pg_prepared_statements where statement like $1";
    let pattern = "%cross join webhook_lanes%";
    let mut conn = t.db.read_conn().await.unwrap();
    for _ in 0..8 {
        Sql::rows(&mut *conn, super::planned(t.engine(), sql.clone()).bind(AT))
            .await
            .unwrap();
    }
    let n = Sql::row(&mut *conn, stmt(kept).bind(pattern))
        .await
        .unwrap()
        .int("n")
        .unwrap();
    assert_eq!(n, 0, "the claim query is kept prepared");
    Sql::rows(&mut *conn, stmt(sql).bind(AT)).await.unwrap();
    let n = Sql::row(&mut *conn, stmt(kept).bind(pattern))
        .await
        .unwrap()
        .int("n")
        .unwrap();
    assert_eq!(
        n, 1,
        "a prepared statement should show in pg_prepared_statements"
    );
    drop(conn);
    t.drop_now().await;
}
