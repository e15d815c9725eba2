//! Reports: the periods they cover, the figures they add up, and what each sale, void and
//! return contributes to the rollups a report reads (docs/ARCHITECTURE.md, "Reports read rollups").
//!
//! Invariants: a business day is the store's own local day in its IANA time zone; every
//! figure is an integer in minor units (or a count) added with checked arithmetic; a void
//! contributes exactly the negation of its sale, so a voided sale leaves no trace in any
//! rollup; a return contributes to the day, cashier and tenders of the return itself.

pub mod figures;
pub mod period;
pub mod rollup;

pub use figures::{SalesFigures, average_basket, change_pct};
pub use period::{Period, PeriodError, TimeGroup, day_start, local_day};
pub use rollup::{CashierFigures, LineKey, Rollups, TenderFigures};
pub use rollup::{Contribution, LineFacts, LineFigures, ReturnFacts, ReturnLineFacts, SaleFacts};
