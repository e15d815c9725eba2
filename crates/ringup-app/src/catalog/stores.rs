//! Creating stores and changing their settings, and adding registers to a store.
//!
//! A store's code never changes (it is in every receipt number), so there is no way to change
//! it here. Each write's audit event goes to the store's own chain.

use ringup_core::catalog::{CurrencyCode, StoreCode, TimeZone};
use ringup_core::checkout::customer::Country;
use ringup_core::ids::{RegisterId, StoreId};
use ringup_store::Db;
use ringup_store::catalog::stores::{self, NewStoreRow, RegisterRow, StorePatchRow, StoreRow};

use super::CatalogError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, begin_or_replay, retrying};

/// A new store, every field checked.
pub struct NewStore {
    pub code: StoreCode,
    pub name: String,
    pub currency: CurrencyCode,
    pub timezone: TimeZone,
    pub prices_include_tax: bool,
    pub allow_negative_stock: bool,
    pub country: Country,
}

/// Creates a store: idempotent under its key (a replay answers before anything else runs).
pub async fn create_store(
    db: &Db,
    request: WriteRequest<'_>,
    store: NewStore,
    view: View<StoreRow>,
) -> Result<Written<StoreRow>, CatalogError> {
    retrying("store.create", request.is_keyed(), || {
        create_store_once(db, request, &store, view)
    })
    .await
}

async fn create_store_once(
    db: &Db,
    request: WriteRequest<'_>,
    store: &NewStore,
    view: View<StoreRow>,
) -> Result<Written<StoreRow>, CatalogError> {
    let mut write = begin_or_replay!(db, request);
    let id = StoreId::new();
    let at = write.at();
    stores::insert_store(
        write.tx(),
        &NewStoreRow {
            id,
            code: store.code.as_str(),
            name: &store.name,
            currency: store.currency.as_str(),
            timezone: store.timezone.as_str(),
            prices_include_tax: store.prices_include_tax,
            allow_negative_stock: store.allow_negative_stock,
            country: store.country.as_str(),
            at,
        },
    )
    .await?;
    let audit = write
        .audit_event("store.created", Some(id))
        .on("store", id)
        .with(serde_json::json!({
            "code": store.code.as_str(), "name": store.name, "country": store.country.as_str(),
        }));
    let row = stores::find_store(write.tx(), id)
        .await?
        .ok_or(CatalogError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}

/// Changes to a store's settings, every field checked; `None` leaves a setting as it is.
pub struct StoreChanges {
    pub name: Option<String>,
    pub currency: Option<CurrencyCode>,
    pub timezone: Option<TimeZone>,
    pub prices_include_tax: Option<bool>,
    pub allow_negative_stock: Option<bool>,
    pub country: Option<Country>,
    /// When the store's daily summary mail goes out, in its zone.
    pub daily_summary_at: Option<ringup_core::mail::SummaryTime>,
    /// The name as the client wrote it, before trimming: the audit log records the change as
    /// it was asked for.
    pub name_sent: Option<String>,
}

/// Changes a store's settings.
pub async fn update_store(
    db: &Db,
    request: WriteRequest<'_>,
    store: StoreId,
    changes: StoreChanges,
    view: View<StoreRow>,
) -> Result<Written<StoreRow>, CatalogError> {
    retrying("store.update", request.is_keyed(), || {
        update_store_once(db, request, store, &changes, view)
    })
    .await
}

async fn update_store_once(
    db: &Db,
    request: WriteRequest<'_>,
    store: StoreId,
    changes: &StoreChanges,
    view: View<StoreRow>,
) -> Result<Written<StoreRow>, CatalogError> {
    let mut write = begin_or_replay!(db, request);
    let at = write.at();
    let summary_at = changes.daily_summary_at.map(|t| t.as_text());
    let patch = StorePatchRow {
        name: changes.name.as_deref(),
        currency: changes.currency.as_ref().map(CurrencyCode::as_str),
        timezone: changes.timezone.as_ref().map(TimeZone::as_str),
        prices_include_tax: changes.prices_include_tax,
        allow_negative_stock: changes.allow_negative_stock,
        country: changes.country.as_ref().map(Country::as_str),
        daily_summary_at: summary_at.as_deref(),
    };
    stores::update_store(write.tx(), store, &patch, at).await?;
    // Parsing keeps a currency, time zone or country exactly as written, so these are as sent.
    let audit = write
        .audit_event("store.updated", Some(store))
        .on("store", store)
        .with(serde_json::json!({
            "name": changes.name_sent, "currency": patch.currency, "timezone": patch.timezone,
            "prices_include_tax": changes.prices_include_tax,
            "allow_negative_stock": changes.allow_negative_stock, "country": patch.country,
            "daily_summary_at": patch.daily_summary_at,
        }));
    let row = stores::find_store(write.tx(), store)
        .await?
        .ok_or(CatalogError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 200, shown)
        .await?)
}

/// Adds a register named `name` (checked) to `store`.
pub async fn create_register(
    db: &Db,
    request: WriteRequest<'_>,
    store: StoreId,
    name: String,
    view: View<RegisterRow>,
) -> Result<Written<RegisterRow>, CatalogError> {
    retrying("register.create", request.is_keyed(), || {
        create_register_once(db, request, store, &name, view)
    })
    .await
}

async fn create_register_once(
    db: &Db,
    request: WriteRequest<'_>,
    store: StoreId,
    name: &str,
    view: View<RegisterRow>,
) -> Result<Written<RegisterRow>, CatalogError> {
    let mut write = begin_or_replay!(db, request);
    let id = RegisterId::new();
    let at = write.at();
    let row = stores::insert_register(write.tx(), id, store, name, at).await?;
    let audit = write
        .audit_event("register.created", Some(store))
        .on("register", id)
        .with(serde_json::json!({ "name": name }));
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}
