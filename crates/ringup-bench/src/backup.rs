//! `ringup-bench backup`: how long a backup and a restore take as the database grows, beside
//! the engine's own copy of the same database in the same run (SQLite `VACUUM INTO`,
//! PostgreSQL `pg_dump --format=custom`), which is the fastest copy the machine allows but
//! restores only on its own engine.
//!
//! The database is the reports bench's (3 stores, two years of sales, lines as asked), loaded
//! straight through the store; the backup and the restore are the ones `ringup backup` and
//! `ringup restore` run (`ringup_app::backup`), minus the checks a restore runs afterwards.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use ringup_store::{Db, DbOptions, Engine};

use crate::common::BenchDatabase;
use crate::reports::{load, settle};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// Sale lines to load before each backup, ascending, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub lines: Vec<u64>,
}

pub async fn run(args: BackupArgs) -> Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let source = BenchDatabase::create(&dir.path().join("source")).await?;
    let result = run_on(&source, dir.path(), &args).await;
    source.drop_now().await;
    result
}

async fn run_on(source: &BenchDatabase, dir: &std::path::Path, args: &BackupArgs) -> Result<()> {
    let db = Db::connect(&source.url, &DbOptions::default()).await?;
    db.migrate().await?;
    let mut world = load::seed(&db).await?;
    println!(
        "ringup-bench backup: engine {}, the reports bench's database; backup = ringup backup, \
         restore = ringup restore into an empty database of the same engine (without its \
         checks), engine copy = {}",
        db.engine().name(),
        match db.engine() {
            Engine::Sqlite => "VACUUM INTO",
            Engine::Postgres => "pg_dump --format=custom",
        }
    );
    println!(
        "{:>10} {:>10} {:>9} {:>10} {:>11} {:>10} {:>11} {:>13}",
        "lines", "rows", "MiB", "backup s", "rows/s", "restore s", "rows/s", "engine copy s"
    );
    for (step, &lines) in args.lines.iter().enumerate() {
        world.grow_to(&db, lines).await?;
        settle(&source.url).await?;
        let backups = dir.join(format!("backups-{step}"));
        let created = ringup_app::backup::create(&db, &backups, Utc::now()).await?;
        let rows = created.manifest.rows();
        let target = BenchDatabase::create(&dir.join(format!("target-{step}"))).await?;
        let restored = restore_into(&target, &created.path).await;
        target.drop_now().await;
        let restored = restored?;
        if restored.rows != rows {
            bail!("restored {} rows of {rows}", restored.rows);
        }
        let engine_copy = engine_copy(&db, &source.url, &dir.join(format!("copy-{step}"))).await?;
        let backup_s = created.elapsed.as_secs_f64();
        let restore_s = restored.elapsed.as_secs_f64();
        println!(
            "{:>10} {:>10} {:>9.1} {:>10.2} {:>11.0} {:>10.2} {:>11.0} {:>13.2}",
            lines,
            rows,
            created.bytes as f64 / (1024.0 * 1024.0),
            backup_s,
            rows as f64 / backup_s,
            restore_s,
            rows as f64 / restore_s,
            engine_copy
        );
        std::fs::remove_dir_all(&backups).ok();
    }
    db.close().await;
    Ok(())
}

async fn restore_into(
    target: &BenchDatabase,
    file: &std::path::Path,
) -> Result<ringup_app::backup::Restored> {
    let db = Db::connect(&target.url, &DbOptions::default()).await?;
    db.migrate().await?;
    let restored = ringup_app::backup::restore(&db, file, false).await;
    db.close().await;
    Ok(restored?)
}

/// Seconds the engine takes to copy the same database its own way.
async fn engine_copy(
    db: &Db,
    url: &ringup_store::DatabaseUrl,
    out: &std::path::Path,
) -> Result<f64> {
    std::fs::create_dir_all(out)?;
    let started = Instant::now();
    match db.engine() {
        Engine::Sqlite => {
            let file = out.join("copy.db");
            let sql = format!(
                "vacuum into '{}'",
                file.display().to_string().replace('\'', "''")
            );
            let mut conn = db.read_conn().await?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await?;
        }
        Engine::Postgres => {
            let status = tokio::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--file")
                .arg(out.join("copy.dump"))
                .arg(url.expose())
                .status()
                .await
                .context("pg_dump")?;
            if !status.success() {
                bail!("pg_dump failed: {status}");
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(out).ok();
    Ok(seconds)
}
