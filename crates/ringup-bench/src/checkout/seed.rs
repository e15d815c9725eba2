//! The world checkout sells in: stores, tax classes, products, stock and registers written
//! straight through ringup-store; the cashier, created by the admin over HTTP; and the shifts,
//! opened and closed by the cashier over HTTP.

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use ringup_core::ids::{ProductId, RegisterId, ShiftId, StoreId, TaxClassId, UserId};
use ringup_core::rate::RateBp;
use ringup_store::catalog::products::{ProductValues, insert_product};
use ringup_store::catalog::stores::{NewStoreRow, insert_register, insert_store};
use ringup_store::{Db, commit};

use super::{BenchStore, CASHIER, CASHIER_PASSWORD, COMMISSION_BP, CheckoutArgs, STOCK_UNITS};
use crate::common::{analyze, ean13, seed_stock};

const STANDARD_RATE_BP: i64 = 1_600;
const OPENING_FLOAT: i64 = 20_000;

/// Stores, tax classes, products, stock and registers, straight through ringup-store; returns
/// the stores and every register with its store's index.
pub(crate) async fn seed(
    db: &Db,
    args: &CheckoutArgs,
) -> Result<(Vec<BenchStore>, Vec<(usize, RegisterId)>)> {
    let now = Utc::now();
    let stores: Vec<BenchStore> = (0..args.stores)
        .map(|i| BenchStore {
            id: StoreId::new(),
            code: if args.stores == 1 {
                "BNCH".to_owned()
            } else {
                format!("BN{i:02}")
            },
            prices_include_tax: true,
            allow_negative: false,
            time_zone: chrono_tz::Africa::Nairobi,
        })
        .collect();
    let standard = TaxClassId::new();
    let zero = TaxClassId::new();
    let mut tx = db.begin_write().await?;
    for (i, store) in stores.iter().enumerate() {
        let name = format!("Bench store {i}");
        insert_store(
            &mut tx,
            &NewStoreRow {
                id: store.id,
                code: &store.code,
                name: &name,
                currency: "KES",
                timezone: store.time_zone.name(),
                prices_include_tax: store.prices_include_tax,
                allow_negative_stock: store.allow_negative,
                country: "KE",
                at: now,
            },
        )
        .await?;
    }
    ringup_store::catalog::tax_classes::insert_tax_class(
        &mut tx,
        standard,
        "VAT 16%",
        RateBp::new(STANDARD_RATE_BP)?,
        now,
    )
    .await?;
    ringup_store::catalog::tax_classes::insert_tax_class(
        &mut tx,
        zero,
        "Zero-rated",
        RateBp::new(0)?,
        now,
    )
    .await?;

    let mut rng = StdRng::seed_from_u64(11);
    let mut ids = Vec::with_capacity(args.products);
    for n in 0..args.products {
        let id = ProductId::new();
        let sku = format!("BN-{n:05}");
        let barcode = ean13(n);
        let name = format!("Bench item {n:05}");
        let price = rng.random_range(50..=25_000);
        insert_product(
            &mut tx,
            id,
            &ProductValues {
                sku: &sku,
                barcode: Some(&barcode),
                name: &name,
                category_id: None,
                price,
                cost: price / 2,
                // One product in five is zero-rated.
                tax_class_id: if n % 5 == 4 { zero } else { standard },
                low_stock_threshold: 5,
                active: true,
            },
            now,
        )
        .await?;
        ids.push(id);
    }
    let mut registers = Vec::with_capacity(args.registers);
    for r in 0..args.registers {
        let store = r % stores.len();
        let store_id = stores.get(store).context("no store")?.id;
        let row = insert_register(
            &mut tx,
            RegisterId::new(),
            store_id,
            &format!("Till {:02}", r + 1),
            now,
        )
        .await?;
        registers.push((store, row.id));
    }
    commit(tx).await?;
    for store in &stores {
        seed_stock(db, store.id, &ids, STOCK_UNITS, now).await?;
    }
    analyze(db).await?;
    Ok((stores, registers))
}

/// Expects `status` and returns the JSON body.
async fn expect_json(response: reqwest::Response, status: u16, what: &str) -> Result<Value> {
    let actual = response.status();
    let text = response.text().await?;
    if actual.as_u16() != status {
        bail!("{what} answered {actual}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what} answered {text}"))
}

fn text_field<'a>(value: &'a Value, field: &str) -> Result<&'a str> {
    value
        .get(field)
        .and_then(Value::as_str)
        .with_context(|| format!("no `{field}` in {value}"))
}

pub(crate) fn int_field(value: &Value, field: &str) -> Result<i64> {
    value
        .get(field)
        .and_then(Value::as_i64)
        .with_context(|| format!("no integer `{field}` in {value}"))
}

/// The cashier, created by the admin over HTTP (the server hashes the password).
pub(crate) async fn create_cashier(
    admin: &reqwest::Client,
    base: &str,
    stores: &[BenchStore],
) -> Result<UserId> {
    let store_ids: Vec<String> = stores.iter().map(|s| s.id.to_string()).collect();
    let response = admin
        .post(format!("{base}/api/v1/users"))
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&json!({
            "username": CASHIER,
            "email": "cashier@bench.invalid",
            "password": CASHIER_PASSWORD,
            "role": "cashier",
            "store_ids": store_ids,
            "commission_rate_bp": COMMISSION_BP,
        }))
        .send()
        .await?;
    let user = expect_json(response, 201, "POST /api/v1/users").await?;
    let id = text_field(&user, "id")?;
    UserId::parse(id).map_err(|e| anyhow!("user id {id}: {e}"))
}

/// One shift per register, opened by the cashier over HTTP.
pub(crate) async fn open_shifts(
    client: &reqwest::Client,
    base: &str,
    registers: &[(usize, RegisterId)],
) -> Result<Vec<ShiftId>> {
    let mut shifts = Vec::with_capacity(registers.len());
    for (_, register) in registers {
        let response = client
            .post(format!("{base}/api/v1/shifts"))
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&json!({ "register_id": register.to_string(), "opening_float": OPENING_FLOAT }))
            .send()
            .await?;
        let shift = expect_json(response, 201, "POST /api/v1/shifts").await?;
        let id = text_field(&shift, "id")?;
        shifts.push(ShiftId::parse(id).map_err(|e| anyhow!("shift id {id}: {e}"))?);
    }
    Ok(shifts)
}

/// Closes the shifts over HTTP, counting exactly what the X report expects; returns the sum of
/// the Z reports' sales counts.
pub(crate) async fn close_shifts(
    client: &reqwest::Client,
    base: &str,
    shifts: &[ShiftId],
) -> Result<u64> {
    let mut sales = 0u64;
    for shift in shifts {
        let response = client
            .get(format!("{base}/api/v1/shifts/{shift}/report"))
            .send()
            .await?;
        let report = expect_json(response, 200, "GET /api/v1/shifts/{id}/report").await?;
        let expected = int_field(&report, "expected_cash")?;
        let response = client
            .post(format!("{base}/api/v1/shifts/{shift}/close"))
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&json!({ "counted_cash": expected }))
            .send()
            .await?;
        let closed = expect_json(response, 200, "POST /api/v1/shifts/{id}/close").await?;
        ensure!(
            int_field(&closed, "over_short")? == 0,
            "shift {shift} closed over or short: {closed}"
        );
        let report = closed.get("report").context("no report")?;
        ensure!(
            text_field(report, "kind")? == "z",
            "not a Z report: {report}"
        );
        sales += u64::try_from(int_field(report, "sales_count")?)?;
    }
    Ok(sales)
}
