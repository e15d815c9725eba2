//! A store's trading days, one after another, each written through the checkout use cases
//! at the local time it would have happened: the cashiers open their shifts at 08:45, sell
//! from 09:00 to 20:00 (carts of 1–5 lines, cash, card or both), take a few returns of earlier
//! sales, now and then a manager voids a sale just rung up, and the shifts close at 20:15
//! with the drawer counted (a few counts off by some cents, so the shift report has
//! over/short to show). Every seventh day the stock clerk restocks what runs low.
//!
//! The store's own random generator decides everything, and the store keeps its own count of
//! what is on the shelf, so a cart never asks for more than is there and no sale is refused.
//! Each write's time is at least a second after the store's previous one, so the store's
//! audit chain, receipt numbers and clock agree.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};

use ringup_api::checkout::returns::return_view;
use ringup_api::checkout::sales::sale_view;
use ringup_api::checkout::shifts::{closed_view, shift_view};
use ringup_app::checkout::returns::{NewReturn, ReturnLine, create_return};
use ringup_app::checkout::sales::{LineRequest, NewSale, VoidSale, create_sale, void_sale};
use ringup_app::checkout::shifts::{CloseShift, OpenShift, close_shift, open_shift};
use ringup_app::{Actor, Origin, WriteRequest};
use ringup_core::catalog::{Money, Quantity};
use ringup_core::checkout::payment::TenderMethod;
use ringup_core::checkout::pricing::{Discount, LineInput, price_cart};
use ringup_core::checkout::refund::refund_due;
use ringup_core::ids::ProductId;
use ringup_store::Db;
use ringup_store::catalog::stores::StoreRow;
use ringup_store::checkout::sales::{PaymentRow, SaleRow};
use ringup_store::checkout::shifts::{self, ShiftRow};

use super::setup::{StoreStaff, receive};
use super::{Product, fresh, refused};

/// A drawer's opening float: 150.00.
const OPENING_FLOAT: i64 = 15_000;
/// Sales a store makes on an ordinary day, before the weekday's share.
const SALES_PER_DAY: std::ops::RangeInclusive<u32> = 28..=40;
/// Returns a store takes a day, from the second day on.
const RETURNS_PER_DAY: std::ops::RangeInclusive<u32> = 0..=2;
/// Shares of sales that are voided, carry a cart discount, are paid by card, or split.
const VOIDED: f64 = 0.02;
const DISCOUNTED: f64 = 0.06;
const BY_CARD: f64 = 0.5;
const SPLIT: f64 = 0.05;
/// Shelves under this many units are restocked on a delivery day, up to the target.
const RESTOCK_BELOW: i64 = 10;
const RESTOCK_TO: i64 = 40;
const RESTOCK_TO_STAPLE: i64 = 80;

/// What a store's days wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub sales: u64,
    pub voids: u64,
    pub returns: u64,
    pub shifts: u64,
    pub deliveries: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.sales += other.sales;
        self.voids += other.voids;
        self.returns += other.returns;
        self.shifts += other.shifts;
        self.deliveries += other.deliveries;
    }
}

/// A completed sale that may still see returns.
struct Sold {
    sale: SaleRow,
    day: usize,
    /// How the refund goes back: the way most of it was paid.
    method: TenderMethod,
}

/// One store's run through its days.
pub struct StoreDays {
    pub db: Db,
    pub origin: Origin,
    pub store: StoreRow,
    pub staff: StoreStaff,
    pub products: Arc<Vec<Product>>,
    /// Units on the shelf, per product (same order as `products`).
    pub on_hand: Vec<i64>,
    pub rng: StdRng,
    /// The time of the store's last write.
    pub cursor: DateTime<Utc>,
    sold: Vec<Sold>,
    index: HashMap<ProductId, usize>,
    tz: Tz,
    counts: Counts,
}

/// What happens in a day, in time order.
enum Event {
    Sale { till: usize },
    Return { till: usize },
}

impl StoreDays {
    #[allow(clippy::too_many_arguments)] // the store's whole starting state
    pub fn new(
        db: Db,
        origin: Origin,
        store: StoreRow,
        staff: StoreStaff,
        products: Arc<Vec<Product>>,
        on_hand: Vec<i64>,
        rng: StdRng,
        cursor: DateTime<Utc>,
    ) -> Result<StoreDays> {
        let tz = store.time_zone()?;
        let index = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        Ok(StoreDays {
            db,
            origin,
            store,
            staff,
            products,
            on_hand,
            rng,
            cursor,
            sold: Vec::new(),
            index,
            tz,
            counts: Counts::default(),
        })
    }

