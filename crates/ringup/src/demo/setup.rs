//! Writing the chain's fixed part through the use cases, as the admin would over HTTP: tax
//! classes, categories, products, stores with their registers, the staff, and the first
//! delivery of stock in every store (received by the store's stock clerk).

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use rand::Rng;
use rand::rngs::StdRng;

use ringup_api::auth::hasher::Hasher;
use ringup_api::catalog::categories::category_view;
use ringup_api::catalog::products::product_view;
use ringup_api::catalog::stores::{register_view, store_view};
use ringup_api::catalog::tax_classes::tax_class_view;
use ringup_api::stock::adjustment_view;
use ringup_api::users::user_view;
use ringup_app::catalog::categories::{NewCategory, create_category};
use ringup_app::catalog::products::{NewProduct, create_product};
use ringup_app::catalog::stores::{NewStore, create_register, create_store};
use ringup_app::catalog::tax_classes::create_tax_class;
use ringup_app::stock::adjustments::{NewAdjustment, adjust_stock};
use ringup_app::users::{NewUser, UsersError, create_user};
use ringup_app::{Actor, ActorKind, Origin, WriteRequest};
use ringup_core::catalog::{CurrencyCode, LowStockThreshold, Money, Sku, StoreCode, TimeZone};
use ringup_core::checkout::customer::Country;
use ringup_core::ids::{CategoryId, RegisterId, TaxClassId};
use ringup_core::rate::RateBp;
use ringup_core::stock::{AdjustmentReason, AdjustmentRequest};
use ringup_core::users::{Email, Password, Role, Username};
use ringup_store::Db;
use ringup_store::catalog::stores::StoreRow;

use super::catalog::{
    self, CASHIER_COMMISSION_BP, CURRENCY, ProductPlan, REGISTERS, STAFF, STORES, StorePlan,
    TAX_CLASSES,
};
use super::{Product, fresh, refused};

/// How many units of each product a store receives at the start: staples sell several
/// times as often, so they get more.
const FIRST_DELIVERY: std::ops::RangeInclusive<i64> = 12..=30;
const FIRST_DELIVERY_STAPLE: std::ops::RangeInclusive<i64> = 25..=45;
/// Writes the setup keeps in flight at once: more than one lets SQLite's writer commit them
/// in one batch and PostgreSQL overlap their round trips. Their results are kept in the order
/// they were planned, so only ids and commit order vary between runs.
const IN_FLIGHT: usize = 8;
/// A product's low-stock threshold.
const LOW_STOCK: i64 = 8;

/// Who writes the setup, when, and from where.
pub struct Setup<'a> {
    pub db: &'a Db,
    pub admin: &'a Actor,
    pub origin: &'a Origin,
    /// The setup's writes are a second apart from here on, in the order they are planned.
    pub at: DateTime<Utc>,
    pub writes: i64,
}

impl<'a> Setup<'a> {
    /// The next write's request.
    fn request(&mut self) -> WriteRequest<'a> {
        self.writes += 1;
        WriteRequest {
            actor: self.admin,
            at: self.at + chrono::Duration::seconds(self.writes),
            origin: self.origin,
            idempotency: None,
        }
    }
}

