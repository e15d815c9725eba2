//! `ringup-bench reports`: the daily sales report over 30 and 365 days, for one store and
//! for the chain, as the sales grow from 10 thousand to 10 million lines.
//!
//! The report is the use case itself (`ringup_app::reports::sales_report`, what the HTTP
//! handler calls), on the same `Db` the server would open, with no HTTP in front: what grows
//! with the data is the database work, and that is what this measures. Each step of the load
//! is checked first: at the first size the stored rollups must equal a recomputation from the
//! sales (`ringup check`'s rollup check).

pub(crate) mod load;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use chrono::Duration as Days;
use sqlx::Connection;

use ringup_app::reports::{ReportQuery, SalesGroup, sales_report};
use ringup_app::{Actor, ActorKind};
use ringup_core::users::Role;
use ringup_store::{Db, DbOptions};

use crate::common::{BenchDatabase, analyze};

#[derive(clap::Args)]
pub struct ReportsArgs {
    /// Sale lines to load before each measurement, ascending, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000,10000000")]
    pub lines: Vec<u64>,
    /// Reports timed per scenario and size (after 5 untimed ones).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
}

struct Scenario {
    label: &'static str,
    days: i64,
    chain: bool,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        label: "store, 30 days",
        days: 30,
        chain: false,
    },
    Scenario {
        label: "store, 365 days",
        days: 365,
        chain: false,
    },
    Scenario {
        label: "chain, 30 days",
        days: 30,
        chain: true,
    },
    Scenario {
        label: "chain, 365 days",
        days: 365,
        chain: true,
    },
];

pub async fn run(args: ReportsArgs) -> Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let database = BenchDatabase::create(dir.path()).await?;
    let result = run_on(&database, &args).await;
    database.drop_now().await;
    result
}

/// On SQLite, what a server that had taken these sales one by one would have done by now:
/// the WAL checkpointed into the database file (the writer checkpoints every 512 writes; the
/// loader makes few, large ones) and the file synced, so the reports are not timed against the
/// kernel writing back the gigabytes just loaded.
pub(crate) async fn settle(url: &ringup_store::DatabaseUrl) -> Result<()> {
    let Some(path) = url.sqlite_path() else {
        return Ok(());
    };
    let mut conn = sqlx::AnyConnection::connect(url.expose()).await?;
    sqlx::query("pragma wal_checkpoint(truncate)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    std::fs::File::open(&path)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

async fn run_on(database: &BenchDatabase, args: &ReportsArgs) -> Result<()> {
    let db = Db::connect(&database.url, &DbOptions::default()).await?;
    db.migrate().await?;
    let mut world = load::seed(&db).await?;
    println!(
        "ringup-bench reports: engine {}, 3 stores in 3 time zones, {} days of sales, daily \
         sales report through the use case, {} timed reports per scenario",
        db.engine().name(),
        load::DAYS,
        args.samples
    );
    println!(
        "{:>12} {:>11} {:>9}  {:<17} {:>8} {:>8} {:>8}",
        "lines", "sales", "load s", "scenario", "p50 ms", "p99 ms", "max ms"
    );
    let actor = Actor {
        kind: ActorKind::User(world.admin),
        role: Role::Admin,
        store_ids: Vec::new(),
    };
    let mut first_p99: Vec<f64> = Vec::new();
    let mut last_p99: Vec<f64> = Vec::new();
    for (step, &target) in args.lines.iter().enumerate() {
        let started = Instant::now();
        world.grow_to(&db, target).await?;
        analyze(&db).await?;
        settle(&database.url).await?;
        let load_s = started.elapsed().as_secs_f64();
        if step == 0 {
            let (rows, mismatches) = ringup_store::reports::rebuild::check(&db).await?;
            ensure!(
                mismatches.is_empty(),
                "the loaded rollups differ from a recomputation: {:?}",
                mismatches.first()
            );
            println!("  (rollups checked against a recomputation: {rows} rows equal)");
        }
        last_p99.clear();
        for scenario in &SCENARIOS {
            let query = ReportQuery {
                from: Some(world.last_day - Days::days(scenario.days - 1)),
                to: Some(world.last_day),
                store_id: (!scenario.chain)
                    .then(|| world.stores.first().map(|s| s.0))
                    .flatten(),
                currency: None,
                problems: Vec::new(),
            };
            let mut times = Vec::with_capacity(args.samples);
            for i in 0..args.samples + 5 {
                let started = Instant::now();
                let report = sales_report(&db, &actor, &query, SalesGroup::Day).await?;
                let took = started.elapsed();
                ensure!(
                    report.rows.len() == scenario.days as usize,
                    "a daily report lists every day"
                );
                if i >= 5 {
                    times.push(took);
                }
            }
            times.sort();
            let at = |q: f64| -> f64 {
                let i = ((times.len() as f64 - 1.0) * q).round() as usize;
                times
                    .get(i)
                    .copied()
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64()
                    * 1e3
            };
            let max = times
                .last()
                .copied()
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
                * 1e3;
            println!(
                "{:>12} {:>11} {:>9.1}  {:<17} {:>8.2} {:>8.2} {:>8.2}",
                world.lines,
                world.sales,
                load_s,
                scenario.label,
                at(0.5),
                at(0.99),
                max
            );
            last_p99.push(at(0.99));
        }
        if step == 0 {
            first_p99 = last_p99.clone();
        }
    }
    if args.lines.len() > 1 {
        for ((scenario, first), last) in SCENARIOS.iter().zip(&first_p99).zip(&last_p99) {
            println!(
                "p99 at the largest size / at the smallest, {}: {:.2}",
                scenario.label,
                last / first
            );
        }
    }
    db.close().await;
    Ok(())
}