    /// Trades on each of `days` (oldest first); returns what was written.
    pub async fn run(mut self, days: Vec<NaiveDate>) -> Result<Counts> {
        for (n, date) in days.into_iter().enumerate() {
            self.day(n, date)
                .await
                .with_context(|| format!("store {} on {date}", self.store.code))?;
        }
        Ok(self.counts)
    }

    /// The instant of `hh:mm:ss` local time on `date`, kept a second after the last write. A
    /// local time skipped by a clock change is taken an hour later.
    fn at(&mut self, date: NaiveDate, seconds: u32) -> Result<DateTime<Utc>> {
        let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
            .with_context(|| format!("{seconds} s is not a time of day"))?;
        let local = date.and_time(time);
        let when = self
            .tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .with_context(|| format!("{local} does not exist in {}", self.tz))?
            .with_timezone(&Utc);
        self.cursor = when.max(self.cursor + chrono::Duration::seconds(1));
        Ok(self.cursor)
    }

    fn request<'a>(&'a self, actor: &'a Actor, at: DateTime<Utc>) -> WriteRequest<'a> {
        WriteRequest {
            actor,
            at,
            origin: &self.origin,
            idempotency: None,
        }
    }

    async fn day(&mut self, n: usize, date: NaiveDate) -> Result<()> {
        if n > 0 && n.is_multiple_of(7) {
            self.restock(date).await?;
        }
        let mut open = Vec::new();
        for till in 0..self.staff.cashiers.len() {
            let offset = u32::try_from(till).unwrap_or_default() * 60;
            let at = self.at(date, hms(8, 45, 0) + offset)?;
            open.push(self.open(till, at).await?);
        }
        let share = match date.weekday() {
            Weekday::Mon => 85,
            Weekday::Tue => 90,
            Weekday::Wed => 95,
            Weekday::Thu => 100,
            Weekday::Fri => 115,
            Weekday::Sat => 130,
            Weekday::Sun => 70,
        };
        let sales = self.rng.random_range(SALES_PER_DAY) * share / 100;
        let returns = if n == 0 {
            0
        } else {
            self.rng.random_range(RETURNS_PER_DAY)
        };
        let tills = open.len().max(1);
        let mut events: Vec<(u32, Event)> = (0..sales + returns)
            .map(|i| {
                let time = self.rng.random_range(hms(9, 0, 0)..hms(20, 0, 0));
                let till = self.rng.random_range(0..tills);
                let event = if i < sales {
                    Event::Sale { till }
                } else {
                    Event::Return { till }
                };
                (time, event)
            })
            .collect();
        events.sort_by_key(|(time, _)| *time);
        for (time, event) in events {
            let at = self.at(date, time)?;
            match event {
                Event::Sale { till } => self.sale(n, till, &open, at).await?,
                Event::Return { till } => self.take_return(n, till, at).await?,
            }
        }
        for (till, shift) in open.into_iter().enumerate() {
            let offset = u32::try_from(till).unwrap_or_default() * 60;
            let at = self.at(date, hms(20, 15, 0) + offset)?;
            self.close(till, shift, at).await?;
        }
        Ok(())
    }

    /// The clerk receives what runs low, at 08:00.
    async fn restock(&mut self, date: NaiveDate) -> Result<()> {
        let products = Arc::clone(&self.products);
        for (i, product) in products.iter().enumerate() {
            let Some(units) = self.on_hand.get(i).copied() else {
                continue;
            };
            if units >= RESTOCK_BELOW {
                continue;
            }
            let target = if product.staple {
                RESTOCK_TO_STAPLE
            } else {
                RESTOCK_TO
            };
            let at = self.at(date, hms(8, 0, 0))?;
            let clerk = &self.staff.clerk;
            receive(
                &self.db,
                clerk,
                &self.origin,
                &self.store,
                product,
                target - units,
                at,
                "weekly delivery",
            )
            .await?;
            if let Some(shelf) = self.on_hand.get_mut(i) {
                *shelf = target;
            }
            self.counts.deliveries += 1;
        }
        Ok(())
    }

    async fn open(&mut self, till: usize, at: DateTime<Utc>) -> Result<ShiftRow> {
        let (cashier, register) = self.staff.cashiers.get(till).context("no such till")?;
        let command = OpenShift {
            register_id: Some(*register),
            opening_float: Some(Money::new(OPENING_FLOAT).map_err(|e| anyhow!("float: {e}"))?),
            problems: Vec::new(),
        };
        let written = open_shift(&self.db, self.request(cashier, at), command, shift_view)
            .await
            .map_err(refused("opening the shift"))?;
        self.counts.shifts += 1;
        fresh(written)
    }

