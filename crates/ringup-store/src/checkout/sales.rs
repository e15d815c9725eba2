//! Sales: the one transaction of a checkout, reads of sales, and voids.
//!
//! Invariants: a sale row exists exactly when its lines, payments, stock movements, shift
//! totals and number do (all written in the caller's transaction by [`record_sale`]); numbers
//! are gapless per store because the counter row is bumped in that same transaction, so a
//! refused or rolled-back sale takes none. The counter row is the store's serial section:
//! every sale of the store queues on it until commit, so it is taken last (README, "What the
//! machine allows").

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

use sqlx::AnyConnection;

use ringup_core::catalog::LowStockThreshold;
use ringup_core::checkout::payment::{Settlement, TenderMethod};
use ringup_core::checkout::pricing::PricedCart;
use ringup_core::checkout::totals::{PerTender, ShiftTotals};
use ringup_core::ids::{
    CustomerId, ProductId, RegisterId, SaleId, SaleLineId, ShiftId, StoreId, TaxClassId, UserId,
};
use ringup_core::reports::{Contribution, local_day};
use ringup_core::stock::{MovementKind, Shortfall};

use crate::checkout::shifts::{ShiftRefusal, add_to_shift};
use crate::platform::db::{Db, placeholders, value_rows};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::{Code, Flag, NullableId};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;
use crate::reports::rollups;
use crate::stock::{LineMove, MoveMany, move_many};

/// What checkout needs of a product.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SaleProduct {
    #[sqlx(try_from = "String")]
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub price: i64,
    #[sqlx(try_from = "String")]
    pub tax_class_id: TaxClassId,
    /// The tax class's `rate_bp`.
    #[sqlx(rename = "rate_bp")]
    pub tax_rate_bp: i64,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    #[sqlx(try_from = "i64")]
    pub low_stock_threshold: LowStockThreshold,
}

/// The products among `ids` that exist, with their tax rates.
pub async fn products_for_sale(
    conn: &mut AnyConnection,
    ids: &[ProductId],
) -> StoreResult<HashMap<ProductId, SaleProduct>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "select p.id, p.sku, p.name, p.price, p.tax_class_id, t.rate_bp, p.active, \
           p.low_stock_threshold \
         from products p join tax_classes t on t.id = p.tax_class_id where p.id in ({})",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query_as(sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    let products: Vec<SaleProduct> = query.fetch_all(&mut *conn).await?;
    Ok(products.into_iter().map(|p| (p.id, p)).collect())
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SaleLineRow {
    #[sqlx(try_from = "String")]
    pub id: SaleLineId,
    #[sqlx(try_from = "String")]
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_rate_bp: i64,
    #[sqlx(try_from = "String")]
    pub tax_class_id: TaxClassId,
    pub returned_quantity: i64,
    /// The product's, read with the line (a void or return moves stock back).
    #[sqlx(try_from = "i64")]
    pub low_stock_threshold: LowStockThreshold,
}

/// A payment of a sale, or a refund of a return.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRow {
    #[sqlx(try_from = "Code")]
    pub method: TenderMethod,
    pub amount: i64,
    pub reference: Option<String>,
}

/// A sale as `SALE_COLUMNS` reads it; `lines` and `payments` are filled in by
/// `attach_details`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SaleRow {
    #[sqlx(try_from = "String")]
    pub id: SaleId,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub store_id: StoreId,
    #[sqlx(try_from = "String")]
    pub register_id: RegisterId,
    #[sqlx(try_from = "String")]
    pub shift_id: ShiftId,
    #[sqlx(try_from = "String")]
    pub cashier_id: UserId,
    #[sqlx(try_from = "NullableId<CustomerId>")]
    pub customer_id: Option<CustomerId>,
    /// `status` is `completed` or `voided`.
    #[sqlx(rename = "status", try_from = "SaleStatus")]
    pub voided: bool,
    pub subtotal: i64,
    pub discount_total: i64,
    pub net_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub paid: i64,
    #[sqlx(rename = "change_given")]
    pub change: i64,
    pub commission: i64,
    pub note: Option<String>,
    pub returns_count: i64,
    pub void_reason: Option<String>,
    pub voided_by: Option<String>,
    pub voided_at: Option<String>,
    pub created_at: String,
    /// The store's local day the sale counts on in the reports (`None`: made before days were
    /// kept; its store's current zone says).
    pub business_day: Option<String>,
    #[sqlx(skip)]
    pub lines: Vec<SaleLineRow>,
    #[sqlx(skip)]
    pub payments: Vec<PaymentRow>,
}

