//! The reports bench's data: a chain of three stores in three time zones, two years of sales,
//! written to the sales tables in bulk (multi-row statements in large transactions), and
//! their rollups computed by the same domain code a sale runs (`Contribution::of_sale`) and
//! written by the store's rollup writer (`replace_all`).
//!
//! Loading goes in steps (10 k lines, then up to 1 M, then 10 M): each step adds sales over the
//! same two years, so the reports read the same days over ever more sales.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ringup_core::checkout::payment::TenderMethod;
use ringup_core::ids::{CategoryId, ProductId, RegisterId, SaleId, ShiftId, StoreId, TaxClassId};
use ringup_core::ids::{SaleLineId, UserId};
use ringup_core::rate::RateBp;
use ringup_core::reports::{Contribution, LineFacts, Rollups, SaleFacts, day_start, local_day};
use ringup_store::catalog::categories::insert_category;
use ringup_store::catalog::products::{ProductValues, insert_product};
use ringup_store::catalog::stores::{NewStoreRow, insert_register, insert_store};
use ringup_store::checkout::shifts::{NewShift, open_shift};
use ringup_store::platform::db::value_rows;
use ringup_store::platform::sql::{Sql, stmt};
use ringup_store::platform::tx::Tx;
use ringup_store::users::{NewUserRow, insert_user};
use ringup_store::{Db, commit};

/// Days of sales: two years, so a 365-day report and the period before it are both full.
pub const DAYS: i64 = 730;
const PRODUCTS: usize = 200;
const CASHIERS: usize = 5;
const RATE_BP: i64 = 1_600;
const ZONES: [&str; 3] = ["Africa/Nairobi", "Europe/London", "America/New_York"];
/// Sales per bulk statement.
const CHUNK: usize = 200;
/// Sales per transaction.
const PER_TX: usize = 20_000;

pub struct World {
    pub stores: Vec<(StoreId, RegisterId, ShiftId, Tz)>,
    pub cashiers: Vec<UserId>,
    pub products: Vec<(ProductId, i64)>,
    pub tax_class: TaxClassId,
    pub admin: UserId,
    /// The last local day with sales (yesterday, UTC).
    pub last_day: NaiveDate,
    pub rollups: Rollups,
    pub seq: Vec<i64>,
    pub lines: u64,
    pub sales: u64,
    rng: StdRng,
}

/// Stores, tax class, categories, products, users, registers and open shifts.
pub async fn seed(db: &Db) -> Result<World> {
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    let tax_class = TaxClassId::new();
    ringup_store::catalog::tax_classes::insert_tax_class(
        &mut tx,
        tax_class,
        "VAT 16%",
        RateBp::new(RATE_BP)?,
        now,
    )
    .await?;
    let mut categories = Vec::new();
    for i in 0..10 {
        let id = CategoryId::new();
        insert_category(&mut tx, id, &format!("Category {i}"), None, now).await?;
        categories.push(id);
    }
    let mut rng = StdRng::seed_from_u64(14);
    let mut products = Vec::new();
    for i in 0..PRODUCTS {
        let id = ProductId::new();
        let price = rng.random_range(50..5_000) * 10;
        let sku = format!("RPT-{i:04}");
        let name = format!("Report product {i}");
        insert_product(
            &mut tx,
            id,
            &ProductValues {
                sku: &sku,
                barcode: None,
                name: &name,
                category_id: categories.get(i % categories.len()).copied(),
                price,
                cost: price / 2,
                tax_class_id: tax_class,
                low_stock_threshold: 0,
                active: true,
            },
            now,
        )
        .await?;
        products.push((id, price));
    }
    let mut stores = Vec::new();
    let mut store_ids = Vec::new();
    for (i, zone) in ZONES.iter().enumerate() {
        let id = StoreId::new();
        let code = format!("RP{i}");
        insert_store(
            &mut tx,
            &NewStoreRow {
                id,
                code: &code,
                name: &format!("Report store {i}"),
                currency: "KES",
                timezone: zone,
                prices_include_tax: true,
                allow_negative_stock: true,
                country: "KE",
                at: now,
            },
        )
        .await?;
        store_ids.push(id);
        let register = RegisterId::new();
        insert_register(&mut tx, register, id, "Till 1", now).await?;
        stores.push((id, register, zone.parse::<Tz>().context("zone")?));
    }
    let mut users = Vec::new();
    for i in 0..=CASHIERS {
        let id = UserId::new();
        let (name, role) = if i == CASHIERS {
            ("report.admin".to_owned(), "admin")
        } else {
            (format!("report.cashier{i}"), "cashier")
        };
        let email = format!("{name}@example.com");
        insert_user(
            &mut tx,
            &NewUserRow {
                id,
                username: &name,
                username_key: &name,
                email: &email,
                email_key: &email,
                password_hash: "not-a-login",
                role,
                commission_rate_bp: 100,
                store_ids: &store_ids,
                at: now,
            },
        )
        .await?;
        users.push(id);
    }
    let admin = users.pop().context("admin")?;
    let mut with_shifts = Vec::new();
    for (store, register, tz) in stores {
        let shift = open_shift(
            &mut tx,
            &NewShift {
                store_id: store,
                register_id: register,
                cashier_id: users.first().copied().context("cashier")?,
                opening_float: 0,
            },
            now,
        )
        .await?;
        with_shifts.push((store, register, shift.id, tz));
    }
    commit(tx).await?;
    Ok(World {
        seq: vec![0; with_shifts.len()],
        stores: with_shifts,
        cashiers: users,
        products,
        tax_class,
        admin,
        last_day: (now - Duration::days(1)).date_naive(),
        rollups: Rollups::default(),
        lines: 0,
        sales: 0,
        rng,
    })
}

