//! `ringup demo`: fills an empty database with a demo chain — three stores in three time
//! zones, 500 products with barcodes, staff of every role, and 30 days of trading — and prints
//! how to log in.
//!
//! **Empty** means no stores, tax classes, categories, products, customers or API keys, and
//! no user but, at most, one active admin: the first admin `ringup serve` creates on its first
//! start (`ringup_store::platform::contents`). So a new user who started the server first can
//! still load the demo, and the demo keeps that admin and its password. Anything more is
//! refused before a single row is written; of two demos racing on one empty database, the second
//! fails on a unique name the first wrote (a tax class's, a store's code) before any sale.
//!
//! **Every row goes through the use cases** (`ringup_app`), the functions the HTTP handlers
//! call, with the handlers' own views: stock ledger, rollups, audit chains, outbox and receipt
//! numbers are what the same operations over HTTP would have left. The past is written by
//! giving each write the instant it happened (`WriteRequest::at`): the catalog, stores and
//! staff 31 days ago, then each store's days in its own time zone, oldest first. The stores
//! trade independently (their stock, counters and audit chains are their own), so they run at
//! once, each with a generator seeded from the fixed seed and its index: two runs write the
//! same chain, apart from ids, passwords and the dates it is anchored to.

mod catalog;
mod days;
mod setup;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use ringup_api::auth::hasher::Hasher;
use ringup_app::write::Written;
use ringup_app::{Actor, ActorKind, Origin};
use ringup_core::catalog::Money;
use ringup_core::ids::{ProductId, TaxClassId};
use ringup_core::rate::RateBp;
use ringup_core::users::Role;
use ringup_store::Db;
use ringup_store::platform::contents::{self, Contents};
use ringup_store::users::{UserScope, list_users};

use crate::bootstrap::{self, generated_password};
use crate::settings::Settings;
use crate::startup;
use catalog::products;
use days::{Counts, StoreDays};
use setup::{Setup, StaffMember, StoreStaff, WrittenStore};

/// The seed of every random choice the demo makes.
const SEED: u64 = 20_261_115;
/// Days of trading, ending yesterday in each store's zone.
pub const DAYS: i64 = 30;

/// What a sale needs to know of a product.
pub struct Product {
    pub id: ProductId,
    pub price: Money,
    pub tax_class_id: TaxClassId,
    pub rate: RateBp,
    pub staple: bool,
}

/// The outcome of a write that carried no idempotency key: always fresh.
fn fresh<T>(written: Written<T>) -> Result<T> {
    match written {
        Written::Fresh { outcome, .. } => Ok(outcome),
        Written::Replayed(_) => bail!("a write without a key was answered as a replay"),
    }
}

/// A use case's refusal, with what was being written (the refusals' own `Display` does not
/// list the fields they name; their `Debug` does).
fn refused<E: std::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |err| anyhow!("{what} was refused: {err:?}")
}

/// The admin the demo logs in as, and how the password is known.
struct Admin {
    actor: Actor,
    username: String,
    password: AdminPassword,
}

enum AdminPassword {
    Generated(String),
    FromSetting,
    Kept,
}

/// Runs the demo against the configured database, anchored at `now`.
pub async fn run(settings: &Settings, now: DateTime<Utc>) -> Result<()> {
    startup::prepare_data_dir(&settings.data_dir)?;
    // SQLite syncs the demo's writes once, when the demo closes the database (the last
    // connection's checkpoint), not at every commit: a demo cut short by a power failure is
    // simply run again on a fresh database, and it takes half the time.
    let bulk = Settings {
        sqlite_synchronous: ringup_store::Durability::Normal,
        ..settings.clone()
    };
    let db = startup::open_database(&bulk).await?;
    let outcome = fill(&db, settings, now).await;
    db.close().await;
    outcome
}