/// `sales.status` as a sale row keeps it: voided or not.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct SaleStatus(String);

impl From<SaleStatus> for bool {
    fn from(status: SaleStatus) -> bool {
        status.0 == "voided"
    }
}

/// A line with the sale it belongs to.
#[derive(sqlx::FromRow)]
struct LineOf {
    #[sqlx(try_from = "String")]
    sale_id: SaleId,
    #[sqlx(flatten)]
    line: SaleLineRow,
}

/// A payment with the sale it belongs to.
#[derive(sqlx::FromRow)]
struct PaymentOf {
    #[sqlx(try_from = "String")]
    sale_id: SaleId,
    #[sqlx(flatten)]
    payment: PaymentRow,
}

impl SaleRow {
    /// What this sale added to its shift's totals (recomputed from its rows).
    pub fn shift_delta(&self) -> ShiftTotals {
        let tenders = self.payments.iter().map(|p| (p.method, p.amount));
        ShiftTotals {
            sales_count: 1,
            gross: self.subtotal,
            discounts: self.discount_total,
            tax: self.tax_total,
            net: self.net_total,
            total: self.total,
            // Stored payments were summed without overflow when the sale was made.
            tenders: PerTender::of_amounts(tenders).unwrap_or_default(),
            change_given: self.change,
            ..ShiftTotals::default()
        }
    }
}

/// A priced, validated sale ready to write.
pub struct SaleDraft<'a> {
    pub id: SaleId,
    pub store_id: StoreId,
    pub store_code: &'a str,
    pub allow_negative: bool,
    pub register_id: RegisterId,
    pub shift_id: ShiftId,
    pub cashier_id: UserId,
    pub customer_id: Option<CustomerId>,
    /// The sale's totals (its lines are in `lines`, with what the sale row keeps of each).
    pub cart: PricedCart,
    /// What was paid and the change given.
    pub settlement: Settlement,
    pub commission: i64,
    pub note: Option<String>,
    /// Lines in request order; `id` and `returned_quantity` are ignored.
    pub lines: Vec<SaleLineRow>,
    pub payments: Vec<PaymentRow>,
    pub shift_delta: ShiftTotals,
    /// The store's zone: the sale counts in the reports on its local day.
    pub time_zone: Tz,
}

/// Why a sale was refused; nothing it wrote survives (the caller rolls back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaleRefusal {
    /// The shift was closed before the sale could be added to it, or its totals are full.
    Shift(ShiftRefusal),
    /// `(line index, shortfall)` for every short line.
    Short(Vec<(usize, Shortfall)>),
}

/// `NRB1-000042`.
pub fn sale_number(store_code: &str, seq: i64) -> String {
    format!("{store_code}-{seq:06}")
}

