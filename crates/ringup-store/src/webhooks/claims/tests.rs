//! The claim's queries on a real SQLite file: they start from the lanes' heads, however long
//! the delivery log behind them grows.

use chrono::{Duration, TimeZone, Utc};

use super::{any_claimable, any_claimable_sql, claim_sql, next_run_sql};
use crate::platform::db::{DatabaseUrl, Db, DbOptions, Engine};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

/// Attempts already sent per endpoint: the log a claim must not read.
const SENT: i64 = 400;

/// Two endpoints, each with `SENT` sent attempts and a pending head leased until `leased`.
async fn log_with_leased_heads(leased: &str) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::sqlite_file(&dir.path().join("c.db")).unwrap();
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    let at = "2026-01-01T00:00:00.000000Z";
    let mut tx = db.begin_write().await.unwrap();
    for webhook in ["w1", "w2"] {
        tx.run(
            stmt(
                "insert into webhooks (id, url, events, store_ids, description, enabled, \
                 secret, consecutive_failures, circuit, created_at, updated_at) values \
                 ($1, 'http://127.0.0.1:9/', '[]', '[]', '', 1, 'whsec_x', 0, 'closed', $2, $2)",
            )
            .bind(webhook)
            .bind(at),
        )
        .await
        .unwrap();
        for position in 1..=SENT + 1 {
            let pending = position > SENT;
            tx.run(
                stmt(
                    "insert into webhook_deliveries (id, webhook_id, event_id, event_type, \
                     lane, position, body, attempt, status, created_at, next_attempt_at, \
                     lease_until, first_attempt_at, updated_at) values ($1, $2, $3, \
                     'sale.completed', 's1', $4, '{}', 1, $5, $6, $6, $7, $6, $6)",
                )
                .bind(format!("{webhook}-{position:06}"))
                .bind(webhook)
                .bind(format!("e{position}"))
                .bind(position)
                .bind(if pending { "pending" } else { "succeeded" })
                .bind(at)
                .bind(pending.then_some(leased)),
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    (dir, db)
}

/// SQLite's plan of `sql` with `binds`, one line per step.
async fn plan(db: &Db, sql: &str, binds: &[&str]) -> Vec<String> {
    let mut query = stmt(format!("explain query plan {sql}"));
    for value in binds {
        query = query.bind(*value);
    }
    let mut conn = db.read_conn().await.unwrap();
    Sql::rows(&mut *conn, query)
        .await
        .unwrap()
        .iter()
        .map(|row| row.text("detail").unwrap())
        .collect()
}

/// Each claim query reads the heads first and finds each one's attempt by id: no step scans
/// the attempts (`d`) themselves. Before the heads were put first, SQLite 3.51 scanned every
/// attempt of the log and probed the heads for each, on every claim.
#[tokio::test]
async fn every_claim_query_finds_the_heads_attempts_by_id_without_scanning_the_log() {
    let (_dir, db) = log_with_leased_heads("2026-01-01T00:01:00.000000Z").await;
    let now = "2026-01-01T00:00:30.000000Z";
    for (name, sql, binds) in [
        ("any_claimable", any_claimable_sql(), vec![now]),
        ("claim", claim_sql(Engine::Sqlite, 0), vec![now, "64"]),
        (
            "claim, one busy",
            claim_sql(Engine::Sqlite, 1),
            vec![now, "64", "w2"],
        ),
        (
            "next_run",
            next_run_sql(Engine::Sqlite),
            vec![now, "w1", "s1"],
        ),
    ] {
        let steps = plan(&db, &sql, &binds).await;
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
            "{name} does not find the heads' attempts by id: {steps:#?}"
        );
    }
}

/// The queries still answer what they did: nothing while the heads are leased, both heads
/// once the lease ran out.
#[tokio::test]
async fn leased_heads_are_not_claimable_until_their_lease_runs_out() {
    let leased = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
    let (_dir, db) = log_with_leased_heads(&time::to_db(leased)).await;
    assert!(
        !any_claimable(&db, leased - Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(any_claimable(&db, leased).await.unwrap());
    let mut conn = db.read_conn().await.unwrap();
    let heads = Sql::rows(
        &mut *conn,
        stmt(claim_sql(Engine::Sqlite, 0))
            .bind(time::to_db(leased))
            .bind(64_i64),
    )
    .await
    .unwrap();
    let mut ids: Vec<String> = heads.iter().map(|r| r.text("id").unwrap()).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![format!("w1-{:06}", SENT + 1), format!("w2-{:06}", SENT + 1)]
    );
}
