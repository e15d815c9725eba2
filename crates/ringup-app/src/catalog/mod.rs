//! The catalog's use cases: stores and their registers, tax classes, categories, products.
//!
//! The caller checks the actor's role (`ManageStores`, `ManageRegisters`, `ManageCatalog`)
//! and, for a store in the path, that the actor sees it, before it parses the request; these
//! functions trust those checks. Every refusal of these operations is a [`CatalogError`]; the
//! HTTP layer maps it to a problem in one place (`ringup-api`'s `http/error.rs`). A value
//! another row already has (a store code, a SKU, a barcode, a register's or tax class's name)
//! comes back as the store's unique violation, which that same mapping names.

pub mod categories;
pub mod products;
pub mod stores;
pub mod tax_classes;

use ringup_store::StoreError;

use crate::problem::FieldError;
use crate::write::WriteError;

/// Why a catalog operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Broken rules of the request, each naming its field.
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for CatalogError {
    fn from(err: StoreError) -> Self {
        CatalogError::Write(WriteError::Store(err))
    }
}
