//! Checkout over HTTP: shifts, sales and receipts, returns, customers.

pub mod customers;
pub mod receipt_pdf;
pub mod returns;
pub mod sales;
pub mod shifts;
