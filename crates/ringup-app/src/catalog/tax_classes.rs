//! Creating tax classes: named rates in basis points. A name another class has is the store's
//! unique violation.

use ringup_core::ids::TaxClassId;
use ringup_core::rate::RateBp;
use ringup_store::Db;
use ringup_store::catalog::tax_classes::{self, TaxClassRow};

use super::CatalogError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, begin_or_replay, retrying};

/// Creates a tax class named `name` (checked) with `rate`.
pub async fn create_tax_class(
    db: &Db,
    request: WriteRequest<'_>,
    name: String,
    rate: RateBp,
    view: View<TaxClassRow>,
) -> Result<Written<TaxClassRow>, CatalogError> {
    retrying("tax_class.create", request.is_keyed(), || {
        create_tax_class_once(db, request, &name, rate, view)
    })
    .await
}

async fn create_tax_class_once(
    db: &Db,
    request: WriteRequest<'_>,
    name: &str,
    rate: RateBp,
    view: View<TaxClassRow>,
) -> Result<Written<TaxClassRow>, CatalogError> {
    let mut write = begin_or_replay!(db, request);
    let id = TaxClassId::new();
    let at = write.at();
    let row = tax_classes::insert_tax_class(write.tx(), id, name, rate, at).await?;
    let audit = write
        .audit_event("tax_class.created", None)
        .on("tax_class", id)
        .with(serde_json::json!({ "name": name, "rate_bp": rate.value() }));
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}
