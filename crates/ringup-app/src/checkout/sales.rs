//! Ringing up a sale and voiding one (docs/CHECKOUT.md).
//!
//! A sale is checked and priced before its transaction starts (reads on the read pool; the
//! pure rules of `ringup_core::checkout`); the transaction then claims the idempotency key,
//! adds to the shift (refusing a closed one), moves the stock (refusing shortfalls), takes the
//! store's next number, writes the rows, the outbox and audit events, and keeps the reply for
//! replays — all or nothing.

use std::collections::HashMap;

use ringup_core::catalog::{Money, Quantity};
use ringup_core::checkout::payment::{Settlement, Tender, settle};
use ringup_core::checkout::pricing::{Discount, LineInput, PricedCart, PricingError};
use ringup_core::checkout::pricing::{commission, price_cart};
use ringup_core::checkout::totals::ShiftTotals;
use ringup_core::ids::UserId;
use ringup_core::ids::{CustomerId, ProductId, RegisterId, SaleId, SaleLineId, ShiftId, StoreId};
use ringup_core::rate::RateBp;
use ringup_store::catalog::stores::{self, StoreRow};
use ringup_store::checkout::customers;
use ringup_store::checkout::sales::{
    self, PaymentRow, SaleDraft, SaleLineRow, SaleProduct, SaleRefusal, SaleRow, VoidRefusal,
};
use ringup_store::checkout::shifts::{self, ShiftRefusal, ShiftRow};
use ringup_store::users;
use ringup_store::{Db, DirectTx, ReadConn, StoreError};

use super::CheckoutError;
use crate::authz::{Actor, Capability};
use crate::meters;
use crate::problem::FieldError;
use crate::write::{
    Effects, View, Write, WriteError, WriteRequest, Written, retrying, write_direct,
};

type StoreResult<T> = Result<T, StoreError>;

/// One line as the caller asked for it; the product is not looked up yet.
#[derive(Clone)]
pub struct LineRequest {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub discount: Option<Discount>,
    /// Overrides the catalog price; supervisors only.
    pub unit_price: Option<Money>,
}

/// A sale as the caller asked for it, with every rule that needs no database already checked:
/// what failed is in `problems` (and the field left `None`), so one answer can list those
/// together with what the database says (unknown store, archived product, …).
#[derive(Clone)]
pub struct NewSale {
    pub store_id: Option<StoreId>,
    pub register_id: Option<RegisterId>,
    pub shift_id: Option<ShiftId>,
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<Option<LineRequest>>,
    pub discount: Option<Discount>,
    pub payments: Vec<PaymentRow>,
    pub note: Option<String>,
    pub problems: Vec<FieldError>,
}

impl NewSale {
    pub fn overrides_price(&self) -> bool {
        self.lines.iter().flatten().any(|l| l.unit_price.is_some())
    }

    /// The payments as tenders, or the problem of the first whose amount is not money (the
    /// API refuses those before; other callers build `payments` themselves).
    pub fn tenders(&self) -> Result<Vec<Tender>, FieldError> {
        self.payments
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let amount = Money::new(p.amount)
                    .map_err(|e| FieldError::new(format!("payments[{i}].amount"), e.to_string()))?;
                Ok(Tender {
                    method: p.method,
                    amount,
                })
            })
            .collect()
    }
}

/// Rings up a sale: one transaction, idempotent under its key.
pub async fn create_sale(
    db: &Db,
    request: WriteRequest<'_>,
    sale: NewSale,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    retrying("sale.create", request.is_keyed(), || {
        create_sale_once(db, request, sale.clone(), view)
    })
    .await
}

async fn create_sale_once(
    db: &Db,
    request: WriteRequest<'_>,
    mut sale: NewSale,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    let actor = request.actor;
    if sale.overrides_price() && !actor.can(Capability::SuperviseSales) {
        return Err(CheckoutError::Forbidden);
    }
    let mut problems = std::mem::take(&mut sale.problems);
    let ctx = load_context(db, request, &sale, &mut problems).await?;
    let priced = match &ctx {
        Some(ctx) if problems.is_empty() => price(&sale, ctx, &mut problems)?,
        _ => None,
    };
    let store_code = ctx.as_ref().map(|ctx| ctx.store.code.clone());

    let written = write_direct!(db, request, |write, request| {
        let (Some(ctx), Some((cart, settlement)), true) = (ctx, priced, problems.is_empty()) else {
            return Err(CheckoutError::Invalid(problems));
        };
        record(write, sale, &ctx, cart, settlement, view).await
    })
    .await?;
    if let (Some(sale), Some(store)) = (written.outcome(), &store_code) {
        meters::sale_recorded(store, sale.total);
    }
    Ok(written)
}