    /// Closes the till's shift with its drawer counted: right, or a few cents to a few euros
    /// off one time in ten.
    async fn close(&mut self, till: usize, shift: ShiftRow, at: DateTime<Utc>) -> Result<()> {
        let (cashier, _) = self.staff.cashiers.get(till).context("no such till")?;
        let now = shifts::find_shift(&mut *self.db.read_conn().await?, shift.id)
            .await?
            .context("the shift vanished")?;
        let expected = now
            .totals
            .drawer(now.opening_float)
            .expected_cash()
            .context("the drawer's expected cash overflows")?;
        let off = if self.rng.random_bool(0.1) {
            self.rng.random_range(1..=300) * if self.rng.random_bool(0.5) { 1 } else { -1 }
        } else {
            0
        };
        let command = CloseShift {
            shift: now,
            counted_cash: (expected + off).max(0),
        };
        close_shift(&self.db, self.request(cashier, at), command, closed_view)
            .await
            .map_err(refused("closing the shift"))?;
        Ok(())
    }

    /// A cart of 1–5 distinct products that are on the shelf: staples three times in five.
    fn cart(&mut self) -> Vec<(usize, i64)> {
        let wanted = *[1, 1, 2, 2, 3, 3, 4, 5].choose(&mut self.rng).unwrap_or(&1);
        let count = self.products.len();
        let mut lines: Vec<(usize, i64)> = Vec::new();
        for _ in 0..wanted * 4 {
            if lines.len() == wanted || count == 0 {
                break;
            }
            let i = if self.rng.random_bool(0.6) {
                // Staples are every fifth product.
                self.rng.random_range(0..count.div_ceil(5)) * 5
            } else {
                self.rng.random_range(0..count)
            };
            let quantity = *[1, 1, 1, 1, 2, 2, 3].choose(&mut self.rng).unwrap_or(&1);
            let available = self.on_hand.get(i).copied().unwrap_or_default();
            if available >= quantity && lines.iter().all(|(j, _)| *j != i) {
                lines.push((i, quantity));
            }
        }
        lines
    }

    /// Cash (rounded up to the next note, or exact), card, or half of each.
    fn payments(&mut self, total: i64) -> Vec<PaymentRow> {
        let pay = |method, amount| PaymentRow {
            method,
            amount,
            reference: None,
        };
        let card = |rng: &mut StdRng, amount| PaymentRow {
            method: TenderMethod::Card,
            amount,
            reference: Some(format!("DEMO-{:06}", rng.random_range(0..1_000_000))),
        };
        if total >= 1_000 && self.rng.random_bool(SPLIT) {
            let cash = total / 2 / 100 * 100;
            return vec![
                pay(TenderMethod::Cash, cash),
                card(&mut self.rng, total - cash),
            ];
        }
        if self.rng.random_bool(BY_CARD) {
            return vec![card(&mut self.rng, total)];
        }
        let note = *[0, 500, 1_000, 2_000, 5_000]
            .choose(&mut self.rng)
            .unwrap_or(&0);
        let tendered = if note == 0 {
            total
        } else {
            (total / note + 1) * note
        };
        vec![pay(TenderMethod::Cash, tendered)]
    }

    async fn sale(
        &mut self,
        day: usize,
        till: usize,
        open: &[ShiftRow],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let lines = self.cart();
        if lines.is_empty() {
            return Ok(());
        }
        let mut inputs = Vec::with_capacity(lines.len());
        let mut requests = Vec::with_capacity(lines.len());
        for (i, quantity) in &lines {
            let product = self.products.get(*i).context("no such product")?;
            let quantity = Quantity::new(*quantity).map_err(|e| anyhow!("quantity: {e}"))?;
            inputs.push(LineInput {
                unit_price: product.price,
                quantity,
                discount: None,
                tax_class_id: product.tax_class_id,
                tax_rate_bp: product.rate,
            });
            requests.push(Some(LineRequest {
                product_id: product.id,
                quantity,
                discount: None,
                unit_price: None,
            }));
        }
        let discount = if self.rng.random_bool(DISCOUNTED) {
            Some(Discount::percent(1_000).map_err(|e| anyhow!("discount: {e}"))?)
        } else {
            None
        };
        let priced = price_cart(&inputs, discount, self.store.prices_include_tax)
            .map_err(|e| anyhow!("pricing a cart: {e}"))?;
        let payments = self.payments(priced.total.value());
        let shift = open.get(till).context("no shift on the till")?;
        let (cashier, _) = self.staff.cashiers.get(till).context("no such till")?;
        let sale = NewSale {
            store_id: Some(self.store.id),
            register_id: Some(shift.register_id),
            shift_id: Some(shift.id),
            customer_id: None,
            lines: requests,
            discount,
            payments,
            note: None,
            problems: Vec::new(),
        };
        let written = create_sale(&self.db, self.request(cashier, at), sale, sale_view)
            .await
            .map_err(refused("the sale"))?;
        let sale = fresh(written)?;
        self.counts.sales += 1;
        self.shelve(&lines, -1);
        if self.rng.random_bool(VOIDED) {
            return self.void(sale, lines, at).await;
        }
        let method = sale
            .payments
            .iter()
            .max_by_key(|p| p.amount)
            .map_or(TenderMethod::Cash, |p| p.method);
        self.sold.push(Sold { sale, day, method });
        Ok(())
    }