async fn fill(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<()> {
    let started = Instant::now();
    let found = contents::count(db).await?;
    if !found.is_empty_but_first_admin() {
        bail!(
            "the {} database at {} already holds data ({}); `ringup demo` fills only an empty \
             database, so nothing was written",
            db.engine().name(),
            settings.database_url,
            held(&found)
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let hasher = Hasher::new(cores, Duration::from_secs(60))?;
    let setup_at = now - chrono::Duration::days(DAYS + 1);
    let admin = admin(db, settings, &hasher, setup_at, found).await?;
    let origin = Origin {
        user_agent: Some("ringup demo".to_owned()),
        ..Origin::default()
    };
    let mut setup = Setup {
        db,
        admin: &admin.actor,
        origin: &origin,
        at: setup_at,
        writes: 0,
    };
    let mut rng = StdRng::seed_from_u64(SEED);
    let plans = products(&mut rng)?;
    let products = Arc::new(setup::write_catalog(&mut setup, &plans).await?);
    let stores = setup::write_stores(&mut setup).await?;
    let staff_password = generated_password();
    let staff = setup::write_staff(&mut setup, &hasher, &stores, &staff_password).await?;
    let opened_at = setup.at + chrono::Duration::seconds(setup.writes + 60);
    let counts = trade(db, &origin, &stores, &staff, &products, opened_at, now).await?;
    let elapsed = started.elapsed();
    print_summary(db, settings, &stores, &counts, elapsed);
    print_logins(&admin, &staff, &staff_password, settings);
    Ok(())
}

/// What a non-empty database was found to hold, for the refusal.
fn held(found: &Contents) -> String {
    let users_beyond_first_admin = if found.users == 1 && found.active_admins == 1 {
        0
    } else {
        found.users
    };
    [
        (found.stores, "stores"),
        (found.tax_classes, "tax classes"),
        (found.categories, "categories"),
        (found.products, "products"),
        (found.customers, "customers"),
        (found.api_keys, "API keys"),
        (users_beyond_first_admin, "users"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ")
}

/// The first admin: created as `ringup serve` creates it (from `RINGUP_ADMIN_USERNAME` and
/// `RINGUP_ADMIN_PASSWORD`, or a generated password), or the one already there.
async fn admin(
    db: &Db,
    settings: &Settings,
    hasher: &Hasher,
    at: DateTime<Utc>,
    found: Contents,
) -> Result<Admin> {
    if found.users == 0
        && let Some(created) = bootstrap::ensure_first_admin(db, settings, hasher, at).await?
    {
        let password = match created.generated_password {
            Some(password) => AdminPassword::Generated(password),
            None => AdminPassword::FromSetting,
        };
        return Ok(Admin {
            actor: admin_actor(created.id),
            username: created.username,
            password,
        });
    }
    let page = list_users(db, UserScope::All, None, 2).await?;
    let [existing] = page.items.as_slice() else {
        bail!("another user was created while the demo started; nothing was written");
    };
    if existing.role != Role::Admin.as_str() || !existing.active {
        bail!("the only user is not an active admin; nothing was written");
    }
    Ok(Admin {
        actor: admin_actor(existing.id),
        username: existing.username.clone(),
        password: AdminPassword::Kept,
    })
}

fn admin_actor(id: ringup_core::ids::UserId) -> Actor {
    Actor {
        kind: ActorKind::User(id),
        role: Role::Admin,
        store_ids: Vec::new(),
    }
}

/// Every store's first delivery and days, the stores at once.
async fn trade(
    db: &Db,
    origin: &Origin,
    stores: &[WrittenStore],
    staff: &[StaffMember],
    products: &Arc<Vec<Product>>,
    opened_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut tasks = tokio::task::JoinSet::new();
    for (n, store) in stores.iter().enumerate() {
        let store_staff = StoreStaff::of(staff, store)?;
        let mut rng = StdRng::seed_from_u64(SEED + 1 + u64::try_from(n)?);
        let (db, origin, row, products) = (
            db.clone(),
            origin.clone(),
            store.row.clone(),
            Arc::clone(products),
        );
        let today = now.with_timezone(&row.time_zone()?).date_naive();
        let days = (1..=DAYS)
            .rev()
            .map(|back| today - chrono::Duration::days(back))
            .collect();
        tasks.spawn(async move {
            let on_hand = setup::receive_first_delivery(
                &db,
                &store_staff.clerk,
                &origin,
                &row,
                &products,
                &mut rng,
                opened_at,
            )
            .await?;
            let cursor = opened_at + chrono::Duration::seconds(i64::try_from(products.len())?);
            StoreDays::new(db, origin, row, store_staff, products, on_hand, rng, cursor)?
                .run(days)
                .await
        });
    }
    let mut counts = Counts::default();
    while let Some(done) = tasks.join_next().await {
        counts += done.context("a store's task failed")??;
    }
    Ok(counts)
}

fn print_summary(
    db: &Db,
    settings: &Settings,
    stores: &[WrittenStore],
    counts: &Counts,
    elapsed: Duration,
) {
    println!(
        "ringup demo: wrote a demo chain to the {} database at {} in {:.1} s",
        db.engine().name(),
        settings.database_url,
        elapsed.as_secs_f64()
    );
    let names: Vec<String> = stores
        .iter()
        .map(|s| format!("{} {} ({})", s.row.code, s.row.name, s.row.timezone))
        .collect();
    println!(
        "  stores:  {}; prices in {}; {} registers each",
        names.join(", "),
        catalog::CURRENCY,
        catalog::REGISTERS
    );
    println!(
        "  catalog: {} products with EAN-13 barcodes in {} categories, {} tax classes; stock \
         received in every store ({} restocks)",
        catalog::PRODUCTS,
        catalog::categories().count(),
        catalog::TAX_CLASSES.len(),
        counts.deliveries
    );
    println!(
        "  trading: {} sales, {} of them voided, {} returns, {} shifts opened and closed, on \
         each of the {DAYS} days before today in every store's own time zone",
        counts.sales, counts.voids, counts.returns, counts.shifts
    );
}

fn print_logins(admin: &Admin, staff: &[StaffMember], staff_password: &str, settings: &Settings) {
    let docs = settings
        .public_url
        .join("docs")
        .map(|u| u.to_string())
        .unwrap_or_default();
    println!();
    println!(
        "Log in: start `ringup serve` with the same settings, then POST /api/v1/auth/login \
         {{\"username\", \"password\"}} (API docs at {docs})."
    );
    println!(
        "  {:<14} {:<9} {:<6} password",
        "username", "role", "stores"
    );
    let admin_password = match &admin.password {
        AdminPassword::Generated(password) => password.as_str(),
        AdminPassword::FromSetting => "the one in RINGUP_ADMIN_PASSWORD",
        AdminPassword::Kept => "unchanged (the one it was created with)",
    };
    println!(
        "  {:<14} {:<9} {:<6} {admin_password}",
        admin.username, "admin", "all"
    );
    for member in staff {
        println!(
            "  {:<14} {:<9} {:<6} the demo password",
            member.username,
            member.role.as_str(),
            member.store
        );
    }
    println!();
    println!("The demo password of every user but the admin: {staff_password}");
    println!(
        "These are demo users: the passwords are shown only now. Change the admin's after \
         logging in, and do not put real sales in a demo database."
    );
}