/// The sale's transaction after its key is claimed: on SQLite it runs on the writer
/// ([`Db::write_direct`]), so it only checks what it has and runs statements.
async fn record(
    mut write: Write<'_, DirectTx>,
    sale: NewSale,
    ctx: &Context,
    cart: PricedCart,
    settlement: Settlement,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    if !write.actor().may_sell_on(&ctx.shift) {
        return Err(CheckoutError::Forbidden);
    }
    if !ctx.shift.open {
        return Err(CheckoutError::Shift {
            refusal: ShiftRefusal::Closed,
            field: "shift_id",
        });
    }
    let draft = draft(sale, ctx, cart, settlement)?;
    let at = write.at();
    let recorded = match sales::record_sale(write.tx(), draft, at).await? {
        Ok(recorded) => recorded,
        Err(SaleRefusal::Shift(refusal)) => {
            return Err(CheckoutError::Shift {
                refusal,
                field: "payments",
            });
        }
        Err(SaleRefusal::Short(short)) => {
            return Err(CheckoutError::InsufficientStock(
                short
                    .into_iter()
                    .map(|(i, s)| (format!("lines[{i}].quantity"), s))
                    .collect(),
            ));
        }
    };
    let shown = view(&recorded).map_err(WriteError::View)?;
    let audit = write
        .audit_event("sale.completed", Some(recorded.store_id))
        .on("sale", recorded.id)
        .with(serde_json::json!({
            "number": recorded.number, "total": recorded.total,
            "shift_id": recorded.shift_id.to_string(),
        }));
    let effects = Effects::new()
        .event("sale.completed", Some(recorded.store_id), &shown)
        .audit(audit);
    Ok(write.finish(recorded, effects, 201, shown).await?)
}

/// What the database says about a sale request's references.
struct Context {
    store: StoreRow,
    shift: ShiftRow,
    products: HashMap<ProductId, SaleProduct>,
    commission_rate_bp: i64,
    cashier_id: UserId,
}

/// The reads a sale needs before its transaction, each on the connection it is given.
struct Reads<'a> {
    actor: &'a Actor,
    sale: &'a NewSale,
    ids: &'a [ProductId],
}

