//! The chain's customers, shared by every store: register one, change one.
//!
//! Phone numbers are stored in E.164. A national form (`0712 345 678`) is read in the country
//! of the store the request names (a problem when the actor cannot see that store), else of the
//! actor's only store, else Kenya; a number is unique across customers (409 `phone`, from the
//! store's unique-key table).
//!
//! The audit log is append-only and hash-chained, so it never holds a customer's name, phone or
//! e-mail: `customer.created` and `customer.updated` record which fields were set or changed.

use ringup_core::checkout::customer::{Country, CustomerName, Phone};
use ringup_core::ids::{CustomerId, StoreId};
use ringup_core::users::Email;
use ringup_store::catalog::stores;
use ringup_store::checkout::customers::{self, CustomerRow, CustomerValues};
use ringup_store::{Conn, Db, StoreError};

use super::CheckoutError;
use crate::authz::Actor;
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, begin_or_replay, retrying};

const UNKNOWN_STORE: &str = "is not a store you can see";

/// The country national phone numbers are read in, and the store the request is made for:
/// the named store (`store_id`, as sent), else the actor's only store, else none (Kenya).
pub async fn phone_country(
    conn: &mut Conn,
    actor: &Actor,
    store_id: Option<&str>,
    problems: &mut Vec<FieldError>,
) -> Result<(Country, Option<StoreId>), StoreError> {
    let store = match store_id {
        Some(raw) => match StoreId::parse(raw) {
            Ok(id) if actor.sees_store(id) => Some(id),
            _ => {
                problems.push(FieldError::new("store_id", UNKNOWN_STORE));
                return Ok((Country::default(), None));
            }
        },
        None => match actor.store_ids.as_slice() {
            [only] => Some(*only),
            _ => None,
        },
    };
    let Some(store) = store else {
        return Ok((Country::default(), None));
    };
    let Some(row) = stores::find_store(conn, store).await? else {
        if store_id.is_some() {
            problems.push(FieldError::new("store_id", UNKNOWN_STORE));
        }
        return Ok((Country::default(), None));
    };
    let country =
        Country::parse(&row.country).map_err(|e| StoreError::corrupt("stores.country", e))?;
    Ok((country, Some(store)))
}

/// The phone number as sent, read in `country`.
fn phone(raw: &str, country: &Country, problems: &mut Vec<FieldError>) -> Option<Phone> {
    Phone::parse(raw, country)
        .map_err(|e| problems.push(FieldError::new("phone", e.to_string())))
        .ok()
}

/// A customer to register. The phone number stays text until the store it is read for is
/// known (inside the transaction).
#[derive(Clone)]
pub struct NewCustomer {
    pub name: Option<CustomerName>,
    pub phone: Option<String>,
    pub email: Option<Email>,
    /// As sent: which store's country a national phone number is read in.
    pub store_id: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Registers a customer; idempotent under its key when one is sent.
pub async fn create_customer(
    db: &Db,
    request: WriteRequest<'_>,
    command: NewCustomer,
    view: View<CustomerRow>,
) -> Result<Written<CustomerRow>, CheckoutError> {
    retrying("customer.create", request.is_keyed(), || {
        create_customer_once(db, request, command.clone(), view)
    })
    .await
}

async fn create_customer_once(
    db: &Db,
    request: WriteRequest<'_>,
    command: NewCustomer,
    view: View<CustomerRow>,
) -> Result<Written<CustomerRow>, CheckoutError> {
    let NewCustomer {
        name,
        phone: phone_text,
        email,
        store_id,
        mut problems,
    } = command;
    let mut write = begin_or_replay!(db, request);
    let (country, store) = phone_country(
        write.tx(),
        request.actor,
        store_id.as_deref(),
        &mut problems,
    )
    .await?;
    let phone = phone_text
        .as_deref()
        .and_then(|p| phone(p, &country, &mut problems));
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(CheckoutError::Invalid(problems));
    };
    let id = CustomerId::new();
    let values = CustomerValues {
        name: name.as_str(),
        phone: phone.as_ref().map(Phone::as_str),
        email: email.as_ref().map(Email::as_str),
    };
    let at = write.at();
    let row = customers::insert_customer(write.tx(), id, &values, at).await?;
    let shown = view(&row).map_err(WriteError::View)?;
    let audit = write
        .audit_event("customer.created", store)
        .on("customer", id)
        .with(serde_json::json!({
            "phone": values.phone.is_some(), "email": values.email.is_some(),
        }));
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}

/// A change to a customer: `None` keeps a field; `Some(None)` removes the phone or e-mail.
#[derive(Clone)]
pub struct CustomerChange {
    pub id: CustomerId,
    pub name: Option<CustomerName>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<Email>>,
    pub store_id: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Changes a customer's name, phone or e-mail.
pub async fn update_customer(
    db: &Db,
    request: WriteRequest<'_>,
    change: CustomerChange,
    view: View<CustomerRow>,
) -> Result<Written<CustomerRow>, CheckoutError> {
    retrying("customer.update", request.is_keyed(), || {
        update_customer_once(db, request, change.clone(), view)
    })
    .await
}

async fn update_customer_once(
    db: &Db,
    request: WriteRequest<'_>,
    change: CustomerChange,
    view: View<CustomerRow>,
) -> Result<Written<CustomerRow>, CheckoutError> {
    let CustomerChange {
        id,
        name,
        phone: phone_text,
        email,
        store_id,
        mut problems,
    } = change;
    let mut write = begin_or_replay!(db, request);
    let (country, store) = phone_country(
        write.tx(),
        request.actor,
        store_id.as_deref(),
        &mut problems,
    )
    .await?;
    let phone = phone_text
        .as_ref()
        .map(|p| p.as_deref().and_then(|p| phone(p, &country, &mut problems)));
    if !problems.is_empty() {
        return Err(CheckoutError::Invalid(problems));
    }
    // Read inside the write transaction: the values kept are the ones now stored.
    let current = customers::find_customer(write.tx(), id)
        .await?
        .ok_or(CheckoutError::NotFound)?;
    let values = CustomerValues {
        name: name
            .as_ref()
            .map_or(current.name.as_str(), CustomerName::as_str),
        phone: match &phone {
            Some(p) => p.as_ref().map(Phone::as_str),
            None => current.phone.as_deref(),
        },
        email: match &email {
            Some(e) => e.as_ref().map(Email::as_str),
            None => current.email.as_deref(),
        },
    };
    let changed: Vec<&str> = [
        ("name", values.name != current.name),
        ("phone", values.phone != current.phone.as_deref()),
        ("email", values.email != current.email.as_deref()),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    let at = write.at();
    customers::update_customer(write.tx(), current.id, &values, at).await?;
    let audit = write
        .audit_event("customer.updated", store)
        .on("customer", current.id)
        .with(serde_json::json!({ "changed": changed }));
    let row = customers::find_customer(write.tx(), current.id)
        .await?
        .ok_or(CheckoutError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 200, shown)
        .await?)
}