/// One generated sale, its rows and what it adds to the rollups.
struct Sale {
    store: usize,
    id: SaleId,
    at: DateTime<Utc>,
    facts: SaleFacts,
}

impl World {
    fn sale(&mut self, store: usize, day: NaiveDate) -> Result<Sale> {
        let (_, _, _, tz) = self.stores.get(store).context("store")?;
        let start = day_start(day, *tz);
        let end = day_start(day + Duration::days(1), *tz);
        let at = start + Duration::seconds(self.rng.random_range(0..(end - start).num_seconds()));
        let count = self.rng.random_range(1..=5);
        let mut lines = Vec::with_capacity(count);
        for _ in 0..count {
            let (product, price) = *self
                .products
                .get(self.rng.random_range(0..self.products.len()))
                .context("product")?;
            let quantity = self.rng.random_range(1..=3);
            let total = price * quantity;
            // Prices include tax: the tax share, rounded half-up.
            let tax = (2 * total * RATE_BP + 10_000 + RATE_BP) / (2 * (10_000 + RATE_BP));
            lines.push(LineFacts {
                product_id: product,
                tax_class_id: self.tax_class,
                rate_bp: RATE_BP,
                quantity,
                unit_price: price,
                discount: 0,
                net: total - tax,
                tax,
                total,
            });
        }
        let sum = |f: fn(&LineFacts) -> i64| lines.iter().map(f).sum::<i64>();
        let total = sum(|l| l.total);
        let method = if self.rng.random_bool(0.5) {
            TenderMethod::Cash
        } else {
            TenderMethod::Card
        };
        let cashier = *self
            .cashiers
            .get(self.rng.random_range(0..self.cashiers.len()))
            .context("cashier")?;
        Ok(Sale {
            store,
            id: SaleId::new(),
            at,
            facts: SaleFacts {
                cashier_id: cashier,
                gross: sum(|l| l.unit_price * l.quantity),
                discounts: 0,
                net: sum(|l| l.net),
                tax: sum(|l| l.tax),
                total,
                commission: sum(|l| l.net) / 100,
                change: 0,
                lines,
                payments: vec![(method, total)],
            },
        })
    }

    /// Adds sales until the chain holds `target` lines, spread evenly over the days and
    /// stores and written day by day (so each index grows in a few places at a time, as a
    /// real chain's does), then rewrites the rollups.
    pub async fn grow_to(&mut self, db: &Db, target: u64) -> Result<()> {
        let first = self.last_day - Duration::days(DAYS - 1);
        let slots = DAYS as u64 * self.stores.len() as u64;
        let mut batch: Vec<Sale> = Vec::with_capacity(PER_TX);
        // Sales average three lines; a pass that falls short is followed by a smaller one.
        while self.lines < target {
            let wanted = target.saturating_sub(self.lines).div_ceil(3);
            self.pass(db, &mut batch, first, slots, wanted, target)
                .await?;
        }
        self.write(db, &batch).await?;
        let mut tx = db.begin_write().await?;
        ringup_store::reports::rollups::replace_all(&mut tx, &self.rollups).await?;
        commit(tx).await?;
        Ok(())
    }