impl Reads<'_> {
    async fn store(&self, conn: &mut ReadConn) -> StoreResult<Option<StoreRow>> {
        match self.sale.store_id {
            Some(id) if self.actor.sees_store(id) => stores::find_store(conn, id).await,
            _ => Ok(None),
        }
    }

    async fn shift(&self, conn: &mut ReadConn) -> StoreResult<Option<ShiftRow>> {
        match self.sale.shift_id {
            Some(id) => shifts::find_shift(conn, id).await,
            None => Ok(None),
        }
    }

    async fn customer_known(&self, conn: &mut ReadConn) -> StoreResult<bool> {
        match self.sale.customer_id {
            Some(id) => customers::customer_exists(conn, id).await,
            None => Ok(true),
        }
    }

    async fn products(&self, conn: &mut ReadConn) -> StoreResult<HashMap<ProductId, SaleProduct>> {
        sales::products_for_sale(conn, self.ids).await
    }

    /// The signed-in seller's commission rate (`None` for an API key: the shift names the
    /// seller, so that read waits for it).
    async fn user_rate(&self, conn: &mut ReadConn) -> StoreResult<Option<i64>> {
        match self.actor.user_id() {
            Some(user) => users::commission_rate_of(conn, user).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Looks up everything the request names, adding a problem for each reference that does not
/// exist or that the actor may not see.
async fn load_context(
    db: &Db,
    request: WriteRequest<'_>,
    sale: &NewSale,
    problems: &mut Vec<FieldError>,
) -> Result<Option<Context>, CheckoutError> {
    let actor = request.actor;
    // The reads are independent of each other. Where a read is a round trip (PostgreSQL) they
    // run side by side, each on a read connection of its own, so they cost one round trip, not
    // five; on SQLite they are CPU, measured slower side by side on two cores (and each pooled
    // connection is checked when taken), so they run one after the other on one connection.
    let ids: Vec<_> = sale.lines.iter().flatten().map(|l| l.product_id).collect();
    let reads = Reads {
        actor,
        sale,
        ids: &ids,
    };
    let (store, shift, customer_known, products, user_rate) = if db.reads_are_round_trips() {
        tokio::try_join!(
            async { reads.store(&mut db.read_conn().await?).await },
            async { reads.shift(&mut db.read_conn().await?).await },
            async { reads.customer_known(&mut db.read_conn().await?).await },
            async { reads.products(&mut db.read_conn().await?).await },
            async { reads.user_rate(&mut db.read_conn().await?).await },
        )?
    } else {
        let mut conn = db.read_conn().await?;
        (
            reads.store(&mut conn).await?,
            reads.shift(&mut conn).await?,
            reads.customer_known(&mut conn).await?,
            reads.products(&mut conn).await?,
            reads.user_rate(&mut conn).await?,
        )
    };
    if store.is_none() && sale.store_id.is_some() {
        problems.push(FieldError::new("store_id", "is not a known store"));
    }
    // A shift of the named register proves the register and its store; only otherwise is the
    // register looked up, to say what is wrong with it.
    let register_store = match (&shift, sale.register_id) {
        (Some(s), Some(r)) if s.register_id == r => Some(s.store_id),
        (_, Some(r)) => shifts::find_register(&mut *db.read_conn().await?, r)
            .await?
            .map(|(s, _)| s),
        (_, None) => None,
    };
    match (&store, register_store) {
        (Some(store), Some(register_store)) if register_store != store.id => {
            problems.push(FieldError::new(
                "register_id",
                "is not a register of this store",
            ));
        }
        (_, None) if sale.register_id.is_some() => {
            problems.push(FieldError::new("register_id", "is not a known register"));
        }
        _ => {}
    }
    match &shift {
        Some(s) if Some(s.register_id) != sale.register_id => {
            problems.push(FieldError::new(
                "shift_id",
                "is not a shift of this register",
            ));
        }
        None if sale.shift_id.is_some() => {
            problems.push(FieldError::new("shift_id", "is not a known shift"));
        }
        _ => {}
    }
    if !customer_known {
        problems.push(FieldError::new("customer_id", "is not a known customer"));
    }
    for (i, line) in sale.lines.iter().enumerate() {
        let Some(line) = line else { continue };
        match products.get(&line.product_id) {
            None => problems.push(FieldError::new(
                format!("lines[{i}].product_id"),
                "is not a known product",
            )),
            Some(p) if !p.active => problems.push(FieldError::new(
                format!("lines[{i}].product_id"),
                "is archived and cannot be sold",
            )),
            Some(_) => {}
        }
    }
    let (Some(store), Some(shift)) = (store, shift) else {
        return Ok(None);
    };
    // The seller: the signed-in user, or (for an API key) the shift's cashier.
    let cashier_id = actor.user_id().unwrap_or(shift.cashier_id);
    let commission_rate_bp = match user_rate {
        Some(rate) => rate,
        None => users::commission_rate_of(&mut *db.read_conn().await?, cashier_id).await?,
    };
    Ok(Some(Context {
        store,
        shift,
        products,
        commission_rate_bp,
        cashier_id,
    }))
}

/// The problem for a pricing refusal.
pub fn pricing_problem(error: &PricingError) -> FieldError {
    match error {
        PricingError::LineDiscountTooLarge { index } => FieldError::new(
            format!("lines[{index}].discount"),
            "is larger than the line's amount",
        ),
        PricingError::CartDiscountTooLarge => {
            FieldError::new("discount", "is larger than the sum of the line amounts")
        }
        PricingError::Overflow => FieldError::new("lines", error.to_string()),
    }
}

/// The line's price: its override, or the catalog's (which the database keeps in range).
fn unit_price(line: &LineRequest, product: &SaleProduct) -> Result<Money, StoreError> {
    match line.unit_price {
        Some(price) => Ok(price),
        None => Money::new(product.price).map_err(|e| StoreError::corrupt("products.price", e)),
    }
}

/// Prices the cart and checks the tenders; `Ok(None)` after recording problems.
fn price(
    sale: &NewSale,
    ctx: &Context,
    problems: &mut Vec<FieldError>,
) -> Result<Option<(PricedCart, Settlement)>, CheckoutError> {
    let mut inputs = Vec::new();
    for line in &sale.lines {
        let Some(line) = line else { return Ok(None) };
        let Some(product) = ctx.products.get(&line.product_id) else {
            return Ok(None);
        };
        let tax_rate_bp = RateBp::new(product.tax_rate_bp)
            .map_err(|e| StoreError::corrupt("tax_classes.rate_bp", e))?;
        inputs.push(LineInput {
            unit_price: unit_price(line, product)?,
            quantity: line.quantity,
            discount: line.discount,
            tax_class_id: product.tax_class_id,
            tax_rate_bp,
        });
    }
    let cart = match price_cart(&inputs, sale.discount, ctx.store.prices_include_tax) {
        Ok(cart) => cart,
        Err(e) => {
            problems.push(pricing_problem(&e));
            return Ok(None);
        }
    };
    let settled = sale.tenders().and_then(|tenders| {
        settle(cart.total, &tenders).map_err(|e| FieldError::new("payments", e.to_string()))
    });
    match settled {
        Ok(settlement) => Ok(Some((cart, settlement))),
        Err(problem) => {
            problems.push(problem);
            Ok(None)
        }
    }
}

fn draft<'a>(
    sale: NewSale,
    ctx: &'a Context,
    cart: PricedCart,
    settlement: Settlement,
) -> Result<SaleDraft<'a>, CheckoutError> {
    let overflow = || CheckoutError::invalid("lines", "amounts are too large");
    let tenders = sale
        .tenders()
        .map_err(|problem| CheckoutError::Invalid(vec![problem]))?;
    let mut lines = Vec::new();
    for (line, priced) in sale.lines.iter().flatten().zip(&cart.lines) {
        let product = ctx.products.get(&line.product_id).ok_or_else(overflow)?;
        lines.push(SaleLineRow {
            id: SaleLineId::new(),
            product_id: product.id,
            sku: product.sku.clone(),
            name: product.name.clone(),
            quantity: line.quantity.value(),
            unit_price: unit_price(line, product)?.value(),
            discount: priced.discount,
            net: priced.net,
            tax: priced.tax,
            total: priced.total,
            tax_rate_bp: priced.tax_rate_bp.value(),
            tax_class_id: priced.tax_class_id,
            returned_quantity: 0,
            low_stock_threshold: product.low_stock_threshold,
        });
    }
    Ok(SaleDraft {
        id: SaleId::new(),
        store_id: ctx.store.id,
        store_code: &ctx.store.code,
        allow_negative: ctx.store.allow_negative_stock,
        register_id: ctx.shift.register_id,
        shift_id: ctx.shift.id,
        cashier_id: ctx.cashier_id,
        customer_id: sale.customer_id,
        commission: commission(cart.net_total.value(), ctx.commission_rate_bp)
            .ok_or_else(overflow)?,
        note: sale.note,
        lines,
        payments: sale.payments,
        shift_delta: ShiftTotals::sale(&cart, &settlement, &tenders).ok_or_else(overflow)?,
        time_zone: ctx.store.time_zone()?,
        cart,
        settlement,
    })
}