    /// Moves the lines' units on (`1`) or off (`-1`) the shelf.
    fn shelve(&mut self, lines: &[(usize, i64)], sign: i64) {
        for (i, quantity) in lines {
            if let Some(shelf) = self.on_hand.get_mut(*i) {
                *shelf += sign * quantity;
            }
        }
    }

    /// The manager voids the sale just rung up, a minute later.
    async fn void(
        &mut self,
        sale: SaleRow,
        lines: Vec<(usize, i64)>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let reason = [
            "Rung up twice",
            "Customer left without paying",
            "Wrong items scanned",
        ]
        .choose(&mut self.rng)
        .copied()
        .unwrap_or("Rung up twice");
        let at =
            (at + chrono::Duration::seconds(60)).max(self.cursor + chrono::Duration::seconds(1));
        self.cursor = at;
        let void = VoidSale {
            sale,
            reason: Some(reason.to_owned()),
            problems: Vec::new(),
        };
        void_sale(
            &self.db,
            self.request(&self.staff.manager, at),
            void,
            sale_view,
        )
        .await
        .map_err(refused("the void"))?;
        self.shelve(&lines, 1);
        self.counts.voids += 1;
        Ok(())
    }

    /// One unit of a line of an earlier day's sale comes back to the till; usually it goes
    /// back on the shelf.
    async fn take_return(&mut self, day: usize, till: usize, at: DateTime<Utc>) -> Result<()> {
        let earlier = self.sold.iter().filter(|s| s.day < day).count();
        if earlier == 0 {
            return Ok(());
        }
        let pick = self.rng.random_range(0..earlier);
        let Some(sold) = self.sold.iter_mut().filter(|s| s.day < day).nth(pick) else {
            return Ok(());
        };
        let mut candidates: Vec<_> = sold
            .sale
            .lines
            .iter_mut()
            .filter(|l| l.returned_quantity < l.quantity)
            .collect();
        candidates.shuffle(&mut self.rng);
        let Some(line) = candidates.into_iter().next() else {
            return Ok(());
        };
        let Some(refund) = refund_due(line.total, line.quantity, line.returned_quantity, 1) else {
            return Ok(());
        };
        line.returned_quantity += 1;
        let (sale_id, line_id, product_id, method) =
            (sold.sale.id, line.id, line.product_id, sold.method);
        let restock = self.rng.random_bool(0.85);
        let reason = [
            "Changed their mind",
            "Damaged",
            "Wrong size",
            "Duplicate gift",
        ]
        .choose(&mut self.rng)
        .copied()
        .unwrap_or("Changed their mind");
        let (cashier, register) = self.staff.cashiers.get(till).context("no such till")?;
        let command = NewReturn {
            sale_id: Some(sale_id),
            register_id: Some(*register),
            lines: vec![ReturnLine {
                sale_line_id: Some(line_id),
                quantity: Some(Quantity::MIN),
                restock,
            }],
            refunds: vec![PaymentRow {
                method,
                amount: refund,
                reference: None,
            }],
            reason: Some(reason.to_owned()),
            problems: Vec::new(),
        };
        create_return(&self.db, self.request(cashier, at), command, return_view)
            .await
            .map_err(refused("the return"))?;
        if restock && let Some(i) = self.index.get(&product_id).copied() {
            self.shelve(&[(i, 1)], 1);
        }
        self.counts.returns += 1;
        Ok(())
    }
}

/// Seconds from midnight of `h:m:s`.
const fn hms(h: u32, m: u32, s: u32) -> u32 {
    h * 3_600 + m * 60 + s
}
