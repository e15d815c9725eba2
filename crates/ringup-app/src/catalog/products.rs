//! Creating, changing and archiving products.
//!
//! A product names a tax class and, optionally, a category; both are checked inside the
//! write's transaction, so neither can vanish before the row that names it is written, and a
//! malformed id is as unknown as a missing one (the caller reports it with the same words,
//! [`UNKNOWN_TAX_CLASS`] and [`UNKNOWN_CATEGORY`]). The SKU never changes. Archiving keeps the
//! row (`active = false`): sales history names it.

use ringup_core::catalog::{Barcode, LowStockThreshold, Money, Sku};
use ringup_core::ids::{CategoryId, ProductId, TaxClassId};
use ringup_store::audit::NewAuditEvent;
use ringup_store::catalog::products::{self, ProductRow, ProductValues};
use ringup_store::{Conn, Db};

use super::CatalogError;
use crate::problem::FieldError;
use crate::write::{
    Begun, Effects, Shown, View, Write, WriteError, WriteRequest, Written, begin_or_replay,
    retrying,
};

/// The problem of a `tax_class_id` that names no tax class.
pub const UNKNOWN_TAX_CLASS: &str = "is not a known tax class";
/// The problem of a `category_id` that names no category.
pub const UNKNOWN_CATEGORY: &str = "is not a known category";

/// Adds a problem for the tax class and the category, if given, that do not exist.
async fn check_references(
    conn: &mut Conn,
    tax_class: Option<TaxClassId>,
    category: Option<CategoryId>,
    problems: &mut Vec<FieldError>,
) -> Result<(), CatalogError> {
    if let Some(id) = tax_class
        && !products::tax_class_exists(conn, id).await?
    {
        problems.push(FieldError::new("tax_class_id", UNKNOWN_TAX_CLASS));
    }
    if let Some(id) = category
        && !products::category_exists(conn, id).await?
    {
        problems.push(FieldError::new("category_id", UNKNOWN_CATEGORY));
    }
    Ok(())
}

/// A product as the caller asked for it, with every rule that needs no database already
/// checked: what failed is in `problems` (and its field left `None`), so one answer lists
/// those together with the references the database does not know.
#[derive(Clone)]
pub struct NewProduct {
    pub sku: Option<Sku>,
    pub barcode: Option<Barcode>,
    pub name: Option<String>,
    pub category_id: Option<CategoryId>,
    pub price: Option<Money>,
    pub cost: Option<Money>,
    pub tax_class_id: Option<TaxClassId>,
    pub low_stock_threshold: Option<LowStockThreshold>,
    pub problems: Vec<FieldError>,
}

/// Creates a product: idempotent under its key (a replay answers before anything is checked
/// again).
pub async fn create_product(
    db: &Db,
    request: WriteRequest<'_>,
    product: NewProduct,
    view: View<ProductRow>,
) -> Result<Written<ProductRow>, CatalogError> {
    retrying("product.create", request.is_keyed(), || {
        create_product_once(db, request, product.clone(), view)
    })
    .await
}

async fn create_product_once(
    db: &Db,
    request: WriteRequest<'_>,
    product: NewProduct,
    view: View<ProductRow>,
) -> Result<Written<ProductRow>, CatalogError> {
    let NewProduct {
        sku,
        barcode,
        name,
        category_id,
        price,
        cost,
        tax_class_id,
        low_stock_threshold,
        mut problems,
    } = product;
    let mut write = begin_or_replay!(db, request);
    check_references(write.tx(), tax_class_id, category_id, &mut problems).await?;
    let (Some(sku), Some(name), Some(price), Some(cost), Some(tax_class), Some(threshold), true) = (
        sku,
        name,
        price,
        cost,
        tax_class_id,
        low_stock_threshold,
        problems.is_empty(),
    ) else {
        return Err(CatalogError::Invalid(problems));
    };
    let id = ProductId::new();
    let values = ProductValues {
        sku: sku.as_str(),
        barcode: barcode.as_ref().map(Barcode::as_str),
        name: &name,
        category_id,
        price: price.value(),
        cost: cost.value(),
        tax_class_id: tax_class,
        low_stock_threshold: threshold.value(),
        active: true,
    };
    let at = write.at();
    let row = products::insert_product(write.tx(), id, &values, at).await?;
    let audit = write
        .audit_event("product.created", None)
        .on("product", id)
        .with(serde_json::json!({
            "sku": row.sku, "barcode": row.barcode, "name": row.name, "price": row.price,
            "cost": row.cost,
        }));
    let shown = view(&row).map_err(WriteError::View)?;
    let effects = Effects::new()
        .event("product.created", None, &shown)
        .audit(audit);
    Ok(write.finish(row, effects, 201, shown).await?)
}

/// Changes to a product as the caller asked for them (`None`: unchanged; `Some(None)`: remove
/// the barcode or the category), with every rule that needs no database already checked:
/// what failed is in `problems`.
#[derive(Clone)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub barcode: Option<Option<Barcode>>,
    pub category_id: Option<Option<CategoryId>>,
    pub price: Option<Money>,
    pub cost: Option<Money>,
    pub tax_class_id: Option<TaxClassId>,
    pub low_stock_threshold: Option<LowStockThreshold>,
    pub active: Option<bool>,
    /// The category id as the client wrote it (ids parse in either case): the audit log
    /// records the change as it was asked for.
    pub category_id_sent: Option<Option<String>>,
    /// The tax class id as the client wrote it, for the audit log.
    pub tax_class_id_sent: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Changes a product. The audit event keeps the old and new price and cost.
