//! One sale's statements on the writer's connection, in `create_sale`'s order (`../sql.rs`),
//! each a cached prepared statement. The caller owns the transaction (or savepoint).

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ToSql};

use ringup_core::audit::{AuditRecord, GENESIS_HASH, chain_hash};
use ringup_core::catalog::Money;
use ringup_core::stock::{StockLevel, crosses_low};
use ringup_store::Value;
use ringup_store::checkout::sales::sale_number;

use super::super::job::SaleJob;
use super::super::sql;

/// Why a sale was refused (nothing it wrote may stay: the caller rolls it back).
pub(super) type Refusal = String;

/// The statements whose text depends on how many rows they carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Rows {
    Lock,
    Reserved,
    Update,
    Movements,
    Lines,
    Payments,
}

/// The SQLite texts, built once per shape; the connection caches their prepared statements.
pub(super) struct Texts {
    claim: String,
    shift: String,
    outbox: String,
    next_number: String,
    sale: String,
    take_head: String,
    move_head: String,
    audit_event: String,
    complete: String,
    by_rows: HashMap<(Rows, usize), String>,
    /// The store's own statements (the rollups), by their text as the store writes it.
    numbered: HashMap<String, String>,
}

impl Texts {
    pub(super) fn new() -> Texts {
        Texts {
            claim: sql::numbered(sql::CLAIM_KEY),
            shift: sql::numbered(&sql::add_to_shift()),
            outbox: sql::numbered(sql::APPEND_OUTBOX),
            next_number: sql::numbered(sql::NEXT_NUMBER),
            sale: sql::numbered(sql::INSERT_SALE),
            take_head: sql::numbered(sql::TAKE_AUDIT_HEAD),
            move_head: sql::numbered(sql::MOVE_AUDIT_HEAD),
            audit_event: sql::numbered(sql::INSERT_AUDIT_EVENT),
            complete: sql::numbered(sql::COMPLETE_KEY),
            by_rows: HashMap::new(),
            numbered: HashMap::new(),
        }
    }

    /// `text` with SQLite's numbered placeholders, made once per text.
    fn numbered(&mut self, text: &str) -> &str {
        if !self.numbered.contains_key(text) {
            self.numbered.insert(text.to_owned(), sql::numbered(text));
        }
        self.numbered.get(text).map_or("", String::as_str)
    }

    fn rows(&mut self, shape: Rows, n: usize) -> &str {
        self.by_rows.entry((shape, n)).or_insert_with(|| {
            sql::numbered(&match shape {
                Rows::Lock => sql::lock_levels(n),
                Rows::Reserved => sql::read_reserved(n),
                Rows::Update => sql::update_levels(n),
                Rows::Movements => sql::insert_movements(n),
                Rows::Lines => sql::insert_lines(n),
                Rows::Payments => sql::insert_payments(n),
            })
        })
    }
}

