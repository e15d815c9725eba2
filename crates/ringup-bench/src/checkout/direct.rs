//! The direct phase: the use case the sale handler calls, run without HTTP by as many tasks as
//! there were connections, through the bench's own `Db`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::Utc;

use ringup_api::checkout::sales::sale_view;
use ringup_app::checkout::sales::{LineRequest, NewSale, create_sale};
use ringup_app::write::{Idempotency, Origin, WriteRequest};
use ringup_app::{Actor, ActorKind};
use ringup_core::tokens::hash_token;
use ringup_core::users::Role;
use ringup_store::Db;

use super::cart::Cart;
use super::{SALES_PATH, World};
use crate::common::{Outcome, run_load};

pub(super) async fn direct_phase(
    db: &Db,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<Outcome> {
    let db = db.clone();
    let world = Arc::clone(world);
    let actor = Arc::new(Actor {
        kind: ActorKind::User(world.cashier),
        role: Role::Cashier,
        store_ids: world.stores.iter().map(|s| s.id).collect(),
    });
    run_load(concurrency, duration, move |task, rng| {
        let (db, world, actor) = (db.clone(), Arc::clone(&world), Arc::clone(&actor));
        let cart = world
            .till(task)
            .and_then(|(_, store)| Cart::random(rng, &world.products, store.prices_include_tax));
        async move { direct_sale(&db, &world, &actor, task, cart?).await }
    })
    .await
}

/// One sale through the use case, as the handler makes it once the body is parsed.
async fn direct_sale(db: &Db, world: &World, actor: &Actor, task: usize, cart: Cart) -> Result<()> {
    let (till, store) = world.till(task)?;
    let body = cart.body(world, till, store)?;
    let hash = hash_token(&format!("POST {SALES_PATH}\n{body}"));
    let key = uuid::Uuid::now_v7().to_string();
    let mut lines = Vec::with_capacity(cart.lines.len());
    for line in &cart.lines {
        let product = world
            .products
            .get(line.product)
            .context("no such product")?;
        lines.push(Some(LineRequest {
            product_id: product.id,
            quantity: line.quantity,
            discount: line.discount,
            unit_price: None,
        }));
    }
    let sale = NewSale {
        store_id: Some(store.id),
        register_id: Some(till.register),
        shift_id: Some(till.shift),
        customer_id: None,
        lines,
        discount: cart.discount,
        payments: cart.payments.clone(),
        note: None,
        problems: Vec::new(),
    };
    let origin = Origin {
        ip: Some("127.0.0.1".to_owned()),
        user_agent: Some("ringup-bench".to_owned()),
        request_id: Some(uuid::Uuid::now_v7().to_string()),
    };
    let request = WriteRequest {
        actor,
        at: Utc::now(),
        origin: &origin,
        idempotency: Some(Idempotency {
            key: &key,
            request_hash: &hash,
        }),
    };
    let written = create_sale(db, request, sale, sale_view)
        .await
        .map_err(|e| anyhow!("sale refused: {e:?}"))?;
    let Some(recorded) = written.outcome() else {
        bail!("idempotency key {key} was replayed");
    };
    let total = cart.priced.total.value();
    let change = cart.paid() - total;
    ensure!(
        recorded.total == total && recorded.change == change,
        "expected total {total} and change {change}, got {} and {}",
        recorded.total,
        recorded.change
    );
    Ok(())
}