/// Writes a sale in the caller's transaction: shift totals (refusing a closed shift), stock
/// movements (refusing shortfalls), then the store's next number, the sale, its lines and its
/// payments. The caller appends the audit and outbox events and commits.
pub async fn record_sale(
    conn: &mut impl Sql,
    draft: SaleDraft<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Result<SaleRow, SaleRefusal>> {
    let now: &str = &time::to_db(at);
    if let Err(refusal) = add_to_shift(conn, draft.shift_id, &draft.shift_delta).await? {
        return Ok(Err(SaleRefusal::Shift(refusal)));
    }
    let moves: Vec<LineMove> = draft
        .lines
        .iter()
        .map(|l| LineMove {
            product_id: l.product_id,
            delta: l.quantity.saturating_neg(),
            threshold: l.low_stock_threshold,
        })
        .collect();
    let cashier = draft.cashier_id.to_string();
    let what = MoveMany {
        store_id: draft.store_id,
        kind: MovementKind::Sale,
        ref_type: "sale",
        ref_id: draft.id.to_string(),
        actor_id: &cashier,
        allow_negative: draft.allow_negative,
    };
    if let Err(short) = move_many(conn, &what, &moves, at).await? {
        return Ok(Err(SaleRefusal::Short(short)));
    }
    // The serial section starts here: the counter row stays locked until commit. The stock
    // movements deferred before it go with it.
    let counter = conn
        .row_with_deferred(
            stmt(
                "insert into sale_counters (store_id, last_number) values ($1, 1) \
                 on conflict (store_id) do update set last_number = sale_counters.last_number + 1 \
                 returning last_number",
            )
            .bind(draft.store_id.to_string()),
        )
        .await?;
    let seq = counter.int("last_number")?;
    // The local day the sale counts on in the reports, kept with it.
    let day = local_day(at, draft.time_zone);
    let mut sale = SaleRow {
        id: draft.id,
        number: sale_number(draft.store_code, seq),
        store_id: draft.store_id,
        register_id: draft.register_id,
        shift_id: draft.shift_id,
        cashier_id: draft.cashier_id,
        customer_id: draft.customer_id,
        voided: false,
        subtotal: draft.cart.subtotal.value(),
        discount_total: draft.cart.discount_total.value(),
        net_total: draft.cart.net_total.value(),
        tax_total: draft.cart.tax_total.value(),
        total: draft.cart.total.value(),
        paid: draft.settlement.paid.value(),
        change: draft.settlement.change.value(),
        commission: draft.commission,
        note: draft.note,
        returns_count: 0,
        void_reason: None,
        voided_by: None,
        voided_at: None,
        created_at: now.to_owned(),
        business_day: Some(rollups::day_key(day)),
        lines: draft.lines,
        payments: draft.payments,
    };
    for line in &mut sale.lines {
        line.id = SaleLineId::new();
        line.returned_quantity = 0;
    }
    insert_sale(conn, &sale, seq).await?;
    let contribution = Contribution::of_sale(&rollups::sale_facts(&sale))
        .ok_or_else(|| StoreError::corrupt("sale", "its report figures overflow"))?;
    rollups::apply(conn, sale.store_id, day, &contribution).await?;
    Ok(Ok(sale))
}

/// The local day `sale` counts on: the one kept with it, else the day its time gives in `zone`
/// (sales made before days were kept).
pub(crate) fn day_of(sale: &SaleRow, zone: Tz) -> StoreResult<chrono::NaiveDate> {
    rollups::business_day(sale.business_day.as_deref(), &sale.created_at, zone)
}

async fn insert_sale(conn: &mut impl Sql, sale: &SaleRow, seq: i64) -> StoreResult<()> {
    let row = stmt(
        "insert into sales (id, store_id, seq, number, register_id, shift_id, cashier_id, \
         customer_id, status, subtotal, discount_total, net_total, tax_total, total, paid, \
         change_given, commission, note, created_at, business_day) values ($1, $2, $3, $4, $5, \
         $6, $7, $8, 'completed', $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(sale.id.to_string())
    .bind(sale.store_id.to_string())
    .bind(seq)
    .bind(&sale.number)
    .bind(sale.register_id.to_string())
    .bind(sale.shift_id.to_string())
    .bind(sale.cashier_id.to_string())
    .bind(sale.customer_id.map(|c| c.to_string()))
    .bind(sale.subtotal)
    .bind(sale.discount_total)
    .bind(sale.net_total)
    .bind(sale.tax_total)
    .bind(sale.total)
    .bind(sale.paid)
    .bind(sale.change)
    .bind(sale.commission)
    .bind(&sale.note)
    .bind(&sale.created_at)
    .bind(sale.business_day.clone());
    conn.defer(row).await?;

    // The sale's id is `$1`; then one `?` per bound value of a line, in bind order.
    const LINE: &str = "($1, ?, cast(? as bigint), ?, ?, ?, cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), ?, cast(? as bigint))";
    let sql = format!(
        "insert into sale_lines (sale_id, id, line_no, product_id, sku, name, quantity, \
         unit_price, discount, net, tax, total, tax_rate_bp, tax_class_id, returned_quantity) \
         values {}",
        value_rows(2, sale.lines.len(), LINE)
    );
    let mut query = stmt(sql).bind(sale.id.to_string());
    for (no, line) in (1i64..).zip(&sale.lines) {
        query = query
            .bind(line.id.to_string())
            .bind(no)
            .bind(line.product_id.to_string())
            .bind(&line.sku)
            .bind(&line.name)
            .bind(line.quantity)
            .bind(line.unit_price)
            .bind(line.discount)
            .bind(line.net)
            .bind(line.tax)
            .bind(line.total)
            .bind(line.tax_rate_bp)
            .bind(line.tax_class_id.to_string())
            .bind(0i64);
    }
    conn.defer(query).await?;

    if sale.payments.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "insert into sale_payments (sale_id, line_no, method, amount, reference) values {}",
        value_rows(
            2,
            sale.payments.len(),
            "($1, cast(? as bigint), ?, cast(? as bigint), ?)"
        )
    );
    let mut query = stmt(sql).bind(sale.id.to_string());
    for (no, payment) in (1i64..).zip(&sale.payments) {
        query = query
            .bind(no)
            .bind(payment.method.as_str())
            .bind(payment.amount)
            .bind(payment.reference.clone());
    }
    conn.defer(query).await?;
    Ok(())
}

const SALE_COLUMNS: &str = "id, number, store_id, register_id, shift_id, cashier_id, \
    customer_id, status, subtotal, discount_total, net_total, tax_total, total, paid, \
    change_given, commission, note, returns_count, void_reason, voided_by, voided_at, created_at, \
    business_day";

/// Fills in the lines and payments of `sales` (two statements for any number of sales).
async fn attach_details(conn: &mut AnyConnection, sales: &mut [SaleRow]) -> StoreResult<()> {
    if sales.is_empty() {
        return Ok(());
    }
    let list = placeholders(1, sales.len());
    let index: HashMap<SaleId, usize> = sales.iter().enumerate().map(|(i, s)| (s.id, i)).collect();

    let sql = sqlx::AssertSqlSafe(format!(
        "select l.sale_id, l.id, l.product_id, l.sku, l.name, l.quantity, l.unit_price, \
           l.discount, l.net, l.tax, l.total, l.tax_rate_bp, l.tax_class_id, \
           l.returned_quantity, p.low_stock_threshold \
         from sale_lines l join products p on p.id = l.product_id \
         where l.sale_id in ({list}) order by l.sale_id, l.line_no"
    ));
    let mut query = sqlx::query_as(sql);
    for sale in sales.iter() {
        query = query.bind(sale.id.to_string());
    }
    let lines: Vec<LineOf> = query.fetch_all(&mut *conn).await?;
    for LineOf { sale_id, line } in lines {
        if let Some(sale) = index.get(&sale_id).and_then(|&i| sales.get_mut(i)) {
            sale.lines.push(line);
        }
    }

    let sql = sqlx::AssertSqlSafe(format!(
        "select sale_id, method, amount, reference from sale_payments \
         where sale_id in ({list}) order by sale_id, line_no"
    ));
    let mut query = sqlx::query_as(sql);
    for sale in sales.iter() {
        query = query.bind(sale.id.to_string());
    }
    let payments: Vec<PaymentOf> = query.fetch_all(&mut *conn).await?;
    for PaymentOf { sale_id, payment } in payments {
        if let Some(sale) = index.get(&sale_id).and_then(|&i| sales.get_mut(i)) {
            sale.payments.push(payment);
        }
    }
    Ok(())
}

/// A sale with its lines and payments.
pub async fn find_sale(conn: &mut AnyConnection, id: SaleId) -> StoreResult<Option<SaleRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {SALE_COLUMNS} from sales where id = $1"));
    let Some(sale): Option<SaleRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut sales = [sale];
    attach_details(conn, &mut sales).await?;
    let [sale] = sales;
    Ok(Some(sale))
}

