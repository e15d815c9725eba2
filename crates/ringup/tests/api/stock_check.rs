//! `ringup check` (docs/ARCHITECTURE.md "Stock ledger"): the real binary against the test's
//! database passes on a consistent ledger, and after the ledger is tampered with exits
//! non-zero naming every offending level.

use std::path::Path;
use std::process::Stdio;

use ringup_testkit::TestApp;

use crate::stock::world;

/// `ringup check` against the test's database, with a clean environment.
pub(crate) async fn cli_check(app: &TestApp) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = app.settings.database_url.expose();
    let (code, text) = run_cli(url, &dir.path().join("data"), &["check"], &[]).await;
    (code == Some(0), text)
}

/// Runs the binary with `args` against `url`, with a clean environment plus `env`, in the
/// data directory's parent; answers its exit code and its output.
pub(crate) async fn run_cli(
    url: &str,
    data_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_ringup"))
        .current_dir(data_dir.parent().unwrap())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("RINGUP_DATA_DIR", data_dir)
        .env("RINGUP_LOG", "warn")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), run)
        .await
        .expect("ringup finishes within five minutes")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

async fn execute(app: &TestApp, sql: &str, a: &str, b: &str) {
    let mut tx = app.db.begin_write().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(a.to_owned())
        .bind(b.to_owned())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn check_passes_a_consistent_ledger_and_names_every_offender() {
    // Arrange
    let w = world().await;
    let (store, first, second) = (w.store, w.product(0).await, w.product(0).await);
    w.receive(store, &first, 5).await;
    w.receive(store, &second, 3).await;
    let store_text = store.to_string();

    // Act
    let (clean_ok, clean) = cli_check(&w.app).await;
    // A level edited behind the ledger's back, and a level that went negative in a store that
    // does not allow it (movement and level agree, so only the second rule finds it).
    execute(
        &w.app,
        "update stock_levels set on_hand = 7 where store_id = $1 and product_id = $2",
        &store_text,
        &first,
    )
    .await;
    execute(
        &w.app,
        "update stock_movements set delta = -4 where store_id = $1 and product_id = $2",
        &store_text,
        &second,
    )
    .await;
    execute(
        &w.app,
        "update stock_levels set on_hand = -4 where store_id = $1 and product_id = $2",
        &store_text,
        &second,
    )
    .await;
    let (broken_ok, broken) = cli_check(&w.app).await;

    // Assert
    assert!(clean_ok, "{clean}");
    assert!(clean.contains("ok: 2 stock levels"), "{clean}");
    assert!(!broken_ok, "{broken}");
    assert!(
        broken.contains(&format!(
            "product {first}: on_hand is 7 but its movements add up to 5"
        )),
        "{broken}"
    );
    assert!(
        broken.contains(&format!("product {second}: available is -4")),
        "{broken}"
    );
    assert!(broken.contains("2 of 2 stock levels are wrong"), "{broken}");
}