/// The catalog: tax classes, categories and the products, with what a sale needs of each.
pub async fn write_catalog(setup: &mut Setup<'_>, plans: &[ProductPlan]) -> Result<Vec<Product>> {
    let mut tax_classes: Vec<(TaxClassId, RateBp)> = Vec::new();
    for (name, rate) in TAX_CLASSES {
        let rate = RateBp::new(rate).map_err(|e| anyhow!("tax rate {rate}: {e}"))?;
        let written = create_tax_class(
            setup.db,
            setup.request(),
            name.to_owned(),
            rate,
            tax_class_view,
        )
        .await
        .map_err(refused("the tax class"))?;
        let row = fresh(written)?;
        tax_classes.push((row.id, row.rate_bp));
    }
    let mut categories: Vec<CategoryId> = Vec::new();
    for category in catalog::categories() {
        let new = NewCategory {
            name: Some(category.name.to_owned()),
            parent_id: None,
            problems: Vec::new(),
        };
        let written = create_category(setup.db, setup.request(), new, category_view)
            .await
            .map_err(refused("the category"))?;
        categories.push(fresh(written)?.id);
    }
    let (tax_classes, categories) = (&tax_classes, &categories);
    let threshold = LowStockThreshold::new(LOW_STOCK).map_err(|e| anyhow!("threshold: {e}"))?;
    let db = setup.db;
    let products = stream::iter(plans)
        .map(|plan| {
            let request = setup.request();
            async move {
                let (tax_class_id, rate) = *tax_classes
                    .get(plan.tax_class)
                    .context("a product names no tax class")?;
                let price =
                    Money::new(plan.price).map_err(|e| anyhow!("price of {}: {e}", plan.sku))?;
                let cost =
                    Money::new(plan.cost).map_err(|e| anyhow!("cost of {}: {e}", plan.sku))?;
                let new = NewProduct {
                    sku: Some(Sku::parse(&plan.sku).map_err(|e| anyhow!("SKU {}: {e}", plan.sku))?),
                    barcode: Some(plan.barcode.clone()),
                    name: Some(plan.name.clone()),
                    category_id: categories.get(plan.category).copied(),
                    price: Some(price),
                    cost: Some(cost),
                    tax_class_id: Some(tax_class_id),
                    low_stock_threshold: Some(threshold),
                    problems: Vec::new(),
                };
                let written = create_product(db, request, new, product_view)
                    .await
                    .map_err(refused("the product"))?;
                Ok::<_, anyhow::Error>(Product {
                    id: fresh(written)?.id,
                    price,
                    tax_class_id,
                    rate,
                    staple: plan.staple,
                })
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(products)
}

/// A store as written, with its registers.
pub struct WrittenStore {
    pub row: StoreRow,
    pub registers: Vec<RegisterId>,
}

/// The stores and their registers.
pub async fn write_stores(setup: &mut Setup<'_>) -> Result<Vec<WrittenStore>> {
    let mut stores = Vec::with_capacity(STORES.len());
    for plan in &STORES {
        let new = NewStore {
            code: StoreCode::parse(plan.code).map_err(|e| anyhow!("store code: {e}"))?,
            name: plan.name.to_owned(),
            currency: CurrencyCode::parse(CURRENCY).map_err(|e| anyhow!("currency: {e}"))?,
            timezone: TimeZone::parse(plan.time_zone).map_err(|e| anyhow!("time zone: {e}"))?,
            prices_include_tax: plan.prices_include_tax,
            allow_negative_stock: false,
            country: Country::parse(plan.country).map_err(|e| anyhow!("country: {e}"))?,
        };
        let written = create_store(setup.db, setup.request(), new, store_view)
            .await
            .map_err(refused("the store"))?;
        let row = fresh(written)?;
        let mut registers = Vec::with_capacity(REGISTERS);
        for n in 1..=REGISTERS {
            let written = create_register(
                setup.db,
                setup.request(),
                row.id,
                format!("Till {n}"),
                register_view,
            )
            .await
            .map_err(refused("the register"))?;
            registers.push(fresh(written)?.id);
        }
        stores.push(WrittenStore { row, registers });
    }
    Ok(stores)
}

/// A demo user, for the login table.
pub struct StaffMember {
    pub username: String,
    pub role: Role,
    /// The store's code.
    pub store: &'static str,
    pub actor: Actor,
}

/// Every store's staff ([`STAFF`]), each user in their own store only, all with `password`;
/// each password is hashed on its own (its own salt), as the API does.
pub async fn write_staff(
    setup: &mut Setup<'_>,
    hasher: &Hasher,
    stores: &[WrittenStore],
    password: &str,
) -> Result<Vec<StaffMember>> {
    let members: Vec<_> = STORES
        .iter()
        .zip(stores)
        .flat_map(|(plan, store)| {
            STAFF
                .iter()
                .map(move |(suffix, role)| (plan, store, *suffix, *role))
        })
        .collect();
    let db = setup.db;
    stream::iter(members)
        .map(|(plan, store, suffix, role)| {
            let request = setup.request();
            let username = catalog::username(plan, suffix);
            async move { write_user(db, request, hasher, plan, store, username, role, password).await }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

#[allow(clippy::too_many_arguments)] // one user's every fact; a struct would only rename them
async fn write_user(
    db: &Db,
    request: WriteRequest<'_>,
    hasher: &Hasher,
    plan: &StorePlan,
    store: &WrittenStore,
    username: String,
    role: Role,
    password: &str,
) -> Result<StaffMember> {
    let username = username.as_str();
    let parsed = Username::parse(username).map_err(|e| anyhow!("username {username}: {e}"))?;
    let password = Password::new(password, Some(username))
        .map_err(|rules| anyhow!("the demo password breaks {} rule(s)", rules.len()))?;
    let commission = if role == Role::Cashier {
        CASHIER_COMMISSION_BP
    } else {
        0
    };
    let new = NewUser {
        email: Email::parse(&format!("{username}@demo.ringup.invalid"))
            .map_err(|e| anyhow!("e-mail of {username}: {e}"))?,
        username: parsed,
        password,
        role,
        store_ids: vec![store.row.id],
        store_ids_sent: vec![store.row.id.to_string()],
        commission_rate: RateBp::new(commission).map_err(|e| anyhow!("commission: {e}"))?,
    };
    let hash = |password: &Password| {
        let plain = password.expose().to_owned();
        async move { hasher.hash(plain).await.map_err(|_| UsersError::Busy) }
    };
    let written = create_user(db, request, new, hash, user_view)
        .await
        .map_err(refused("the user"))?;
    let row = fresh(written)?;
    Ok(StaffMember {
        username: username.to_owned(),
        role,
        store: plan.code,
        actor: Actor {
            kind: ActorKind::User(row.id),
            role,
            store_ids: vec![store.row.id],
        },
    })
}

/// An actor of `role` in `store`, from the staff written.
pub fn actor_of(staff: &[StaffMember], store: &str, username_suffix: &str) -> Result<Actor> {
    staff
        .iter()
        .find(|m| m.store == store && m.username.ends_with(username_suffix))
        .map(|m| m.actor.clone())
        .with_context(|| format!("no {username_suffix} in store {store}"))
}

/// The first delivery: every product received in `store` by its stock clerk at `at`; returns
/// the units on hand per product (in the order of `products`).
pub async fn receive_first_delivery(
    db: &Db,
    clerk: &Actor,
    origin: &Origin,
    store: &StoreRow,
    products: &[Product],
    rng: &mut StdRng,
    at: DateTime<Utc>,
) -> Result<Vec<i64>> {
    // Owned items (an index, not a reference): a stream whose items borrow cannot be proven
    // `Send` for every lifetime, which the store's task needs.
    let deliveries: Vec<(usize, i64, DateTime<Utc>)> = products
        .iter()
        .enumerate()
        .zip(0..)
        .map(|((i, product), n)| {
            let units = if product.staple {
                rng.random_range(FIRST_DELIVERY_STAPLE)
            } else {
                rng.random_range(FIRST_DELIVERY)
            };
            (i, units, at + chrono::Duration::seconds(n))
        })
        .collect();
    stream::iter(deliveries)
        .map(|(i, units, when)| async move {
            let product = products.get(i).context("no such product")?;
            receive(
                db,
                clerk,
                origin,
                store,
                product,
                units,
                when,
                "first delivery",
            )
            .await?;
            Ok::<_, anyhow::Error>(units)
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// One receiving adjustment of `units` of `product` in `store`.
#[allow(clippy::too_many_arguments)] // one adjustment's every fact; a struct would only rename them
pub async fn receive(
    db: &Db,
    clerk: &Actor,
    origin: &Origin,
    store: &StoreRow,
    product: &Product,
    units: i64,
    at: DateTime<Utc>,
    note: &str,
) -> Result<()> {
    let change = AdjustmentRequest::new(AdjustmentReason::Receiving, Some(units), None)
        .map_err(|e| anyhow!("receiving {units}: {e:?}"))?;
    let adjustment = NewAdjustment {
        store: store.clone(),
        product_id: Some(product.id),
        change: Some(change),
        note: Some(note.to_owned()),
        problems: Vec::new(),
    };
    let request = WriteRequest {
        actor: clerk,
        at,
        origin,
        idempotency: None,
    };
    adjust_stock(db, request, adjustment, adjustment_view)
        .await
        .map_err(refused("the delivery"))?;
    Ok(())
}

/// The users each store's days need: its manager, its stock clerk, and a cashier per register.
pub struct StoreStaff {
    pub manager: Actor,
    pub clerk: Actor,
    pub cashiers: Vec<(Actor, RegisterId)>,
}

impl StoreStaff {
    pub fn of(staff: &[StaffMember], store: &WrittenStore) -> Result<StoreStaff> {
        let code = store.row.code.as_str();
        let cashiers = store
            .registers
            .iter()
            .enumerate()
            .map(|(i, register)| {
                Ok((
                    actor_of(staff, code, &format!("cashier{}", i + 1))?,
                    *register,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StoreStaff {
            manager: actor_of(staff, code, "manager")?,
            clerk: actor_of(staff, code, "stock")?,
            cashiers,
        })
    }
}