pub async fn update_product(
    db: &Db,
    request: WriteRequest<'_>,
    product: ProductId,
    changes: ProductChanges,
    view: View<ProductRow>,
) -> Result<Written<ProductRow>, CatalogError> {
    retrying("product.update", request.is_keyed(), || {
        update_product_once(db, request, product, changes.clone(), view)
    })
    .await
}

async fn update_product_once(
    db: &Db,
    request: WriteRequest<'_>,
    product: ProductId,
    changes: ProductChanges,
    view: View<ProductRow>,
) -> Result<Written<ProductRow>, CatalogError> {
    let ProductChanges {
        name,
        barcode,
        category_id,
        price,
        cost,
        tax_class_id,
        low_stock_threshold,
        active,
        category_id_sent,
        tax_class_id_sent,
        mut problems,
    } = changes;
    let mut write = begin_or_replay!(db, request);
    check_references(
        write.tx(),
        tax_class_id,
        category_id.flatten(),
        &mut problems,
    )
    .await?;
    if !problems.is_empty() {
        return Err(CatalogError::Invalid(problems));
    }
    // Read inside the write transaction so the audit's old values are the replaced ones.
    let current = products::find_product(write.tx(), product)
        .await?
        .ok_or(CatalogError::NotFound)?;
    let new_barcode = match &barcode {
        Some(b) => b.as_ref().map(Barcode::as_str),
        None => current.barcode.as_deref(),
    };
    let values = ProductValues {
        sku: &current.sku,
        barcode: new_barcode,
        name: name.as_deref().unwrap_or(&current.name),
        category_id: category_id.unwrap_or(current.category_id),
        price: price.map_or(current.price, Money::value),
        cost: cost.map_or(current.cost, Money::value),
        tax_class_id: tax_class_id.unwrap_or(current.tax_class_id),
        low_stock_threshold: low_stock_threshold
            .map_or(current.low_stock_threshold, LowStockThreshold::value),
        active: active.unwrap_or(current.active),
    };
    let at = write.at();
    products::update_product(write.tx(), current.id, &values, at).await?;
    // A barcode parses exactly as written, so it is recorded as sent.
    let audit = write
        .audit_event("product.updated", None)
        .on("product", current.id)
        .with(serde_json::json!({
            "old_price": current.price, "new_price": values.price,
            "old_cost": current.cost, "new_cost": values.cost,
            "name": name, "barcode": barcode.map(|b| b.map(|b| b.as_str().to_owned())),
            "category_id": category_id_sent, "tax_class_id": tax_class_id_sent,
            "low_stock_threshold": low_stock_threshold.map(LowStockThreshold::value),
            "active": active,
        }));
    let (row, shown, effects) = updated(&mut write, current.id, audit, view).await?;
    Ok(write.finish(row, effects, 200, shown).await?)
}

/// The product as `write` now holds it, shown by `view`, and the effects of its change: the
/// `product.updated` event that carries it, and `audit`.
async fn updated(
    write: &mut Write<'_>,
    id: ProductId,
    audit: NewAuditEvent,
    view: View<ProductRow>,
) -> Result<(ProductRow, Shown, Effects), CatalogError> {
    let row = products::find_product(write.tx(), id)
        .await?
        .ok_or(CatalogError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    let effects = Effects::new()
        .event("product.updated", None, &shown)
        .audit(audit);
    Ok((row, shown, effects))
}

/// Archives `product` (as the caller read it): it stays readable with `active = false`, and
/// a `product.updated` event carries it so (`view`), as a change of `active` by PATCH does.
/// Archiving an archived product changes nothing and writes nothing: `None`.
pub async fn archive_product(
    db: &Db,
    request: WriteRequest<'_>,
    product: &ProductRow,
    view: View<ProductRow>,
) -> Result<Option<Written<ProductId>>, CatalogError> {
    retrying("product.archive", request.is_keyed(), || {
        archive_product_once(db, request, product, view)
    })
    .await
}

async fn archive_product_once(
    db: &Db,
    request: WriteRequest<'_>,
    product: &ProductRow,
    view: View<ProductRow>,
) -> Result<Option<Written<ProductId>>, CatalogError> {
    if !product.active {
        return Ok(None);
    }
    let mut write = match Write::begin(db, request).await? {
        Begun::Fresh(write) => write,
        Begun::Replayed(reply) => return Ok(Some(Written::Replayed(reply))),
    };
    let current = products::find_product(write.tx(), product.id)
        .await?
        .ok_or(CatalogError::NotFound)?;
    let values = ProductValues {
        sku: &current.sku,
        barcode: current.barcode.as_deref(),
        name: &current.name,
        category_id: current.category_id,
        price: current.price,
        cost: current.cost,
        tax_class_id: current.tax_class_id,
        low_stock_threshold: current.low_stock_threshold,
        active: false,
    };
    let at = write.at();
    products::update_product(write.tx(), current.id, &values, at).await?;
    let audit = write
        .audit_event("product.archived", None)
        .on("product", current.id)
        .with(serde_json::json!({ "sku": current.sku }));
    let (_, _, effects) = updated(&mut write, current.id, audit, view).await?;
    Ok(Some(
        write
            .finish(current.id, effects, 204, Shown::nothing())
            .await?,
    ))
}
