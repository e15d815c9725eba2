//! PostgreSQL, the fastest way it allows: the whole sale transaction is one server-side
//! function (`sale.sql`), so a sale is one `select` — in autocommit, one transaction and one
//! round trip. Each load task owns a connection of its own (sqlx's `PgConnection`, whose
//! statement cache keeps the call prepared: Bind, Execute and Sync go out together).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use tokio::sync::Mutex;

use ringup_core::audit::GENESIS_HASH;
use ringup_core::catalog::Money;
use ringup_store::platform::sql::with_items;
use ringup_store::{DatabaseUrl, Value};

use super::job::SaleJob;
use crate::checkout::World;
use crate::common::{Outcome, run_load};
use ringup_store::checkout::shifts::delta_columns;

const FUNCTION: &str = include_str!("sale.sql");

const CALL: &str = "select ringup_bench_ceiling_sale($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, \
     $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, \
     $47)";
/// The values of [`CALL`].
const CALL_VALUES: usize = 47;

/// Creates (or replaces) the sale function in the benchmark's database.
pub(super) async fn install(url: &DatabaseUrl) -> Result<()> {
    let sets: Vec<String> = delta_columns()
        .zip(1..)
        .map(|(column, i)| format!("{column} = {column} + d[{i}]"))
        .collect();
    let bounds: Vec<String> = delta_columns()
        .zip(1..)
        .map(|(column, i)| format!("{column} + d[{i}] <= p_money_max"))
        .collect();
    // Our own text with our own constants in it: no outside input.
    let ddl = FUNCTION
        .replace("{shift_sets}", &sets.join(", "))
        .replace("{shift_bounds}", &bounds.join(" and "))
        .replace("{genesis_hash}", GENESIS_HASH);
    let mut conn = PgConnection::connect(url.expose())
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    sqlx::raw_sql(AssertSqlSafe(ddl))
        .execute(&mut conn)
        .await
        .context("create the ceiling's sale function")?;
    let _ = conn.close().await;
    Ok(())
}

/// What the PostgreSQL ceiling did: the priming load (its warm-up only) and the measured one.
pub(super) struct Measured {
    pub(super) primed: Outcome,
    pub(super) outcome: Outcome,
}

/// Runs the load with `concurrency` tasks, each on its own connection: first a priming load
/// (the warm-up alone), then `analyze`, then the warm-up and `duration` measured. Statistics
/// taken on a freshly seeded database say `sales` is empty, and every session caches
/// foreign-key checks planned from them as sequential scans of `sales`, which grow with every
/// sale (PERFORMANCE.md, "Statistics"); `analyze` on realistic data makes those plans stale and
/// they are made again with index scans, as in a shop with a history.
pub(super) async fn measure(
    url: &DatabaseUrl,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<Measured> {
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let conn = PgConnection::connect(url.expose())
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        conns.push(Arc::new(Mutex::new(conn)));
    }
    let conns = Arc::new(conns);
    let primed = load(&conns, world, concurrency, Duration::ZERO).await?;
    {
        let first = conns.first().context("no connection")?;
        sqlx::raw_sql("analyze")
            .execute(&mut *first.lock().await)
            .await
            .context("analyze")?;
    }
    let outcome = load(&conns, world, concurrency, duration).await?;
    if let Ok(conns) = Arc::try_unwrap(conns) {
        for conn in conns {
            if let Ok(conn) = Arc::try_unwrap(conn) {
                let _ = conn.into_inner().close().await;
            }
        }
    }
    Ok(Measured { primed, outcome })
}

/// The closed loop over the connections: task `t` sells on connection `t`.
async fn load(
    conns: &Arc<Vec<Arc<Mutex<PgConnection>>>>,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<Outcome> {
    let conns = Arc::clone(conns);
    let world = Arc::clone(world);
    run_load(concurrency, duration, move |task, rng| {
        let job = SaleJob::random(&world, task, rng);
        let conn = conns.get(task).cloned();
        async move {
            let conn = conn.context("no connection for this task")?;
            let mut conn = conn.lock().await;
            call(&mut conn, job?).await
        }
    })
    .await
}

/// One sale: one `select` of the function, in autocommit, with the store's rollup upserts as
/// `WITH` items of the same statement (they run after the function, as the sale's deferred
/// statements run after the audit head it takes).
async fn call(conn: &mut PgConnection, mut job: SaleJob) -> Result<()> {
    let statement = with_items(CALL, CALL_VALUES, std::mem::take(&mut job.rollups));
    let query = sqlx::query(sqlx::AssertSqlSafe(statement.text().to_owned()))
        .bind(&job.scope)
        .bind(&job.key)
        .bind(&job.request_hash)
        .bind(&job.now)
        .bind(&job.expires_at)
        .bind(&job.shift_id)
        .bind(job.shift_delta.to_vec())
        .bind(Money::MAX.value())
        .bind(&job.store_id)
        .bind(&job.store_code)
        .bind(i64::from(job.allow_negative))
        .bind(strings(&job.levels, |l| &l.product_id))
        .bind(ints(&job.levels, |l| l.delta))
        .bind(ints(&job.levels, |l| l.threshold.value()))
        .bind(strings(&job.levels, |l| &l.low_event_id))
        .bind(strings(&job.movements, |m| &m.id))
        .bind(strings(&job.movements, |m| &m.product_id))
        .bind(ints(&job.movements, |m| m.delta))
        .bind(&job.sale_id)
        .bind(&job.register_id)
        .bind(&job.cashier_id)
        .bind(job.totals.to_vec())
        .bind(strings(&job.lines, |l| &l.id))
        .bind(strings(&job.lines, |l| &l.product_id))
        .bind(strings(&job.lines, |l| &l.sku))
        .bind(strings(&job.lines, |l| &l.name))
        .bind(amounts(&job, 0))
        .bind(amounts(&job, 1))
        .bind(amounts(&job, 2))
        .bind(amounts(&job, 3))
        .bind(amounts(&job, 4))
        .bind(amounts(&job, 5))
        .bind(amounts(&job, 6))
        .bind(strings(&job.lines, |l| &l.tax_class_id))
        .bind(strings(&job.payments, |p| p.method))
        .bind(ints(&job.payments, |p| p.amount))
        .bind(
            job.payments
                .iter()
                .map(|p| p.reference.clone())
                .collect::<Vec<Option<String>>>(),
        )
        .bind(&job.outbox_id)
        .bind(&job.view.head)
        .bind(&job.view.tail)
        .bind(&job.audit_id)
        .bind(&job.ip)
        .bind(&job.user_agent)
        .bind(&job.request_id)
        .bind(&job.details.head)
        .bind(&job.details.tail)
        .bind(&job.business_day);
    let query = statement
        .values()
        .iter()
        .fold(query, |query, value| match value {
            Value::Int(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.clone()),
        });
    let row = query
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| anyhow!("sale refused: {e}"))?;
    let number: Option<String> = row.try_get(0)?;
    number.context("the sale function answered no number")?;
    Ok(())
}

fn strings<T>(items: &[T], field: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| field(i).to_owned()).collect()
}

fn ints<T>(items: &[T], field: impl Fn(&T) -> i64) -> Vec<i64> {
    items.iter().map(field).collect()
}

/// The lines' `k`-th amount (quantity, unit price, discount, net, tax, total, rate).
fn amounts(job: &SaleJob, k: usize) -> Vec<i64> {
    ints(&job.lines, |l| {
        l.amounts.get(k).copied().unwrap_or_default()
    })
}