#[derive(Clone, Debug, Default)]
pub struct SaleFilter {
    /// `None`: every store; otherwise only these (an empty list sees nothing).
    pub stores: Option<Vec<StoreId>>,
    pub register_id: Option<RegisterId>,
    pub shift_id: Option<ShiftId>,
    pub cashier_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    /// Inclusive, database time text.
    pub from: Option<String>,
    /// Exclusive.
    pub to: Option<String>,
}

pub async fn list_sales(
    db: &Db,
    filter: &SaleFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<SaleRow>> {
    let mut conditions = Conditions::after_cursor("id");
    if let Some(stores) = &filter.stores {
        if stores.is_empty() {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        conditions.push_in("store_id", stores.iter().map(ToString::to_string));
    }
    let equal = [
        ("register_id", filter.register_id.map(|v| v.to_string())),
        ("shift_id", filter.shift_id.map(|v| v.to_string())),
        ("cashier_id", filter.cashier_id.map(|v| v.to_string())),
        ("customer_id", filter.customer_id.map(|v| v.to_string())),
    ];
    for (column, value) in equal {
        if let Some(value) = value {
            let p = conditions.param(value);
            conditions.push(format!("{column} = {p}"));
        }
    }
    if let Some(from) = &filter.from {
        let p = conditions.param(from.clone());
        conditions.push(format!("created_at >= {p}"));
    }
    if let Some(to) = &filter.to {
        let p = conditions.param(to.clone());
        conditions.push(format!("created_at < {p}"));
    }
    let mut conn = db.read_conn().await?;
    let sales: Vec<SaleRow> = conditions
        .fetch(
            &mut conn,
            &format!("select {SALE_COLUMNS} from sales"),
            "order by id limit $2",
            after,
            limit,
        )
        .await?;
    let mut page = page_of(sales, limit, |s| s.id.to_string());
    attach_details(&mut conn, &mut page.items).await?;
    Ok(page)
}

pub use super::voids::{VoidRefusal, void_sale};
