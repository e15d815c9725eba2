//! `ringup check`: the stock ledger (every level equals its movements, none negative where the
//! store forbids it) and the stored ranges (every money, quantity and rate column holds an
//! integer inside its range; see `ringup_store::platform::bounds`) and the report rollups (equal
//! to a recomputation from the sales and returns). Prints every offence it finds and
//! fails when there is one, so it can gate a deployment or a restore.

use ringup_store::Db;
use ringup_store::audit::Verification;

type CheckResult = Result<(), Box<dyn std::error::Error>>;

/// Re-computes every audit hash chain, printing how many events it checked; fails naming the
/// first broken or missing event.
pub async fn audit(db: &Db) -> CheckResult {
    match ringup_store::audit::verify(db).await? {
        Verification::Ok { checked } => {
            println!("audit log intact: {checked} events checked");
            Ok(())
        }
        Verification::Truncated {
            chain,
            expected_seq,
            found_seq,
            ..
        } => Err(format!(
            "audit log broken in chain {chain}: events {} to {expected_seq} are missing",
            found_seq + 1
        )
        .into()),
        Verification::Broken { chain, checked, at } => Err(format!(
            "audit log broken in chain {chain} after {checked} good events: {at}"
        )
        .into()),
    }
}

/// Runs every check against `db`, printing what it finds.
pub async fn run(db: &Db) -> CheckResult {
    let (levels, offences) = ringup_store::stock::check_ledger(db, chrono::Utc::now()).await?;
    for offence in &offences {
        println!(
            "store {} product {}: {}",
            offence.store_id, offence.product_id, offence.problem
        );
    }
    let (columns, bad, bad_count) = ringup_store::platform::bounds::check_bounds(db).await?;
    for value in &bad {
        println!(
            "{}.{} of {} is {}, outside {}..={}",
            value.table, value.column, value.key, value.value, value.min, value.max
        );
    }
    let (rollup_rows, mismatches) = ringup_store::reports::rebuild::check(db).await?;
    for m in mismatches.iter().take(50) {
        println!(
            "{} {}: stored {}, recomputed {}",
            m.table, m.key, m.stored, m.recomputed
        );
    }
    let mut failures = Vec::new();
    if mismatches.is_empty() {
        println!("ok: {rollup_rows} report rollup rows equal a recomputation from the sales");
    } else {
        failures.push(format!(
            "rollup check failed: {} rollup rows differ from the sales (run `ringup rollups \
             rebuild`)",
            mismatches.len()
        ));
    }
    if offences.is_empty() {
        println!("ok: {levels} stock levels match their movements");
    } else {
        failures.push(format!(
            "stock ledger check failed: {} of {levels} stock levels are wrong",
            offences.len()
        ));
    }
    if bad_count == 0 {
        println!("ok: every value of {columns} money, quantity and rate columns is in range");
    } else {
        failures.push(format!(
            "range check failed: {bad_count} stored values are not integers in their column's \
             range (see docs/OPERATIONS.md, \"Repairing out-of-range values\")"
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; ").into())
    }
}
