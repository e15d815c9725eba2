//! ringup-store: persistence for ringup.
//!
//! Every query is written once, in the SQL dialect that SQLite and PostgreSQL both accept, and
//! runs through sqlx's `Any` driver (see `docs/ARCHITECTURE.md` for why). Where the engines must
//! differ — connection setup, how a write transaction starts, how migrations are found — the
//! difference lives in one small function of [`db`], named after what it does.
//!
//! Conventions every table follows: ids are UUIDv7 strings, money and quantities are 64-bit
//! integers, timestamps are fixed-width RFC 3339 UTC text (see [`time`]), and every
//! multi-statement write runs in one transaction from [`Db::begin_write`].

pub mod api_keys;
pub mod audit;
pub mod bounds;
pub mod categories;
pub mod customers;
pub mod db;
pub mod error;
mod filter;
pub mod idempotency;
pub mod logins;
pub mod meta;
pub mod outbox;
pub mod page;
pub mod password_resets;
pub mod products;
pub mod reservations;
pub mod returns;
pub mod sales;
pub mod sessions;
pub mod shifts;
pub mod stock;
pub mod stores;
pub mod tax_classes;
pub mod time;
pub mod transfers;
pub mod users;

pub use db::{DatabaseUrl, Db, DbOptions, Engine, PoolStats, commit};
pub use error::StoreError;

/// A connection or open transaction (`&mut *tx`), as the write functions take it.
pub type Conn = sqlx::AnyConnection;
