//! Checkout's storage: shifts and their cash, sales and voids, returns, customers.

pub mod customers;
pub mod returns;
pub mod sales;
pub mod shifts;
pub mod voids;