    /// One pass over the days, adding `wanted` sales spread over them.
    async fn pass(
        &mut self,
        db: &Db,
        batch: &mut Vec<Sale>,
        first: NaiveDate,
        slots: u64,
        wanted: u64,
        target: u64,
    ) -> Result<()> {
        let mut slot = 0u64;
        'days: for d in 0..DAYS {
            let day = first + Duration::days(d);
            for store in 0..self.stores.len() {
                // This slot's share of the sales still wanted (the remainder to the first).
                let share = wanted / slots + u64::from(slot < wanted % slots);
                slot += 1;
                for _ in 0..share {
                    if self.lines >= target {
                        break 'days;
                    }
                    let sale = self.sale(store, day)?;
                    self.lines += sale.facts.lines.len() as u64;
                    self.sales += 1;
                    let (store_id, _, _, tz) = self.stores.get(store).context("store")?;
                    let contribution = Contribution::of_sale(&sale.facts).context("overflow")?;
                    self.rollups
                        .add(*store_id, local_day(sale.at, *tz), &contribution)
                        .context("overflow")?;
                    batch.push(sale);
                    if batch.len() == PER_TX {
                        self.write(db, batch).await?;
                        batch.clear();
                    }
                }
            }
        }
        Ok(())
    }

    /// The sales, their lines and payments, in one transaction of multi-row statements.
    async fn write(&mut self, db: &Db, sales: &[Sale]) -> Result<()> {
        if sales.is_empty() {
            return Ok(());
        }
        // The writer's own connection on SQLite (rusqlite, no hand-off per statement): sqlx's
        // driver loads a few thousand lines a second, this several times that.
        let mut tx = db.begin_direct().await?;
        for chunk in sales.chunks(CHUNK) {
            const SALE: &str = "(?, ?, cast(? as bigint), ?, ?, ?, ?, 'completed', \
                cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), \
                cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), ?)";
            let sql = format!(
                "insert into sales (id, store_id, seq, number, register_id, shift_id, \
                 cashier_id, status, subtotal, discount_total, net_total, tax_total, total, \
                 paid, change_given, commission, created_at) values {}",
                value_rows(1, chunk.len(), SALE)
            );
            let mut query = stmt(sql);
            for sale in chunk {
                let (store, register, shift, _) = self.stores.get(sale.store).context("store")?;
                let seq = self.seq.get_mut(sale.store).context("seq")?;
                *seq += 1;
                let f = &sale.facts;
                query = query
                    .bind(sale.id.to_string())
                    .bind(store.to_string())
                    .bind(*seq)
                    .bind(format!("RP{}-{:08}", sale.store, seq))
                    .bind(register.to_string())
                    .bind(shift.to_string())
                    .bind(f.cashier_id.to_string())
                    .bind(f.gross)
                    .bind(f.discounts)
                    .bind(f.net)
                    .bind(f.tax)
                    .bind(f.total)
                    .bind(f.total)
                    .bind(f.change)
                    .bind(f.commission)
                    .bind(ringup_store::platform::time::to_db(sale.at));
            }
            tx.run(query).await?;

            let lines: Vec<(&Sale, usize, &LineFacts)> = chunk
                .iter()
                .flat_map(|s| {
                    s.facts
                        .lines
                        .iter()
                        .enumerate()
                        .map(move |(i, l)| (s, i, l))
                })
                .collect();
            const LINE: &str = "(?, ?, cast(? as bigint), ?, ?, ?, cast(? as bigint), \
                cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), \
                cast(? as bigint), cast(? as bigint), ?)";
            let sql = format!(
                "insert into sale_lines (id, sale_id, line_no, product_id, sku, name, quantity, \
                 unit_price, discount, net, tax, total, tax_rate_bp, tax_class_id) values {}",
                value_rows(1, lines.len(), LINE)
            );
            let mut query = stmt(sql);
            for (sale, i, line) in lines {
                query = query
                    .bind(SaleLineId::new().to_string())
                    .bind(sale.id.to_string())
                    .bind(i as i64 + 1)
                    .bind(line.product_id.to_string())
                    .bind("RPT")
                    .bind("Report product")
                    .bind(line.quantity)
                    .bind(line.unit_price)
                    .bind(line.discount)
                    .bind(line.net)
                    .bind(line.tax)
                    .bind(line.total)
                    .bind(line.rate_bp)
                    .bind(line.tax_class_id.to_string());
            }
            tx.run(query).await?;

            let sql = format!(
                "insert into sale_payments (sale_id, line_no, method, amount) values {}",
                value_rows(1, chunk.len(), "(?, 1, ?, cast(? as bigint))")
            );
            let mut query = stmt(sql);
            for sale in chunk {
                let (method, amount) = *sale.facts.payments.first().context("payment")?;
                query = query
                    .bind(sale.id.to_string())
                    .bind(method.as_str())
                    .bind(amount);
            }
            tx.run(query).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
