//! The catalog over HTTP: stores and registers, tax classes, categories, products.

pub mod categories;
pub mod products;
pub mod stores;
pub mod tax_classes;