/// A void as the caller asked for it: the sale and a reason (`None` when it broke a rule,
/// listed in `problems`).
pub struct VoidSale {
    pub sale: SaleRow,
    pub reason: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Voids a sale while its shift is open: stock goes back, the shift's totals come off.
pub async fn void_sale(
    db: &Db,
    request: WriteRequest<'_>,
    void: VoidSale,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    retrying("sale.void", request.is_keyed(), || {
        void_sale_once(db, request, &void, view)
    })
    .await
}

async fn void_sale_once(
    db: &Db,
    request: WriteRequest<'_>,
    void: &VoidSale,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    if !request.actor.can(Capability::SuperviseSales) {
        return Err(CheckoutError::Forbidden);
    }
    let VoidSale {
        sale,
        reason,
        problems,
    } = void;
    let store = stores::find_store(&mut *db.read_conn().await?, sale.store_id)
        .await?
        .ok_or(CheckoutError::NotFound)?;
    let (sale, reason, problems) = (sale.clone(), reason.clone(), problems.clone());
    let store_code = store.code.clone();
    let written = write_direct!(db, request, |write, request| {
        let Some(reason) = reason else {
            return Err(CheckoutError::Invalid(problems));
        };
        record_void(write, sale, &store, &reason, view).await
    })
    .await?;
    if let Some(voided) = written.outcome() {
        meters::sale_voided(&store_code, voided.total);
    }
    Ok(written)
}

/// The void's transaction after its key is claimed (on SQLite the writer runs it).
async fn record_void(
    mut write: Write<'_, DirectTx>,
    sale: SaleRow,
    store: &StoreRow,
    reason: &str,
    view: View<SaleRow>,
) -> Result<Written<SaleRow>, CheckoutError> {
    let actor_id = write.actor().actor_id();
    let at = write.at();
    let voided = match sales::void_sale(
        write.tx(),
        &sale,
        store.time_zone()?,
        store.allow_negative_stock,
        &actor_id,
        reason,
        at,
    )
    .await?
    {
        Ok(voided) => voided,
        Err(VoidRefusal::AlreadyVoided) => {
            return Err(CheckoutError::NotVoidable("the sale is already voided"));
        }
        Err(VoidRefusal::HasReturns) => {
            return Err(CheckoutError::NotVoidable(
                "a sale with returns cannot be voided",
            ));
        }
        Err(VoidRefusal::Shift(refusal)) => {
            return Err(CheckoutError::Shift {
                refusal,
                field: "id",
            });
        }
    };
    let shown = view(&voided).map_err(WriteError::View)?;
    let audit = write
        .audit_event("sale.voided", Some(voided.store_id))
        .on("sale", voided.id)
        .with(serde_json::json!({
            "number": voided.number, "total": voided.total, "reason": reason,
        }));
    let effects = Effects::new()
        .event("sale.voided", Some(voided.store_id), &shown)
        .audit(audit);
    Ok(write.finish(voided, effects, 200, shown).await?)
}