/// Writes one sale; its number, or why it was refused.
pub(super) fn sale(
    conn: &Connection,
    texts: &mut Texts,
    job: &SaleJob,
) -> rusqlite::Result<Result<String, Refusal>> {
    let claimed = conn
        .prepare_cached(&texts.claim)?
        .execute(rusqlite::params![
            job.scope,
            job.key,
            job.request_hash,
            job.expires_at,
            job.now
        ])?;
    if claimed != 1 {
        return Ok(Err(format!(
            "the idempotency key {} was used before",
            job.key
        )));
    }

    let max = Money::MAX.value();
    let mut p: Vec<&dyn ToSql> = Vec::with_capacity(32);
    p.push(&job.shift_id);
    p.extend(job.shift_delta.iter().map(|v| v as &dyn ToSql));
    p.push(&max);
    if conn.prepare_cached(&texts.shift)?.execute(&*p)? != 1 {
        return Ok(Err(format!(
            "shift {} is closed or its totals are full",
            job.shift_id
        )));
    }

    // Stock: lock the levels, read their reservations, decide, update, record the movements.
    let n = job.levels.len();
    let mut locked: Vec<StockLevel> = vec![StockLevel::default(); n];
    p.clear();
    p.push(&job.store_id);
    p.push(&job.now);
    p.extend(job.levels.iter().map(|l| &l.product_id as &dyn ToSql));
    {
        let mut stmt = conn.prepare_cached(texts.rows(Rows::Lock, n))?;
        let mut rows = stmt.query(&*p)?;
        while let Some(row) = rows.next()? {
            let product: String = row.get(0)?;
            if let Some(level) = level_of(job, &mut locked, &product) {
                level.on_hand = row.get(1)?;
            }
        }
    }
    {
        let mut stmt = conn.prepare_cached(texts.rows(Rows::Reserved, n))?;
        let mut rows = stmt.query(&*p)?;
        while let Some(row) = rows.next()? {
            let product: String = row.get(0)?;
            if let Some(level) = level_of(job, &mut locked, &product) {
                level.reserved = row.get(1)?;
            }
        }
    }
    let mut crossed = Vec::new();
    for (level, before) in job.levels.iter().zip(&locked) {
        match before.apply(level.delta, job.allow_negative) {
            Ok(after) => {
                if crosses_low(*before, after, level.threshold) {
                    crossed.push((level, after));
                }
            }
            Err(short) => {
                return Ok(Err(format!(
                    "not enough of product {} in stock: {short}",
                    level.product_id
                )));
            }
        }
    }
    let allow_negative = i64::from(job.allow_negative);
    p.clear();
    p.push(&job.store_id);
    p.push(&job.now);
    p.push(&allow_negative);
    for (level, before) in job.levels.iter().zip(&locked) {
        p.push(&level.product_id);
        p.push(&level.delta);
        p.push(&before.reserved);
    }
    let updated = conn
        .prepare_cached(texts.rows(Rows::Update, n))?
        .execute(&*p)?;
    if updated != n {
        return Ok(Err(
            "a locked level refused a change the rules allowed".to_owned()
        ));
    }
    let (kind, ref_type) = ("sale", "sale");
    p.clear();
    p.extend([
        &job.store_id as &dyn ToSql,
        &kind,
        &ref_type,
        &job.sale_id,
        &job.cashier_id,
        &job.now,
    ]);
    for m in &job.movements {
        p.extend([&m.id as &dyn ToSql, &m.product_id, &m.delta]);
    }
    conn.prepare_cached(texts.rows(Rows::Movements, job.movements.len()))?
        .execute(&*p)?;
    for (level, after) in crossed {
        let payload = serde_json::json!({
            "store_id": job.store_id,
            "product_id": level.product_id,
            "on_hand": after.on_hand,
            "reserved": after.reserved,
            "available": after.available(),
            "low_stock_threshold": level.threshold.value(),
        })
        .to_string();
        conn.prepare_cached(&texts.outbox)?
            .execute(rusqlite::params![
                level.low_event_id,
                "stock.low",
                job.store_id,
                payload,
                job.now
            ])?;
    }

    // The serial section: the store's number, the rows, the events, the reply.
    let seq: i64 = conn
        .prepare_cached(&texts.next_number)?
        .query_row(rusqlite::params![job.store_id], |row| row.get(0))?;
    let number = sale_number(&job.store_code, seq);
    let none: Option<String> = None;
    p.clear();
    p.extend([
        &job.sale_id as &dyn ToSql,
        &job.store_id,
        &seq,
        &number,
        &job.register_id,
        &job.shift_id,
        &job.cashier_id,
        &none,
    ]);
    p.extend(job.totals.iter().map(|v| v as &dyn ToSql));
    p.extend([&none as &dyn ToSql, &job.now, &job.business_day]);
    conn.prepare_cached(&texts.sale)?.execute(&*p)?;

    let line_numbers: Vec<i64> = (1..)
        .take(job.lines.len().max(job.payments.len()))
        .collect();
    let zero = 0i64;
    p.clear();
    p.push(&job.sale_id);
    for (line, no) in job.lines.iter().zip(&line_numbers) {
        p.extend([
            &line.id as &dyn ToSql,
            no,
            &line.product_id,
            &line.sku,
            &line.name,
        ]);
        p.extend(line.amounts.iter().map(|v| v as &dyn ToSql));
        p.extend([&line.tax_class_id as &dyn ToSql, &zero]);
    }
    conn.prepare_cached(texts.rows(Rows::Lines, job.lines.len()))?
        .execute(&*p)?;
    if !job.payments.is_empty() {
        p.clear();
        p.push(&job.sale_id);
        for (payment, no) in job.payments.iter().zip(&line_numbers) {
            p.extend([
                no as &dyn ToSql,
                &payment.method,
                &payment.amount,
                &payment.reference,
            ]);
        }
        conn.prepare_cached(texts.rows(Rows::Payments, job.payments.len()))?
            .execute(&*p)?;
    }

    for rollup in &job.rollups {
        let values = rollup.values().iter().map(|v| match v {
            Value::Int(i) => i.map_or(SqlValue::Null, SqlValue::Integer),
            Value::Text(t) => t.clone().map_or(SqlValue::Null, SqlValue::Text),
        });
        conn.prepare_cached(texts.numbered(rollup.text()))?
            .execute(rusqlite::params_from_iter(values))?;
    }

    let view = job.view.with(&number);
    conn.prepare_cached(&texts.outbox)?
        .execute(rusqlite::params![
            job.outbox_id,
            "sale.completed",
            job.store_id,
            view,
            job.now
        ])?;

    let (audit_seq, prev_hash): (i64, String) = conn.prepare_cached(&texts.take_head)?.query_row(
        rusqlite::params![job.store_id, GENESIS_HASH, job.now],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut record = AuditRecord {
        id: job.audit_id.clone(),
        chain: job.store_id.clone(),
        seq: audit_seq,
        at: job.now.clone(),
        actor_id: Some(job.cashier_id.clone()),
        action: "sale.completed".to_owned(),
        target_type: Some("sale".to_owned()),
        target_id: Some(job.sale_id.clone()),
        store_id: Some(job.store_id.clone()),
        ip: Some(job.ip.clone()),
        user_agent: Some(job.user_agent.clone()),
        request_id: Some(job.request_id.clone()),
        details: job.details.with(&number),
        prev_hash,
        hash: String::new(),
    };
    record.hash = chain_hash(&record);
    conn.prepare_cached(&texts.move_head)?
        .execute(rusqlite::params![record.chain, record.hash])?;
    conn.prepare_cached(&texts.audit_event)?
        .execute(rusqlite::params![
            record.id,
            record.chain,
            record.seq,
            record.at,
            record.actor_id,
            record.action,
            record.target_type,
            record.target_id,
            record.store_id,
            record.ip,
            record.user_agent,
            record.request_id,
            record.details,
            record.prev_hash,
            record.hash
        ])?;

    conn.prepare_cached(&texts.complete)?
        .execute(rusqlite::params![job.scope, job.key, 201i64, view, job.now])?;
    Ok(Ok(number))
}

/// The locked level of `product` among the job's levels.
fn level_of<'a>(
    job: &SaleJob,
    locked: &'a mut [StockLevel],
    product: &str,
) -> Option<&'a mut StockLevel> {
    let i = job.levels.iter().position(|l| l.product_id == product)?;
    locked.get_mut(i)
}
