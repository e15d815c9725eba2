//! The catalog's storage: stores and their registers, tax classes, categories, products.

pub mod categories;
pub mod products;
pub mod stores;
pub mod tax_classes;
